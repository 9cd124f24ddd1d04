"""Models, who answers for them, and their training runs over HTTP.

Models and runs are read by every authenticated user; a model, its owners and its runs are changed
by its owners and stewards (or staff). What a run read is shown only as far as the reader may read
it (training.selectors)."""

from collections.abc import Sequence
from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from config.api.schema import ProblemSerializer
from config.api.views import ProjectAPIView, ProjectViewSet
from governance.api.views.owners import OwnersEndpoint, owners_documented
from governance.models import ModelOwnership
from governance.permissions import user_can_write_model
from governance.services.owners import MODELS
from training import selectors, services
from training.api.serializers import (
    ModelCreateSerializer,
    ModelDetailSerializer,
    ModelSerializer,
    ModelUpdateSerializer,
    TrainingRunCreateSerializer,
    TrainingRunSerializer,
    TrainingRunUpdateSerializer,
)
from training.choices import RunSource, RunStatus
from training.impact import model_findings
from training.models import Model, TrainingRun
from training.specs import RunSpec

KEY_REUSED_RESPONSE = OpenApiResponse(
    ProblemSerializer, description="The Idempotency-Key was already used with a different request."
)
FORBIDDEN_RESPONSE = OpenApiResponse(ProblemSerializer, description="Only the model's owners and stewards, or staff.")


class CanWriteModel(permissions.BasePermission):
    """Reads for every authenticated user; writes for the model's owners and stewards, and staff."""

    message = "Only the model's owners and stewards (or staff) may change it."

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return user_can_write_model(request.user, getattr(obj, "model_id", None) or obj.pk)


class ModelFilter(django_filters.FilterSet):
    namespace = django_filters.CharFilter(help_text="Exact namespace.")
    name = django_filters.CharFilter(help_text="Exact name.")
    tag = django_filters.CharFilter(method="filter_tag", help_text="Models carrying this tag.")
    q = django_filters.CharFilter(method="filter_q", help_text="Text in the namespace, name or description.")

    class Meta:
        model = Model
        fields: list[str] = []

    def filter_tag(self, queryset: QuerySet[Model], name: str, value: str) -> QuerySet[Model]:
        return queryset.filter(
            pk__in=Model.tags.through.objects.filter(tag__name=value.strip().lower()).values("model_id")
        )

    def filter_q(self, queryset: QuerySet[Model], name: str, value: str) -> QuerySet[Model]:
        text = value.strip()
        if not text:
            return queryset
        return queryset.filter(Q(namespace__icontains=text) | Q(name__icontains=text) | Q(description__icontains=text))


class TrainingRunFilter(django_filters.FilterSet):
    model = django_filters.UUIDFilter(field_name="model_id", help_text="The runs of this model.")
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)
    source = django_filters.ChoiceFilter(choices=RunSource.choices)
    model_version = django_filters.CharFilter(help_text="The model's version label, exactly.")
    dataset = django_filters.UUIDFilter(method="filter_dataset", help_text="Runs that read a version of this dataset.")
    version = django_filters.UUIDFilter(method="filter_version", help_text="Runs that read this version.")

    class Meta:
        model = TrainingRun
        fields: list[str] = []

    def filter_dataset(self, queryset: QuerySet[TrainingRun], name: str, value: Any) -> QuerySet[TrainingRun]:
        return selectors.runs_reading(queryset, user=self.request.user, dataset_id=value)

    def filter_version(self, queryset: QuerySet[TrainingRun], name: str, value: Any) -> QuerySet[TrainingRun]:
        return selectors.runs_reading(queryset, user=self.request.user, version_id=value)


class _Collection(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, ProjectViewSet
):
    # Models or runs: each row of a page, and each answer about one, with what it shows attached in a
    # constant number of queries (`attach`), then answered by `detail_serializer_class`.
    added_permissions = (CanWriteModel,)
    lookup_value_converter = "uuid"
    http_method_names = ["get", "post", "patch", "head", "options"]
    detail_serializer_class: type[serializers.Serializer]

    def attach(self, rows: Sequence[Any]) -> None:
        raise NotImplementedError

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None  # every list is paged
        self.attach(page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def representation(self, pk: Any) -> dict:
        row = self.get_queryset().get(pk=pk)
        self.attach([row])
        return self.detail_serializer_class(row).data

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return Response(self.representation(self.get_object().pk))

    def created(self, request: Request, row: Any, route: str) -> Response:
        headers = {"Location": request.build_absolute_uri(reverse(route, args=[row.pk]))}
        return Response(self.representation(row.pk), status=status.HTTP_201_CREATED, headers=headers)


@extend_schema_view(
    list=extend_schema(summary="List models", description="Every model, with its owners and latest confirmed run."),
    retrieve=extend_schema(summary="Read a model", responses=ModelDetailSerializer),
    create=extend_schema(
        summary="Create a model",
        description="The caller becomes its first owner.",
        request=ModelCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            201: ModelDetailSerializer,
            409: OpenApiResponse(ProblemSerializer, description="A model of that namespace and name exists already."),
            422: KEY_REUSED_RESPONSE,
        },
    ),
    partial_update=extend_schema(
        summary="Change a model's description or tags",
        request=ModelUpdateSerializer,
        responses={200: ModelDetailSerializer, 403: FORBIDDEN_RESPONSE},
    ),
)
class ModelViewSet(_Collection):
    serializer_class = ModelSerializer
    detail_serializer_class = ModelDetailSerializer
    filterset_class = ModelFilter

    def get_queryset(self) -> QuerySet[Model]:
        return selectors.models_visible_to(self.request.user)

    def attach(self, rows: Sequence[Any]) -> None:
        selectors.models_attach(rows)
        if self.action != "list":
            rows[0].recent_runs = selectors.model_runs(rows[0])
            rows[0].findings = model_findings(rows[0], self.request.user)

    @idempotent
    def create(self, request: Request, *args, **kwargs) -> Response:
        payload = ModelCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self.created(request, services.model_create(actor=self.actor, **payload.validated_data), "model-detail")

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        model = self.get_object()
        payload = ModelUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        services.model_update(actor=self.actor, model=model, **payload.validated_data)
        return Response(self.representation(model.pk))


