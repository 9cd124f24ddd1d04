from django.urls import path
from rest_framework.routers import SimpleRouter

from catalog.api import views

router = SimpleRouter(use_regex_path=False)
router.register("datasets", views.DatasetViewSet, basename="dataset")
router.register("versions", views.VersionViewSet, basename="version")

urlpatterns = [
    path("datasets/<uuid:dataset_id>/versions/", views.DatasetVersionsView.as_view(), name="dataset-versions"),
    path("datasets/<uuid:dataset_id>/card/", views.DatasetCardView.as_view(), name="dataset-card"),
    path(
        "datasets/<uuid:dataset_id>/card/markdown",
        views.DatasetCardMarkdownView.as_view(),
        name="dataset-card-markdown",
    ),
    path(
        "datasets/<uuid:dataset_id>/card/croissant",
        views.DatasetCardCroissantView.as_view(),
        name="dataset-card-croissant",
    ),
    path("datasets/<uuid:dataset_id>/card/import", views.DatasetCardImportView.as_view(), name="dataset-card-import"),
    path(
        "versions/<uuid:version_id>/features/<int:position>/",
        views.VersionFeatureView.as_view(),
        name="version-feature",
    ),
    path(
        "versions/<uuid:version_id>/label-issues/",
        views.VersionLabelIssuesView.as_view(),
        name="version-label-issues",
    ),
    path(
        "versions/<uuid:version_id>/label-issues/corrections.csv",
        views.VersionLabelCorrectionsView.as_view(),
        name="version-label-corrections",
    ),
    path("versions/<uuid:version_id>/spdx", views.VersionSpdxView.as_view(), name="version-spdx"),
    path("versions/<uuid:version_id>/files/<path:path>", views.VersionFileView.as_view(), name="version-file"),
    *router.urls,
]
