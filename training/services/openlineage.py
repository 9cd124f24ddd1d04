"""OpenLineage run events that report a training: recorded as training runs (source `openlineage`).

The lineage does not import this app: its ingest sends `lineage_run_reported` inside the event's
transaction, and `training/apps.py` connects `training_run_from_lineage` to it. What the event says is
read by the plain mapping of `training/openlineage.py`; here it is resolved against the catalog and
recorded with `training_run_record`, keyed by the run's id, so the START, COMPLETE (in any order, or
delivered twice) of one run are one training run.

A training run never costs the lineage its event. The inputs are resolved before recording, and
what resolves to no ready version the sender may read is listed on the run as unmatched, as it was
reported, never dropped (and `training_run_record` keeps any it cannot resolve the same way for a
reported run); hyperparameters or metrics past the bounds of a run are left out, said so in its
environment. Should recording still be refused (a run id another sender's run holds, a model that
changed), it is logged and the event stands: the attempt runs in a savepoint, so a refusal leaves
the event's transaction as it was, and the lineage run keeps everything the events said.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone

from catalog.choices import VersionStatus
from catalog.models import Dataset, DatasetVersion
from catalog.selectors import datasets_visible_to
from config import errors
from lineage.choices import Direction
from lineage.models import Job, Run, RunDataset
from training.choices import RunSource
from training.models import TrainingRun
from training.openlineage import ReportedInput, TrainingReport, event_training_report
from training.selectors import first_of_each
from training.services.runs import training_run_record
from training.specs import MAX_INPUTS, MAX_UNMATCHED_INPUTS, ArtifactSpec, InputRef, ModelRef, RunSpec

logger = logging.getLogger(__name__)

Identity = tuple[str, str]


def _latest_ready(dataset_ids: set[UUID], at: datetime) -> dict[UUID, DatasetVersion]:
    """Each dataset's latest version that is ready and was registered by `at`: one query."""
    if not dataset_ids:
        return {}
    versions = first_of_each(
        DatasetVersion.objects.filter(dataset_id__in=dataset_ids, status=VersionStatus.READY, created_at__lte=at),
        "dataset_id",
        F("number").desc(),
    ).only("id", "dataset_id", "number", "fingerprint", "status")
    return {version.dataset_id: version for version in versions}


def _inputs_resolve(
    *,
    actor: User,
    reported: Sequence[ReportedInput],
    datasets: Mapping[Identity, Dataset],
    versions: Mapping[Identity, DatasetVersion],
    at: datetime,
) -> tuple[list[InputRef], list[dict[str, Any]]]:
    """The inputs as catalog versions (pinned by their version facet, else the latest ready one at
    `at`), and those that match none, as reported with the reason."""
    unique: dict[tuple[Identity, str], ReportedInput] = {}
    for item in reported:
        unique.setdefault(((item.namespace, item.name), item.role), item)
    named = {datasets[identity].pk for identity, _ in unique if identity in datasets}
    readable = set(datasets_visible_to(actor).filter(pk__in=named).values_list("pk", flat=True)) if named else set()
    latest = _latest_ready(readable, at)

    found: list[InputRef] = []
    unmatched: list[dict[str, Any]] = []
    for (identity, role), item in unique.items():
        if len(found) == MAX_INPUTS:
            unmatched.append({**item.reported, "reason": f"a run reads at most {MAX_INPUTS} inputs"})
            continue
        dataset = datasets.get(identity)
        if dataset is None or dataset.pk not in readable:
            unmatched.append({**item.reported, "reason": "no dataset of the catalog the sender may read"})
            continue
        version = versions.get(identity)
        if version is not None and version.status != VersionStatus.READY:
            unmatched.append({**item.reported, "reason": f"version {version.number} is {version.status}"})
        elif version is not None:
            found.append(InputRef(role=role, version=version.pk, reported=item.reported))
        elif dataset.pk in latest:
            # Named by the catalog dataset's own identity (the event may have used an alias or a
            # location): resolved to its latest ready version at `at`, recorded as not pinned.
            found.append(
                InputRef(role=role, namespace=dataset.namespace, name=dataset.name, at=at, reported=item.reported)
            )
        else:
            unmatched.append({**item.reported, "reason": "no ready version when the run started"})
    if len(unmatched) > MAX_UNMATCHED_INPUTS:
        # The lineage run keeps every input the events named; the training run lists what it may.
        rest = len(unmatched) - MAX_UNMATCHED_INPUTS + 1
        unmatched = [*unmatched[: MAX_UNMATCHED_INPUTS - 1], {"reason": f"{rest} more inputs, in the lineage run"}]
    return found, unmatched


