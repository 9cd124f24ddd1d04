"""Ingesting an OpenLineage event: validated, kept whole, and projected in one transaction."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import IntegrityError, OperationalError, transaction
from django.dispatch import Signal

from catalog.models import Dataset
from config import errors
from lineage.models import LineageEvent, Run
from lineage.openlineage import EventKind, InvalidEvent, validate_event
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

logger = logging.getLogger(__name__)

# The most events one batch may carry, and how many of them share a transaction (each in a savepoint
# of its own): one commit per group instead of one per event, while a group's row locks are held
# only as long as its events take.
MAX_BATCH_EVENTS = 1000
BATCH_GROUP = 100

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


@dataclass(frozen=True)
class BatchItem:
    """What became of one event of a batch: `created`, `duplicate` (its digest was known), `invalid`
    (the OpenLineage schema refused it, `errors` by path) or `refused` (it would write more than one
    event may, or the catalog refused it: `errors` says why)."""

    index: int
    status: str
    event_id: int | None = None
    errors: dict[str, list[str]] | None = None


class BatchTooLarge(errors.Invalid):
    code = "too_many_events"


def lineage_events_ingest(*, actor: User, payloads: Sequence[Any]) -> list[BatchItem]:
    """Record a batch of OpenLineage events, each validated and projected on its own: an event that is
    invalid or refused fails alone and leaves nothing behind, the others are recorded as if sent one
    by one (the same trust rules per event, the same digest deduplication, in the batch's order).

    Events share a transaction by groups, each in a savepoint: a failed event rolls back its savepoint
    only. Should two batches deadlock on the rows their groups lock, the group that lost is taken
    again event by event, each committed alone."""
    if len(payloads) > MAX_BATCH_EVENTS:
        raise BatchTooLarge(
            f"The batch holds {len(payloads)} events; one batch may hold at most {MAX_BATCH_EVENTS}. "
            "Split it into several batches.",
            field="events",
            limit=MAX_BATCH_EVENTS,
        )
    results: list[BatchItem] = []
    for start in range(0, len(payloads), BATCH_GROUP):
        group = list(enumerate(payloads[start : start + BATCH_GROUP], start=start))
        try:
            with transaction.atomic():
                answers = [_batch_item(actor, index, payload) for index, payload in group]
        except OperationalError:
            # A deadlock with a concurrent batch (or a lost connection, which this raises again).
            logger.warning("A lineage batch group met a concurrent writer; taking its events one by one")
            answers = [_batch_item(actor, index, payload) for index, payload in group]
        results.extend(answers)
    return results


def _batch_item(actor: User, index: int, payload: Any) -> BatchItem:
    try:
        result = lineage_event_ingest(actor=actor, payload=payload)
    except InvalidEvent as exc:
        found: dict[str, list[str]] = {}
        for error in exc.errors:
            found.setdefault(error["path"] or "event", []).append(error["message"])
        return BatchItem(index=index, status="invalid", errors=found)
    except errors.DomainError as exc:
        return BatchItem(index=index, status="refused", errors={"event": [str(exc)]})
    return BatchItem(index=index, status="created" if result.created else "duplicate", event_id=result.event.pk)
