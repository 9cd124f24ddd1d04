"""OpenLineage events: validation against the specification's JSON schemas, by jsonschema-rs. No Django."""

from lineage.openlineage.validation import (
    SPEC_VERSION,
    ErrorDetail,
    EventKind,
    FacetLevel,
    InvalidEvent,
    event_kind,
    known_facets,
    validate_event,
)

__all__ = [
    "SPEC_VERSION",
    "ErrorDetail",
    "EventKind",
    "FacetLevel",
    "InvalidEvent",
    "event_kind",
    "known_facets",
    "validate_event",
]
