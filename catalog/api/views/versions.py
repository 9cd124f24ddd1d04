"""A dataset's versions, and a version's features, drift, sample, thumbnails, verification and re-profiling."""

import uuid
from datetime import date, datetime, time
from typing import Any

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import selectors, services
from catalog.api.permissions import CanWriteDataset
from catalog.api.scoped import DatasetScoped
from catalog.api.serializers import (
    DriftSerializer,
    FeatureSerializer,
    FeatureUpdateSerializer,
    ThumbnailSerializer,
    VersionCreateSerializer,
    VersionSampleSerializer,
    VersionSerializer,
    VersionSummarySerializer,
    VersionUpdateSerializer,
)
from catalog.api.views.datasets import KEY_REUSED_RESPONSE
from catalog.models import DatasetVersion, Feature, Thumbnail
from catalog.selectors import personal_data_visible_to, version_previous_profiled
from config.api.conditional import ConditionalMixin
from config.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from config.api.schema import ProblemSerializer
from config.api.views import ProjectViewMixin, ProjectViewSet
from config.moments import MomentOutOfRange, moment_in_utc
from profiler.pii import aliased_paths, detected_kinds, label_aliases, masked_sample


def _parse_moment(value: str) -> datetime:
    not_a_moment = serializers.ValidationError(
        {"as_of": [f"{value!r} is not a timestamp; use ISO 8601, e.g. 2026-01-31T12:00:00Z."]}
    )
    try:
        moment = parse_datetime(value.strip())
    except ValueError:  # well formed, but no such moment: hour 25, February 30th
        raise not_a_moment from None
    if moment is None:
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise not_a_moment from None
        moment = datetime.combine(day, time.max)
    try:
        return moment_in_utc(moment)
    except MomentOutOfRange as exc:
        raise serializers.ValidationError({"as_of": [str(exc)]}) from None


AS_OF_PARAMETER = OpenApiParameter(
    "as_of",
    OpenApiTypes.DATETIME,
    description="Answer only the version that was current at this moment (ISO 8601; a date means its end, UTC).",
)


@extend_schema_view(
    get=extend_schema(
        summary="List a dataset's versions",
        parameters=[AS_OF_PARAMETER],
        responses=VersionSummarySerializer(many=True),
    ),
    post=extend_schema(
        summary="Register a new version",
        description="Answers at once with the version `pending`; a worker profiles it. The source follows the "
        "rules of a registration (storage locations, bytes other datasets registered: else 403).",
        request=VersionCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: VersionSerializer, 422: KEY_REUSED_RESPONSE},
    ),
)
class DatasetVersionsView(DatasetScoped, generics.ListCreateAPIView):
    serializer_class = VersionSummarySerializer
    queryset = DatasetVersion.objects.none()  # for the schema; requests use get_queryset()
    query_parameters = ("as_of",)

    def get_queryset(self):
        versions = selectors.version_list_queryset(self.get_dataset())
        as_of = self.request.query_params.get("as_of")
        if as_of is not None and self.request.method == "GET":
            moment = _parse_moment(as_of)
            # The version that was current then: the last one registered at or before that moment.
            current = versions.filter(created_at__lte=moment).values_list("pk", flat=True)[:1]
            versions = versions.filter(pk__in=list(current))
        return versions

    @idempotent
    def create(self, request: Request, *args, **kwargs) -> Response:
        dataset = self.get_dataset()
        payload = VersionCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        with transaction.atomic():  # the answer shows the version as registered: pending
            version = services.version_create(actor=self.actor, dataset=dataset, **payload.validated_data)
            version = selectors.version_detail_queryset(request.user).get(pk=version.pk)
            body = VersionSerializer(version).data
        headers = {"Location": request.build_absolute_uri(f"/api/v1/versions/{version.pk}/")}
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)


