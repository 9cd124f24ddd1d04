import base64
import logging
import mimetypes
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import date, datetime, time
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from django.db import transaction
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import authentication, exceptions, generics, mixins, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import downloads, selectors, services
from catalog.api.filters import DatasetFilter
from catalog.api.permissions import CanWriteDataset
from catalog.api.serializers import (
    DataCardImportSerializer,
    DataCardSerializer,
    DataCardUpdateSerializer,
    DatasetRegisterSerializer,
    DatasetSerializer,
    DatasetUpdateSerializer,
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
from catalog.cards.croissant import card_croissant
from catalog.cards.facts import card_facts
from catalog.cards.huggingface import CardDocumentInvalid, card_markdown
from catalog.models import CARD_SECTIONS, DataCard, Dataset, DatasetVersion, Feature, Thumbnail
from catalog.selectors import personal_data_visible_to, version_previous_profiled
from catalog.sources import SourceForbidden, SourceRejected
from config.api.authentication import TokenAuthentication
from config.api.conditional import ConditionalMixin
from config.api.exceptions import Conflict
from config.api.filters import QueryParametersChecked
from config.api.idempotency import IDEMPOTENCY_PARAMETER, idempotent
from config.api.permissions import IsStaff, actor_of
from config.api.renderers import JsonLdRenderer, MarkdownRenderer
from config.api.schema import ConflictProblemSerializer, ProblemSerializer
from config.moments import MomentOutOfRange, moment_in_utc
from governance.licensing import LicenseExpressionInvalid
from profiler.pii import aliased_paths, detected_kinds, label_aliases, masked_sample

logger = logging.getLogger(__name__)

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
    viewsets.GenericViewSet,
):
    serializer_class = DatasetSerializer
    filterset_class = DatasetFilter
    permission_classes = [*viewsets.GenericViewSet.permission_classes, CanWriteDataset]
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
        try:
            # The answer is read inside the transaction: it shows the registration as committed
            # (version 1 pending), before the worker it is handed to on commit can change it.
            with transaction.atomic():
                dataset = services.dataset_register(
                    actor=actor_of(request),
                    source=services.SourceSpec(**source) if source else None,
                    **data,
                )
                body = self._representation(dataset.pk)
        except services.DatasetAlreadyExists as exc:
            # The id only to who may read the dataset: a restricted one is not named by a 409 either.
            if selectors.datasets_visible_to(request.user).filter(pk=exc.existing.pk).exists():
                raise Conflict(str(exc), existing_id=str(exc.existing.pk)) from None
            raise Conflict(
                f"{exc} It is not one you may read; choose another name or ask its owners for access."
            ) from None
        except services.NamespaceClosed as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        except LicenseExpressionInvalid as exc:
            raise serializers.ValidationError({"license": [str(exc)]}) from None
        except SourceForbidden as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        except SourceRejected as exc:
            raise serializers.ValidationError({"source": {"uri": [str(exc)]}}) from None
        except services.ReadOptionsInapplicable as exc:
            raise serializers.ValidationError({"source": {"read_options": [str(exc)]}}) from None
        # From the route, not the request's URL: that may carry a query string (an idempotency key, a format).
        headers = {"Location": request.build_absolute_uri(reverse("dataset-detail", args=[dataset.pk]))}
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        dataset = self.get_object()
        payload = DatasetUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        try:
            with self.conditional_write(dataset):
                services.dataset_update(actor=actor_of(request), dataset=dataset, **payload.validated_data)
        except LicenseExpressionInvalid as exc:
            raise serializers.ValidationError({"license": [str(exc)]}) from None
        return Response(self._representation(dataset.pk))

    def perform_destroy(self, instance: Dataset) -> None:
        services.dataset_retire(actor=actor_of(self.request), dataset=instance)

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
        try:
            services.dataset_purge(actor=actor_of(request), dataset=dataset)
        except services.DatasetNotPurgeable as exc:
            raise Conflict(str(exc)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


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
class DatasetVersionsView(generics.ListCreateAPIView):
    serializer_class = VersionSummarySerializer
    queryset = DatasetVersion.objects.none()  # for the schema; requests use get_queryset()
    permission_classes = [*generics.ListCreateAPIView.permission_classes, CanWriteDataset]
    query_parameters = ("as_of",)

    def get_dataset(self) -> Dataset:
        dataset = get_object_or_404(selectors.datasets_visible_to(self.request.user), pk=self.kwargs["dataset_id"])
        self.check_object_permissions(self.request, dataset)
        return dataset

    def get_queryset(self):
        versions = DatasetVersion.objects.filter(dataset=self.get_dataset()).order_by("-number")
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
        try:
            with transaction.atomic():  # the answer shows the version as registered: pending
                version = services.version_create(actor=actor_of(request), dataset=dataset, **payload.validated_data)
                version = selectors.version_detail_queryset(request.user).get(pk=version.pk)
                body = VersionSerializer(version).data
        except SourceForbidden as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        except SourceRejected as exc:
            raise serializers.ValidationError({"uri": [str(exc)]}) from None
        except services.ReadOptionsInapplicable as exc:
            raise serializers.ValidationError({"read_options": [str(exc)]}) from None
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
    ConditionalMixin[DatasetVersion], mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet
):
    serializer_class = VersionSerializer
    query_parameters: tuple[str, ...] = ()  # an action names those it reads (drift: against)
    permission_classes = [*viewsets.GenericViewSet.permission_classes, CanWriteDataset]
    lookup_value_converter = "uuid"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        version = self.get_object()
        payload = VersionUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        with self.conditional_write(version):
            services.version_update(actor=actor_of(request), version=version, **payload.validated_data)
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
        try:
            # Personal-data features of a version the caller may not read unmasked are left out: their
            # metrics against a column the caller controls would tell whether a guessed value is there.
            result = services.version_drift(version=version, against=against, reader=request.user)
        except services.VersionNotProfiled as exc:
            raise Conflict(str(exc)) from None
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
        try:
            services.version_verify_request(actor=actor_of(request), version=version)
        except services.VersionNotVerifiable as exc:
            raise Conflict(str(exc)) from None
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
        try:
            services.version_reprofile(actor=actor_of(request), version=version)
        except services.VersionBusy as exc:
            raise Conflict(str(exc)) from None
        except SourceForbidden as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
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
class VersionFeatureView(QueryParametersChecked, ConditionalMixin[Feature], generics.RetrieveUpdateAPIView):
    conditional_actions = None  # the view is only about one feature
    serializer_class = FeatureSerializer
    queryset = Feature.objects.none()  # for the schema; requests use get_object()
    pagination_class = None  # one feature, never a page
    permission_classes = [*generics.RetrieveUpdateAPIView.permission_classes, CanWriteDataset]
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
        if payload.validated_data.get("pii") is False and not self.get_serializer_context()["show_pii"]:
            # A dismissal unmasks the feature's values for every reader: only those already entitled to
            # them (owners and stewards) may take it. Staff may confirm personal data, not dismiss it.
            raise PermissionDenied(
                "Only the dataset's owners and stewards may decide that a feature is not personal data: "
                "it unmasks its values for everyone who reads the dataset."
            )
        with self.conditional_write(feature):
            services.feature_curate(actor=actor_of(request), feature=feature, **payload.validated_data)
        return Response(self.get_serializer(self.get_object()).data)


