from functools import lru_cache
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import Group
from django.urls import get_script_prefix
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, renderers, status, views
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from catalog.api.references import references_resolve
from catalog.models import Dataset
from catalog.selectors import datasets_visible_to
from config.api.parsers import Documents, parsed_body_release
from config.api.schema import ProblemSerializer
from config.api.views import ProjectAPIView, ProjectViewMixin, ProjectViewSet
from lineage import selectors, services, tasks
from lineage.api.filters import EdgeFilter, EventFilter, JobFilter, RunFilter
from lineage.api.graph import render_column_walk, render_walk
from lineage.api.marquez import MarquezRenderer
from lineage.api.parsers import OpenLineageBatchParser, OpenLineageParser
from lineage.api.permissions import AnswersForEdgeTarget, ChoosesTrustedProducers
from lineage.api.serializers import (
    BatchResultSerializer,
    EdgeDeclareSerializer,
    EdgeSerializer,
    GraphSerializer,
    IngestResultSerializer,
    JobSerializer,
    LineageEventSerializer,
    RunSerializer,
    TrustedProducersSerializer,
    event_datasets,
    event_hidden,
)
from lineage.choices import ProjectionState
from lineage.models import Job, LineageEdge, LineageEvent, Run, TrustedProducer
from lineage.openlineage import InvalidEvent

DEFAULT_DEPTH = 20

NODE_ID = OpenApiParameter(
    "nodeId",
    str,
    required=True,
    description=(
        "`dataset:{namespace}:{name}`, for instance `dataset:s3://bucket:raw/clicks.parquet`, or "
        "`job:{namespace}:{name}`: a job starts the walk upstream from what it read and downstream from what it wrote."
    ),
)
DEPTH = OpenApiParameter("depth", int, description=f"How many edges away to walk (default {DEFAULT_DEPTH}).")
DIRECTION = OpenApiParameter(
    "direction",
    str,
    enum=list(selectors.DIRECTIONS),
    description="upstream: where the node came from; downstream: what was made from it; both (default).",
)


def _depth(request: Request) -> int:
    text = request.query_params.get("depth", str(DEFAULT_DEPTH))
    limit = settings.CATALOG_LINEAGE_MAX_DEPTH
    if not text.isdigit() or not 0 <= int(text) <= limit:
        raise exceptions.ValidationError({"depth": [f"depth must be a whole number from 0 to {limit}."]})
    return int(text)


def _direction(request: Request, default: str) -> str:
    direction = request.query_params.get("direction", default)
    if direction not in selectors.DIRECTIONS:
        raise exceptions.ValidationError(
            {"direction": [f"direction must be one of {', '.join(selectors.DIRECTIONS)}."]}
        )
    return direction


@lru_cache(maxsize=32)
def _events_path(script_prefix: str) -> str:
    return reverse("lineage-event-list")


def event_url(pk: int) -> str:
    """The path of a recorded event (`lineage-event-detail`): the events' path is reversed once per script
    prefix, not for every event answered (reversing cost about 3% of a one-event request's CPU)."""
    return f"{_events_path(get_script_prefix())}{pk}/"


def _marquez(request: Request) -> bool:
    return getattr(request.accepted_renderer, "format", "") == MarquezRenderer.format


# The default renderers first (an Accept of application/json picks plain JSON), then `?format=marquez`.
GRAPH_RENDERERS = [renderers.JSONRenderer, renderers.BrowsableAPIRenderer, MarquezRenderer]


FORMAT = OpenApiParameter(
    "format",
    str,
    enum=["marquez"],
    description=(
        "`marquez`: node data in Marquez's own shapes (camelCase, `DB_TABLE` datasets, `BATCH` jobs, Marquez run "
        "states, `latestRun`; for column lineage `inputFields`, `fieldType`, and a field's `inEdges` from it to "
        "its inputs, as Marquez sends them) and edges as bare `{origin, destination}`."
    ),
)


class _ReleasesBody(views.APIView):
    """An ingestion view: the events it read are let go once it has answered (parsed_body_release)."""

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        parsed_body_release(request)
        return response


