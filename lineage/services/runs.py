"""The jobs and runs an event reports, and the datasets (and catalog versions) each run read and wrote."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db.models import Q

from catalog.models import Dataset, DatasetVersion
from lineage.choices import RUN_STATE_RANK, RunState
from lineage.models import Job, Run, RunDataset
from lineage.openlineage import InvalidEvent
from lineage.selectors import Identity
from lineage.services.events import _event_time, _EventDataset, _merge_facets
from lineage.services.trust import _may_change


def _job_project(actor: User, payload: Mapping[str, Any], moment: datetime) -> Job:
    spec = payload["job"]
    identity = {"namespace": spec["namespace"], "name": spec["name"]}
    job = Job.objects.select_for_update().filter(**identity).first()
    if job is None:
        # ignore_conflicts: another event may report the same new job at the same moment.
        Job.objects.bulk_create([Job(**identity, owner=actor)], ignore_conflicts=True)
        job = Job.objects.select_for_update().get(**identity)
    if not _may_change(actor, job.owner_id):
        return job
    facets = spec.get("facets") or {}
    current, times = dict(job.facets), dict(job.facet_times)
    if _merge_facets(current, times, facets, moment):
        job.facets, job.facet_times = current, times
        documentation = current.get("documentation") or {}
        job.description = str(documentation.get("description", ""))
        job_type = current.get("jobType") or {}
        job.job_type = str(job_type.get("jobType", ""))[:64]
        job.integration = str(job_type.get("integration", ""))[:64]
        job.processing_type = str(job_type.get("processingType", ""))[:16]
        job.save()
    return job


_RUN_FIELDS = (
    "state",
    "state_event_time",
    "started_at",
    "ended_at",
    "nominal_start_time",
    "nominal_end_time",
    "parent_run_id",
    "facets",
    "facet_times",
)


def _run_project(actor: User, payload: Mapping[str, Any], job: Job, moment: datetime) -> tuple[Run | None, bool]:
    """The event's run, brought up to date; None when the sender may not change it (the run is
    another sender's): such an event changes neither the run nor what it read and wrote. With
    whether this event inserted the run (nothing else can have recorded what it read and wrote).

    A new run is inserted as this event makes it, so that reading it back (locked) finds nothing to
    change: three queries for a new run, two for a known one, whatever the event carries."""
    spec = payload["run"]
    run_id = UUID(spec["runId"])
    state = payload.get("eventType") or RunState.OTHER
    if state not in RunState.values:
        state = RunState.OTHER
    run = Run.objects.select_for_update().filter(pk=run_id).first()
    fresh = False
    if run is None:
        new = Run(id=run_id, job=job, state=state, state_event_time=moment, owner=actor)
        _run_apply(new, spec, state, moment)
        # ignore_conflicts: the same run's other event may insert it at the same moment.
        Run.objects.bulk_create([new], ignore_conflicts=True)
        run = Run.objects.select_for_update().get(pk=run_id)
        # Our insert stamped the row's creation time: the same time read back is our row.
        fresh = run.created_at == new.created_at
    if run.job_id != job.pk:
        raise InvalidEvent([{"path": "run/runId", "message": f"run {run_id} belongs to the job {run.job}, not {job}"}])
    if not _may_change(actor, run.owner_id):
        return None, False
    before = tuple(getattr(run, name) for name in _RUN_FIELDS)
    _run_apply(run, spec, state, moment)
    if tuple(getattr(run, name) for name in _RUN_FIELDS) != before:
        run.save()
    # The job's latest run is the one that started last, whichever run's events arrive last: one
    # conditional update, against the start of the run it names now.
    if job.latest_run_id != run.pk:
        Job.objects.filter(pk=job.pk).filter(
            Q(latest_run__isnull=True)
            | Q(latest_run__started_at__isnull=True)
            | Q(latest_run__started_at__lte=run.started_at)
        ).update(latest_run=run)
    return run, fresh


def _run_apply(run: Run, spec: Mapping[str, Any], state: str, moment: datetime) -> None:
    """What the event says of its run, merged into it (in memory): the latest state by rank and time,
    the earliest start, the latest end, each facet's latest value. Applying one event twice changes
    nothing the second time."""
    if (RUN_STATE_RANK[RunState(state)], moment) > (RUN_STATE_RANK[RunState(run.state)], run.state_event_time):
        run.state, run.state_event_time = state, moment
    run.started_at = min(run.started_at or moment, moment)
    if state in (RunState.COMPLETE, RunState.ABORT, RunState.FAIL):
        run.ended_at = max(run.ended_at or moment, moment)
    facets = spec.get("facets") or {}
    current, times = dict(run.facets or {}), dict(run.facet_times or {})
    _merge_facets(current, times, facets, moment)
    run.facets, run.facet_times = current, times
    nominal = current.get("nominalTime") or {}
    if nominal.get("nominalStartTime"):
        run.nominal_start_time = _event_time(nominal["nominalStartTime"], "run.facets.nominalTime.nominalStartTime")
    if nominal.get("nominalEndTime"):
        run.nominal_end_time = _event_time(nominal["nominalEndTime"], "run.facets.nominalTime.nominalEndTime")
    parent = (current.get("parent") or {}).get("run") or {}
    if parent.get("runId"):
        run.parent_run_id = UUID(parent["runId"])


def _versions_reported(
    datasets: Sequence[_EventDataset], resolved: Mapping[Identity, Dataset]
) -> dict[Identity, DatasetVersion]:
    """The catalog versions the event's version facets name: a fingerprint, a version number or an id."""
    reported: dict[Identity, str] = {}
    for item in datasets:
        text = str((item.facets.get("version") or {}).get("datasetVersion", "")).strip()
        if text:
            reported[item.identity] = text
    if not reported:
        return {}
    dataset_ids = {resolved[identity].pk for identity in reported}
    texts = set(reported.values())
    numbers = {int(text) for text in texts if text.isdigit() and len(text) < 10}
    ids = set()
    for text in texts:
        with contextlib.suppress(ValueError):
            ids.add(UUID(text))
    versions = DatasetVersion.objects.filter(
        Q(fingerprint__in=texts) | Q(number__in=numbers) | Q(id__in=ids), dataset_id__in=dataset_ids
    )
    by_dataset: dict[UUID, list[DatasetVersion]] = {}
    for version in versions:
        by_dataset.setdefault(version.dataset_id, []).append(version)
    found: dict[Identity, DatasetVersion] = {}
    for identity, text in reported.items():
        for version in by_dataset.get(resolved[identity].pk, []):
            if text in (version.fingerprint, str(version.number), str(version.pk)):
                found[identity] = version
                break
    return found