def _spec(report: TrainingReport, run: Run, inputs: Sequence[InputRef], unmatched: Sequence[dict[str, Any]]) -> RunSpec:
    environment = dict(report.environment)
    if report.omitted:
        environment["openlineage_omitted"] = dict(report.omitted)
    return RunSpec(
        model=ModelRef(namespace=report.model_namespace, name=report.model_name, description=report.model_description),
        model_version=report.model_version,
        status=report.status,
        started_at=run.started_at,
        ended_at=run.ended_at,
        code_repository=report.code_repository,
        code_commit=report.code_commit,
        code_entrypoint=report.code_entrypoint,
        hyperparameters=report.hyperparameters,
        metrics=report.metrics,
        environment=environment,
        inputs=tuple(inputs),
        artifacts=tuple(ArtifactSpec(uri=item.uri, size=item.size) for item in report.artifacts),
        source=RunSource.OPENLINEAGE,
        external_id=str(run.pk),
        lineage_run_id=run.pk,
        unmatched_inputs=tuple(unmatched),
    )


def _run_inputs(run: Run, named: set[UUID]) -> list[RunDataset]:
    """What the run's other events said it read, beyond the datasets this event names."""
    return list(
        RunDataset.objects.filter(run=run, direction=Direction.INPUT)
        .exclude(dataset_id__in=named)
        .select_related("dataset", "version")
        .order_by("id")
    )


def _as_reported(row: RunDataset) -> dict[str, Any]:
    facets = {"version": {"datasetVersion": row.reported_version}} if row.reported_version else {}
    return {"namespace": row.dataset.namespace, "name": row.dataset.name, "facets": facets, "inputFacets": row.facets}


def training_run_from_lineage(
    sender: object,
    *,
    actor: User,
    event: Mapping[str, Any],
    job: Job,
    run: Run,
    datasets: Mapping[Identity, Dataset],
    versions: Mapping[Identity, DatasetVersion],
    **kwargs: Any,
) -> TrainingRun | None:
    """Record the training run a lineage run reports (receiver of `lineage_run_reported`); None when
    the run is no training, or when recording it was refused (logged).

    The event is read with what the run's other events said: the run's facets, state and times and
    the job's facets as the lineage merged them, and the inputs its other events named. So a START
    that names the inputs, parameters and code and a COMPLETE that names the model make one whole
    run, in either order; a late START never reopens it."""
    merged = {
        **event,
        "run": {**event["run"], "facets": run.facets},
        "job": {**event["job"], "facets": {**job.facets, **(event["job"].get("facets") or {})}},
    }
    report = event_training_report(merged, state=run.state)
    # The model is the one the run's first training event named, whatever its later events name.
    known = (
        TrainingRun.objects.filter(source=RunSource.OPENLINEAGE, external_id=str(run.pk))
        .values_list("model__namespace", "model__name")
        .first()
    )
    if known is not None:
        report = event_training_report(merged, state=run.state, model=known)
    if report is None:
        return None
    named = {
        datasets[identity].pk
        for identity in ((item.namespace, item.name) for item in report.inputs)
        if identity in datasets
    }
    earlier = _run_inputs(run, named)
    if earlier:
        merged["inputs"] = [*(event.get("inputs") or []), *(_as_reported(row) for row in earlier)]
        report = event_training_report(merged, state=run.state, model=(report.model_namespace, report.model_name))
        assert report is not None
        datasets = {**datasets, **{(row.dataset.namespace, row.dataset.name): row.dataset for row in earlier}}
        versions = {
            **versions,
            **{(row.dataset.namespace, row.dataset.name): row.version for row in earlier if row.version is not None},
        }
    # The projection sets a run's start from its first event; the run read what was ready by then.
    at = run.started_at or timezone.now()
    inputs, unmatched = _inputs_resolve(
        actor=actor, reported=report.inputs, datasets=datasets, versions=versions, at=at
    )
    try:
        with transaction.atomic():
            return training_run_record(actor=actor, spec=_spec(report, run, inputs, unmatched))
    except (errors.DomainError, DatabaseError) as exc:
        logger.warning("The training run of lineage run %s was not recorded: %s", run.pk, exc)
        return None
