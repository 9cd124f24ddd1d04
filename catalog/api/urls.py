from django.urls import path
from rest_framework.routers import SimpleRouter

from catalog.api import views

router = SimpleRouter(use_regex_path=False)
router.register("datasets", views.DatasetViewSet, basename="dataset")
router.register("versions", views.VersionViewSet, basename="version")

urlpatterns = [
    path("datasets/<uuid:dataset_id>/versions/", views.DatasetVersionsView.as_view(), name="dataset-versions"),
    path(
        "versions/<uuid:version_id>/features/<int:position>/",
        views.VersionFeatureView.as_view(),
        name="version-feature",
    ),
    *router.urls,
]