class LineageView(ProjectViewMixin, _ReleasesBody):
    query_parameters = {"get": ("nodeId", "depth", "direction")}
    renderer_classes = GRAPH_RENDERERS

    def marquez_shape(self, request: Request) -> bool:
        """Whether to answer in Marquez's shapes: `?format=marquez` here."""
        return _marquez(request)

    parser_classes = [OpenLineageParser]

    @extend_schema(
        summary="Send an OpenLineage event",
        description=(
            "Accepts an OpenLineage 2-0-2 `RunEvent`, `DatasetEvent` or `JobEvent` as the official clients send it "
            "(JSON, optionally `Content-Encoding: gzip`; `Authorization: Bearer <token>`), validated against the "
            "OpenLineage JSON schemas and recorded (202, `state: pending`); a worker then projects recorded events "
            "into the catalog in the order received, one projector at a time, so the graph ends as the events sent "
            "one by one would leave it. Follow an event at its `url` (`GET /api/v1/lineage/events/{id}/`): "
            "`projected`, with the datasets it landed on, or `refused`, with why (a run id of another job, say; "
            "sent again, a refused event is taken again). Without a broker (tasks in-process) the request projects "
            "before it answers: 201, or 400 for a refusal. The projection writes jobs, runs, dataset edges, "
            "column lineage, and the facets `schema`, `documentation`, `ownership`, `symlinks`, `version`, "
            "`storage`, `dataSource`, `datasetType`, `lifecycleStateChange` (a `DROP` deprecates the dataset; other "
            "changes stay on its reported facets). A `columnLineage` facet's `dataset` entries (input fields that "
            "affect the whole output: joins, filters, grouping) are stored as Marquez reads them, from each such "
            "input field to every field of the output (its mapped and schema fields), with their `INDIRECT` "
            "transformations. A dataset is found by its identity, an alias or the location "
            "of a registered source, or created (owned by the sender; in a namespace with owners, only if the sender "
            "is one of them). The same event sent again changes nothing (answered 200).\n\n"
            "An event changes only what its sender may write: datasets they own or steward, or whose owners trust a "
            "group of theirs as a producer (`/datasets/{id}/trusted-producers/`), and jobs and runs they first "
            "reported. Edges into other datasets are kept `unconfirmed` (shown in graphs, not audited) until the "
            "target's owners confirm or reject them; their facets are not applied. An event may report at most "
            "`CATALOG_LINEAGE_MAX_EDGES` edges (inputs x outputs): above it, 413 and nothing is written."
        ),
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            202: OpenApiResponse(IngestResultSerializer, description="Recorded, to be projected (`state: pending`)."),
            201: OpenApiResponse(IngestResultSerializer, description="Recorded and projected (tasks in-process)."),
            200: OpenApiResponse(IngestResultSerializer, description="This exact event was received before."),
            413: OpenApiResponse(ProblemSerializer, description="More edges than one event may report."),
        },
        examples=[
            OpenApiExample(
                "A run that read one dataset and wrote another",
                request_only=True,
                value={
                    "eventType": "COMPLETE",
                    "eventTime": "2026-11-01T12:00:00Z",
                    "producer": "https://example.com/trainer",
                    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
                    "run": {"runId": "0195c2a8-6a2b-7d7e-9d62-5a0f8c9d2b11"},
                    "job": {"namespace": "ml", "name": "features.build"},
                    "inputs": [{"namespace": "s3://raw", "name": "clicks.parquet"}],
                    "outputs": [{"namespace": "ml", "name": "clicks_features"}],
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        # The one refusal the exception handler cannot answer by kind: an invalid event names each of
        # its errors by path (validation knows nothing of the project, so not its kinds either).
        try:
            # The OpenLineage parser bounded the body's depth and refused unstorable text already.
            result = services.lineage_event_ingest(actor=self.actor, payload=request.data, document_checked=True)
        except InvalidEvent as exc:
            errors: dict[str, list[str]] = {}
            for error in exc.errors:
                errors.setdefault(error["path"] or "event", []).append(error["message"])
            raise exceptions.ValidationError(errors) from None
        event = result.event
        if event.state == ProjectionState.PENDING and tasks.lineage_projection_request():
            # Projected in this process already.
            event.refresh_from_db(fields=["state", "projected_at", "outcome"])
        if event.state == ProjectionState.REFUSED:
            raise exceptions.ValidationError(event.outcome["errors"])
        body = {
            "event_id": event.pk,
            "kind": event.kind,
            "duplicate": not result.created,
            "state": event.state,
            "url": event_url(event.pk),
            # The sender named these identities; where one landed on a dataset they may not read, its id
            # is not theirs to learn.
            "datasets": event_datasets(event, event_hidden(request.user, [event])),
        }
        if not result.created:
            return Response(body, status=status.HTTP_200_OK)
        if event.state == ProjectionState.PENDING:
            return Response(body, status=status.HTTP_202_ACCEPTED)
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Read the lineage graph around a dataset",
        description=(
            "Walks the graph from a dataset, upstream, downstream or both, at most `depth` edges away, in one "
            "recursive query; the answer is in Marquez's graph format. Datasets are linked through the job "
            "nodes that moved the data (declared edges link datasets directly)."
        ),
        parameters=[NODE_ID, DEPTH, DIRECTION, FORMAT],
        responses={
            200: GraphSerializer,
            400: OpenApiResponse(
                ProblemSerializer,
                description="A malformed nodeId, depth, direction or format, or an unknown query parameter.",
            ),
            404: OpenApiResponse(ProblemSerializer, description="No dataset or job you may read has that id."),
        },
    )
    def get(self, request: Request) -> Response:
        node_id = request.query_params.get("nodeId", "")
        if not node_id:
            raise exceptions.ValidationError(
                {"nodeId": ["Give the node to start from: nodeId=dataset:{namespace}:{name}."]}
            )
        depth, direction = _depth(request), _direction(request, selectors.BOTH)
        if node_id.startswith("job:"):
            job, inputs, outputs = selectors.job_io_read(request.user, node_id)
            walk = selectors.lineage_walk_from_job(
                job.pk, inputs=inputs, outputs=outputs, depth=depth, direction=direction
            )
        else:
            dataset, _ = selectors.node_id_resolve(request.user, node_id, prefix="dataset", parts=2)
            walk = selectors.lineage_walk(dataset.pk, depth=depth, direction=direction)
        return Response(render_walk(walk, request.user, marquez=self.marquez_shape(request)))


class LineageBatchView(ProjectViewMixin, _ReleasesBody):
    parser_classes = [OpenLineageBatchParser]

    @extend_schema(
        summary="Send a batch of OpenLineage events",
        description=(
            f"A JSON array of at most {services.MAX_BATCH_EVENTS} OpenLineage events (as `POST /api/v1/lineage` takes "
            "them; `Content-Encoding: gzip` allowed, decompressed at most `CATALOG_LINEAGE_MAX_BATCH_BYTES`; sent plain, "
            "the body is bounded like any request). Each event is validated on its own and recorded in the array's "
            "order, then projected as if sent alone (trust, unconfirmed edges, deduplication by digest): an invalid "
            "or refused event fails alone. The answer (200 once the array was read) gives each event's `index`, "
            "`status` and `event_id` (follow it at `/api/v1/lineage/events/{id}/`) or `errors`. A body that is not an array, "
            "or holds too many events, is refused whole (400); one too large, 413."
        ),
        request={"application/json": {"type": "array", "items": {"type": "object"}}},
        responses={
            200: BatchResultSerializer,
            400: OpenApiResponse(
                ProblemSerializer,
                description=(
                    "The body is not a JSON array or holds more events than a batch takes; or the request named an "
                    "unknown query parameter."
                ),
            ),
            413: OpenApiResponse(ProblemSerializer, description="The body, or its decompressed batch, is too large."),
        },
    )
    def post(self, request: Request) -> Response:
        events = request.data
        if not isinstance(events, list | Documents):
            raise exceptions.ValidationError({"events": ["Send a JSON array of OpenLineage events."]})
        results = services.lineage_events_ingest(actor=self.actor, payloads=events, document_checked=True)
        recorded = [item.event_id for item in results if item.event_id is not None]
        if recorded and tasks.lineage_projection_request():
            # Projected in this process already: those refused say why.
            refused = dict(
                LineageEvent.objects.filter(pk__in=recorded, state=ProjectionState.REFUSED).values_list("pk", "outcome")
            )
            results = [
                services.BatchItem(index=item.index, status="refused", errors=(refused[item.event_id] or {})["errors"])
                if item.event_id in refused
                else item
                for item in results
            ]
        body = {
            "results": [
                {"index": item.index, "status": item.status}
                | ({"event_id": item.event_id} if item.event_id is not None else {"errors": item.errors})
                for item in results
            ]
        }
        return Response(body)


class ColumnLineageView(ProjectViewMixin, views.APIView):
    query_parameters = ("nodeId", "depth", "direction", "withDownstream")
    renderer_classes = GRAPH_RENDERERS

    def marquez_shape(self, request: Request) -> bool:
        """Whether to answer in Marquez's shapes: `?format=marquez` here."""
        return _marquez(request)

    @extend_schema(
        summary="Read the column lineage of a field",
        description=(
            "Walks column lineage from one field: the fields it was computed from (upstream, the default), "
            "or the fields computed from it (downstream), with the transformations reported for each. A "
            "dataset-wide dependency (a `columnLineage` facet's `dataset` entry: a join, filter or grouping field) "
            "is an input of every field of its output, its transformations of type `INDIRECT`; beside a direct "
            "dependency between the same two fields, both kinds are listed in that input's `transformations`."
        ),
        parameters=[
            OpenApiParameter(
                "nodeId",
                str,
                required=True,
                description=(
                    "`datasetField:{namespace}:{name}:{field}`, or `dataset:{namespace}:{name}`: every field of the "
                    "dataset that column lineage names."
                ),
            ),
            DEPTH,
            OpenApiParameter("direction", str, enum=list(selectors.DIRECTIONS), description="Default upstream."),
            OpenApiParameter(
                "withDownstream", bool, description="As Marquez: `true` walks both ways (default `false`: upstream)."
            ),
            FORMAT,
        ],
        responses={
            200: GraphSerializer,
            400: OpenApiResponse(
                ProblemSerializer,
                description="A malformed nodeId, depth, direction or format, or an unknown query parameter.",
            ),
            404: OpenApiResponse(ProblemSerializer, description="No dataset you may read has that id."),
        },
    )
    def get(self, request: Request) -> Response:
        node_id = request.query_params.get("nodeId", "")
        if not node_id:
            raise exceptions.ValidationError(
                {"nodeId": ["Give the field: nodeId=datasetField:{namespace}:{name}:{field}."]}
            )
        depth, direction = _depth(request), _direction(request, selectors.UPSTREAM)
        with_downstream = request.query_params.get("withDownstream", "false")
        if with_downstream not in ("true", "false"):
            raise exceptions.ValidationError({"withDownstream": ["withDownstream must be true or false."]})
        if with_downstream == "true":
            direction = selectors.BOTH
        if node_id.startswith("dataset:"):
            dataset, _ = selectors.node_id_resolve(request.user, node_id, prefix="dataset", parts=2)
            field = None
        else:
            dataset, reading = selectors.node_id_resolve(request.user, node_id, prefix="datasetField", parts=3)
            field = reading[2]
        walk = selectors.column_lineage_walk(dataset.pk, field, depth=depth, direction=direction)
        return Response(render_column_walk(walk, request.user, marquez=self.marquez_shape(request)))


@extend_schema_view(
    list=extend_schema(summary="List lineage edges", description="Edges reported by events and declared by people."),
    retrieve=extend_schema(summary="Read a lineage edge"),
    create=extend_schema(
        summary="Declare a lineage edge",
        description=(
            "For tools that send no OpenLineage events: declare that `target` was made from `source`. You must "
            "be able to change the target dataset (an owner or steward of it, or staff)."
        ),
        request=EdgeDeclareSerializer,
        responses={201: EdgeSerializer},
    ),
    destroy=extend_schema(
        summary="Remove an edge",
        description=(
            "The target dataset's owners and stewards (and staff) remove any edge into it, declared or reported; "
            "the change log records it, and the raw events stay."
        ),
        responses={204: None},
    ),
    confirm=extend_schema(
        summary="Confirm a reported edge",
        description=(
            "The target dataset's owners (and staff) accept an edge reported by someone who may not write the "
            "target: from now on audits follow it. Confirming a confirmed edge changes nothing."
        ),
        request=None,
        responses={200: EdgeSerializer},
    ),
    reject=extend_schema(
        summary="Reject a reported edge",
        description=(
            "The target dataset's owners (and staff) refuse an unconfirmed edge: it is removed (the raw event "
            "stays). A confirmed edge is removed with DELETE instead."
        ),
        request=None,
        responses={
            204: None,
            409: OpenApiResponse(ProblemSerializer, description="The edge is confirmed."),
        },
    ),
)
class LineageEdgeViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    ProjectViewSet,
):
    serializer_class = EdgeSerializer
    filterset_class = EdgeFilter
    queryset = LineageEdge.objects.none()
    added_permissions = (AnswersForEdgeTarget,)

    def get_queryset(self):
        visible = datasets_visible_to(self.request.user)
        return LineageEdge.objects.filter(source__in=visible, target__in=visible).select_related("job").order_by("id")

    def create(self, request: Request, *args, **kwargs) -> Response:
        payload = EdgeDeclareSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        found = references_resolve(
            user=request.user,
            fields={"source": payload.validated_data["source"], "target": payload.validated_data["target"]},
        )
        edge = services.edge_declare(
            actor=self.actor,
            source=found["source"],
            target=found["target"],
            description=payload.validated_data["description"],
        )
        return Response(EdgeSerializer(edge).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: LineageEdge) -> None:
        services.edge_remove(actor=self.actor, edge=instance)

    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str | None = None) -> Response:
        edge = services.edge_confirm(actor=self.actor, edge=self.get_object())
        return Response(EdgeSerializer(edge).data)

    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str | None = None) -> Response:
        services.edge_reject(actor=self.actor, edge=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        summary="List jobs",
        description="Jobs whose runs read or wrote only restricted datasets you may not read are not listed.",
    ),
    retrieve=extend_schema(summary="Read a job"),
)
@extend_schema_view(
    list=extend_schema(
        summary="List the OpenLineage events you sent",
        description="Newest first, each with where its projection into the graph stands (`state`: pending, "
        "projected, refused). Staff see everyone's. `?state=pending` lists those not yet in the graph.",
    ),
    retrieve=extend_schema(
        summary="Read an OpenLineage event you sent",
        description="Where its projection stands, and once projected the datasets it landed on; once refused, why.",
    ),
)
class LineageEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectViewSet):
    serializer_class = LineageEventSerializer
    filterset_class = EventFilter
    queryset = LineageEvent.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        events = LineageEvent.objects.defer("payload").order_by("-id")
        user = self.request.user
        return events if user.is_staff else events.filter(received_by_id=user.pk)

    def get_serializer(self, *args, **kwargs):
        if args:
            events = list(args[0]) if kwargs.get("many") else [args[0]]
            context = kwargs.setdefault("context", self.get_serializer_context())
            context["hidden"] = event_hidden(self.request.user, events)
        return super().get_serializer(*args, **kwargs)


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectViewSet):
    serializer_class = JobSerializer
    filterset_class = JobFilter
    queryset = Job.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        return selectors.jobs_visible_to(self.request.user).select_related("latest_run").order_by("namespace", "name")

    def get_serializer(self, *args, **kwargs):
        # Which jobs of the page ran on what the reader may not read, and which latest runs they may
        # not see: two queries for the whole page.
        if args:
            jobs = args[0] if kwargs.get("many") else [args[0]]
            context = kwargs.setdefault("context", self.get_serializer_context())
            context["withheld"] = selectors.jobs_touching_hidden(self.request.user, [job.pk for job in jobs])
            runs = [job.latest_run_id for job in jobs if job.latest_run_id is not None]
            context["hidden_runs"] = selectors.runs_hidden_from(self.request.user, runs)
        return super().get_serializer(*args, **kwargs)


