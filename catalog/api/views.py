from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import selectors, services
from catalog.api.filters import DatasetFilter
from catalog.api.permissions import CanWriteDataset
from catalog.api.serializers import (
    DatasetRegisterSerializer,
    DatasetSerializer,
    DatasetUpdateSerializer,
    VersionCreateSerializer,
    VersionSampleSerializer,
    VersionSerializer,
    VersionSummarySerializer,
)
from catalog.models import Dataset, DatasetVersion
from catalog.sources import SourceRejected
from config.api.exceptions import Conflict
from config.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from config.api.schema import ConflictProblemSerializer, ProblemSerializer
from governance.permissions import user_can_write_dataset

KEY_REUSED_RESPONSE = OpenApiResponse(
    ProblemSerializer, description="The Idempotency-Key was already used with a different request."
)
CONFLICT_RESPONSE = OpenApiResponse(
    ConflictProblemSerializer, description="A dataset with this namespace and name exists; see `existing_id`."
)


@extend_schema_view(
    list=extend_schema(summary="List datasets", description="Retired datasets are not listed."),
    retrieve=extend_schema(summary="Read a dataset", description="Retired datasets stay readable by id."),
    create=extend_schema(
        summary="Register a dataset",
        description=(
            "Registers a dataset; the caller becomes its first owner. With `source`, version 1 is created "
            "and queued for profiling: it answers at once with the version `pending`."
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
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = DatasetSerializer
    filterset_class = DatasetFilter
    permission_classes = [*viewsets.GenericViewSet.permission_classes, CanWriteDataset]
    lookup_value_converter = "uuid"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if self.action == "list":
            return selectors.dataset_list(user=self.request.user)
        return selectors.with_latest_version(selectors.datasets_visible_to(self.request.user))

    def list(self, request: Request, *args, **kwargs) -> Response:  # type: ignore[no-untyped-def]
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        selectors.datasets_attach_relations(page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def _representation(self, dataset_id) -> dict:  # type: ignore[no-untyped-def]
        dataset = self.get_queryset().get(pk=dataset_id)
        selectors.datasets_attach_relations([dataset])
        return DatasetSerializer(dataset).data

    @idempotent
    def create(self, request: Request, *args, **kwargs) -> Response:  # type: ignore[no-untyped-def]
        payload = DatasetRegisterSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        source = data.pop("source", None)
        try:
            # The answer is read inside the transaction: it shows the registration as committed
            # (version 1 pending), before the worker it is handed to on commit can change it.
            with transaction.atomic():
                dataset = services.dataset_register(
                    actor=request.user,
                    source=services.SourceSpec(**source) if source else None,
                    **data,
                )
                body = self._representation(dataset.pk)
        except services.DatasetAlreadyExists as exc:
            raise Conflict(str(exc), existing_id=str(exc.existing.pk)) from None
        except SourceRejected as exc:
            raise serializers.ValidationError({"source": {"uri": [str(exc)]}}) from None
        headers = {"Location": f"{request.build_absolute_uri()}{dataset.pk}/"}
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:  # type: ignore[no-untyped-def]
        dataset = self.get_object()
        payload = DatasetUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        services.dataset_update(actor=request.user, dataset=dataset, **payload.validated_data)
        return Response(self._representation(dataset.pk))

    def perform_destroy(self, instance: Dataset) -> None:
        services.dataset_retire(actor=self.request.user, dataset=instance)


@extend_schema_view(
    get=extend_schema(summary="List a dataset's versions", responses=VersionSummarySerializer(many=True)),
    post=extend_schema(
        summary="Register a new version",
        description="Answers at once with the version `pending`; a worker profiles it.",
        request=VersionCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: VersionSerializer, 422: KEY_REUSED_RESPONSE},
    ),
)
class DatasetVersionsView(generics.ListCreateAPIView):
    serializer_class = VersionSummarySerializer
    queryset = DatasetVersion.objects.none()  # for the schema; requests use get_queryset()
    permission_classes = [*generics.ListCreateAPIView.permission_classes, CanWriteDataset]

    def get_dataset(self) -> Dataset:
        dataset = get_object_or_404(selectors.datasets_visible_to(self.request.user), pk=self.kwargs["dataset_id"])
        self.check_object_permissions(self.request, dataset)
        return dataset

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return DatasetVersion.objects.filter(dataset=self.get_dataset()).order_by("-number")

    @idempotent
    def create(self, request: Request, *args, **kwargs) -> Response:  # type: ignore[no-untyped-def]
        dataset = self.get_dataset()
        payload = VersionCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            with transaction.atomic():  # the answer shows the version as registered: pending
                version = services.version_create(actor=request.user, dataset=dataset, **payload.validated_data)
                version = selectors.version_detail_queryset(request.user).get(pk=version.pk)
                body = VersionSerializer(version).data
        except SourceRejected as exc:
            raise serializers.ValidationError({"uri": [str(exc)]}) from None
        headers = {"Location": request.build_absolute_uri(f"/api/v1/versions/{version.pk}/")}
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)


@extend_schema_view(retrieve=extend_schema(summary="Read a version with its features and quality"))
class VersionViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = VersionSerializer
    permission_classes = [*viewsets.GenericViewSet.permission_classes, CanWriteDataset]
    lookup_value_converter = "uuid"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.version_detail_queryset(self.request.user)

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        if "pk" in self.kwargs:
            dataset_id = self.get_queryset().filter(pk=self.kwargs["pk"]).values_list("dataset_id", flat=True).first()
            # Owners, stewards and staff see the values of personal-data features; others see them masked.
            context["show_pii"] = dataset_id is not None and user_can_write_dataset(self.request.user, dataset_id)
        return context

    @extend_schema(
        summary="A random sample of the version's rows",
        description="Kept with the profile for manual inspection. Values of features suspected or confirmed "
        "as personal data are masked except for the dataset's owners and stewards.",
        responses=VersionSampleSerializer,
    )
    @action(detail=True, methods=["get"])
    def sample(self, request: Request, pk=None) -> Response:  # type: ignore[no-untyped-def]
        version = self.get_object()
        sample = (version.profile or {}).get("sample") or {
            "columns": [],
            "rows": [],
            "masked_rows": [],
            "pii_columns": [],
        }
        show = self.get_serializer_context()["show_pii"]
        return Response(
            {
                "columns": sample["columns"],
                "rows": sample["rows"] if show else sample["masked_rows"],
                "masked": not show and bool(sample["pii_columns"]),
                "pii_columns": sample["pii_columns"],
            }
        )

    @extend_schema(
        summary="Profile a version again",
        description="Queues a ready or failed version for profiling (after its source or the engine changed).",
        request=None,
        responses={
            202: VersionSerializer,
            409: OpenApiResponse(ProblemSerializer, description="Already being profiled."),
        },
    )
    @action(detail=True, methods=["post"])
    def reprofile(self, request: Request, pk=None) -> Response:  # type: ignore[no-untyped-def]
        version = self.get_object()
        try:
            services.version_reprofile(actor=request.user, version=version)
        except services.VersionBusy as exc:
            raise Conflict(str(exc)) from None
        version = self.get_queryset().get(pk=version.pk)
        return Response(self.get_serializer(version).data, status=status.HTTP_202_ACCEPTED)
