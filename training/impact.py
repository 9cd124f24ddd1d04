"""Which models learned from a dataset, and what has since gone wrong with the data a model learned from.

Impact walks lineage downstream from a dataset (one recursive query) and lists the training runs that
read it or a dataset derived from it through confirmed edges; findings walk upstream from a model's
latest confirmed run (one recursive query for all its inputs) and judge each dataset reached as it is
now against what it was when the run was recorded. Both cost a fixed number of queries whatever the
number of runs, datasets or edges.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, OuterRef, Q, Value

from audits import rules
from audits.services import license_terms
from catalog.choices import Lifecycle
from catalog.models import Dataset, DatasetVersion
from catalog.selectors import datasets_visible_to
from governance.choices import ObjectType, Sensitivity
from governance.licensing import license_alternatives
from governance.models import Change
from lineage.choices import Direction, EdgeStatus
from lineage.models import RunDataset
from lineage.selectors import DOWNSTREAM, Edge, lineage_upstream, lineage_walk
from training.models import Model, TrainingInput, TrainingRun
from training.selectors import RESTRICTED_INPUT, models_latest_runs, runs_visible_to

# How an answer names a dataset the reader may not read: that it is there, not what it is.
RESTRICTED_LABEL = RESTRICTED_INPUT

# Finding codes on a model, with their severity (the audit's scale) and what each means.
FINDINGS: dict[str, tuple[str, str]] = {
    "upstream_license_changed": (
        rules.BLOCKER,
        "A dataset's license changed since the run was recorded, and its terms forbid the run's purpose.",
    ),
    "upstream_source_changed": (rules.WARNING, "The bytes of a version the run read changed after registration."),
    "upstream_deprecated": (rules.WARNING, "A dataset (or the version read) is deprecated."),
    "upstream_retired": (rules.WARNING, "A dataset is retired."),
    "upstream_restricted": (rules.WARNING, "A dataset is restricted."),
    "contract_failed": (
        rules.BLOCKER,
        "A version the run read (or one upstream) fails its dataset's blocking contract.",
    ),
}

# The audit's license findings that say the terms forbid a use (the others say the terms are unknown
# or unreviewed, or owe something): a model trained for that use may not rely on the data any more.
FORBIDDING = ("non_commercial", "no_derivatives", "no_redistribution")


def node_id(dataset: Dataset) -> str:
    """A dataset's node id, as the lineage API names it."""
    return f"dataset:{dataset.namespace}:{dataset.name}"


def _placeholders(hidden: Iterable[UUID], depths: dict[UUID, int]) -> dict[UUID, str]:
    """A node id for each dataset the reader may not read, numbered as the lineage graph numbers them
    (by distance, then id): the path keeps its shape and names nothing."""
    ordered = sorted(hidden, key=lambda pk: (depths.get(pk, 0), str(pk)))
    return {pk: f"dataset:restricted:#{index}" for index, pk in enumerate(ordered, 1)}


def _visible_names(reader: User | AnonymousUser, dataset_ids: Iterable[UUID]) -> dict[UUID, Dataset]:
    """The datasets among these the reader may read, with their names: the others are hidden."""
    wanted = set(dataset_ids)
    if not wanted:
        return {}
    return {
        dataset.pk: dataset
        for dataset in datasets_visible_to(reader).filter(pk__in=wanted).only("id", "namespace", "name")
    }


# --- Impact -----------------------------------------------------------------------------------------


def _jobs_that_read(version: DatasetVersion) -> set[UUID]:
    """The jobs any of whose runs reported reading this exact version (OpenLineage's version facet)."""
    return set(
        RunDataset.objects.filter(dataset_id=version.dataset_id, version=version, direction=Direction.INPUT)
        .values_list("run__job_id", flat=True)
        .distinct()
    )


