"""The catalog's lineage in Marquez's own shapes (`?format=marquez`, and the read endpoints Marquez's
web UI calls beside the graph): camelCase keys, `DB_TABLE` datasets, `BATCH` jobs, Marquez's run
states, `null` for what is unknown. Only shapes here: what is read, and what a reader may see, is
decided by the selectors and the views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rest_framework import renderers

from catalog.models import Dataset
from lineage.choices import RunState
from lineage.models import Job, Run


class MarquezRenderer(renderers.JSONRenderer):
    """JSON in Marquez's shapes, chosen by `?format=marquez` (an error is still its problem document)."""

    format = "marquez"


# OpenLineage's eventType, as the state of a run, in Marquez's names (START and RUNNING are RUNNING).
RUN_STATES: dict[str, str] = {
    RunState.START: "RUNNING",
    RunState.RUNNING: "RUNNING",
    RunState.COMPLETE: "COMPLETED",
    RunState.FAIL: "FAILED",
    RunState.ABORT: "ABORTED",
    RunState.OTHER: "OTHER",
}

# What stands for a dataset or job the reader may not read: Marquez's identity keys, naming nothing.
RESTRICTED_NAMESPACE = "restricted"


def time_text(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _text(value: str) -> str | None:
    return value or None


def dataset_data(dataset: Dataset) -> dict[str, Any]:
    """A dataset as Marquez's lineage graph node data (`DatasetData`) and its dataset lists show it."""
    report = getattr(dataset, "lineage_report", None)
    facets = report.facets if report is not None else {}
    lifecycle = facets.get("lifecycleStateChange") if isinstance(facets, dict) else None
    return {
        "id": {"namespace": dataset.namespace, "name": dataset.name},
        "type": "DB_TABLE",
        "name": dataset.name,
        "physicalName": dataset.name,
        "createdAt": time_text(dataset.created_at),
        "updatedAt": time_text(dataset.updated_at),
        "namespace": dataset.namespace,
        "sourceName": (report.source_name if report is not None else "") or dataset.namespace,
        "fields": [
            {
                "name": str(entry.get("name", "")),
                "type": entry.get("type") or None,
                "tags": [],
                "description": entry.get("description") or None,
            }
            for entry in (report.fields if report is not None else [])
            if isinstance(entry, dict)
        ],
        "tags": [],
        "lastModifiedAt": time_text(report.updated_at) if report is not None else None,
        "description": _text(dataset.description),
        "lastLifecycleState": (lifecycle or {}).get("lifecycleStateChange") if isinstance(lifecycle, dict) else None,
    }


def restricted_dataset_data(placeholder: str) -> dict[str, Any]:
    """A dataset the reader may not read: its place in the graph, named by a number only."""
    return {
        "id": {"namespace": RESTRICTED_NAMESPACE, "name": placeholder},
        "type": "DB_TABLE",
        "name": placeholder,
        "physicalName": placeholder,
        "createdAt": None,
        "updatedAt": None,
        "namespace": RESTRICTED_NAMESPACE,
        "sourceName": RESTRICTED_NAMESPACE,
        "fields": [],
        "tags": [],
        "lastModifiedAt": None,
        "description": None,
        "lastLifecycleState": None,
        "restricted": True,
    }


def run_data(run: Run) -> dict[str, Any]:
    """A run as Marquez shows a job's `latestRun`. Its facets are not shown: they may name datasets."""
    duration = None
    if run.started_at is not None and run.ended_at is not None:
        duration = int((run.ended_at - run.started_at).total_seconds() * 1000)
    return {
        "id": str(run.pk),
        "createdAt": time_text(run.created_at),
        "updatedAt": time_text(run.updated_at),
        "nominalStartTime": time_text(run.nominal_start_time),
        "nominalEndTime": time_text(run.nominal_end_time),
        "state": RUN_STATES.get(run.state, "OTHER"),
        "startedAt": time_text(run.started_at),
        "endedAt": time_text(run.ended_at),
        "durationMs": duration,
        "args": {},
        "facets": {},
    }


def job_data(
    job: Job,
    *,
    inputs: list[dict[str, str]],
    outputs: list[dict[str, str]],
    withheld: bool = False,
    latest_run: Run | None = None,
) -> dict[str, Any]:
    """A job as Marquez's lineage graph node data (`JobData`) and its job lists show it. A job that
    ran on a dataset the reader may not read has its description and latest run withheld."""
    run = None if withheld else latest_run
    parent = job.facets.get("parent") if isinstance(job.facets, dict) and not withheld else None
    parent_job = parent.get("job") if isinstance(parent, dict) else None
    return {
        "id": {"namespace": job.namespace, "name": job.name},
        "type": "STREAM" if job.processing_type.upper() == "STREAMING" else "BATCH",
        "name": job.name,
        "simpleName": job.name,
        "parentJobName": parent_job.get("name") if isinstance(parent_job, dict) else None,
        "parentJobUuid": None,
        "createdAt": time_text(job.created_at),
        "updatedAt": time_text(job.updated_at),
        "namespace": job.namespace,
        "inputs": inputs,
        "outputs": outputs,
        "location": None,
        "description": None if withheld else _text(job.description),
        "latestRun": run_data(run) if run is not None else None,
    }


def restricted_job_data(placeholder: str) -> dict[str, Any]:
    return {
        "id": {"namespace": RESTRICTED_NAMESPACE, "name": placeholder},
        "type": "BATCH",
        "name": placeholder,
        "simpleName": placeholder,
        "parentJobName": None,
        "parentJobUuid": None,
        "createdAt": None,
        "updatedAt": None,
        "namespace": RESTRICTED_NAMESPACE,
        "inputs": [],
        "outputs": [],
        "location": None,
        "description": None,
        "latestRun": None,
        "restricted": True,
    }


def dataset_full(dataset: Dataset) -> dict[str, Any]:
    """A dataset as Marquez's dataset lists show it: its graph data, with its version and state. Its
    reported facets are not shown: a columnLineage or symlinks facet names other datasets, which the
    reader may not read."""
    return {
        **dataset_data(dataset),
        "facets": {},
        "currentVersion": str(dataset.latest_version_id) if dataset.latest_version_id else None,
        "deleted": False,
    }