# --- Data cards ------------------------------------------------------------------------------------


class _DatasetCardBase(QueryParametersChecked, generics.GenericAPIView):
    permission_classes = [*generics.GenericAPIView.permission_classes, CanWriteDataset]
    queryset = Dataset.objects.none()  # for the schema; requests use get_dataset()
    pagination_class = None

    def get_dataset(self) -> Dataset:
        dataset = get_object_or_404(selectors.datasets_visible_to(self.request.user), pk=self.kwargs["dataset_id"])
        self.check_object_permissions(self.request, dataset)
        return dataset

    def card_of(self, dataset: Dataset) -> DataCard | None:
        return DataCard.objects.select_related("updated_by").filter(dataset=dataset).first()


def _card_body(dataset: Dataset, card: DataCard | None, *, shows_personal: bool) -> dict:
    sections = {section: getattr(card, section) if card else "" for section in CARD_SECTIONS}
    return {
        "dataset": str(dataset.pk),
        **sections,
        "task_categories": list(card.task_categories) if card else [],
        "completeness": card.completeness if card else 0.0,
        "missing_sections": card.missing_sections if card else list(CARD_SECTIONS),
        "facts": card_facts(dataset, shows_personal=shows_personal),
        "updated_by": card.updated_by.get_username() if card and card.updated_by else None,
        "updated_at": card.updated_at if card else None,
    }


