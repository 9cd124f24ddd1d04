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
    Job.objects.get_or_create(namespace=spec["namespace"], name=spec["name"], defaults={"owner": actor})
    job = Job.objects.select_for_update().get(namespace=spec["namespace"], name=spec["name"])
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


def _run_project(actor: User, payload: Mapping[str, Any], job: Job, moment: datetime) -> Run | None:
    """The event's run, brought up to date; None when the sender may not change it (the run is
    another sender's): such an event changes neither the run nor what it read and wrote."""
    spec = payload["run"]
    run_id = UUID(spec["runId"])
    state = payload.get("eventType") or RunState.OTHER
    if state not in RunState.values:
        state = RunState.OTHER
    Run.objects.get_or_create(
        id=run_id, defaults={"job": job, "state": state, "state_event_time": moment, "owner": actor}
    )
    run = Run.objects.select_for_update().get(pk=run_id)
    if run.job_id != job.pk:
        raise InvalidEvent([{"path": "run/runId", "message": f"run {run_id} belongs to the job {run.job}, not {job}"}])
    if not _may_change(actor, run.owner_id):
        return None
    if (RUN_STATE_RANK[RunState(state)], moment) > (RUN_STATE_RANK[RunState(run.state)], run.state_event_time):
        run.state, run.state_event_time = state, moment
    run.started_at = min(run.started_at or moment, moment)
    if state in (RunState.COMPLETE, RunState.ABORT, RunState.FAIL):
        run.ended_at = max(run.ended_at or moment, moment)
    facets = spec.get("facets") or {}
    current, times = dict(run.facets), dict(run.facet_times)
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
    run.save()
    # The job's latest run is the one that started last, whichever run's events arrive last.
    other = None if job.latest_run_id in (None, run.pk) else job.latest_run_id
    latest_start = Run.objects.filter(pk=other).values_list("started_at", flat=True).first() if other else None
    if latest_start is None or run.started_at >= latest_start:
        Job.objects.filter(pk=job.pk).update(latest_run=run)
    return run


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
) -> None:
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
