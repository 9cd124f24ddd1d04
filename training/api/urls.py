from django.urls import path
from rest_framework.routers import SimpleRouter

from training.api import views

router = SimpleRouter(use_regex_path=False)
router.register("models", views.ModelViewSet, basename="model")
router.register("training-runs", views.TrainingRunViewSet, basename="training-run")

urlpatterns = [
    path("models/<uuid:model_id>/owners/", views.ModelOwnersView.as_view(), name="model-owners"),
    path("models/<uuid:model_id>/owners/<uuid:pk>/", views.ModelOwnerView.as_view(), name="model-owner"),
    *router.urls,
]