@extend_schema_view(
    get=extend_schema(summary="Read a dataset's data card", responses=DataCardSerializer),
    put=extend_schema(
        summary="Write a dataset's data card",
        description="Every section; those left out become empty. Owners, stewards and staff only.",
        request=DataCardUpdateSerializer,
        responses=DataCardSerializer,
    ),
    patch=extend_schema(
        summary="Change sections of a dataset's data card",
        request=DataCardUpdateSerializer,
        responses=DataCardSerializer,
    ),
)
class DatasetCardView(ConditionalMixin[Dataset], _DatasetCardBase):
    conditional_actions = None  # the view is only about one card
    serializer_class = DataCardSerializer
    http_method_names = ["get", "put", "patch", "head", "options"]

    def get_object(self) -> Dataset:
        return self.get_dataset()

    def representation(self, obj: Dataset) -> dict:
        shows = personal_data_visible_to(user=self.request.user, dataset_id=obj.pk)
        return DataCardSerializer(_card_body(obj, self.card_of(obj), shows_personal=shows)).data

    def get(self, request: Request, dataset_id) -> Response:
        return Response(self.representation(self.get_dataset()))

    def _write(self, request: Request, *, replace: bool) -> Response:
        dataset = self.get_dataset()
        payload = DataCardUpdateSerializer(data=request.data, partial=not replace)
        payload.is_valid(raise_exception=True)
        with self.conditional_write(dataset):
            services.card_update(actor=actor_of(request), dataset=dataset, replace=replace, **payload.validated_data)
        return Response(self.representation(dataset))

    def put(self, request: Request, dataset_id) -> Response:
        return self._write(request, replace=True)

    def patch(self, request: Request, dataset_id) -> Response:
        return self._write(request, replace=False)


class DatasetCardMarkdownView(_DatasetCardBase):
    renderer_classes = [MarkdownRenderer]

    @extend_schema(
        summary="The data card as a Hugging Face dataset card",
        description="Markdown with YAML front matter (license as the hub's slug, pretty_name, size_categories, "
        "task_categories, dataset_info with features and splits), then the sections people wrote and the facts "
        "the catalog knows, between <!-- catalog:facts --> markers.",
        responses={(200, "text/markdown"): OpenApiTypes.STR},
    )
    def get(self, request: Request, dataset_id) -> Response:
        dataset = self.get_dataset()
        facts = card_facts(dataset, shows_personal=personal_data_visible_to(user=request.user, dataset_id=dataset.pk))
        text = card_markdown(facts, self.card_of(dataset))
        return Response(text, content_type="text/markdown; charset=utf-8")


