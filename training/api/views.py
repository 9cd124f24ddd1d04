"""Models, who answers for them, and their training runs over HTTP.

Models and runs are read by every authenticated user; a model, its owners and its runs are changed
by its owners and stewards (or staff). What a run read is shown only as far as the reader may read
it (training.selectors)."""

from typing import Any

import django_filters
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from config.api.schema import ProblemSerializer
from config.api.views import ProjectAPIView, ProjectViewSet
from governance import services as governance_services
from governance.api.serializers import OwnershipCreateSerializer, OwnershipSerializer
from governance.api.views.owners import OWNER_QUERY, ownership_named
from governance.models import ModelOwnership
from governance.permissions import user_can_write_model
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
from training.models import Model, TrainingRun
from training.specs import RunSpec

KEY_REUSED_RESPONSE = OpenApiResponse(
    ProblemSerializer, description="The Idempotency-Key was already used with a different request."
)
FORBIDDEN_RESPONSE = OpenApiResponse(ProblemSerializer, description="Only the model's owners and stewards, or staff.")
LAST_OWNER_RESPONSE = OpenApiResponse(ProblemSerializer, description="The model's last owner cannot be removed.")


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


@extend_schema_view(
    list=extend_schema(summary="List models", description="Every model, with its owners and latest confirmed run."),
    retrieve=extend_schema(summary="Read a model", responses=ModelDetailSerializer),
    create=extend_schema(
        summary="Create a model",
        description="The caller becomes its first owner.",
        request=ModelCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: ModelDetailSerializer, 422: KEY_REUSED_RESPONSE},
    ),
    partial_update=extend_schema(
        summary="Change a model's description or tags",
        request=ModelUpdateSerializer,
        responses={200: ModelDetailSerializer, 403: FORBIDDEN_RESPONSE},
    ),
)
class ModelViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, ProjectViewSet
):
    serializer_class = ModelSerializer
    filterset_class = ModelFilter
    added_permissions = (CanWriteModel,)
    lookup_value_converter = "uuid"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Model]:
        return selectors.models_visible_to(self.request.user)

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None  # every list is paged
        selectors.models_attach(page)
        return self.get_paginated_response(ModelSerializer(page, many=True).data)

    def _representation(self, model: Model) -> dict:
        selectors.models_attach([model])
        model.recent_runs = selectors.model_runs(model)  # type: ignore[attr-defined]
        return ModelDetailSerializer(model).data

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return Response(self._representation(self.get_object()))

    @idempotent
    def create(self, request: Request, *args, **kwargs) -> Response:
        payload = ModelCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        model = services.model_create(actor=self.actor, **payload.validated_data)
        headers = {"Location": request.build_absolute_uri(reverse("model-detail", args=[model.pk]))}
        return Response(self._representation(model), status=status.HTTP_201_CREATED, headers=headers)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        model = self.get_object()
        payload = ModelUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        model = services.model_update(actor=self.actor, model=model, **payload.validated_data)
        return Response(self._representation(model))


class _ModelRecords(ProjectAPIView):
    # Who answers for the model named by the path's `model_id`: read by every authenticated user,
    # changed by its owners and stewards (or staff); a few rows, listed whole.
    added_permissions = (CanWriteModel,)
    pagination_class = None
    serializer_class = OwnershipSerializer
    queryset = ModelOwnership.objects.none()  # for the schema

    def get_model(self) -> Model:
        model = get_object_or_404(selectors.models_visible_to(self.request.user), pk=self.kwargs["model_id"])
        self.check_object_permissions(self.request, model)
        return model


@extend_schema_view(
    get=extend_schema(summary="List who answers for a model", responses=OwnershipSerializer(many=True)),
    post=extend_schema(
        summary="Add a model's owner, steward or custodian",
        description="A user or a group, in a role. Adding one that exists answers 200 and changes nothing.",
        request=OwnershipCreateSerializer,
        responses={200: OwnershipSerializer, 201: OwnershipSerializer, 403: FORBIDDEN_RESPONSE},
    ),
    delete=extend_schema(
        operation_id="models_owners_remove_by_principal",
        summary="Remove a model's ownership named by user or group and role",
        parameters=OWNER_QUERY,
        responses={204: None, 409: LAST_OWNER_RESPONSE},
    ),
)
class ModelOwnersView(_ModelRecords):
    query_parameters = {"delete": ("user", "group", "role")}

    def get(self, request: Request, model_id) -> Response:
        ownerships = ModelOwnership.objects.filter(model=self.get_model()).select_related("user", "group")
        return Response(OwnershipSerializer(self.filter_queryset(ownerships), many=True).data)

    def post(self, request: Request, model_id) -> Response:
        model = self.get_model()
        payload = OwnershipCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        ownership, created = governance_services.model_ownership_add(
            actor=self.actor, model_id=model.pk, **payload.validated_data
        )
        return Response(
            OwnershipSerializer(ownership).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def delete(self, request: Request, model_id) -> Response:
        ownership = ownership_named(request, ModelOwnership.objects.filter(model=self.get_model()))
        governance_services.model_ownership_remove(actor=self.actor, ownership=ownership)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    get=extend_schema(summary="Read one of a model's ownerships", responses=OwnershipSerializer),
    delete=extend_schema(summary="Remove a model's ownership", responses={204: None, 409: LAST_OWNER_RESPONSE}),
)
class ModelOwnerView(_ModelRecords):
    def get_ownership(self) -> ModelOwnership:
        return get_object_or_404(
            ModelOwnership.objects.select_related("user", "group"), model=self.get_model(), pk=self.kwargs["pk"]
        )

    def get(self, request: Request, model_id, pk) -> Response:
        return Response(OwnershipSerializer(self.get_ownership()).data)

    def delete(self, request: Request, model_id, pk) -> Response:
        governance_services.model_ownership_remove(actor=self.actor, ownership=self.get_ownership())
        return Response(status=status.HTTP_204_NO_CONTENT)


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
class TrainingRunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin, ProjectViewSet
):
    serializer_class = TrainingRunSerializer
    filterset_class = TrainingRunFilter
    added_permissions = (CanWriteModel,)
    lookup_value_converter = "uuid"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[TrainingRun]:
        return selectors.runs_visible_to(self.request.user)

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None  # every list is paged
        selectors.runs_attach(page, user=request.user)
        return self.get_paginated_response(TrainingRunSerializer(page, many=True).data)

    def _representation(self, run_id) -> dict:
        run = self.get_queryset().get(pk=run_id)
        selectors.runs_attach([run], user=self.request.user)
        return TrainingRunSerializer(run).data

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return Response(self._representation(self.get_object().pk))

    @idempotent
    def create(self, request: Request, *args, **kwargs) -> Response:
        payload = TrainingRunCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        run = services.training_run_record(actor=self.actor, spec=RunSpec(**payload.spec_values()))
        headers = {"Location": request.build_absolute_uri(reverse("training-run-detail", args=[run.pk]))}
        return Response(self._representation(run.pk), status=status.HTTP_201_CREATED, headers=headers)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        run = self.get_object()
        payload = TrainingRunUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        changes = {key: value for key, value in payload.validated_data.items() if key != "artifacts"}
        if "artifacts" in payload.validated_data:
            changes["artifacts"] = payload.artifact_specs()
        services.training_run_update(actor=self.actor, run=run, **changes)
        return Response(self._representation(run.pk))

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
        return Response(self._representation(run.pk))
