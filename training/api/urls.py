from django.urls import include, path
from rest_framework.routers import SimpleRouter

from training.api import views
from training.api.spdx import RunSpdxView

router = SimpleRouter(use_regex_path=False)
router.register("models", views.ModelViewSet, basename="model")
router.register("training-runs", views.TrainingRunViewSet, basename="training-run")

urlpatterns = [
    path("models/<uuid:model_id>/owners/", views.ModelOwnersView.as_view(), name="model-owners"),
    path("models/<uuid:model_id>/owners/<uuid:pk>/", views.ModelOwnerView.as_view(), name="model-owner"),
    # A run's recipe and check, and the impact of a dataset or version: before the router's routes.
    path("", include("training.api.evidence_urls")),
    path("training-runs/<uuid:pk>/spdx", RunSpdxView.as_view(), name="training-run-spdx"),
    *router.urls,
]
