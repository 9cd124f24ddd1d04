from django.urls import path
from rest_framework.routers import SimpleRouter

from lineage.api import views

router = SimpleRouter(use_regex_path=False)
router.register("lineage/edges", views.LineageEdgeViewSet, basename="lineage-edge")
router.register("jobs", views.JobViewSet, basename="job")
router.register("runs", views.RunViewSet, basename="run")

urlpatterns = [
    path("lineage", views.LineageView.as_view(), name="lineage"),
    path("lineage/batch", views.LineageBatchView.as_view(), name="lineage-batch"),
    path("column-lineage", views.ColumnLineageView.as_view(), name="column-lineage"),
    path(
        "datasets/<uuid:dataset_id>/trusted-producers/",
        views.TrustedProducersView.as_view(),
        name="dataset-trusted-producers",
    ),
    *router.urls,
]
