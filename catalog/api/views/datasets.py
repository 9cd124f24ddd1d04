"""The dataset collection: list, register, read, change, retire and purge."""

from django.db import transaction
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import selectors, services
from catalog.api.filters import DatasetFilter
from catalog.api.permissions import CanWriteDataset
from catalog.api.serializers import DatasetRegisterSerializer, DatasetSerializer, DatasetUpdateSerializer
from catalog.models import Dataset
from config.api.conditional import ConditionalMixin
from config.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from config.api.permissions import IsStaff
from config.api.schema import ConflictProblemSerializer, ProblemSerializer
from config.api.views import ProjectViewSet

KEY_REUSED_RESPONSE = OpenApiResponse(
    ProblemSerializer, description="The Idempotency-Key was already used with a different request."
)
CONFLICT_RESPONSE = OpenApiResponse(
    ConflictProblemSerializer,
    description="A dataset with this namespace and name exists; see `existing_id` (given only when you may read it).",
)


@extend_schema_view(
    list=extend_schema(summary="List datasets", description="Retired datasets are not listed."),
    retrieve=extend_schema(summary="Read a dataset", description="Retired datasets stay readable by id."),
    create=extend_schema(
        summary="Register a dataset",
        description=(
            "Registers a dataset; the caller becomes its first owner. With `source`, version 1 is created "
            "and queued for profiling: it answers at once with the version `pending`. A local source needs a "
            "storage location that grants the caller, and bytes another dataset registered may be registered "
            "again only by those who may read it (else 403); the new dataset then takes the strictest "
            "sensitivity of those datasets."
        ),
        request=DatasetRegisterSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: DatasetSerializer, 409: CONFLICT_RESPONSE, 422: KEY_REUSED_RESPONSE},
    ),
    partial_update=extend_schema(
        summary="Change a dataset", request=DatasetUpdateSerializer, responses=DatasetSerializer
    ),
    destroy=extend_schema(
        summary="Retire a dataset",
        description="Hides it from lists; it stays readable by id with its versions and history.",
    ),
)
class DatasetViewSet(
    ConditionalMixin[Dataset],
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ProjectViewSet,
):
    serializer_class = DatasetSerializer
    filterset_class = DatasetFilter
    added_permissions = (CanWriteDataset,)
    lookup_value_converter = "uuid"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if self.action == "list":
            return selectors.dataset_list(user=self.request.user)
        return selectors.with_latest_version(selectors.datasets_visible_to(self.request.user))

    def list(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None  # every list is paged (REST_FRAMEWORK's DEFAULT_PAGINATION_CLASS)
        selectors.datasets_attach_relations(page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def _representation(self, dataset_id) -> dict:
        dataset = self.get_queryset().get(pk=dataset_id)
        selectors.datasets_attach_relations([dataset])
        return DatasetSerializer(dataset).data

    def representation(self, obj: Dataset) -> dict:
        return self._representation(obj.pk)

    @idempotent
    def create(self, request: Request, *args, **kwargs) -> Response:
        payload = DatasetRegisterSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        source = data.pop("source", None)
        # The answer is read inside the transaction: it shows the registration as committed
        # (version 1 pending), before the worker it is handed to on commit can change it.
        with transaction.atomic():
            dataset = services.dataset_register(
                actor=self.actor,
                source=services.SourceSpec(**source) if source else None,
                **data,
            )
            body = self._representation(dataset.pk)
        # From the route, not the request's URL: that may carry a query string (an idempotency key, a format).
        headers = {"Location": request.build_absolute_uri(reverse("dataset-detail", args=[dataset.pk]))}
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        dataset = self.get_object()
        payload = DatasetUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        with self.conditional_write(dataset):
            services.dataset_update(actor=self.actor, dataset=dataset, **payload.validated_data)
        return Response(self._representation(dataset.pk))

    def perform_destroy(self, instance: Dataset) -> None:
        services.dataset_retire(actor=self.actor, dataset=instance)

    @extend_schema(
        summary="Purge a retired dataset (staff)",
        description="Deletes a retired dataset for good, with its versions and features. Refused (409) while "
        "lineage or an audit its owners stand behind references it (confirmed lineage into it, lineage or runs "
        "its owners or staff reported, audits by those who answer for it or by staff); what others reported "
        "about it goes with it, and their audits keep their report. The change log keeps its history and "
        "records the purge, with what it released.",
        request=None,
        responses={
            204: None,
            409: OpenApiResponse(ProblemSerializer, description="Not retired, or still referenced."),
        },
    )
    @action(detail=True, methods=["post"], permission_classes=[IsStaff])
    def purge(self, request: Request, pk=None) -> Response:
        dataset = self.get_object()
        services.dataset_purge(actor=self.actor, dataset=dataset)
        return Response(status=status.HTTP_204_NO_CONTENT)