def _derived_from(start: UUID, edges: list[Edge], version: DatasetVersion | None) -> dict[UUID, list[UUID]]:
    """The shortest chain of datasets from the start to each dataset derived from it, following
    confirmed edges downstream only.

    From a version, an edge out of its dataset counts when it records that version as the one read,
    when it records none (a declared edge, or a report that named no version the catalog knows: the
    version cannot be ruled out, and an impact list had better name a model too many than miss one), or
    when a run of its job reported reading that version (the edge keeps only its latest run's
    versions). An edge that records another version, and whose job never reported reading this one,
    does not count. Past the first hop every confirmed edge counts: a dataset derived from one
    derived from the version is derived from it."""
    jobs = _jobs_that_read(version) if version is not None else set()
    following: dict[UUID, list[Edge]] = {}
    for edge in edges:
        if edge.status == EdgeStatus.CONFIRMED:
            following.setdefault(edge.source_id, []).append(edge)
    paths: dict[UUID, list[UUID]] = {start: [start]}
    frontier = [start]
    while frontier:
        reached = []
        for node in frontier:
            for edge in following.get(node, []):
                if edge.target_id in paths:
                    continue
                if (
                    version is not None
                    and node == start
                    and edge.source_version_id not in (None, version.pk)
                    and edge.job_id not in jobs
                ):
                    continue
                paths[edge.target_id] = [*paths[node], edge.target_id]
                reached.append(edge.target_id)
        frontier = reached
    return paths


@dataclass
class Impact:
    """The runs that learned from a dataset (or version), each once by its nearest input, and their models."""

    training_runs: list[dict[str, Any]] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)

    def as_data(self) -> dict[str, Any]:
        return {"training_runs": self.training_runs, "models": self.models}


def impact_read(*, dataset: Dataset, reader: User | AnonymousUser, version: DatasetVersion | None = None) -> Impact:
    """The training runs the reader may read that read the dataset (with a version: that version) or a
    dataset derived from it through confirmed lineage, with the path of datasets from it to the
    run's input; datasets on the way the reader may not read are placeholders, and so is the version
    a run read of one.

    Queries: the downstream walk, the jobs that read the version (with a version only), the names of
    the datasets reached, the inputs with their runs and models."""
    walk = lineage_walk(dataset.pk, depth=settings.CATALOG_LINEAGE_MAX_DEPTH, direction=DOWNSTREAM)
    paths = _derived_from(dataset.pk, walk.edges, version)
    depths = {pk: len(path) - 1 for pk, path in paths.items()}
    visible = _visible_names(reader, set(paths) - {dataset.pk})
    visible[dataset.pk] = dataset
    names = {pk: node_id(row) for pk, row in visible.items()}
    names.update(_placeholders(set(paths) - set(visible), depths))

    read_here = Q(dataset_id=dataset.pk) if version is None else Q(version_id=version.pk)
    inputs = (
        TrainingInput.objects.filter(read_here | Q(dataset_id__in=set(paths) - {dataset.pk}))
        .filter(run__in=runs_visible_to(reader))
        .select_related("run__model")
        .only(
            "id",
            "position",
            "role",
            "dataset_id",
            "version_id",
            "version_number",
            "run__id",
            "run__model_version",
            "run__status",
            "run__confirmed",
            "run__created_at",
            "run__model__id",
            "run__model__namespace",
            "run__model__name",
        )
        .order_by("-run__created_at", "-run__id", "position")
    )
    nearest: dict[UUID, TrainingInput] = {}
    for item in inputs:
        assert item.dataset_id is not None  # filtered on it
        current = nearest.get(item.run_id)
        if current is None or depths[item.dataset_id] < depths[current.dataset_id]:  # type: ignore[index]
            nearest[item.run_id] = item
    impact = Impact()
    models: dict[UUID, Model] = {}
    for item in nearest.values():
        assert item.dataset_id is not None
        run = item.run
        shown = item.dataset_id in visible
        impact.training_runs.append(
            {
                "id": run.pk,
                "model": run.model_id,
                "model_version": run.model_version,
                "status": run.status,
                "confirmed": run.confirmed,
                "role": item.role,
                "version": item.version_id if shown else None,
                "version_number": item.version_number if shown else None,
                "path": [names[pk] for pk in paths[item.dataset_id]],
            }
        )
        models[run.model_id] = run.model
    impact.models = [
        {"id": model.pk, "namespace": model.namespace, "name": model.name}
        for model in sorted(models.values(), key=lambda model: (model.namespace, model.name))
    ]
    return impact


# --- Findings on a model ----------------------------------------------------------------------------


def model_latest_confirmed_run(model: Model) -> TrainingRun | None:
    """The run findings are computed from: the model's latest confirmed run, as its page shows it.
    Earlier runs built earlier versions of the model; what is deployed is taken to be the latest."""
    return models_latest_runs([model.pk]).get(model.pk)


