from django.urls import include, path
from rest_framework.routers import SimpleRouter

from training.api import views
from training.api.content_summary import TrainingContentSummaryView
from training.api.spdx import RunSpdxView

router = SimpleRouter(use_regex_path=False)
router.register("models", views.ModelViewSet, basename="model")
router.register("training-runs", views.TrainingRunViewSet, basename="training-run")

urlpatterns = [
    path("models/<uuid:model_id>/owners/", views.ModelOwnersView.as_view(), name="model-owners"),
    path("models/<uuid:model_id>/owners/<uuid:pk>/", views.ModelOwnerView.as_view(), name="model-owner"),
    path(
        "models/<uuid:pk>/training-content-summary",
        TrainingContentSummaryView.as_view(),
        name="model-training-content-summary",
    ),
    # A run's recipe and check, and the impact of a dataset or version: before the router's routes.
    path("", include("training.api.evidence_urls")),
    path("training-runs/<uuid:pk>/spdx", RunSpdxView.as_view(), name="training-run-spdx"),
    *router.urls,
]
