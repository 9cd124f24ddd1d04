"""What Marquez's web UI lists beside the graph (namespaces, a namespace's datasets and jobs, a search,
the raw events), read under the catalog's rules of who may read what: nothing of a dataset the reader
may not read, and no job, run or event about only such datasets."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Exists, Max, Min, OuterRef, QuerySet
from django.db.models.functions import Trunc

from catalog.models import Dataset
from catalog.selectors import datasets_visible_to
from lineage.choices import Direction
from lineage.models import Job, LineageEvent, Run, RunDataset
from lineage.openlineage import EventKind
from lineage.selectors.visibility import _readable_by, jobs_visible_to


@dataclass(frozen=True)
class NamespaceSummary:
    name: str
    created_at: datetime | None
    updated_at: datetime | None


def marquez_namespaces_read(user: User | AnonymousUser) -> list[NamespaceSummary]:
    """Every namespace of a dataset or job the user may read, with the first creation and last
    change of what it holds: two grouped queries."""
    found: dict[str, NamespaceSummary] = {}
    for queryset in (datasets_visible_to(user), jobs_visible_to(user)):
        grouped = queryset.order_by().values("namespace").annotate(first=Min("created_at"), last=Max("updated_at"))
        for row in grouped:
            current = found.get(row["namespace"])
            first, last = row["first"], row["last"]
            if current is not None:
                first = min(value for value in (first, current.created_at) if value is not None)
                last = max(value for value in (last, current.updated_at) if value is not None)
            found[row["namespace"]] = NamespaceSummary(row["namespace"], first, last)
    return [found[name] for name in sorted(found)]


def _like(pattern: str) -> str:
    """A SQL LIKE pattern (`%` any text, `_` one character) read anywhere in a name, as a regex."""
    return ".*".join(".".join(re.escape(part) for part in piece.split("_")) for piece in pattern.split("%"))


def marquez_datasets_search(user: User | AnonymousUser, pattern: str) -> QuerySet[Dataset]:
    return datasets_visible_to(user).filter(name__iregex=_like(pattern))


def marquez_jobs_search(user: User | AnonymousUser, pattern: str) -> QuerySet[Job]:
    return jobs_visible_to(user).filter(name__iregex=_like(pattern))


def marquez_jobs_by_last_run_state(user: User | AnonymousUser, event_types: Iterable[str]) -> QuerySet[Job]:
    """The jobs the user may list whose latest run ended in one of these states (OpenLineage event types),
    among those whose latest run the user may see: a job that ran on a dataset hidden from the user has its
    latest run withheld, so its state does not select it either."""
    jobs = jobs_visible_to(user).filter(latest_run__state__in=list(event_types))
    if user.is_authenticated and user.is_staff:
        return jobs
    unreadable = RunDataset.objects.filter(run__job_id=OuterRef("pk")).exclude(_readable_by(user))
    return jobs.filter(~Exists(unreadable))


def job_datasets_read(job_ids: Iterable[UUID]) -> dict[UUID, dict[str, set[UUID]]]:
    """What each job read and wrote over all its runs: {job: {"input": {...}, "output": {...}}}, one query."""
    found: dict[UUID, dict[str, set[UUID]]] = {}
    wanted = set(job_ids)
    if not wanted:
        return found
    rows = RunDataset.objects.filter(run__job_id__in=wanted).values_list("run__job_id", "dataset_id", "direction")
    for job_id, dataset_id, direction in rows.distinct():
        io = found.setdefault(job_id, {Direction.INPUT.value: set(), Direction.OUTPUT.value: set()})
        io[direction].add(dataset_id)
    return found


def events_visible_to(user: User | AnonymousUser) -> QuerySet[LineageEvent]:
    """The raw events a user may read: staff all of them; others the run events of runs that read
    and wrote only datasets they may read (an event names every dataset it reports, so one naming a
    dataset hidden from them is not theirs to read). Dataset and job events, which no run ties to
    what they name, are staff's only."""
    events = LineageEvent.objects.all()
    if not user.is_authenticated:
        return events.none()
    if user.is_staff:
        return events
    hidden = RunDataset.objects.filter(run_id=OuterRef("pk")).exclude(_readable_by(user))
    clean_runs = Run.objects.filter(~Exists(hidden)).values("pk")
    return events.filter(kind=EventKind.RUN.value, run_id__in=clean_runs)


# --- Marquez's dashboard figures (its /stats endpoints) ---------------------------------------------------

# A period: how many intervals, each how long, truncated to what (Marquez's StatsDao).
STAT_PERIODS: dict[str, tuple[int, timedelta, str]] = {
    "DAY": (24, timedelta(hours=1), "hour"),
    "WEEK": (7, timedelta(days=1), "day"),
}
# The event types Marquez counts, by its metric's names.
COUNTED_EVENTS = {"FAIL": "fail", "START": "start", "COMPLETE": "complete", "ABORT": "abort"}


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime


def stats_intervals(period: str, zone: tzinfo, now: datetime) -> list[Interval]:
    """The intervals of a period ending with the current one, as Marquez's dashboard reads them: DAY the last
    24 hours (the current one last), WEEK the last 7 calendar days in `zone` (today last; aware arithmetic
    on the zone's wall clock, so a day across a clock change is 23 or 25 hours long)."""
    count, step, unit = STAT_PERIODS[period]
    current = now.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    if unit == "day":
        current = current.replace(hour=0)
    starts = [current - step * back for back in range(count - 1, -1, -1)]
    return [Interval(start, start + step) for start in starts]


def marquez_lineage_event_stats(
    user: User | AnonymousUser, intervals: list[Interval], zone: tzinfo, unit: str
) -> list[dict[str, int]]:
    """For each interval, the events of each counted type among those the user may read (by event time):
    one grouped query."""
    counts = [dict.fromkeys(COUNTED_EVENTS.values(), 0) for _ in intervals]
    starts = {interval.start: index for index, interval in enumerate(intervals)}
    rows = (
        events_visible_to(user)
        .filter(event_time__gte=intervals[0].start, event_time__lt=intervals[-1].end, event_type__in=COUNTED_EVENTS)
        .annotate(bucket=Trunc("event_time", unit, tzinfo=zone))
        .values("bucket", "event_type")
        .annotate(count=Count("pk"))
        .order_by()
    )
    for row in rows:
        index = starts.get(row["bucket"])
        if index is not None:
            counts[index][COUNTED_EVENTS[row["event_type"]]] += row["count"]
    return counts


def marquez_created_stats(queryset: QuerySet[Any], intervals: list[Interval], zone: tzinfo, unit: str) -> list[int]:
    """How many of the queryset's rows existed at the end of each interval (Marquez's cumulative counts):
    those created before the first, then those created in each. Two queries."""
    before = queryset.filter(created_at__lt=intervals[0].start).count()
    starts = {interval.start: index for index, interval in enumerate(intervals)}
    added = [0] * len(intervals)
    rows = (
        queryset.filter(created_at__gte=intervals[0].start, created_at__lt=intervals[-1].end)
        .annotate(bucket=Trunc("created_at", unit, tzinfo=zone))
        .values("bucket")
        .annotate(count=Count("pk"))
        .order_by()
    )
    for row in rows:
        index = starts.get(row["bucket"])
        if index is not None:
            added[index] += row["count"]
    totals, running = [], before
    for count in added:
        running += count
        totals.append(running)
    return totals
