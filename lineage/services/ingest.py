"""Ingesting OpenLineage events, one or a batch: validated and recorded as they arrive, then projected
into the graph by the projector, oldest first, a list at a time (lineage.services.projection: a list of
events in a constant number of queries).

Recording is what a sender waits for: the event is validated, its sizes checked, and one row written.
Projection follows on a worker (lineage.tasks), one projector at a time, so the graph ends as the events
sent one by one in the order received would leave it; until then an event is `pending`. Without a broker
(tasks in-process) the request projects before it answers."""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, cast

import psycopg
from django.contrib.auth.models import User
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    transaction,
)
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.models import Field
from django.dispatch import Signal
from django.utils import timezone

from config import errors
from lineage.choices import EdgeStatus, ProjectionState
from lineage.models import DocumentText, LineageEvent, SerializedDocument
from lineage.openlineage import EventKind, InvalidEvent, validate_event
from lineage.services.events import (
    _canonical,
    _check_bounds,
    _check_sizes,
    _column_lineage_identities,
    _event_time,
    _parse_datasets,
)
from lineage.services.projection import Prepared, Projected, ProjectionMoved, events_project

logger = logging.getLogger(__name__)

# The most events one batch may carry, and how many pending events are projected together, in one
# transaction and a constant number of queries: one commit per group instead of one per event, while a
# group's row locks are held only as long as its events take.
MAX_BATCH_EVENTS = 1000
BATCH_GROUP = 100
# One projector at a time, across every process: the key of its PostgreSQL advisory lock.
PROJECTOR_LOCK = 0x6C696E6561676501

# Sent inside an event's transaction once its run is projected, with `actor` (the sender), `event` (the
# validated RunEvent), `job` and `run` (the lineage Job and Run, their state, times and facets merged over
# all of their events so far), `datasets` ({identity: catalog Dataset} of the event's inputs and outputs) and `versions`
# ({identity: DatasetVersion} that their version facets name). The apps above the lineage (training)
# connect to it: the lineage imports none of them. A receiver keeps its own failures to itself.
lineage_run_reported = Signal()


@dataclass(frozen=True)
class IngestResult:
    """An event recorded (`created`) or found already recorded by its digest; its `state` says whether
    it is projected yet."""

    event: LineageEvent
    created: bool


def lineage_event_ingest(*, actor: User, payload: Any, document_checked: bool = False) -> IngestResult:
    """Record an OpenLineage event for projection.

    Raises InvalidEvent (nothing written) for an event the OpenLineage schema refuses, EventTooLarge
    for one that would write more edges than one event may. The same event delivered again is
    recognised by its digest and recorded once; one the projection refused is queued again, since
    what refused it (a permission, a run of another job) may have changed.

    The raw event is always kept; its projection changes only what the sender may write: facets of
    datasets they own, steward or produce for (as a trusted group), jobs and runs they first
    reported. Edges into other datasets are held unconfirmed for those datasets' owners.

    `document_checked`: the payload's depth and text were checked as the API's JSON parser checks them.
    """
    kind, digest, document = _event_read(payload, document_checked=document_checked)
    row = _event_row(actor, _event_prepare(kind, document, digest))
    if _events_insert([row]):
        return IngestResult(event=row, created=True)
    # Delivered before (or at this moment, by another delivery): its digest is taken.
    return IngestResult(event=_requeued(LineageEvent.objects.order_by().get(digest=digest)), created=False)


def _events_insert(rows: Sequence[LineageEvent]) -> list[LineageEvent]:
    """Insert new events in their order, in one statement per database batch: those whose digest is
    taken already (delivered before, or this moment by another delivery) are skipped by the database,
    with no error to recover from. The rows inserted, their primary keys set.

    Written here rather than by the ORM: compiling `save()` cost more CPU than the insert itself, on
    the path every event takes. The connection is taken once, not through Django's `connection` proxy,
    which looks the connection up again (an asgiref context look-up) on every attribute read. Where
    parameters are bound on the server, the statement is written with the server's own placeholders
    (`$1`): psycopg would otherwise split its text to find them, 36 ms for the 14,000 of a batch of a
    thousand events."""
    if not rows:
        return []
    db = connections[DEFAULT_DB_ALIAS]
    fields, head = _insert_statement(db.alias)
    inserted: dict[str, int] = {}
    size = max(1, db.ops.bulk_batch_size(fields, rows))
    native = _native_placeholders(db)
    with _native_cursor(db) if native else db.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            values = [field.get_db_prep_save(field.pre_save(row, add=True), db) for row in chunk for field in fields]
            cursor.execute(
                f"{head}{_rows_placeholders(len(fields), len(chunk), native)} "
                "ON CONFLICT (digest) DO NOTHING RETURNING id, digest",
                values,
            )
            inserted.update((digest, pk) for pk, digest in cursor.fetchall())
    done = []
    for row in rows:
        if row.digest in inserted:
            row.pk = inserted.pop(row.digest)
            row._state.adding, row._state.db = False, db.alias
            done.append(row)
    return done


