"""Marquez's read API under `/api/v1/marquez/`, for Marquez's web UI (served with its `/api/v1` sent
here) and Marquez clients: the graph and column lineage in Marquez's shapes, namespaces, a
namespace's datasets and jobs, search, and the raw events. `/api/v1/namespaces` is the catalog's
storage namespaces, so Marquez's paths live under their own prefix. Same authentication and read
rules as the rest of the API: what a reader may not read is absent, or a numbered placeholder in a graph."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, renderers, views
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.models import Dataset
from catalog.selectors import datasets_visible_to
from config.api.schema import ProblemSerializer
from config.api.views import ProjectViewMixin
from lineage import selectors
from lineage.api import marquez as shapes
from lineage.api.views import ColumnLineageView, LineageView
from lineage.models import Job

MAX_LIMIT = 1000
LIMIT = OpenApiParameter("limit", int, description=f"At most this many (default 100, at most {MAX_LIMIT}).")
OFFSET = OpenApiParameter("offset", int, description="Skip this many (default 0).")
BAD_REQUEST = OpenApiResponse(ProblemSerializer, description="A malformed or unknown query parameter.")
MARQUEZ_JSON = OpenApiResponse(OpenApiTypes.OBJECT, description="In Marquez's shape (its openapi.yml).")
NOT_FOUND = OpenApiResponse(ProblemSerializer, description="Nothing you may read has that namespace and name.")
# The longest name a dataset or job may have, namespace included: a longer path names nothing.
MAX_IDENTITY = 4096


def _identities(namespace: str, name: str, collection: str) -> list[tuple[str, str]]:
    """Every (namespace, name) the path `{namespace}/{collection}/{name}` may mean: a namespace or a name may
    hold `/{collection}/` itself (a dataset named `/data/datasets/x`), so each place it occurs is a reading;
    the caller keeps the one that names something. A path too long, or with a NUL, names nothing."""
    whole = f"{namespace}/{collection}/{name}"
    if len(whole) > MAX_IDENTITY or "\x00" in whole:
        return []
    marker = f"/{collection}/"
    readings: list[tuple[str, str]] = []
    at = whole.find(marker)
    while at != -1 and len(readings) < 64:
        if at > 0 and at + len(marker) < len(whole):
            readings.append((whole[:at], whole[at + len(marker) :]))
        at = whole.find(marker, at + 1)
    return readings


def _named(readings: list[tuple[str, str]]) -> Q:
    query = Q(pk__in=[])
    for namespace, name in readings:
        query |= Q(namespace=namespace, name=name)
    return query


def _whole(request: Request, name: str, default: int, *, least: int, most: int) -> int:
    text = request.query_params.get(name, str(default))
    if not text.isdigit() or not least <= int(text) <= most:
        raise exceptions.ValidationError({name: [f"{name} must be a whole number from {least} to {most}."]})
    return int(text)


def _moment(text: str) -> datetime | None:
    try:
        return parse_datetime(text) if len(text) <= 64 and "\x00" not in text else None
    except ValueError:  # well formed, not a date: 2026-13-45
        return None


def _day(text: str) -> date | None:
    try:
        return parse_date(text) if len(text) == 10 else None
    except ValueError:
        return None


def _page(request: Request, default: int = 100) -> tuple[int, int]:
    limit = _whole(request, "limit", default, least=1, most=MAX_LIMIT)
    offset = _whole(request, "offset", 0, least=0, most=10**9)
    return limit, offset


class MarquezLineageView(LineageView):
    """`GET /api/v1/lineage` in Marquez's shapes whatever the format asked."""

    http_method_names = ["get", "head", "options"]
    renderer_classes = [renderers.JSONRenderer]

    def marquez_shape(self, request: Request) -> bool:
        return True


class MarquezColumnLineageView(ColumnLineageView):
    renderer_classes = [renderers.JSONRenderer]

    def marquez_shape(self, request: Request) -> bool:
        return True