@extend_schema_view(
    list=extend_schema(
        summary="List runs",
        description="Newest first; each with its facets, inputs and outputs. A restricted dataset you may not read "
        "is shown as `restricted: true`, without its id, name or version; runs that read or wrote only such "
        "datasets are not listed.",
    ),
    retrieve=extend_schema(summary="Read a run"),
)
class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ProjectViewSet):
    serializer_class = RunSerializer
    filterset_class = RunFilter
    queryset = Run.objects.none()  # for the schema; requests use get_queryset()

    def get_queryset(self):
        return (
            selectors.runs_visible_to(self.request.user)
            .select_related("job")
            .prefetch_related("datasets__dataset", "datasets__version")
            .order_by("-started_at", "id")
        )

    def get_serializer(self, *args, **kwargs):
        # Which datasets of the page the reader may not read, in one query for the whole page.
        if args:
            runs = args[0] if kwargs.get("many") else [args[0]]
            ids = {row.dataset_id for run in runs for row in run.datasets.all()}
            context = kwargs.setdefault("context", self.get_serializer_context())
            context["hidden"] = selectors.datasets_hidden_from(self.request.user, ids)
        return super().get_serializer(*args, **kwargs)


class TrustedProducersView(ProjectAPIView):
    serializer_class = TrustedProducersSerializer
    pagination_class = None  # one answer, never a page
    queryset = Dataset.objects.none()  # for the schema and OPTIONS; requests use _dataset()
    added_permissions = (ChoosesTrustedProducers,)

    def _dataset(self) -> Dataset:
        dataset = datasets_visible_to(self.request.user).filter(pk=self.kwargs["dataset_id"]).first()
        if dataset is None:
            raise exceptions.NotFound("No such dataset.")
        return dataset

    def get_object(self) -> Dataset:  # what OPTIONS asks for to describe PUT
        return self._dataset()

    def _answer(self, dataset: Dataset) -> Response:
        names = (
            TrustedProducer.objects.filter(dataset=dataset)
            .order_by("group__name")
            .values_list("group__name", flat=True)
        )
        return Response({"groups": list(names)})

    @extend_schema(
        summary="Read a dataset's trusted producers",
        description=(
            "The groups whose members' OpenLineage events change the dataset as its owners' would: their edges "
            "into it count at once and their facets describe it (they do not name its owners)."
        ),
        responses=TrustedProducersSerializer,
    )
    def get(self, request: Request, dataset_id: UUID) -> Response:
        return self._answer(self._dataset())

    @extend_schema(
        summary="Set a dataset's trusted producers",
        description="The dataset's owners and stewards (and staff) replace the list; the change log records it.",
        request=TrustedProducersSerializer,
        responses=TrustedProducersSerializer,
    )
    def put(self, request: Request, dataset_id: UUID) -> Response:
        dataset = self._dataset()
        # Checked here, not in get_object(): OPTIONS describes PUT to whoever may read the dataset.
        self.check_object_permissions(request, dataset)
        payload = TrustedProducersSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        names = set(payload.validated_data["groups"])
        groups = list(Group.objects.filter(name__in=names))
        unknown = names - {group.name for group in groups}
        if unknown:
            raise exceptions.ValidationError({"groups": [f"No group is named {name!r}." for name in sorted(unknown)]})
        services.trusted_producers_set(actor=self.actor, dataset=dataset, groups=groups)
        return self._answer(dataset)
