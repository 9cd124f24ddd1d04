"""The service's URLs plus the reference endpoints the benchmarks compare against."""

from django.urls import include, path
from rest_framework import generics, serializers

from catalog.models import Dataset


class BareDatasetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Dataset
        fields = [
            "id",
            "namespace",
            "name",
            "description",
            "license",
            "sensitivity",
            "lifecycle",
            "created_at",
            "updated_at",
        ]


class BareDatasetList(generics.ListAPIView):
    """A bare DRF list over the same rows: no relations, no filters, no visibility rules."""

    queryset = Dataset.objects.order_by("namespace", "name")
    serializer_class = BareDatasetSerializer


urlpatterns = [
    path("bench/bare-datasets/", BareDatasetList.as_view()),
    path("", include("config.urls")),
]
