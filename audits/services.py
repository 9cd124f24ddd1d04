"""Run a pre-training audit: walk the upstream lineage of what a training run will read, check every
dataset reached, and store the report as it was, immutably.

The cost is a fixed number of queries whatever the size of the upstream graph: one recursive walk
for all the audited datasets, then one query each for the datasets, their owners, the versions,
personal-data features, licenses and visibility.

A training run is audited from plain facts the training app hands over (`AuditedRun`: the run's id,
its model's label and the ids of the versions it read): this module sits below the training app and
reads none of its records. The run's input versions are audited exactly, whoever may read them: one
the actor may not read is reported by the restricted placeholder, as an upstream dataset is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from audits import rules
from audits.signals import audit_completed_send
from catalog.models import DataCard, Dataset, DatasetVersion, Feature
from catalog.selectors import (
    ReferenceAmbiguous,
    ReferenceInvalid,
    ReferencesUnknown,
    datasets_resolve,
    datasets_visible_to,
    label_issues_reviewed_shares,
)
from config import errors
from config.request_ids import current_request_id
from governance.choices import AuditRole, OwnershipRole
from governance.licensing import license_alternatives
from governance.models import Audit, AuditSubject, License, Ownership
from lineage.choices import EdgeStatus
from lineage.models import LineageEdge
from lineage.selectors import Edge, lineage_upstream

HIDDEN = rules.RESTRICTED_LABEL


class AuditInputInvalid(errors.Invalid):
    field = "datasets"

    def __init__(self, message: str, unknown: Sequence[str] = (), *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.unknown = list(unknown)


@dataclass(frozen=True)
class AuditedRun:
    """A training run as the audit takes it, in plain facts: which run, of which model, the ids of the
    dataset versions it read (those still in the catalog), in the run's order, and the use it was
    recorded for (None when none was stated)."""

    id: UUID
    model_id: UUID
    model: str  # namespace/name
    model_version: str
    versions: tuple[UUID, ...]
    purpose: rules.Purpose | None = None

    def requested(self) -> dict[str, Any]:
        return {
            "training_run": str(self.id),
            "model": self.model,
            "model_id": str(self.model_id),
            "model_version": self.model_version,
        }


# What is audited: each dataset once, with the version pinned (None: its latest).
Targets = dict[UUID, UUID | None]


def _targets(user: User, references: Sequence[UUID | str]) -> Targets:
    """Each reference (a dataset's or a version's id, or a dataset's `namespace/name`) that the user
    may read; in the order given, each dataset once (a version named wins over its dataset)."""
    try:
        found = datasets_resolve(user=user, references=references, versions=True)
    except ReferencesUnknown as exc:
        raise AuditInputInvalid(str(exc), unknown=exc.references) from None
    except (ReferenceAmbiguous, ReferenceInvalid) as exc:
        raise AuditInputInvalid(str(exc)) from None
    targets: Targets = {}
    for reference in references:
        match = found[str(reference)]
        if isinstance(match, Dataset):
            targets.setdefault(match.pk, None)
        else:
            targets[match.dataset_id] = match.pk
    return targets


def _run_versions(runs: Sequence[AuditedRun]) -> dict[UUID, list[UUID]]:
    """The exact versions the runs read, by dataset, in the order read, whoever may read them (the
    report hides what the actor may not): one query."""
    wanted = [version for run in runs for version in run.versions]
    if not wanted:
        return {}
    dataset_of = dict(DatasetVersion.objects.filter(pk__in=wanted).values_list("pk", "dataset_id"))
    read: dict[UUID, list[UUID]] = {}
    for version in wanted:
        if version in dataset_of and version not in (versions := read.setdefault(dataset_of[version], [])):
            versions.append(version)
    return read


def license_terms(spdx_ids: Iterable[str]) -> dict[str, rules.Terms]:
    """The stated terms of each license named, as the audit's rules read them: one query."""
    return {
        license.spdx_id: rules.Terms(
            spdx_id=license.spdx_id,
            name=license.name,
            url=license.url,
            is_custom=license.is_custom,
            reviewed=license.reviewed,
            commercial_use=license.commercial_use,
            modification=license.modification,
            redistribution=license.redistribution,
            attribution=license.attribution,
            share_alike=license.share_alike,
            non_commercial=license.non_commercial,
            no_derivatives=license.no_derivatives,
            use_restrictions=tuple(license.use_restrictions or ()),
            attribution_requirements=license.attribution_requirements,
            share_alike_scope=license.share_alike_scope,
        )
        for license in License.objects.filter(spdx_id__in=set(spdx_ids))
    }


def _label(dataset: Dataset, hidden: set[UUID]) -> str:
    return HIDDEN if dataset.pk in hidden else f"{dataset.namespace}/{dataset.name}"


def _pinned_versions(
    start: UUID, paths: dict[UUID, list[Edge]], root_version: UUID | None, latest: dict[UUID, UUID | None]
) -> dict[UUID, UUID | None]:
    """The version of each dataset the audited one was made from, where lineage recorded it: the
    source version of the edge by which it was reached (`paths`, the walk's upstream paths), when
    that edge's target version is the one checked below it (or unrecorded). Otherwise the dataset's
    latest version."""
    checked: dict[UUID, UUID | None] = {start: root_version or latest.get(start)}
    for node, path in sorted(paths.items(), key=lambda item: len(item[1])):
        if not path:
            continue
        edge = path[-1]
        below = checked.get(edge.target_id)
        if edge.source_version_id and (edge.target_version_id is None or below in (None, edge.target_version_id)):
            checked[node] = edge.source_version_id
        else:
            checked[node] = latest.get(node)
    return checked


def audit_run(
    *,
    actor: User,
    datasets: Sequence[UUID | str] = (),
    purpose: rules.Purpose,
    runs: Sequence[AuditedRun] = (),
    rerun_of: Audit | None = None,
) -> Audit:
    """Audit the datasets (or exact versions) a training run will read, for a purpose: each named by
    its id, or a dataset by its `namespace/name`; and the versions recorded training runs read. One
    report covers them all; it names the runs it audited.

    Raises AuditInputInvalid for references that name nothing the actor can read (unknown and
    hidden alike), or more than one dataset, or when there is nothing to audit; nothing is stored
    then."""
    if not datasets and not runs:
        raise AuditInputInvalid("Name at least one dataset or version to audit.")
    named = _targets(actor, datasets) if datasets else {}
    read = _run_versions(runs)
    # A dataset is audited in one version (the first a run read, or the one the caller names); the
    # other versions runs read of it add what is found of a version.
    targets: Targets = {dataset_id: versions[0] for dataset_id, versions in read.items()}
    if not targets and not named:
        labels = ", ".join(f"{run.model} run {run.id}" for run in runs)
        raise AuditInputInvalid(
            f"No version that {labels} read is in the catalog any more: there is nothing to audit.",
            field="training_runs",
        )
    for dataset_id, version_id in named.items():
        # A version the caller names wins over the one a run read; a dataset named alone does not.
        if version_id is not None or dataset_id not in targets:
            targets[dataset_id] = version_id
    also = {
        dataset_id: others
        for dataset_id, versions in read.items()
        if (others := [version for version in versions if version != targets[dataset_id]])
    }
    requested = [run.requested() for run in runs] + [
        {"dataset": str(dataset_id), "version": str(version_id) if version_id else None}
        for dataset_id, version_id in named.items()
    ]
    # The run's own verdict (`Audit.training_run`, shown on the run): an audit of that run alone, for
    # the use it was recorded for. Another use is another question, answered in the report alone, so
    # that no one changes the verdict a run shows by asking about a use its makers never meant.
    own = len(runs) == 1 and not named and runs[0].purpose == purpose
    return _audit(
        actor=actor,
        targets=targets,
        purpose=purpose,
        requested=requested,
        training_run=runs[0].id if own else None,
        rerun_of=rerun_of,
        also=also,
    )


def audit_training_run(
    *, actor: User, run: AuditedRun, purpose: rules.Purpose | None = None, rerun_of: Audit | None = None
) -> Audit:
    """Audit the exact versions a training run read, and their upstream, for a purpose (by default the
    one the run was recorded for); the report names its model and run, and is the run's verdict
    (`Audit.training_run`) when the purpose is the run's."""
    purpose = purpose or run.purpose or rules.Purpose()
    return audit_run(actor=actor, runs=[run], purpose=purpose, rerun_of=rerun_of)


def _audit(
    *,
    actor: User,
    targets: Targets,
    purpose: rules.Purpose,
    requested: list[dict[str, Any]],
    training_run: UUID | None,
    rerun_of: Audit | None,
    also: dict[UUID, list[UUID]] | None = None,
) -> Audit:
    """Walk, check and store: a fixed number of queries, whatever the graph. `also`: other versions
    of audited datasets that were read too, checked for what is found of a version."""
    also = also or {}
    roots = list(targets)
    walks = lineage_upstream(roots, depth=settings.CATALOG_LINEAGE_MAX_DEPTH)

    # Each dataset once, at its shortest distance from any audited dataset.
    reached: dict[UUID, tuple[int, UUID]] = {}
    for root in roots:
        for node, depth in walks[root].depths.items():
            if node not in reached or depth < reached[node][0]:
                reached[node] = (depth, root)

    rows = {
        dataset.pk: dataset
        for dataset in Dataset.objects.filter(pk__in=reached).only(
            "id", "namespace", "name", "license", "origin", "sensitivity", "lifecycle", "latest_version"
        )
    }
    # Who answers for each dataset (owners and stewards), and who is credited for it (its owners):
    # each once, though one may hold several roles.
    owners: dict[UUID, list[str]] = defaultdict(list)
    creators: dict[UUID, list[str]] = defaultdict(list)
    for dataset_id, username, group_name, role in (
        Ownership.objects.filter(dataset_id__in=reached)
        .exclude(role=OwnershipRole.CUSTODIAN)
        .order_by("user__username", "group__name", "role")
        .values_list("dataset_id", "user__username", "group__name", "role")
    ):
        name = username or group_name
        if name not in owners[dataset_id]:
            owners[dataset_id].append(name)
        if role == OwnershipRole.OWNER and name not in creators[dataset_id]:
            creators[dataset_id].append(name)
    hidden = set(reached) - set(datasets_visible_to(actor).filter(pk__in=reached).values_list("pk", flat=True))

    latest = {pk: dataset.latest_version_id for pk, dataset in rows.items()}
    pinned_roots = targets
    checked_version: dict[UUID, UUID | None] = {}
    paths_of: dict[UUID, list[Any]] = {}
    for root in roots:
        paths = walks[root].upstream_paths()
        pinned = _pinned_versions(root, paths, pinned_roots[root], latest)
        for node, (_, nearest) in reached.items():
            if nearest == root and node in paths:
                checked_version[node] = pinned.get(node, latest.get(node))
                paths_of[node] = [root, *(edge.source_id for edge in paths[node])]

    # Datasets at the depth limit that were made from others: the walk stopped short of those. Only
    # confirmed lineage counts here too, as in the walk: an outsider's report cannot add a warning.
    limit = settings.CATALOG_LINEAGE_MAX_DEPTH
    at_limit = [node for node, (depth, _) in reached.items() if depth >= limit]
    beyond = (
        set(
            LineageEdge.objects.filter(target_id__in=at_limit, status=EdgeStatus.CONFIRMED).values_list(
                "target_id", flat=True
            )
        )
        if at_limit
        else set()
    )

    version_ids = {version for version in checked_version.values() if version is not None}
    version_ids.update(version for others in also.values() for version in others)
    versions = {
        version.pk: version
        for version in DatasetVersion.objects.filter(pk__in=version_ids).only(
            "id",
            "dataset_id",
            "number",
            "status",
            "fingerprint",
            "deprecated_at",
            "source_changed_at",
            "quality",
            "contract_check",
        )
    }
    # The share of each version's flagged rows its owners and stewards reviewed (confirmed or dismissed).
    # Asked only about versions noisy enough for the rule to look at it: other audits cost no query more.
    noisy = {
        pk
        for pk, version in versions.items()
        if (_label_issue_share(version.quality or {}) or 0.0) > rules.LABEL_ISSUE_SHARE_LIMIT
    }
    reviewed = label_issues_reviewed_shares(noisy) if noisy else {}
    personal: dict[UUID, list[str]] = defaultdict(list)
    for version_id, name, curated in Feature.objects.filter(version_id__in=version_ids, pii=True).values_list(
        "version_id", "name", "curated"
    ):
        if "pii" in curated:  # confirmed by a person, not only suggested by profiling
            personal[version_id].append(name)

    citations = dict(
        DataCard.objects.filter(dataset_id__in=reached).exclude(citation="").values_list("dataset_id", "citation")
    )
    by_expression = license_alternatives(dataset.license for dataset in rows.values())
    alternatives = {pk: by_expression[dataset.license] for pk, dataset in rows.items()}
    wanted = {spdx_id for options in by_expression.values() for option in options for spdx_id in option}
    terms = license_terms(wanted)

    findings: list[dict[str, Any]] = []
    attributions: list[dict[str, Any]] = []
    obligations: list[dict[str, Any]] = []
    checked: list[dict[str, Any]] = []
    subjects: list[AuditSubject] = []
    labels = {pk: _label(dataset, hidden) for pk, dataset in rows.items()}
    # One step per dataset, shared by every path through it.
    steps = {pk: {"dataset": None if pk in hidden else str(pk), "name": labels[pk]} for pk in paths_of}
    for node in sorted(paths_of, key=lambda pk: (reached[pk][0], labels[pk])):
        dataset = rows[node]
        checked_id = checked_version[node]
        version = versions.get(checked_id) if checked_id is not None else None
        quality = (version.quality or {}) if version else {}
        subject = rules.Subject(
            dataset_id=str(node),
            label=labels[node],
            license=dataset.license,
            alternatives=tuple(alternatives[node]),
            origin=dataset.origin,
            sensitivity=dataset.sensitivity,
            lifecycle=dataset.lifecycle,
            # Who answers for a dataset the reader may not see is not shown; that someone does, is.
            owners=tuple(sorted(owners[node])) if node not in hidden else ("(not shown)",) * len(owners[node]),
            version_id=str(version.pk) if version else None,
            version_number=version.number if version else None,
            version_status=version.status if version else None,
            version_deprecated=bool(version and version.deprecated_at),
            source_changed=bool(version and version.source_changed_at),
            quality_codes=tuple(sorted({finding.get("code", "") for finding in quality.get("findings", [])})),
            label_issue_share=_label_issue_share(quality),
            label_issues_reviewed=reviewed.get(version.pk, 0.0) if version else 0.0,
            personal_features=tuple(sorted(personal.get(version.pk, []))) if version else (),
            path=tuple(steps[step] for step in paths_of[node]),
            beyond_reach=node in beyond,
            citation="" if node in hidden else citations.get(node, "").strip(),
            creators=() if node in hidden else tuple(creators[node]),
            **_contract_facts(version),
        )
        # Judged on the real facts, so that the verdict is honest; a dataset the actor may not read is
        # then reported by placeholders alone.
        outcome = rules.evaluate(subject, terms, purpose)
        role = AuditRole.AUDITED if node in pinned_roots else AuditRole.UPSTREAM
        if node in hidden:
            outcome = rules.restricted_findings(subject, outcome)
            checked.append(
                {
                    "dataset": None,
                    "name": subject.label,
                    "role": role,
                    "depth": reached[node][0],
                    "version": None,
                    "version_number": None,
                    "fingerprint": "",
                    "license": "",
                    "licenses_applied": [],
                    "origin": "",
                    "sensitivity": dataset.sensitivity,
                    "owners": [],
                    "restricted": True,
                }
            )
        else:
            checked.append(
                {
                    "dataset": str(node),
                    "name": subject.label,
                    "role": role,
                    "depth": reached[node][0],
                    "version": subject.version_id,
                    "version_number": subject.version_number,
                    "fingerprint": version.fingerprint if version else "",
                    "license": dataset.license,
                    "licenses_applied": list(outcome.licenses_applied),
                    "origin": dataset.origin,
                    "sensitivity": dataset.sensitivity,
                    "owners": list(subject.owners),
                }
            )
        findings += outcome.findings
        attributions += outcome.attributions
        obligations += outcome.obligations
        for other in filter(None, (versions.get(version_id) for version_id in also.get(node, ()))):
            findings += _version_findings(
                subject, other, personal, terms, purpose, hidden=node in hidden, seen=outcome, reviewed=reviewed
            )
            if node not in hidden:
                checked.append(
                    {
                        **checked[-1],
                        "version": str(other.pk),
                        "version_number": other.number,
                        "fingerprint": other.fingerprint,
                    }
                )
        subjects.append(AuditSubject(dataset_id=node, version_id=version.pk if version else None, role=role))

    findings = rules.sort_findings(findings)
    counts = {severity: sum(f["severity"] == severity for f in findings) for severity in rules.SEVERITY_ORDER}
    counts["datasets"] = len(subjects)
    with transaction.atomic():
        audit = Audit.objects.create(
            created_at=timezone.now(),
            created_by=actor,
            rerun_of=rerun_of,
            training_run_id=training_run,
            purpose=asdict(purpose),
            requested=requested,
            verdict=rules.verdict(findings),
            findings=findings,
            attributions=attributions,
            obligations=obligations,
            checked=checked,
            counts=counts,
            request_id=current_request_id() or "",
        )
        for subject_row in subjects:
            subject_row.audit = audit
        AuditSubject.objects.bulk_create(subjects)
        audit_completed_send(audit_id=audit.pk, verdict=audit.verdict)
    return audit


def _contract_facts(version: DatasetVersion | None) -> dict[str, Any]:
    """The version's last contract check as the rules read it."""
    check = (version.contract_check or {}) if version is not None else {}
    return {
        "contract_status": str(check.get("status") or "none"),
        "contract_enforcement": str(check.get("enforcement") or ""),
        "contract_version": check.get("version"),
    }


def _version_findings(
    subject: rules.Subject,
    version: DatasetVersion,
    personal: dict[UUID, list[str]],
    terms: dict[str, rules.Terms],
    purpose: rules.Purpose,
    *,
    hidden: bool,
    seen: rules.Outcome,
    reviewed: dict[UUID, float],
) -> list[dict[str, Any]]:
    """What another version of an audited dataset adds: the findings of a version (its dataset's are
    reported once already); of a dataset the actor may not read, a placeholder of a severity not
    shown yet."""
    quality = version.quality or {}
    facts = replace(
        subject,
        version_id=str(version.pk),
        version_number=version.number,
        version_status=version.status,
        version_deprecated=bool(version.deprecated_at),
        source_changed=bool(version.source_changed_at),
        quality_codes=tuple(sorted({finding.get("code", "") for finding in quality.get("findings", [])})),
        label_issue_share=_label_issue_share(quality),
        label_issues_reviewed=reviewed.get(version.pk, 0.0),
        personal_features=tuple(sorted(personal.get(version.pk, []))),
        **_contract_facts(version),
    )
    found = [
        finding for finding in rules.evaluate(facts, terms, purpose).findings if finding["code"] in rules.VERSION_RULES
    ]
    if not hidden:
        return found
    shown = {finding["severity"] for finding in seen.findings}
    placeholders = rules.restricted_findings(facts, rules.Outcome(findings=found)).findings
    return [finding for finding in placeholders if finding["severity"] not in shown]


def audit_rerun(*, actor: User, audit: Audit, runs: Sequence[AuditedRun] = ()) -> Audit:
    """Run an audit again on what it asked for (the same pinned versions), for the same purpose; the
    earlier report stays as it was. The training runs it named are handed over again as `runs` (the
    versions a run read never change)."""
    given = {run.id: run for run in runs}
    asked = [UUID(item["training_run"]) for item in audit.requested if "training_run" in item]
    if missing := [str(run_id) for run_id in asked if run_id not in given]:
        raise AuditInputInvalid(f"The training runs {', '.join(missing)} are not given.", field="training_runs")
    ids = [UUID(item["version"] or item["dataset"]) for item in audit.requested if "dataset" in item]
    return audit_run(
        actor=actor,
        datasets=ids,
        runs=[given[run_id] for run_id in asked],
        purpose=rules.Purpose(**audit.purpose),
        rerun_of=audit,
    )


def audit_compare(*, audit: Audit, earlier: Audit) -> dict[str, Any]:
    """What changed between two reports: the verdict, and findings that appeared or went away."""

    def keys(report: Audit) -> set[tuple[str, str, str, str]]:
        # A restricted upstream dataset's placeholder findings name no dataset: told apart by severity.
        return {
            (f["code"], f["dataset"] or "", f.get("license") or "", f["severity"] if f["dataset"] is None else "")
            for f in report.findings
        }

    def as_dicts(items: set[tuple[str, str, str, str]]) -> list[dict[str, Any]]:
        return [
            {"code": code, "dataset": dataset or None, "license": license or None}
            | ({"severity": severity} if severity else {})
            for code, dataset, license, severity in sorted(items)
        ]

    before, after = keys(earlier), keys(audit)
    return {
        "earlier": str(earlier.pk),
        "earlier_verdict": earlier.verdict,
        "verdict": audit.verdict,
        "findings_added": as_dicts(after - before),
        "findings_removed": as_dicts(before - after),
    }


def _label_issue_share(quality: dict[str, Any]) -> float | None:
    """Label quality's estimated share of mislabelled rows of a version, None when not analysed."""
    share = (quality.get("label_issues") or {}).get("share")
    return float(share) if isinstance(share, int | float) and not isinstance(share, bool) else None
