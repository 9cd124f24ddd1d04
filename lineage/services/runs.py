"""How an event's run is merged: its state by rank and event time, its times and facets (the projection
of a list of events, lineage.services.projection, applies it event by event)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from lineage.choices import RUN_STATE_RANK, RunState
from lineage.models import Run
from lineage.services.events import _event_time, _merge_facets

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