@cache
def _insert_statement(alias: str) -> tuple[list[Field], str]:
    """The event columns written, and the statement's head up to VALUES."""
    fields = [field for field in LineageEvent._meta.concrete_fields if not field.primary_key]
    quote = connections[alias].ops.quote_name
    columns = ", ".join(quote(cast(str, field.column)) for field in fields)
    # The model's own table and column names, quoted; every value is a parameter.
    return fields, f"INSERT INTO {quote(LineageEvent._meta.db_table)} ({columns}) VALUES "  # noqa: S608


@lru_cache(maxsize=8)
def _rows_placeholders(columns: int, rows: int, native: bool) -> str:
    """`(%s, %s), (%s, %s)` for rows of columns, or with the server's numbered placeholders."""
    if not native:
        return ", ".join([f"({', '.join(['%s'] * columns)})"] * rows)
    return ", ".join(
        f"({', '.join(f'${row * columns + column + 1}' for column in range(columns))})" for row in range(rows)
    )


def _native_placeholders(db: BaseDatabaseWrapper) -> bool:
    # Not where queries are logged (DEBUG, or a test counting them): Django logs a statement by composing
    # it with its parameters, which it can do with `%s` placeholders only.
    return (
        db.vendor == "postgresql"
        and db.settings_dict["OPTIONS"].get("server_side_binding") is True
        and not db.queries_logged
    )


def _native_cursor(db: BaseDatabaseWrapper) -> CursorWrapper:
    """A cursor of psycopg's that takes the server's placeholders (`$1`), wrapped as Django wraps its own
    (a failed health check reconnects, errors are translated)."""
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    with db.wrap_database_errors:
        cursor = psycopg.RawCursor(db.connection)
    return CursorWrapper(cursor, db)


def _requeued(event: LineageEvent) -> LineageEvent:
    if event.state == ProjectionState.REFUSED and LineageEvent.objects.filter(
        pk=event.pk, state=ProjectionState.REFUSED
    ).update(state=ProjectionState.PENDING, projected_at=None, outcome=None):
        event.state, event.projected_at, event.outcome = ProjectionState.PENDING, None, None
    return event


def _event_row(actor: User, prepared: Prepared) -> LineageEvent:
    payload, kind = prepared.payload, prepared.kind
    job_spec = payload.get("job") if kind != EventKind.DATASET else None
    run_spec = payload.get("run") if kind == EventKind.RUN else None
    return LineageEvent(
        digest=prepared.digest,
        kind=kind,
        event_type=str(payload.get("eventType") or "")[:16],
        event_time=prepared.moment,
        run_id=run_spec["runId"] if run_spec else None,
        job_namespace=job_spec["namespace"] if job_spec else "",
        job_name=job_spec["name"] if job_spec else "",
        producer=str(payload.get("producer", ""))[:2048],
        payload=payload,
        received_by=actor,
        state=ProjectionState.PENDING,
    )


def _event_read(payload: Any, *, document_checked: bool = False) -> tuple[EventKind, str, SerializedDocument]:
    """The event validated (InvalidEvent), its digest, and the event with its canonical JSON, which is
    stored as it is."""
    kind = validate_event(payload, document_checked=document_checked)
    text = _canonical(payload)
    return kind, hashlib.sha256(text).hexdigest(), SerializedDocument(payload, text)


def _event_prepare(kind: EventKind, payload: Any, digest: str) -> Prepared:
    """What the projection reads of a new event, its sizes and bounds checked (InvalidEvent,
    EventTooLarge) before anything is written."""
    moment = _event_time(payload["eventTime"])
    datasets = _parse_datasets(kind, payload)
    extra = _column_lineage_identities(datasets)
    _check_sizes(payload, datasets, extra)
    _check_bounds(datasets)
    return Prepared(kind, payload, digest, moment, datasets, extra)