class DatasetCardCroissantView(_DatasetCardBase):
    renderer_classes = [JsonLdRenderer, renderers.JSONRenderer]

    @extend_schema(
        summary="The data card as Croissant 1.1 JSON-LD",
        description="With the Responsible AI fields filled from the card, every file of the latest version with "
        "its sha256 in `distribution`, and a `recordSet` with one field per feature.",
        responses={(200, "application/ld+json"): OpenApiTypes.OBJECT, (200, "application/json"): OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, dataset_id) -> Response:
        dataset = self.get_dataset()
        url = request.build_absolute_uri(f"/api/v1/datasets/{dataset.pk}/")
        facts = card_facts(dataset, shows_personal=personal_data_visible_to(user=request.user, dataset_id=dataset.pk))
        tables = None
        if facts["version"] is not None:
            version = DatasetVersion.objects.get(pk=facts["version"]["id"])
            tables = downloads.version_tables(version, [feature["name"] for feature in facts["version"]["features"]])

        def file_url(path: str, rendition: bool) -> str:
            location = reverse("version-file", kwargs={"version_id": facts["version"]["id"], "path": path})
            return request.build_absolute_uri(location + ("?as=csv" if rendition else ""))

        return Response(card_croissant(facts, self.card_of(dataset), url=url, file_url=file_url, tables=tables))


class DatasetCardImportView(_DatasetCardBase):
    serializer_class = DataCardImportSerializer  # what OPTIONS describes as the body of a POST

    @extend_schema(
        summary="Fill the data card from a Hugging Face README or a Croissant document",
        description="The sections the document states replace the card's; the others stay.",
        request=DataCardImportSerializer,
        responses=DataCardSerializer,
    )
    def post(self, request: Request, dataset_id) -> Response:
        dataset = self.get_dataset()
        payload = DataCardImportSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            services.card_import(actor=actor_of(request), dataset=dataset, **payload.validated_data)
        except CardDocumentInvalid as exc:
            raise serializers.ValidationError({"content": [str(exc)]}) from None
        body = _card_body(
            dataset,
            self.card_of(dataset),
            shows_personal=personal_data_visible_to(user=request.user, dataset_id=dataset.pk),
        )
        return Response(DataCardSerializer(body).data)


class TokenAsBasicPassword(authentication.BaseAuthentication):
    """`Authorization: Basic` with an API token as the password (the user name is not looked at), for the file
    downloads alone: Croissant readers send only Basic credentials (mlcroissant takes them from
    CROISSANT_BASIC_AUTH_USERNAME and CROISSANT_BASIC_AUTH_PASSWORD). The token is checked as any other."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        auth = authentication.get_authorization_header(request).split()
        if not auth or auth[0].lower() != b"basic":
            return None
        try:
            if len(auth) != 2:
                raise ValueError
            _, separator, key = base64.b64decode(auth[1], validate=True).decode("utf-8").partition(":")
            if not separator or not key:
                raise ValueError
        except (ValueError, UnicodeError):
            raise exceptions.AuthenticationFailed(
                "Invalid basic header: give base64 of 'any-name:<your API token>'."
            ) from None
        return TokenAuthentication().authenticate_credentials(key)

    def authenticate_header(self, request: Request) -> str:
        return 'Basic realm="api"'


class TokenAsBasicPasswordScheme(OpenApiAuthenticationExtension):
    target_class = "catalog.api.views.TokenAsBasicPassword"
    name = "tokenAsBasicPassword"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "basic",
            "description": "File downloads only: any user name, an API token as the password.",
        }


class SourceChangedConflict(Conflict):
    default_code = "source_changed"


class TableUnreadable(Conflict):
    default_code = "table_unreadable"


class _Chunks:
    """A response body that closes the file it streams when the response is closed, read to its end or not."""

    def __init__(self, chunks: Iterator[bytes], files: ExitStack) -> None:
        self.chunks, self.files = chunks, files

    def __iter__(self) -> "_Chunks":
        return self

    def __next__(self) -> bytes:
        return next(self.chunks)

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()  # a rendition first lets go of the file
        try:
            self.files.close()
        except downloads.SourceChanged as exc:
            # Too late for a 409: the bytes sent may be mixed, which the reader's sha256 check catches.
            logger.warning("A file changed while it was downloaded: %s", exc)


_SERVED_TYPES = {
    "text/csv",
    "text/tab-separated-values",
    "text/plain",
    "application/json",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
}


class VersionFileView(QueryParametersChecked, generics.GenericAPIView):
    query_parameters = ("as",)
    authentication_classes = [*generics.GenericAPIView.authentication_classes, TokenAsBasicPassword]
    queryset = DatasetVersion.objects.none()  # for the schema; requests use the visible versions
    pagination_class = None

    @extend_schema(
        summary="Download one file of a version",
        description="The bytes of one file of the version's manifest (a local source; a URL source's file is at "
        "its URL), once its size and sha256 are found to be the manifest's (else 409 `source_changed`). Readable "
        "by whoever may read the version, except that a version with personal-data features is served only to "
        "those who see their values (its owners and stewards): the file is not masked. `?as=csv` gives a "
        "delimited table as UTF-8 comma-separated values under a header row of its profiled column names, which "
        "the Croissant export uses for a delimiter, header or encoding Croissant cannot state. Clients that send "
        "only Basic credentials (Croissant readers) give an API token as the password.",
        parameters=[
            OpenApiParameter("as", OpenApiTypes.STR, enum=["csv"], description="Re-write a table as CSV."),
        ],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            403: OpenApiResponse(ProblemSerializer, description="The version has personal data you may not see."),
            404: OpenApiResponse(ProblemSerializer, description="No such version (for you), or no such file."),
            409: OpenApiResponse(
                ProblemSerializer, description="The file's bytes changed, or the table is unreadable."
            ),
        },
    )
    def get(self, request: Request, version_id, path: str) -> StreamingHttpResponse:
        version = get_object_or_404(selectors.version_detail_queryset(request.user), pk=version_id)
        features = list(version.features.all())
        if any(feature.pii for feature in features) and not personal_data_visible_to(
            user=request.user, dataset_id=version.dataset_id
        ):
            raise PermissionDenied(
                "This version has personal-data features, and its files hold their values unmasked: only the "
                "dataset's owners and stewards may download them. Its sample and statistics are masked for you."
            )
        rendition = request.query_params.get("as")
        if rendition not in (None, "csv"):
            raise serializers.ValidationError({"as": [f"{rendition!r} is not a rendition; the one there is is csv."]})
        try:
            entry = downloads.manifest_entry(version, path)
        except downloads.FileUnavailable as exc:
            raise exceptions.NotFound(str(exc)) from None
        if rendition and not downloads.is_table(path, version.format):
            raise serializers.ValidationError(
                {"as": [f"{path} is not a delimited table (a file of a csv or tsv source)."]}
            )
        files = ExitStack()
        try:
            handle = files.enter_context(downloads.file_opened(version, entry))
            chunks: Iterator[bytes]
            if rendition:
                names = [feature.name for feature in features]
                dialect = downloads.table_dialect(
                    downloads.table_head(handle), path=path, names=names, read_options=downloads.how_read(version)
                )
                if dialect is None:
                    raise TableUnreadable(
                        f"No delimiter splits the first row of {path} into the {len(names)} columns profiled; "
                        "give the version's read options."
                    )
                chunks = downloads.csv_rendition(handle, dialect, names)
            else:
                chunks = downloads.file_chunks(handle)
        except downloads.SourceChanged as exc:
            files.close()
            raise SourceChangedConflict(str(exc)) from None
        except BaseException:
            files.close()
            raise
        name = PurePosixPath(path).name
        if rendition:
            content_type = "text/csv; charset=utf-8"
            name = f"{PurePosixPath(name).stem.removesuffix('.csv')}.csv"
        else:
            guessed, compressed = mimetypes.guess_type(name)
            # Never a type a browser would render as a page.
            content_type = (
                "application/gzip" if compressed == "gzip" else guessed if guessed in _SERVED_TYPES else None
            ) or "application/octet-stream"
        response = StreamingHttpResponse(_Chunks(chunks, files), content_type=content_type)
        if not rendition:
            response["Content-Length"] = str(entry["size"])
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response