def _forbidden_by(
    dataset: Dataset, alternatives: list[tuple[str, ...]], terms: dict[str, rules.Terms], purpose: rules.Purpose
) -> list[str]:
    """The audit's findings by which the dataset's license forbids the purpose (on its best alternative)."""
    subject = rules.Subject(
        dataset_id=str(dataset.pk),
        label=f"{dataset.namespace}/{dataset.name}",
        license=dataset.license,
        alternatives=tuple(alternatives),
        origin=dataset.origin,
        sensitivity=dataset.sensitivity,
        lifecycle=dataset.lifecycle,
        owners=("-",),
        version_id=None,
        version_number=None,
        version_status=None,
        version_deprecated=False,
        source_changed=False,
        quality_codes=(),
        personal_features=(),
        path=(),
    )
    outcome = rules.evaluate(subject, terms, purpose)
    return sorted({finding["code"] for finding in outcome.findings if finding["code"] in FORBIDDING})


def _licenses_then(run: TrainingRun, inputs: list[TrainingInput], dataset_ids: Iterable[UUID]) -> dict[UUID, str]:
    """The license each dataset had when the run was recorded: kept on the input for the datasets it
    read; for the others, the license before the first change of it logged since (one query), else the
    one it has now."""
    then: dict[UUID, str] = {}
    for change in (
        Change.objects.filter(
            object_type=ObjectType.DATASET,
            dataset_id__in=set(dataset_ids),
            created_at__gt=run.created_at,
            before__has_key="license",
        )
        .order_by("created_at")
        .only("dataset_id", "before")
    ):
        assert isinstance(change.before, dict)
        assert change.dataset_id is not None
        then.setdefault(change.dataset_id, str(change.before.get("license") or ""))
    for item in inputs:
        if item.dataset_id is not None:
            then[item.dataset_id] = item.license
    return then