class MarquezNamespacesView(ProjectViewMixin, views.APIView):
    query_parameters = ("limit", "offset")

    @extend_schema(
        summary="List namespaces, as Marquez does",
        description=(
            "`{namespaces: [{name, createdAt, updatedAt, ownerName, description, isHidden}]}`: every namespace "
            "of a dataset or job you may read."
        ),
        parameters=[LIMIT, OFFSET],
        responses={200: MARQUEZ_JSON, 400: BAD_REQUEST},
    )
    def get(self, request: Request) -> Response:
        limit, offset = _page(request)
        found = selectors.marquez_namespaces_read(request.user)[offset : offset + limit]
        namespaces = [
            {
                "name": item.name,
                "createdAt": shapes.time_text(item.created_at),
                "updatedAt": shapes.time_text(item.updated_at),
                "ownerName": None,
                "description": None,
                "isHidden": False,
            }
            for item in found
        ]
        return Response({"namespaces": namespaces})


class MarquezDatasetsView(ProjectViewMixin, views.APIView):
    query_parameters = ("limit", "offset")

    @extend_schema(
        summary="List a namespace's datasets, as Marquez does",
        description="`{datasets: [Dataset], totalCount}`: the namespace's datasets you may read.",
        parameters=[LIMIT, OFFSET],
        responses={200: MARQUEZ_JSON, 400: BAD_REQUEST},
    )
    def get(self, request: Request, namespace: str) -> Response:
        limit, offset = _page(request)
        visible = datasets_visible_to(request.user).filter(namespace=namespace)
        page = list(visible.select_related("lineage_report").order_by("name")[offset : offset + limit])
        return Response({"datasets": [shapes.dataset_full(dataset) for dataset in page], "totalCount": visible.count()})