def _run_datasets_record(
    run: Run,
    datasets: Sequence[_EventDataset],
    resolved: Mapping[Identity, Dataset],
    versions: Mapping[Identity, DatasetVersion],
    *,
    fresh: bool = False,
) -> None:
    """What the run read and wrote, merged with what its other events said (a run this event
    inserted has nothing to merge with: its rows are written as they are)."""
    rows = {}
    for item in datasets:
        if item.direction is None:
            continue
        dataset = resolved[item.identity]
        rows[(dataset.pk, item.direction)] = RunDataset(
            run=run,
            dataset=dataset,
            direction=item.direction,
            version=versions.get(item.identity),
            reported_version=str((item.facets.get("version") or {}).get("datasetVersion", ""))[:255],
            facets=item.io_facets,
        )
    if not rows:
        return
    RunDataset.objects.bulk_create(rows.values(), ignore_conflicts=True)
    if fresh:
        return
    existing = RunDataset.objects.select_for_update().filter(run=run, dataset_id__in={key[0] for key in rows})
    changed = []
    for row in existing.order_by("id"):
        new = rows.get((row.dataset_id, row.direction))
        if new is None:
            continue
        updates = {
            "version_id": row.version_id or (new.version.pk if new.version else None),
            "reported_version": row.reported_version or new.reported_version,
            "facets": {**row.facets, **new.facets},
        }
        if any(getattr(row, name) != value for name, value in updates.items()):
            for name, value in updates.items():
                setattr(row, name, value)
            changed.append(row)
    if changed:
        RunDataset.objects.bulk_update(changed, ["version_id", "reported_version", "facets"])
