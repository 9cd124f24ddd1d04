"""The rules of the pre-training audit, on plain facts: no database, no Django models.

Each rule is a finding code with a severity. Blockers fail the audit; obligations (credit owed,
share-alike, use restrictions passed on) and warnings make it conditional. Licenses are judged on
their stated terms only: a term nobody stated, an unknown license or an unreviewed one is never
read as permission.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

BLOCKER, OBLIGATION, WARNING = "blocker", "obligation", "warning"

# Every code the audit can report: its severity, and what it means (the README lists them too).
RULES: dict[str, tuple[str, str]] = {
    "license_unknown": (BLOCKER, "The dataset has no known license."),
    "web_crawled_unlicensed": (BLOCKER, "Web-crawled data with no known license."),
    "license_terms_unknown": (BLOCKER, "The license's terms are not stated in the catalog."),
    "license_not_reviewed": (BLOCKER, "The license's terms were not reviewed against its text."),
    "non_commercial": (BLOCKER, "Non-commercial terms, and the use is commercial."),
    "no_derivatives": (BLOCKER, "No-derivatives terms: a trained model is a derivative."),
    "no_redistribution": (BLOCKER, "The license forbids redistribution, and the data will be distributed."),
    "no_owner": (BLOCKER, "Nobody answers for the dataset."),
    "lineage_incomplete": (BLOCKER, "The lineage goes further up than the audit may walk."),
    "attribution": (OBLIGATION, "Credit is owed."),
    "share_alike": (OBLIGATION, "What is distributed must carry the same license."),
    "use_restrictions": (OBLIGATION, "Use restrictions apply, and must be passed on."),
    "sensitivity_restricted": (WARNING, "Restricted data."),
    "sensitivity_confidential": (WARNING, "Confidential data."),
    "personal_data": (WARNING, "Features confirmed as personal data."),
    "dataset_deprecated": (WARNING, "The dataset is deprecated."),
    "dataset_retired": (WARNING, "The dataset is retired."),
    "version_deprecated": (WARNING, "The version is deprecated."),
    "source_changed": (WARNING, "The version's source bytes changed after registration."),
    "profiling_missing": (WARNING, "The version is not profiled, or there is no version."),
    "profiling_failed": (WARNING, "Profiling the version failed."),
    "label_conflicts": (WARNING, "Rows with identical features and different labels."),
    "split_leakage": (WARNING, "The same rows in more than one split."),
    "label_leakage": (WARNING, "A feature predicts the label almost perfectly."),
    "class_imbalance": (WARNING, "Severe class imbalance."),
    "contract_failed": (BLOCKER, "The version fails its dataset's blocking contract."),
    "contract_warning": (WARNING, "The version fails its dataset's contract (enforcement warn)."),
    "label_issues_unreviewed": (WARNING, "Many rows are likely mislabelled, and most of them are not reviewed."),
    # Its severity is that of the hidden findings it stands for (see `restricted_findings`).
    "restricted_upstream": (
        BLOCKER,
        "A restricted upstream dataset you may not read has findings of this severity; its owners know which.",
    ),
}

# How a dataset the reader may not read is named in a report: that it is there, not what it is.
RESTRICTED_LABEL = "a restricted upstream dataset you may not read"

# Quality findings of profiling that an audit passes on as warnings.
QUALITY_RULES = ("label_conflicts", "split_leakage", "label_leakage", "class_imbalance")

# Label quality's estimated share of mislabelled rows above which an audit warns, while less than
# half of the flagged rows are reviewed.
LABEL_ISSUE_SHARE_LIMIT = 0.02
LABEL_ISSUES_REVIEWED_ENOUGH = 0.5

# The findings about a version rather than its dataset: what a second version of one dataset adds.
VERSION_RULES = (
    "label_issues_unreviewed",
    "personal_data",
    "version_deprecated",
    "source_changed",
    "profiling_missing",
    "profiling_failed",
    "contract_failed",
    "contract_warning",
    *QUALITY_RULES,
)


@dataclass(frozen=True)
class Purpose:
    commercial: bool = False
    distribute_model: bool = False
    distribute_data: bool = False

    @property
    def distributes(self) -> bool:
        return self.distribute_model or self.distribute_data

    def describe(self) -> str:
        uses = [
            name
            for name, wanted in (
                ("commercial use", self.commercial),
                ("distributing the model", self.distribute_model),
                ("distributing the data", self.distribute_data),
            )
            if wanted
        ]
        return ", ".join(uses) if uses else "research (no commercial use, nothing distributed)"


@dataclass(frozen=True)
class Terms:
    """What the catalog states of one license."""

    spdx_id: str
    name: str
    url: str
    is_custom: bool
    reviewed: bool
    commercial_use: bool | None
    modification: bool | None
    redistribution: bool | None
    attribution: bool | None
    share_alike: bool | None
    non_commercial: bool | None
    no_derivatives: bool | None
    use_restrictions: tuple[str, ...] = ()
    attribution_requirements: str = ""
    share_alike_scope: str = ""

    @property
    def stated(self) -> bool:
        return self.commercial_use is not None


@dataclass(frozen=True)
class Subject:
    """One dataset an audit reached, with the version it checked, and how it was reached."""

    dataset_id: str
    label: str  # namespace/name, or RESTRICTED_LABEL for a reader who may not see it
    license: str  # the normalised SPDX expression; empty when unknown
    alternatives: tuple[tuple[str, ...], ...]
    origin: str
    sensitivity: str
    lifecycle: str
    owners: tuple[str, ...]  # who answers for it (owners and stewards), each once
    version_id: str | None
    version_number: int | None
    version_status: str | None
    version_deprecated: bool
    source_changed: bool
    quality_codes: tuple[str, ...]
    personal_features: tuple[str, ...]
    path: tuple[dict[str, Any], ...]  # from the audited dataset to this one, each {"dataset", "name"}
    beyond_reach: bool = False  # made from datasets further up than the walk's depth limit
    citation: str = ""  # how the data card says to cite the dataset
    creators: tuple[str, ...] = ()  # those credited for it: its owners (not its stewards), each once
    # The version's last check against its dataset's contract: "passed", "failed" or "none"; and
    # the contract's enforcement ("warn" or "block") and version when it was checked.
    contract_status: str = "none"
    contract_enforcement: str = ""
    contract_version: int | None = None
    # Label quality: the estimated share of mislabelled rows (None: not analysed), and the share of
    # flagged rows people have reviewed.
    label_issue_share: float | None = None
    label_issues_reviewed: float = 0.0


@dataclass
class Outcome:
    findings: list[dict[str, Any]] = field(default_factory=list)
    attributions: list[dict[str, Any]] = field(default_factory=list)
    obligations: list[dict[str, Any]] = field(default_factory=list)
    licenses_applied: tuple[str, ...] = ()


# A chain longer than this is named by its ends in a message (the finding's path has every step).
CHAIN_NAMES = 6


def _chain(subject: Subject) -> str:
    names = [step["name"] for step in subject.path]
    if len(names) > CHAIN_NAMES:
        names = [*names[:3], f"… {len(names) - 5} more …", *names[-2:]]
    return " ← ".join(names)


def _finding(subject: Subject, code: str, message: str, **extra: Any) -> dict[str, Any]:
    severity = RULES[code][0]
    where = "" if len(subject.path) <= 1 else f" (reached through {_chain(subject)})"
    return {
        "severity": severity,
        "code": code,
        "dataset": subject.dataset_id,
        "dataset_name": subject.label,
        "version": subject.version_id,
        "path": list(subject.path),
        "message": f"{subject.label}: {message}{where}",
        **extra,
    }


def _license_outcome(
    subject: Subject, licenses: Sequence[Terms | None], ids: Sequence[str], purpose: Purpose
) -> Outcome:
    """The findings one alternative of a license expression gives: every license in it applies."""
    outcome = Outcome(licenses_applied=tuple(ids))
    for spdx_id, terms in zip(ids, licenses, strict=True):
        if terms is None or not terms.stated:
            outcome.findings.append(
                _finding(
                    subject,
                    "license_terms_unknown",
                    f"the terms of {spdx_id} are not stated in the catalog; staff must state and review them "
                    f"(PATCH /api/v1/licenses/{spdx_id}/) before the data can be cleared.",
                    license=spdx_id,
                )
            )
            continue
        if not terms.reviewed:
            kind = "the custom license" if terms.is_custom else "the license"
            outcome.findings.append(
                _finding(
                    subject,
                    "license_not_reviewed",
                    f"the terms of {kind} {spdx_id} have not been reviewed against its text; "
                    "staff must review them before the data can be cleared.",
                    license=spdx_id,
                )
            )
        if purpose.commercial and (terms.non_commercial or terms.commercial_use is False):
            outcome.findings.append(
                _finding(
                    subject,
                    "non_commercial",
                    f"{spdx_id} allows non-commercial use only, and this training is for commercial use.",
                    license=spdx_id,
                )
            )
        if terms.no_derivatives:
            outcome.findings.append(
                _finding(
                    subject,
                    "no_derivatives",
                    f"{spdx_id} forbids sharing adapted material, and a model trained on the data is derived from it.",
                    license=spdx_id,
                )
            )
        if purpose.distribute_data and terms.redistribution is False:
            outcome.findings.append(
                _finding(
                    subject,
                    "no_redistribution",
                    f"{spdx_id} does not allow redistribution, and the data will be distributed.",
                    license=spdx_id,
                )
            )
        if terms.attribution:
            credit = subject.citation.rstrip(". ") or (
                f'"{subject.label}"' + (f" by {', '.join(subject.creators)}" if subject.creators else "")
            )
            credit += f", licensed under {spdx_id}" + (f" ({terms.url})" if terms.url else "")
            outcome.attributions.append(
                {
                    "dataset": subject.dataset_id,
                    "dataset_name": subject.label,
                    "license": spdx_id,
                    "credit": credit,
                    "requirements": terms.attribution_requirements,
                }
            )
            outcome.findings.append(
                _finding(subject, "attribution", f"credit is owed under {spdx_id}: {credit}.", license=spdx_id)
            )
        if terms.share_alike and purpose.distributes:
            scope = terms.share_alike_scope or "adapted material"
            outcome.obligations.append(
                {"code": "share_alike", "dataset": subject.dataset_id, "license": spdx_id, "scope": scope}
            )
            outcome.findings.append(
                _finding(
                    subject,
                    "share_alike",
                    f"{spdx_id} is share-alike: what is distributed must carry {spdx_id} or a compatible license "
                    f"({scope}).",
                    license=spdx_id,
                )
            )
        if terms.use_restrictions:
            outcome.obligations.append(
                {
                    "code": "use_restrictions",
                    "dataset": subject.dataset_id,
                    "license": spdx_id,
                    "restrictions": list(terms.use_restrictions),
                }
            )
            outcome.findings.append(
                _finding(
                    subject,
                    "use_restrictions",
                    f"{spdx_id} restricts how the data and what is made from it may be used "
                    f"({len(terms.use_restrictions)} restrictions), and they must be passed on.",
                    license=spdx_id,
                )
            )
    return outcome


def _rank(outcome: Outcome) -> tuple[int, int, int]:
    blockers = sum(finding["severity"] == BLOCKER for finding in outcome.findings)
    obligations = sum(finding["severity"] == OBLIGATION for finding in outcome.findings)
    return blockers, obligations, len(outcome.licenses_applied)


def evaluate(subject: Subject, terms: dict[str, Terms], purpose: Purpose) -> Outcome:
    """Every finding for one dataset. Of a license expression's alternatives (OR), the one that fits
    the purpose best is taken: fewest blockers, then fewest obligations."""
    if not subject.alternatives:
        code = "web_crawled_unlicensed" if subject.origin == "web_crawled" else "license_unknown"
        message = (
            "the data was crawled from the web and its license is unknown: the rights of every site's owner apply."
            if code == "web_crawled_unlicensed"
            else "its license is unknown; an unknown license is never taken as permission to train."
        )
        outcome = Outcome(findings=[_finding(subject, code, message)])
    else:
        options = [
            _license_outcome(subject, [terms.get(spdx_id) for spdx_id in ids], ids, purpose)
            for ids in subject.alternatives
        ]
        outcome = min(options, key=_rank)
    findings = outcome.findings
    if subject.beyond_reach:
        findings.append(
            _finding(
                subject,
                "lineage_incomplete",
                f"it was made from datasets more than {len(subject.path) - 1} hops up, beyond the depth the audit "
                "walks (CATALOG_LINEAGE_MAX_DEPTH); what they are and allow is not known.",
            )
        )
    if not subject.owners:
        findings.append(_finding(subject, "no_owner", "nobody answers for it (no owner); name one before training."))
    if subject.sensitivity in ("restricted", "confidential"):
        findings.append(
            _finding(
                subject,
                f"sensitivity_{subject.sensitivity}",
                f"it is {subject.sensitivity}; check that this training may use it.",
            )
        )
    if subject.personal_features:
        findings.append(
            _finding(
                subject,
                "personal_data",
                f"features confirmed as personal data: {', '.join(subject.personal_features)}.",
                features=list(subject.personal_features),
            )
        )
    if subject.lifecycle in ("deprecated", "retired"):
        findings.append(_finding(subject, f"dataset_{subject.lifecycle}", f"the dataset is {subject.lifecycle}."))
    if subject.version_id is None:
        findings.append(_finding(subject, "profiling_missing", "it has no version: nothing was profiled."))
    else:
        version = f"version {subject.version_number}"
        if subject.version_deprecated:
            findings.append(_finding(subject, "version_deprecated", f"{version} is deprecated."))
        if subject.source_changed:
            findings.append(
                _finding(
                    subject,
                    "source_changed",
                    f"the source bytes of {version} changed after it was registered: a model trained now would "
                    "not see what the version records.",
                )
            )
        if subject.version_status == "failed":
            findings.append(_finding(subject, "profiling_failed", f"profiling {version} failed."))
        elif subject.version_status != "ready":
            findings.append(_finding(subject, "profiling_missing", f"{version} is not profiled yet."))
        if subject.contract_status == "failed":
            blocking = subject.contract_enforcement == "block"
            findings.append(
                _finding(
                    subject,
                    "contract_failed" if blocking else "contract_warning",
                    f"{version} fails contract v{subject.contract_version} of its dataset"
                    + (", which blocks training on it." if blocking else " (enforcement warn)."),
                )
            )
        for code in QUALITY_RULES:
            if code in subject.quality_codes:
                findings.append(_finding(subject, code, f"profiling of {version} found: {RULES[code][1].lower()}"))
        share = subject.label_issue_share
        if (
            share is not None
            and share > LABEL_ISSUE_SHARE_LIMIT
            and subject.label_issues_reviewed < LABEL_ISSUES_REVIEWED_ENOUGH
        ):
            findings.append(
                _finding(
                    subject,
                    "label_issues_unreviewed",
                    f"label quality estimates {share:.1%} of the rows of {version} mislabelled (above "
                    f"{LABEL_ISSUE_SHARE_LIMIT:.0%}), and {subject.label_issues_reviewed:.0%} of the flagged rows "
                    "are reviewed.",
                )
            )
    return outcome


def restricted_findings(subject: Subject, outcome: Outcome) -> Outcome:
    """What a report shows of a dataset the reader may not read: one placeholder finding per severity
    of its real findings, so the verdict stays what the facts make it (a blocker stays a blocker),
    and nothing of the dataset itself: no id, version, license, feature names, credit or count of
    findings. `subject` must already carry RESTRICTED_LABEL and the placeholder path."""
    severities = sorted({finding["severity"] for finding in outcome.findings}, key=SEVERITY_ORDER.__getitem__)
    where = "" if len(subject.path) <= 1 else f" (reached through {_chain(subject)})"
    findings = [
        {
            "severity": severity,
            "code": "restricted_upstream",
            "dataset": None,
            "dataset_name": subject.label,
            "version": None,
            "path": list(subject.path),
            "message": f"{subject.label}: it has at least one {severity} finding; you may not read the dataset, "
            f"its owners can tell you what stands in the way{where}.",
        }
        for severity in severities
    ]
    obligations = [
        {"code": code, "dataset": None, "license": None, "restricted": True}
        for code in sorted({item["code"] for item in outcome.obligations})
    ]
    attributions = (
        [
            {
                "dataset": None,
                "dataset_name": subject.label,
                "license": None,
                "credit": f"credit is owed to {subject.label}; ask its owners for the credit line",
                "requirements": "",
            }
        ]
        if outcome.attributions
        else []
    )
    return Outcome(findings=findings, attributions=attributions, obligations=obligations)


def verdict(findings: Sequence[dict[str, Any]]) -> str:
    severities = {finding["severity"] for finding in findings}
    if BLOCKER in severities:
        return "fail"
    return "conditional" if severities else "pass"


SEVERITY_ORDER = {BLOCKER: 0, OBLIGATION: 1, WARNING: 2}


def sort_findings(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f["severity"]], len(f["path"]), f["dataset_name"], f["code"]))