class MarquezDatasetView(ProjectViewMixin, views.APIView):
    query_parameters = ()

    @extend_schema(
        operation_id="marquez_namespaces_dataset_retrieve",
        summary="Read a dataset, as Marquez does",
        description=(
            "One `Dataset` in Marquez's shape (its graph data, `facets` left empty as in its lists, `currentVersion`, "
            "`deleted`): a dataset you may read, by its namespace and name (a name may hold `/`). A dataset you may "
            "not read answers 404, as one that does not exist."
        ),
        responses={200: MARQUEZ_JSON, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    def get(self, request: Request, namespace: str, dataset: str) -> Response:
        readings = _identities(namespace, dataset, "datasets")
        found = list(
            datasets_visible_to(request.user).filter(_named(readings)).select_related("lineage_report")
            if readings
            else []
        )
        if not found:
            raise exceptions.NotFound("No dataset you may read has that namespace and name.")
        # Two readings that both name a dataset: the longer namespace, as node ids are read.
        chosen = max(found, key=lambda item: len(item.namespace))
        return Response(shapes.dataset_full(chosen))


class MarquezJobView(ProjectViewMixin, views.APIView):
    query_parameters = ()

    @extend_schema(
        operation_id="marquez_namespaces_job_retrieve",
        summary="Read a job, as Marquez does",
        description=(
            "One `Job` in Marquez's shape, with all it read and wrote: a job you may list, by its namespace and "
            "name. A dataset you may not read is a numbered placeholder, and a job that ran on one has its "
            "description, facets and latest run withheld; a job you may not list answers 404."
        ),
        responses={200: MARQUEZ_JSON, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    def get(self, request: Request, namespace: str, job: str) -> Response:
        readings = _identities(namespace, job, "jobs")
        found = list(
            selectors.jobs_visible_to(request.user).filter(_named(readings)).select_related("latest_run")
            if readings
            else []
        )
        if not found:
            raise exceptions.NotFound("No job you may read has that namespace and name.")
        chosen = max(found, key=lambda item: len(item.namespace))
        return Response(_jobs(request, [chosen])[0])


# Marquez's run states, as the OpenLineage event types whose latest run has them (RUN_STATES read backwards).
# NEW (a run created before it started) is not a state a reported run has here: it matches no job.
RUN_STATE_NAMES = ("NEW", "RUNNING", "COMPLETED", "FAILED", "ABORTED", "OTHER")


def _event_types(states: list[str]) -> list[str]:
    return [event for event, state in shapes.RUN_STATES.items() if state in states]


class MarquezAllJobsView(ProjectViewMixin, views.APIView):
    query_parameters = ("limit", "offset", "lastRunStates")

    @extend_schema(
        summary="List the jobs of every namespace, as Marquez's dashboard does",
        description=(
            "`{jobs: [Job], totalCount}`, by namespace and name: every job you may list, as "
            "`/namespaces/{namespace}/jobs` shows them; `lastRunStates` (repeatable: NEW, RUNNING, COMPLETED, "
            "FAILED, ABORTED, OTHER) keeps the jobs whose latest run is in one of those states."
        ),
        parameters=[
            LIMIT,
            OFFSET,
            OpenApiParameter("lastRunStates", str, many=True, enum=list(RUN_STATE_NAMES), explode=True),
        ],
        responses={200: MARQUEZ_JSON, 400: BAD_REQUEST},
    )
    def get(self, request: Request) -> Response:
        limit, offset = _page(request)
        visible = selectors.jobs_visible_to(request.user)
        states = [text.upper() for text in request.query_params.getlist("lastRunStates")]
        if states:
            unknown = sorted({text[:40] for text in states} - set(RUN_STATE_NAMES))
            if unknown:
                raise exceptions.ValidationError(
                    {"lastRunStates": [f"Unknown run state {unknown[0]!r}: one of {', '.join(RUN_STATE_NAMES)}."]}
                )
            visible = selectors.marquez_jobs_by_last_run_state(request.user, _event_types(states))
        page = list(visible.select_related("latest_run").order_by("namespace", "name")[offset : offset + limit])
        return Response({"jobs": _jobs(request, page), "totalCount": visible.count()})


class MarquezJobsView(ProjectViewMixin, views.APIView):
    query_parameters = ("limit", "offset")

    @extend_schema(
        summary="List a namespace's jobs, as Marquez does",
        description=(
            "`{jobs: [Job], totalCount}`: the namespace's jobs you may list, each with all it read and wrote; "
            "a dataset you may not read is a numbered placeholder, and a job that ran on one has its description, "
            "facets and latest run withheld."
        ),
        parameters=[LIMIT, OFFSET],
        responses={200: MARQUEZ_JSON, 400: BAD_REQUEST},
    )
    def get(self, request: Request, namespace: str) -> Response:
        limit, offset = _page(request)
        visible = selectors.jobs_visible_to(request.user).filter(namespace=namespace)
        page = list(visible.select_related("latest_run").order_by("name")[offset : offset + limit])
        return Response({"jobs": _jobs(request, page), "totalCount": visible.count()})


def _jobs(request: Request, jobs: list[Job]) -> list[dict[str, Any]]:
    """Jobs in Marquez's shape, in a fixed number of queries for the page."""
    io = selectors.job_datasets_read(job.pk for job in jobs)
    dataset_ids = {pk for found in io.values() for ids in found.values() for pk in ids}
    datasets = Dataset.objects.in_bulk(dataset_ids) if dataset_ids else {}
    hidden = selectors.datasets_hidden_from(request.user, dataset_ids)
    withheld = selectors.jobs_touching_hidden(request.user, (job.pk for job in jobs))
    runs = [job.latest_run_id for job in jobs if job.latest_run_id is not None]
    hidden_runs = selectors.runs_hidden_from(request.user, runs)
    placeholders = {pk: f"#{index}" for index, pk in enumerate(sorted(hidden, key=str), 1)}

    def identity(pk: Any) -> dict[str, str]:
        if pk in hidden:
            return {"namespace": shapes.RESTRICTED_NAMESPACE, "name": placeholders[pk]}
        return {"namespace": datasets[pk].namespace, "name": datasets[pk].name}

    answer = []
    for job in jobs:
        found = io.get(job.pk, {})
        inputs = sorted(
            (identity(pk) for pk in found.get("input", ())), key=lambda item: (item["namespace"], item["name"])
        )
        outputs = sorted(
            (identity(pk) for pk in found.get("output", ())), key=lambda item: (item["namespace"], item["name"])
        )
        kept = job.pk not in withheld
        run = job.latest_run if job.latest_run_id not in hidden_runs else None
        data = shapes.job_data(job, inputs=inputs, outputs=outputs, withheld=not kept, latest_run=run)
        latest = [data["latestRun"]] if data["latestRun"] is not None else []
        answer.append(
            {
                **data,
                "latestRuns": latest,
                "facets": job.facets if kept else {},
                "currentVersion": None,
                "labels": [],
                "tags": [],
            }
        )
    return answer


SEARCH_FILTERS = {"DATASET", "JOB"}
SEARCH_SORTS = {"NAME", "UPDATE_AT", "UPDATED_AT"}


class MarquezSearchView(ProjectViewMixin, views.APIView):
    query_parameters = ("q", "filter", "sort", "limit", "namespace", "before", "after")

    @extend_schema(
        summary="Search datasets and jobs by name, as Marquez does",
        description=(
            "`q` is a SQL LIKE pattern (`%` any text, `_` one character) matched anywhere in the name, case "
            "ignored; `filter` DATASET or JOB; `sort` NAME (default) or UPDATE_AT (newest first); `limit` default "
            "10; `namespace`; `before` and `after` (`YYYY-MM-DD`, on the last change). Only what you may read. "
            "`{totalCount, results: [{type, name, updatedAt, namespace, nodeId}]}`."
        ),
        parameters=[
            OpenApiParameter("q", str, required=True),
            OpenApiParameter("filter", str, enum=sorted(SEARCH_FILTERS)),
            OpenApiParameter("sort", str, enum=sorted(SEARCH_SORTS)),
            OpenApiParameter("limit", int, description=f"Default 10, at most {MAX_LIMIT}."),
            OpenApiParameter("namespace", str),
            OpenApiParameter("before", OpenApiTypes.DATE),
            OpenApiParameter("after", OpenApiTypes.DATE),
        ],
        responses={200: MARQUEZ_JSON, 400: BAD_REQUEST},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        query = params.get("q", "")
        if not query or len(query) > 1024 or "\x00" in query:
            raise exceptions.ValidationError({"q": ["Give a name pattern of 1 to 1024 characters."]})
        kind = params.get("filter", "").upper()
        if kind and kind not in SEARCH_FILTERS:
            raise exceptions.ValidationError({"filter": ["filter must be DATASET or JOB."]})
        sort = params.get("sort", "NAME").upper()
        if sort not in SEARCH_SORTS:
            raise exceptions.ValidationError({"sort": ["sort must be NAME or UPDATE_AT."]})
        limit = _whole(request, "limit", 10, least=1, most=MAX_LIMIT)
        bounds = {}
        for name in ("before", "after"):
            if name in params:
                day = _day(params[name])
                if day is None:
                    raise exceptions.ValidationError({name: [f"{name} must be a date, YYYY-MM-DD."]})
                bounds[name] = day
        results: list[dict[str, Any]] = []
        sources: list[tuple[str, str, QuerySet[Any]]] = []
        if kind in ("", "DATASET"):
            sources.append(("DATASET", "dataset", selectors.marquez_datasets_search(request.user, query)))
        if kind in ("", "JOB"):
            sources.append(("JOB", "job", selectors.marquez_jobs_search(request.user, query)))
        for label, prefix, queryset in sources:
            if "namespace" in params:
                queryset = queryset.filter(namespace=params["namespace"])
            if "before" in bounds:
                queryset = queryset.filter(updated_at__date__lt=bounds["before"])
            if "after" in bounds:
                queryset = queryset.filter(updated_at__date__gt=bounds["after"])
            order = "name" if sort == "NAME" else "-updated_at"
            for namespace, name, updated in queryset.order_by(order).values_list("namespace", "name", "updated_at")[
                :limit
            ]:
                results.append(
                    {
                        "type": label,
                        "name": name,
                        "updatedAt": shapes.time_text(updated),
                        "namespace": namespace,
                        "nodeId": f"{prefix}:{namespace}:{name}",
                        "_updated": updated,
                    }
                )
        if sort == "NAME":
            results.sort(key=lambda item: (item["name"], item["type"]))
        else:
            results.sort(key=lambda item: item["_updated"], reverse=True)
        results = [{key: value for key, value in item.items() if key != "_updated"} for item in results[:limit]]
        return Response({"totalCount": len(results), "results": results})


class MarquezEventsView(ProjectViewMixin, views.APIView):
    query_parameters = ("before", "after", "sortDirection", "limit", "offset")

    @extend_schema(
        summary="List the OpenLineage events received, as Marquez does",
        description=(
            "`{events: [the event as received], totalCount}`, by event time, newest first (`sortDirection=asc` "
            "for oldest first), between `after` and `before` (date-times). Staff read every event; others the "
            "run events of runs that read and wrote only datasets they may read."
        ),
        parameters=[
            OpenApiParameter("before", OpenApiTypes.DATETIME),
            OpenApiParameter("after", OpenApiTypes.DATETIME),
            OpenApiParameter("sortDirection", str, enum=["asc", "desc"]),
            LIMIT,
            OFFSET,
        ],
        responses={200: MARQUEZ_JSON, 400: BAD_REQUEST},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        limit, offset = _page(request)
        direction = params.get("sortDirection", "desc")
        if direction not in ("asc", "desc"):
            raise exceptions.ValidationError({"sortDirection": ["sortDirection must be asc or desc."]})
        events = selectors.events_visible_to(request.user)
        for name, lookup in (("before", "event_time__lt"), ("after", "event_time__gt")):
            if name in params:
                text = params[name]
                moment = _moment(text)
                if moment is None or moment.tzinfo is None:
                    raise exceptions.ValidationError({name: [f"{name} must be a date-time with its offset."]})
                events = events.filter(**{lookup: moment})
        order = ["event_time", "id"] if direction == "asc" else ["-event_time", "-id"]
        page = list(events.order_by(*order).values_list("payload", flat=True)[offset : offset + limit])
        return Response({"events": page, "totalCount": events.count()})


# --- Marquez's dashboard figures -------------------------------------------------------------------------

STAT_KINDS = ("lineage-events", "jobs", "datasets")
_COUNT = {"type": "integer", "minimum": 0}
# Marquez's IntervalMetric (jobs, datasets) and LineageMetric (lineage-events), as its StatsResource sends them.
MARQUEZ_INTERVALS = OpenApiResponse(
    {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["startInterval", "endInterval"],
            "properties": {
                "startInterval": {"type": "string", "format": "date-time"},
                "endInterval": {"type": "string", "format": "date-time"},
                "count": _COUNT,
                "fail": _COUNT,
                "start": _COUNT,
                "complete": _COUNT,
                "abort": _COUNT,
            },
        },
    },
    description="In Marquez's shape: one entry per interval, oldest first.",
)


def _zone(request: Request, period: str) -> ZoneInfo:
    """The reader's time zone: a WEEK is counted in calendar days there, so Marquez asks for it; DAY is UTC hours."""
    name = request.query_params.get("timezone")
    if period == "DAY":
        return ZoneInfo("UTC")
    if not name:
        raise exceptions.ValidationError({"timezone": ["Give a time zone (IANA, e.g. Europe/Paris) for period WEEK."]})
    try:
        if len(name) > 64 or "\x00" in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise exceptions.ValidationError(
            {"timezone": [f"Unknown time zone {name[:64]!r}: give an IANA name such as Europe/Paris."]}
        ) from None


def _utc(moment: datetime) -> str | None:
    return shapes.time_text(moment.astimezone(UTC))


class MarquezStatsView(ProjectViewMixin, views.APIView):
    """One of Marquez's dashboard figures, named by the URL (`kind`)."""

    query_parameters = ("period", "timezone")
    kind = "jobs"

    @extend_schema(
        summary="Counts over the last day or week, as Marquez's dashboard reads them",
        description=(
            "`period` DAY (24 hourly intervals in UTC, the current hour last) or WEEK (7 calendar days in "
            "`timezone`, an IANA name, today last). `/stats/lineage-events`: `[{startInterval, endInterval, fail, "
            "start, complete, abort}]`, the events you may read by event time and type; `/stats/jobs` and "
            "`/stats/datasets`: `[{startInterval, endInterval, count}]`, how many jobs or datasets you may read "
            "existed at each interval's end."
        ),
        parameters=[
            OpenApiParameter("period", str, required=True, enum=["DAY", "WEEK"]),
            OpenApiParameter("timezone", str, description="An IANA time zone; needed for WEEK."),
        ],
        responses={200: MARQUEZ_INTERVALS, 400: BAD_REQUEST},
    )
    def get(self, request: Request) -> Response:
        period = request.query_params.get("period", "").upper()
        if period not in selectors.STAT_PERIODS:
            raise exceptions.ValidationError({"period": ["period must be DAY or WEEK."]})
        zone = _zone(request, period)
        unit = selectors.STAT_PERIODS[period][2]
        intervals = selectors.stats_intervals(period, zone, timezone.now())
        bounds = [{"startInterval": _utc(item.start), "endInterval": _utc(item.end)} for item in intervals]
        if self.kind == "lineage-events":
            counts = selectors.marquez_lineage_event_stats(request.user, intervals, zone, unit)
            return Response([{**bound, **count} for bound, count in zip(bounds, counts, strict=True)])
        rows: QuerySet[Any] = (
            selectors.jobs_visible_to(request.user) if self.kind == "jobs" else datasets_visible_to(request.user)
        )
        totals = selectors.marquez_created_stats(rows, intervals, zone, unit)
        return Response([{**bound, "count": total} for bound, total in zip(bounds, totals, strict=True)])
