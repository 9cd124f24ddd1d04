"""Writes to the lineage graph: OpenLineage events projected into jobs, runs and edges, and declared edges.

Callers import from here (`from lineage import services`); the modules hold one concern each:
`ingest` (an event or a batch, in transactions, and the `lineage_run_reported` signal), `projection`
(a list of events projected in a constant number of queries; one event is the list of one), `events`
(reading an event and its limits), `trust` (who an event may change), `datasets` (facets and owners),
`runs` (how a run's state and facets merge), `edges` (change-log entries of edges; declared, confirmed
and rejected lineage), `release` (a dataset about to be purged).
"""

from lineage.services.datasets import OWNERSHIP_ROLES
from lineage.services.edges import (
    EdgeAlreadyConfirmed,
    EdgeAlreadyDeclared,
    edge_confirm,
    edge_declare,
    edge_reject,
    edge_remove,
)
from lineage.services.events import MAX_FIELD, MAX_NAME, MAX_NAMESPACE, EventTooLarge
from lineage.services.ingest import (
    MAX_BATCH_EVENTS,
    BatchItem,
    BatchTooLarge,
    IngestResult,
    lineage_event_ingest,
    lineage_events_ingest,
    lineage_pending_project,
    lineage_run_reported,
)
from lineage.services.release import lineage_release
from lineage.services.trust import datasets_writable_by_events, trusted_producers_set

__all__ = [
    "MAX_BATCH_EVENTS",
    "MAX_FIELD",
    "MAX_NAME",
    "MAX_NAMESPACE",
    "OWNERSHIP_ROLES",
    "BatchItem",
    "BatchTooLarge",
    "EdgeAlreadyConfirmed",
    "EdgeAlreadyDeclared",
    "EventTooLarge",
    "IngestResult",
    "datasets_writable_by_events",
    "edge_confirm",
    "edge_declare",
    "edge_reject",
    "edge_remove",
    "lineage_event_ingest",
    "lineage_events_ingest",
    "lineage_pending_project",
    "lineage_release",
    "lineage_run_reported",
    "trusted_producers_set",
]