@extend_schema_view(
    retrieve=extend_schema(summary="Read a version with its features and quality"),
    partial_update=extend_schema(
        summary="Annotate or deprecate a version",
        description="Only notes and deprecation change; a version's source, format and fingerprint never do.",
        request=VersionUpdateSerializer,
        responses=VersionSerializer,
    ),
)
class VersionViewSet(
    ConditionalMixin[DatasetVersion], mixins.RetrieveModelMixin, mixins.UpdateModelMixin, ProjectViewSet
):
    serializer_class = VersionSerializer
    query_parameters: tuple[str, ...] = ()  # an action names those it reads (drift: against)
    added_permissions = (CanWriteDataset,)
    lookup_value_converter = "uuid"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        version = self.get_object()
        payload = VersionUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        with self.conditional_write(version):
            services.version_update(actor=self.actor, version=version, **payload.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=version.pk)).data)

    @extend_schema(
        summary="List a version's features with their statistics",
        responses=FeatureSerializer(many=True),
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def features(self, request: Request, pk=None) -> Response:
        version = self.get_object()
        features = version.features.all()  # prefetched, in position order
        return Response(FeatureSerializer(features, many=True, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="How this version differs from another",
        description="Schema diff, per-feature drift metrics flagged against their thresholds, label shift and "
        "row-count change, computed from the two stored profiles. `against` defaults to the latest earlier "
        "profiled version of the same dataset; it may be a version of any dataset you can read. Personal-data "
        "features of a version whose values you may not see (you neither own nor steward its dataset) are left "
        "out of the comparison, and so is its label when that is personal data: `masked_features` names them.",
        parameters=[OpenApiParameter("against", OpenApiTypes.UUID, description="The reference version.")],
        responses={
            200: DriftSerializer,
            409: OpenApiResponse(ProblemSerializer, description="A version is not profiled (yet)."),
        },
    )
    @action(detail=True, methods=["get"], query_parameters=("against",))
    def drift(self, request: Request, pk=None) -> Response:
        version = self.get_object()
        against_id = request.query_params.get("against")
        if against_id:
            try:
                against_key = uuid.UUID(against_id)
            except ValueError:
                raise serializers.ValidationError({"against": [f"{against_id!r} is not a version id."]}) from None
            against = get_object_or_404(selectors.versions_visible_to(request.user), pk=against_key)
        else:
            previous = version_previous_profiled(version)
            if previous is None:
                raise serializers.ValidationError(
                    {"against": [f"Version {version.number} has no earlier profiled version; name one with ?against=."]}
                )
            against = previous
        # Personal-data features of a version the caller may not read unmasked are left out: their
        # metrics against a column the caller controls would tell whether a guessed value is there.
        result = services.version_drift(version=version, against=against, reader=request.user)
        return Response({"version": str(version.pk), "against": str(against.pk), **result})

    @extend_schema(
        summary="Check that the source still holds the registered bytes",
        description="Queues a re-hash of every file of the source against the version's manifest. If the bytes "
        "changed (or the source is gone), the version is marked `source_changed`, with when that was found. "
        "The outcome is in `verification`.",
        request=None,
        responses={
            202: VersionSerializer,
            409: OpenApiResponse(ProblemSerializer, description="The version has no manifest yet."),
        },
    )
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, pk=None) -> Response:
        version = self.get_object()
        services.version_verify_request(actor=self.actor, version=version)
        # With in-process tasks the re-hash has run by now; with workers, the answer shows the last outcome.
        version = self.get_queryset().get(pk=version.pk)
        return Response(self.get_serializer(version).data, status=status.HTTP_202_ACCEPTED)

    def get_queryset(self):
        return selectors.version_detail_queryset(self.request.user)

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        if "pk" in self.kwargs:
            dataset_id = self.get_queryset().filter(pk=self.kwargs["pk"]).values_list("dataset_id", flat=True).first()
            # Owners and stewards see the values of personal-data features; everyone else sees them masked.
            context["show_pii"] = dataset_id is not None and personal_data_visible_to(
                user=self.request.user, dataset_id=dataset_id
            )
        return context

    @extend_schema(
        summary="A random sample of the version's rows",
        description="Kept with the profile for manual inspection. Values of every feature that is personal data "
        "(`pii` true: detected, or decided by a person, as the features say now) are masked except for the "
        "dataset's owners and stewards.",
        responses=VersionSampleSerializer,
    )
    @action(detail=True, methods=["get"])
    def sample(self, request: Request, pk=None) -> Response:
        version = self.get_object()
        show = self.get_serializer_context()["show_pii"]
        pii = {feature.name: detected_kinds(feature.statistics) for feature in version.features.all() if feature.pii}
        aliases = label_aliases(version.quality, pii)
        return Response(masked_sample((version.profile or {}).get("sample"), pii, shown=show, aliases=aliases))

    @extend_schema(
        summary="A few thumbnails of each class of a folder of images",
        description="Four per class, the first images of each by path, re-encoded by the worker when it "
        "profiled the folder (never the original files); the largest classes first. Empty for tables and "
        "documents.",
        responses=ThumbnailSerializer(many=True),
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def thumbnails(self, request: Request, pk=None) -> Response:
        version = self.get_object()
        thumbnails: list[dict[str, Any]] = [
            ThumbnailSerializer(thumbnail).data for thumbnail in Thumbnail.objects.filter(version=version)
        ]
        pii = {feature.name for feature in version.features.all() if feature.pii}
        aliases = label_aliases(version.quality, pii)
        if aliases and not self.get_serializer_context()["show_pii"]:
            # The classes of a personal-data label (folders named after people) go by their aliases,
            # in the label and in the folders of the path alike.
            thumbnails = [
                {**item, "label": aliases.get(item["label"], "class ?"), "path": aliased_paths(item["path"], aliases)}
                for item in thumbnails
            ]
        return Response(thumbnails)

    @extend_schema(
        summary="Profile a version again",
        description="Queues a ready or failed version for profiling (after its source or the engine changed). "
        "A local source is checked against today's storage locations and the datasets registered on its bytes "
        "since, as a registration of it would be: 403 when you could not register it now.",
        request=None,
        responses={
            202: VersionSerializer,
            403: OpenApiResponse(ProblemSerializer, description="You may not register the source any more."),
            409: OpenApiResponse(ProblemSerializer, description="Already being profiled."),
        },
    )
    @action(detail=True, methods=["post"])
    def reprofile(self, request: Request, pk=None) -> Response:
        version = self.get_object()
        services.version_reprofile(actor=self.actor, version=version)
        version = self.get_queryset().get(pk=version.pk)
        return Response(self.get_serializer(version).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    get=extend_schema(summary="Read one feature of a version"),
    patch=extend_schema(
        summary="Describe a feature, set its role, or decide whether it is personal data",
        description="A person's decision: profiling the version again keeps it, and later versions of the "
        "dataset inherit it for the feature of the same name.",
        request=FeatureUpdateSerializer,
        responses=FeatureSerializer,
    ),
)
class VersionFeatureView(ProjectViewMixin, ConditionalMixin[Feature], generics.RetrieveUpdateAPIView):
    conditional_actions = None  # the view is only about one feature
    serializer_class = FeatureSerializer
    queryset = Feature.objects.none()  # for the schema; requests use get_object()
    pagination_class = None  # one feature, never a page
    added_permissions = (CanWriteDataset,)
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self) -> Feature:
        version = get_object_or_404(selectors.versions_visible_to(self.request.user), pk=self.kwargs["version_id"])
        self.check_object_permissions(self.request, version)
        return get_object_or_404(
            Feature.objects.select_related("curated_by", "version"), version=version, position=self.kwargs["position"]
        )

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        version = DatasetVersion.objects.filter(pk=self.kwargs["version_id"]).only("dataset_id").first()
        context["show_pii"] = version is not None and personal_data_visible_to(
            user=self.request.user, dataset_id=version.dataset_id
        )
        return context

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        feature = self.get_object()
        payload = FeatureUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        with self.conditional_write(feature):
            services.feature_curate(actor=self.actor, feature=feature, **payload.validated_data)
        return Response(self.get_serializer(self.get_object()).data)
