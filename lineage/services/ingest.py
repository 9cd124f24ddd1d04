"""Ingesting OpenLineage events, one or a batch: validated, kept whole, and projected in transactions
(lineage.services.projection: a list of events in a constant number of queries)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import DatabaseError, IntegrityError, OperationalError, transaction
from django.dispatch import Signal

from catalog.models import Dataset
from config import errors
from lineage.models import LineageEvent
from lineage.openlineage import EventKind, InvalidEvent, validate_event
from lineage.selectors import Identity
from lineage.services.events import (
    _canonical,
    _check_bounds,
    _check_sizes,
    _column_lineage_identities,
    _event_time,
    _parse_datasets,
)
from lineage.services.projection import Prepared, ProjectionMoved, events_project

logger = logging.getLogger(__name__)

# The most events one batch may carry, and how many of them are projected together, in one transaction
# and a constant number of queries: one commit per group instead of one per event, while a group's row
# locks are held only as long as its events take.
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
    kind, digest = _event_read(payload)
    existing = LineageEvent.objects.filter(digest=digest).first()
    if existing is not None:
        return IngestResult(event=existing, created=False)
    return _event_project(actor, _event_prepare(kind, payload, digest))


def _event_read(payload: Any) -> tuple[EventKind, str]:
    """The event validated (InvalidEvent), and its digest."""
    kind = validate_event(payload)
    return kind, hashlib.sha256(_canonical(payload).encode()).hexdigest()


def _event_prepare(kind: EventKind, payload: Any, digest: str) -> Prepared:
    """What the projection reads of a new event, its sizes and bounds checked (InvalidEvent,
    EventTooLarge) before anything is written."""
    moment = _event_time(payload["eventTime"])
    datasets = _parse_datasets(kind, payload)
    extra = _column_lineage_identities(datasets)
    _check_sizes(payload, datasets, extra)
    _check_bounds(datasets)
    return Prepared(kind, payload, digest, moment, datasets, extra)


def _event_project(actor: User, prepared: Prepared) -> IngestResult:
    """Record a prepared event and project it (the list of one), in a transaction of its own or a
    savepoint inside another. Should a concurrent writer have inserted a row it meant to insert, the
    event is taken again once, seeing that row; the same event recorded at the same moment by another
    delivery makes this one a duplicate."""
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                (projected,) = events_project(actor, [prepared], signal=lineage_run_reported)
        except IntegrityError:
            # The same event, delivered twice at once: the other delivery recorded it.
            existing = LineageEvent.objects.filter(digest=prepared.digest).first()
            if existing is not None:
                return IngestResult(event=existing, created=False)
            if attempt == 2:
                raise
        except ProjectionMoved:
            if attempt == 2:
                raise
        else:
            return IngestResult(
                event=projected.event,
                created=True,
                datasets=projected.datasets,
                unconfirmed=projected.unconfirmed,
            )
    raise AssertionError("unreachable")  # pragma: no cover


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

    The events are validated first, and those already recorded found in one query. The others are
    projected by groups, each group as one list in one transaction (lineage.services.projection: the
    same graph as its events one by one, in a constant number of queries); should any of them fail
    once writing, the group is rolled back and taken again event by event, each in a savepoint of its
    own, so that the failed one fails alone. Should two batches deadlock on the rows their groups
    lock, the group that lost is taken again event by event, each committed alone."""
    if len(payloads) > MAX_BATCH_EVENTS:
        raise BatchTooLarge(
            f"The batch holds {len(payloads)} events; one batch may hold at most {MAX_BATCH_EVENTS}. "
            "Split it into several batches.",
            field="events",
            limit=MAX_BATCH_EVENTS,
        )
    results: dict[int, BatchItem] = {}
    read: list[tuple[int, EventKind, str]] = []
    for index, payload in enumerate(payloads):
        try:
            kind, digest = _event_read(payload)
        except InvalidEvent as exc:
            results[index] = _refusal(index, exc)
            continue
        read.append((index, kind, digest))
    known = dict(LineageEvent.objects.filter(digest__in={digest for _, _, digest in read}).values_list("digest", "id"))
    first: dict[str, int] = {}
    repeats: dict[int, int] = {}
    pending: list[tuple[int, Prepared]] = []
    for index, kind, digest in read:
        if digest in known:
            results[index] = BatchItem(index=index, status="duplicate", event_id=known[digest])
        elif digest in first:
            repeats[index] = first[digest]
        else:
            first[digest] = index
            try:
                pending.append((index, _event_prepare(kind, payloads[index], digest)))
            except (InvalidEvent, errors.DomainError) as exc:
                results[index] = _refusal(index, exc)
    for start in range(0, len(pending), BATCH_GROUP):
        group = pending[start : start + BATCH_GROUP]
        for item in _group_ingest(actor, payloads, group):
            results[item.index] = item
    # The same event twice in one batch: the later is a duplicate of the earlier (or fails as it did).
    for index, earlier in repeats.items():
        found = results[earlier]
        if found.event_id is not None:
            results[index] = BatchItem(index=index, status="duplicate", event_id=found.event_id)
        else:
            results[index] = BatchItem(index=index, status=found.status, errors=found.errors)
    return [results[index] for index in range(len(payloads))]


def _group_ingest(actor: User, payloads: Sequence[Any], group: list[tuple[int, Prepared]]) -> list[BatchItem]:
    try:
        with transaction.atomic():
            projected = events_project(actor, [prepared for _, prepared in group], signal=lineage_run_reported)
        return [
            BatchItem(index=index, status="created", event_id=item.event.pk)
            for (index, _), item in zip(group, projected, strict=True)
        ]
    except (DatabaseError, InvalidEvent, errors.DomainError):
        pass
    try:
        with transaction.atomic():
            return [_batch_item(actor, index, payloads[index]) for index, _ in group]
    except OperationalError:
        # A deadlock with a concurrent batch (or a lost connection, which this raises again).
        logger.warning("A lineage batch group met a concurrent writer; taking its events one by one")
        return [_batch_item(actor, index, payloads[index]) for index, _ in group]


def _refusal(index: int, exc: Exception) -> BatchItem:
    if isinstance(exc, InvalidEvent):
        found: dict[str, list[str]] = {}
        for error in exc.errors:
            found.setdefault(error["path"] or "event", []).append(error["message"])
        return BatchItem(index=index, status="invalid", errors=found)
    return BatchItem(index=index, status="refused", errors={"event": [str(exc)]})


def _batch_item(actor: User, index: int, payload: Any) -> BatchItem:
    try:
        result = lineage_event_ingest(actor=actor, payload=payload)
    except (InvalidEvent, errors.DomainError) as exc:
        return _refusal(index, exc)
    return BatchItem(index=index, status="created" if result.created else "duplicate", event_id=result.event.pk)
