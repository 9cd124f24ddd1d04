"""Which training runs and models learned from a dataset or a version, directly or through lineage."""

from __future__ import annotations

from uuid import UUID

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.models import Dataset, DatasetVersion
from catalog.selectors import datasets_visible_to, versions_visible_to
from config.api.schema import ProblemSerializer
from config.api.views import ProjectAPIView
from training.impact import impact_read


class ImpactRunSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    model = serializers.UUIDField()
    model_version = serializers.CharField()
    status = serializers.CharField()
    confirmed = serializers.BooleanField(help_text="False while the model's owners have not confirmed a reported run.")
    role = serializers.CharField(help_text="What the run used its input for.")
    version = serializers.UUIDField(
        allow_null=True, help_text="The version the run read; null for a dataset you may not read."
    )
    version_number = serializers.IntegerField(allow_null=True)
    path = serializers.ListField(
        child=serializers.CharField(),
        help_text="Node ids (`dataset:namespace:name`) from the dataset asked about to the run's input; a dataset "
        "you may not read is `dataset:restricted:#n`.",
    )


class ImpactModelSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    namespace = serializers.CharField()
    name = serializers.CharField()


class ImpactSerializer(serializers.Serializer):
    training_runs = ImpactRunSerializer(many=True)
    models = ImpactModelSerializer(many=True)


NOT_FOUND = OpenApiResponse(ProblemSerializer, description="Nothing you may read has this id.")
WALK = (
    "Through confirmed lineage edges downstream (a model trained on a dataset derived from it counts), as far as "
    "CATALOG_LINEAGE_MAX_DEPTH. Each run once, by its input nearest to the dataset, with the path to it; runs you "
    "may not read are not listed."
)


class DatasetImpactView(ProjectAPIView):
    queryset = Dataset.objects.none()  # for the schema
    serializer_class = ImpactSerializer
    lookup_value_converter = "uuid"

    @extend_schema(
        summary="The training runs and models that learned from a dataset",
        description=f"Runs that read any version of the dataset, or of a dataset derived from it. {WALK}",
        responses={200: ImpactSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: UUID) -> Response:
        dataset = get_object_or_404(datasets_visible_to(request.user).only("id", "namespace", "name"), pk=pk)
        return Response(ImpactSerializer(impact_read(dataset=dataset, reader=request.user).as_data()).data)


class VersionImpactView(ProjectAPIView):
    queryset = DatasetVersion.objects.none()  # for the schema
    serializer_class = ImpactSerializer
    lookup_value_converter = "uuid"

    @extend_schema(
        summary="The training runs and models that learned from a version",
        description="Runs that read this version, or a dataset derived from it: an edge out of the version's dataset "
        "counts when it records this version as read, when it records no version (it cannot be ruled out), or when "
        f"a run of its job reported reading this version; past the first edge, every confirmed edge counts. {WALK}",
        responses={200: ImpactSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: UUID) -> Response:
        version = get_object_or_404(versions_visible_to(request.user).select_related("dataset"), pk=pk)
        impact = impact_read(dataset=version.dataset, reader=request.user, version=version)
        return Response(ImpactSerializer(impact.as_data()).data)