def model_findings(model: Model, reader: User | AnonymousUser | None) -> list[dict[str, Any]]:
    """What has gone wrong since with the data the model's latest confirmed run learned from: its input
    datasets and everything upstream of them through confirmed lineage, as they are now.

    A dataset the reader may not read is named by a placeholder, with no id, version or license; its
    finding's code stays, so the model's owners know what to ask the dataset's owners about. Without a
    reader (the catalog itself, for its own notices: never an answer to a person), every dataset is named.
    Queries: the run, its inputs, the upstream walk, the datasets, their versions, the license
    changes logged, the licenses' terms (and the license parser's check of its table)."""
    run = model_latest_confirmed_run(model)
    if run is None:
        return []
    inputs = [item for item in run.inputs.select_related("version").order_by("position") if item.dataset_id is not None]
    roots = {item.dataset_id for item in inputs if item.dataset_id is not None}
    walks = lineage_upstream(roots, depth=settings.CATALOG_LINEAGE_MAX_DEPTH)
    # Each dataset reached once, by its shortest path from an input, and the version checked of it:
    # the one read for an input; the one an edge recorded as read for an upstream dataset, else its latest.
    paths: dict[UUID, list[UUID]] = {}
    recorded_version: dict[UUID, UUID | None] = {
        item.dataset_id: item.version_id for item in inputs if item.dataset_id is not None
    }
    for root in sorted(roots, key=str):
        for node, chain in walks[root].upstream_paths().items():
            path = [root, *(edge.source_id for edge in chain)]
            if node not in paths or len(path) < len(paths[node]):
                paths[node] = path
                if chain and node not in roots:
                    recorded_version[node] = chain[-1].source_version_id
    readable = Value(True) if reader is None else Exists(datasets_visible_to(reader).filter(pk=OuterRef("pk")))
    datasets = {
        dataset.pk: dataset
        for dataset in Dataset.objects.filter(pk__in=paths)
        .annotate(readable=readable)
        .only("id", "namespace", "name", "license", "origin", "sensitivity", "lifecycle", "latest_version")
    }
    checked = {pk: recorded_version.get(pk) or dataset.latest_version_id for pk, dataset in datasets.items()}
    versions = {
        version.pk: version
        for version in DatasetVersion.objects.filter(pk__in={pk for pk in checked.values() if pk}).only(
            "id", "dataset_id", "number", "deprecated_at", "source_changed_at", "contract_check"
        )
    }
    hidden = {pk for pk, dataset in datasets.items() if not dataset.readable}
    names = {pk: node_id(dataset) for pk, dataset in datasets.items() if pk not in hidden}
    names.update(_placeholders(hidden, {pk: len(path) - 1 for pk, path in paths.items()}))

    then = _licenses_then(run, inputs, datasets)
    relicensed = {pk: dataset for pk, dataset in datasets.items() if pk in then and then[pk] != dataset.license}
    by_expression = license_alternatives(dataset.license for dataset in relicensed.values())
    wanted = {spdx_id for options in by_expression.values() for option in options for spdx_id in option}
    terms = license_terms(wanted) if wanted else {}
    purpose = rules.Purpose(**{key: bool(value) for key, value in (run.purpose or {}).items() if key in PURPOSES})
    changed_versions = {
        str(entry.get("version")) for entry in (run.verification or {}).get("changed", []) if entry.get("version")
    }

    findings: list[dict[str, Any]] = []
    for pk in sorted(datasets, key=lambda pk: (len(paths[pk]), names[pk])):
        dataset = datasets[pk]
        version_id = checked.get(pk)
        version = versions.get(version_id) if version_id else None
        shown = pk not in hidden
        label = f"{dataset.namespace}/{dataset.name}" if shown else RESTRICTED_LABEL
        where = "" if pk in roots else f" (upstream of the run's input {names[paths[pk][0]]})"
        number = (f"version {version.number}" if shown else "the version read") if version is not None else ""
        problems: list[tuple[str, str, DatasetVersion | None]] = []
        if pk in relicensed:
            forbidding = _forbidden_by(dataset, by_expression[dataset.license], terms, purpose)
            if forbidding:
                was = then[pk] or "no known license"
                now = dataset.license or "no known license"
                message = (
                    f"its license changed from {was} to {now} since the run was recorded, and {now} forbids "
                    f"{purpose.describe()} ({', '.join(forbidding)})."
                    if shown
                    else f"its license changed since the run was recorded, and forbids {purpose.describe()}."
                )
                problems.append(("upstream_license_changed", message, None))
        if version is not None and (version.source_changed_at is not None or str(version.pk) in changed_versions):
            problems.append(
                ("upstream_source_changed", f"the bytes of {number} changed after it was registered.", version)
            )
        if dataset.lifecycle == Lifecycle.RETIRED:
            problems.append(("upstream_retired", "the dataset is retired.", None))
        elif dataset.lifecycle == Lifecycle.DEPRECATED:
            problems.append(("upstream_deprecated", "the dataset is deprecated.", None))
        elif version is not None and version.deprecated_at is not None:
            problems.append(("upstream_deprecated", f"{number} is deprecated.", version))
        if dataset.sensitivity == Sensitivity.RESTRICTED:
            problems.append(("upstream_restricted", "the dataset is restricted.", None))
        check = (version.contract_check or {}) if version is not None else {}
        if check.get("status") == "failed" and check.get("enforcement") == "block":
            problems.append(
                ("contract_failed", f"{number} fails contract v{check.get('version')} of its dataset.", version)
            )
        findings.extend(
            {
                "code": code,
                "severity": FINDINGS[code][0],
                "message": f"{label}: {message}{where}",
                "dataset": pk if shown else None,
                "dataset_name": label,
                "version": about.pk if shown and about is not None else None,
                "run": run.pk,
                "path": [names[step] for step in paths[pk]],
            }
            for code, message, about in problems
        )
    order = rules.SEVERITY_ORDER
    return sorted(findings, key=lambda item: (order[item["severity"]], len(item["path"]), item["code"]))


PURPOSES = ("commercial", "distribute_model", "distribute_data")


def models_trained_on(*, dataset_id: UUID, version_id: UUID | None = None) -> list[Model]:
    """Every model with a run that read the dataset (with a version: that version) or a dataset derived from
    it through confirmed lineage, whoever may read them: for the catalog's own notices, never an answer to a
    reader. Queries: the downstream walk, the version and the jobs that read it (with a version), the models."""
    version = DatasetVersion.objects.filter(pk=version_id).first() if version_id is not None else None
    walk = lineage_walk(dataset_id, depth=settings.CATALOG_LINEAGE_MAX_DEPTH, direction=DOWNSTREAM)
    paths = _derived_from(dataset_id, walk.edges, version)
    read_here = Q(dataset_id=dataset_id) if version is None else Q(version_id=version.pk)
    inputs = TrainingInput.objects.filter(read_here | Q(dataset_id__in=set(paths) - {dataset_id}))
    return list(Model.objects.filter(pk__in=inputs.values("run__model_id")).order_by("namespace", "name"))
