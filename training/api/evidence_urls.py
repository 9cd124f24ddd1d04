"""Routes of a run's recipe and check, and of the impact of a dataset or version (included from training.api.urls)."""

from django.urls import path

from training.api.impact import DatasetImpactView, VersionImpactView
from training.api.reproduce import RunReproduceView, RunVerifyView

urlpatterns = [
    path("training-runs/<uuid:pk>/reproduce", RunReproduceView.as_view(), name="training-run-reproduce"),
    path("training-runs/<uuid:pk>/verify/", RunVerifyView.as_view(), name="training-run-verify"),
    path("datasets/<uuid:pk>/impact/", DatasetImpactView.as_view(), name="dataset-impact"),
    path("versions/<uuid:pk>/impact/", VersionImpactView.as_view(), name="version-impact"),
]
