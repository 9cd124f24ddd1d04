"""Ingesting an OpenLineage event: validated, kept whole, and projected in one transaction."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.dispatch import Signal

from catalog.models import Dataset
from lineage.models import LineageEvent, Run
from lineage.openlineage import EventKind, validate_event
from lineage.selectors import Identity
from lineage.services.datasets import _project_datasets_facets, _resolve_event_datasets
from lineage.services.edges import _column_lineage_record, _edges_record
from lineage.services.events import (
    _canonical,
    _check_bounds,
    _check_sizes,
    _column_lineage_identities,
    _event_time,
    _parse_datasets,
)
from lineage.services.runs import _job_project, _run_datasets_record, _run_project, _versions_reported
from lineage.services.trust import _may_change

# Sent inside an event's transaction once its run is projected, with `actor` (the sender), `event` (the
# validated RunEvent), `job` and `run` (the lineage Job and Run, their state, times and facets merged over
# all of their events so far), `datasets` ({identity: catalog Dataset} of the event's inputs and outputs) and `versions`
# ({identity: DatasetVersion} that their version facets name). The apps above the lineage (training)
# connect to it: the lineage imports none of them. A receiver keeps its own failures to itself.
lineage_run_reported = Signal()


@dataclass(frozen=True)
class IngestResult:
    event: LineageEvent
    created: bool
    datasets: dict[Identity, Dataset] = field(default_factory=dict)
    # The identities whose dataset the sender may not write: what the event said of them waits.
    unconfirmed: set[Identity] = field(default_factory=set)


def lineage_event_ingest(*, actor: User, payload: Any) -> IngestResult:
    """Record an OpenLineage event and project it into the catalog, in one transaction.

    Raises InvalidEvent (nothing written) for an event the OpenLineage schema refuses, EventTooLarge
    for one that would write more edges than one event may. The same event delivered again is
    recognised by its digest and changes nothing.

    The raw event is always kept; its projection changes only what the sender may write: facets of
    datasets they own, steward or produce for (as a trusted group), jobs and runs they first
    reported. Edges into other datasets are held unconfirmed for those datasets' owners.
    """
    kind = validate_event(payload)
    canonical = _canonical(payload)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    existing = LineageEvent.objects.filter(digest=digest).first()
    if existing is not None:
        return IngestResult(event=existing, created=False)

    moment = _event_time(payload["eventTime"])
    datasets = _parse_datasets(kind, payload)
    extra = _column_lineage_identities(datasets)
    _check_sizes(payload, datasets, extra)
    _check_bounds(datasets)
    job_spec = payload.get("job") if kind != EventKind.DATASET else None
    run_spec = payload.get("run") if kind == EventKind.RUN else None

    try:
        with transaction.atomic():
            event = LineageEvent.objects.create(
                digest=digest,
                kind=kind,
                event_type=str(payload.get("eventType") or "")[:16],
                event_time=moment,
                run_id=UUID(run_spec["runId"]) if run_spec else None,
                job_namespace=job_spec["namespace"] if job_spec else "",
                job_name=job_spec["name"] if job_spec else "",
                producer=str(payload.get("producer", ""))[:2048],
                payload=payload,
                received_by=actor,
            )
            resolved, writable, governed = _resolve_event_datasets(actor, datasets, extra)
            # Identities in namespaces closed to the sender name nothing: the raw event keeps them.
            datasets = [item for item in datasets if item.identity in resolved]
            named = {resolved[item.identity].pk for item in datasets}
            writable &= named
            _project_datasets_facets(
                actor=actor,
                reports=[
                    (resolved[item.identity], item.facets)
                    for item in datasets
                    if resolved[item.identity].pk in writable
                ],
                moment=moment,
                governed=governed & writable,
            )
            job = _job_project(actor, payload, moment) if job_spec else None
            # Runs of another sender's job are theirs to report.
            run = None
            if run_spec and job is not None and _may_change(actor, job.owner_id):
                run = _run_project(actor, payload, job, moment)
            versions = _versions_reported(datasets, resolved)
            if run is not None:
                _run_datasets_record(run, datasets, resolved, versions)
                lineage_run_reported.send(
                    sender=Run,
                    actor=actor,
                    event=payload,
                    job=job,
                    run=run,
                    datasets={item.identity: resolved[item.identity] for item in datasets},
                    versions=versions,
                )
            if job is not None:
                _edges_record(
                    actor=actor,
                    job=job,
                    run=run,
                    moment=moment,
                    datasets=datasets,
                    resolved=resolved,
                    versions=versions,
                    writable=writable,
                )
            _column_lineage_record(
                actor=actor, job=job, run=run, moment=moment, datasets=datasets, resolved=resolved, writable=writable
            )
    except IntegrityError:
        # The same event, delivered twice at once: the other delivery recorded it.
        existing = LineageEvent.objects.filter(digest=digest).first()
        if existing is None:
            raise
        return IngestResult(event=existing, created=False)
    return IngestResult(
        event=event,
        created=True,
        datasets={item.identity: resolved[item.identity] for item in datasets},
        unconfirmed={item.identity for item in datasets if resolved[item.identity].pk not in writable},
    )