@dataclass(frozen=True)
class BatchItem:
    """What became of one event of a batch: `created` (recorded, to be projected), `duplicate` (its
    digest was known), `invalid` (the OpenLineage schema refused it, `errors` by path) or `refused` (it
    would write more than one event may: `errors` says why)."""

    index: int
    status: str
    event_id: int | None = None
    errors: dict[str, list[str]] | None = None


class BatchTooLarge(errors.Invalid):
    code = "too_many_events"


def lineage_events_ingest(*, actor: User, payloads: Sequence[Any], document_checked: bool = False) -> list[BatchItem]:
    """Record a batch of OpenLineage events, each validated on its own: an event that is invalid or
    refused fails alone and is not recorded, the others are recorded in the batch's order, as if sent
    one by one (the same digest deduplication), in one statement.

    The events are validated first, then inserted in one statement that skips those recorded already
    (before, or by a concurrent delivery meanwhile): each of those is a duplicate of the one recorded."""
    if len(payloads) > MAX_BATCH_EVENTS:
        raise BatchTooLarge(
            f"The batch holds {len(payloads)} events; one batch may hold at most {MAX_BATCH_EVENTS}. "
            "Split it into several batches.",
            field="events",
            limit=MAX_BATCH_EVENTS,
        )
    results: dict[int, BatchItem] = {}
    first: dict[str, int] = {}
    repeats: dict[int, int] = {}
    prepared: list[tuple[int, LineageEvent]] = []
    failed: list[tuple[int, str, Exception]] = []
    # One event at a time, read, checked and made a row that keeps only its text: the events of a batch are
    # not all held as objects at once (payloads may read each from its text when asked, as the API does).
    for index, payload in enumerate(payloads):
        try:
            kind, digest, document = _event_read(payload, document_checked=document_checked)
        except InvalidEvent as exc:
            results[index] = _refusal(index, exc)
            continue
        if digest in first:
            repeats[index] = first[digest]
            continue
        first[digest] = index
        try:
            row = _event_row(actor, _event_prepare(kind, document, digest))
        except (InvalidEvent, errors.DomainError) as exc:
            failed.append((index, digest, exc))
            continue
        row.payload = DocumentText(document.text)
        prepared.append((index, row))
    # The new events are inserted, and the database skips those recorded before (or this moment, by a
    # concurrent delivery): those, and any refused here but recorded before, are duplicates of the
    # recorded ones, whatever their checks would say now. Looked up only when there are any.
    rows = [row for _, row in prepared]
    inserted = {row.digest for row in _events_insert(rows)}
    recorded_before = [row.digest for row in rows if row.digest not in inserted] + [digest for _, digest, _ in failed]
    known = (
        {
            event.digest: event
            for event in LineageEvent.objects.filter(digest__in=recorded_before).only("id", "digest", "state")
        }
        if recorded_before
        else {}
    )
    for index, digest, refusal in failed:
        if digest in known:
            results[index] = BatchItem(index=index, status="duplicate", event_id=_requeued(known[digest]).pk)
        else:
            results[index] = _refusal(index, refusal)
    for index, row in prepared:
        if row.digest in inserted:
            results[index] = BatchItem(index=index, status="created", event_id=row.pk)
        else:
            results[index] = BatchItem(index=index, status="duplicate", event_id=_requeued(known[row.digest]).pk)
    # The same event twice in one batch: the later is a duplicate of the earlier (or fails as it did).
    for index, earlier in repeats.items():
        found = results[earlier]
        if found.event_id is not None:
            results[index] = BatchItem(index=index, status="duplicate", event_id=found.event_id)
        else:
            results[index] = BatchItem(index=index, status=found.status, errors=found.errors)
    return [results[index] for index in range(len(payloads))]


def _refusal(index: int, exc: Exception) -> BatchItem:
    if isinstance(exc, InvalidEvent):
        found: dict[str, list[str]] = {}
        for error in exc.errors:
            found.setdefault(error["path"] or "event", []).append(error["message"])
        return BatchItem(index=index, status="invalid", errors=found)
    return BatchItem(index=index, status="refused", errors={"event": [str(exc)]})


# --- The projector ----------------------------------------------------------------------------------