class _ModelOwners(OwnersEndpoint, ProjectAPIView):
    # Who answers for the model named by the path's `model_id`, by the datasets' mechanism: read by
    # every authenticated user, changed by its owners and stewards (or staff); a few rows, listed whole.
    added_permissions = (CanWriteModel,)
    pagination_class = None
    owned = MODELS
    queryset = ModelOwnership.objects.none()  # for the schema

    def owned_object(self) -> Model:
        model = get_object_or_404(selectors.models_visible_to(self.request.user), pk=self.kwargs["model_id"])
        self.check_object_permissions(self.request, model)
        return model


@owners_documented("model")
class ModelOwnersView(_ModelOwners):
    http_method_names = ["get", "head", "post", "delete", "options"]


@owners_documented("model", one=True)
class ModelOwnerView(_ModelOwners):
    query_parameters = {}
    http_method_names = ["get", "head", "delete", "options"]


@extend_schema_view(
    list=extend_schema(
        summary="List training runs",
        description="Latest first. Inputs of datasets you may not read are shown without their name, URI or "
        "fingerprint; the `dataset` and `version` filters find nothing for them.",
    ),
    retrieve=extend_schema(summary="Read a training run"),
    create=extend_schema(
        summary="Record a training run",
        description=(
            "Recorded by the model's owners and stewards (or staff); a model named by namespace and name that "
            "does not exist is created with you as its owner. Each input is a ready version: by id, by dataset "
            "(its latest ready version, `pinned: false`), or by uri and fingerprint. Inputs and hyperparameters "
            "never change once recorded."
        ),
        request=TrainingRunCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: TrainingRunSerializer, 403: FORBIDDEN_RESPONSE, 422: KEY_REUSED_RESPONSE},
    ),
    partial_update=extend_schema(
        summary="Change a training run's status, end, metrics or artifacts",
        description="Anything else is refused (400) naming the field: a run's inputs and hyperparameters are "
        "what it was, like a version's bytes.",
        request=TrainingRunUpdateSerializer,
        responses={200: TrainingRunSerializer, 403: FORBIDDEN_RESPONSE},
    ),
)
class TrainingRunViewSet(_Collection):
    serializer_class = TrainingRunSerializer
    detail_serializer_class = TrainingRunSerializer
    filterset_class = TrainingRunFilter

    def get_queryset(self) -> QuerySet[TrainingRun]:
        return selectors.runs_visible_to(self.request.user)

    def attach(self, rows: Sequence[Any]) -> None:
        selectors.runs_attach(rows, user=self.request.user)

    @idempotent
    def create(self, request: Request, *args, **kwargs) -> Response:
        payload = TrainingRunCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        run = services.training_run_record(actor=self.actor, spec=RunSpec(**payload.spec_values()))
        return self.created(request, run, "training-run-detail")

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        run = self.get_object()
        payload = TrainingRunUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        changes = {key: value for key, value in payload.validated_data.items() if key != "artifacts"}
        if "artifacts" in payload.validated_data:
            changes["artifacts"] = payload.artifact_specs()
        services.training_run_update(actor=self.actor, run=run, **changes)
        return Response(self.representation(run.pk))

    @extend_schema(
        summary="Confirm a reported training run",
        description="A run reported (OpenLineage, MLflow) by someone who may not write the model is not its "
        "latest run until one of its owners or stewards (or staff) confirms it.",
        request=None,
        responses={200: TrainingRunSerializer, 403: FORBIDDEN_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk=None) -> Response:
        run = self.get_object()
        services.training_run_confirm(actor=self.actor, run=run)
        return Response(self.representation(run.pk))