def lineage_pending_project() -> int:
    """Project the pending events, oldest first, until none is left; the number projected or refused.

    One projector runs at a time (a PostgreSQL advisory lock): a call that finds another at work returns
    at once, and the one at work looks again for events recorded meanwhile once it lets the lock go, so
    no event is left waiting for the next call. Events are taken in groups of BATCH_GROUP, the
    consecutive events of one sender projected as one list in one transaction; should the list fail, its
    events are taken again one by one, and one that fails alone is `refused` with the reason, the others
    projected. A lost database connection stops the projector with the events still pending."""
    done = 0
    while True:
        with _projector() as held:
            if not held:
                return done
            while batch := list(
                LineageEvent.objects.filter(state=ProjectionState.PENDING)
                .select_related("received_by")
                .order_by("id")[:BATCH_GROUP]
            ):
                for _, rows in itertools.groupby(batch, key=lambda row: row.received_by_id):
                    _rows_project(list(rows))
                done += len(batch)
        if not LineageEvent.objects.filter(state=ProjectionState.PENDING).exists():
            return done


@contextmanager
def _projector() -> Iterator[bool]:
    """Whether this process is the projector, for the block's length."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [PROJECTOR_LOCK])
        held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [PROJECTOR_LOCK])


def _rows_project(rows: list[LineageEvent]) -> None:
    actor = rows[0].received_by
    if actor is None or not actor.is_active:
        for row in rows:
            _refuse(row, "The sender's account was removed or deactivated before the event was projected.")
        return
    ready: list[tuple[LineageEvent, Prepared]] = []
    for row in rows:
        try:
            ready.append((row, _event_prepare(EventKind(row.kind), row.payload, row.digest)))
        except (InvalidEvent, errors.DomainError) as exc:
            _refuse(row, exc)
    if not ready:
        return
    try:
        with transaction.atomic():
            _projected_mark(
                events_project(
                    actor, [row for row, _ in ready], [item for _, item in ready], signal=lineage_run_reported
                )
            )
        return
    except (OperationalError, InterfaceError):
        raise
    except (DatabaseError, InvalidEvent, errors.DomainError):
        pass
    for row, prepared in ready:
        _row_project(actor, row, prepared)


def _row_project(actor: User, row: LineageEvent, prepared: Prepared) -> None:
    """One event alone; taken once more should a concurrent writer have inserted a row it meant to."""
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                _projected_mark(events_project(actor, [row], [prepared], signal=lineage_run_reported))
            return
        except (IntegrityError, ProjectionMoved) as exc:
            if attempt == 2:
                logger.warning("Lineage event %s met concurrent writers twice: %s", row.pk, exc)
                _refuse(row, "The event met concurrent changes to the same datasets twice; send it again.")
        except (InvalidEvent, errors.DomainError) as exc:
            _refuse(row, exc)
            return
        except (OperationalError, InterfaceError):
            raise
        except DatabaseError:
            # A fault of this event's own (a value the database refuses): it must not hold up the others.
            logger.exception("Lineage event %s could not be projected", row.pk)
            _refuse(row, "The database refused what this event would write.")
            return


def _projected_mark(projected: list[Projected]) -> None:
    now = timezone.now()
    for item in projected:
        item.event.state = ProjectionState.PROJECTED
        item.event.projected_at = now
        item.event.outcome = {
            "datasets": [
                [
                    namespace,
                    name,
                    str(dataset.pk),
                    EdgeStatus.UNCONFIRMED if (namespace, name) in item.unconfirmed else EdgeStatus.CONFIRMED,
                ]
                for (namespace, name), dataset in item.datasets.items()
            ]
        }
    LineageEvent.objects.bulk_update(
        [item.event for item in projected], ["state", "projected_at", "outcome"], batch_size=BATCH_GROUP
    )


def _refuse(row: LineageEvent, reason: Exception | str) -> None:
    """Record why the projection refused the event: `error` in words, `errors` by the path in the event."""
    if isinstance(reason, InvalidEvent):
        by_path = _refusal(0, reason).errors or {}
        text = "; ".join(f"{path}: {message}" for path, messages in by_path.items() for message in messages)
    else:
        text = str(reason)
        by_path = {"event": [text]}
    row.state, row.projected_at = ProjectionState.REFUSED, timezone.now()
    row.outcome = {"error": text, "errors": by_path}
    LineageEvent.objects.filter(pk=row.pk).update(state=row.state, projected_at=row.projected_at, outcome=row.outcome)
