from django.urls import path
from rest_framework.routers import SimpleRouter

from lineage.api import marquez_views, views

router = SimpleRouter(use_regex_path=False)
router.register("lineage/edges", views.LineageEdgeViewSet, basename="lineage-edge")
router.register("lineage/events", views.LineageEventViewSet, basename="lineage-event")
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
    # Marquez's read API, for its web UI and clients (/api/v1/namespaces is the catalog's storage namespaces).
    path("marquez/lineage", marquez_views.MarquezLineageView.as_view(), name="marquez-lineage"),
    path("marquez/column-lineage", marquez_views.MarquezColumnLineageView.as_view(), name="marquez-column-lineage"),
    path("marquez/namespaces", marquez_views.MarquezNamespacesView.as_view(), name="marquez-namespaces"),
    path(
        "marquez/namespaces/<path:namespace>/datasets",
        marquez_views.MarquezDatasetsView.as_view(),
        name="marquez-namespace-datasets",
    ),
    path(
        "marquez/namespaces/<path:namespace>/jobs",
        marquez_views.MarquezJobsView.as_view(),
        name="marquez-namespace-jobs",
    ),
    # A dataset or job by namespace and name (either may hold `/`: the view reads every split).
    path(
        "marquez/namespaces/<path:namespace>/datasets/<path:dataset>",
        marquez_views.MarquezDatasetView.as_view(),
        name="marquez-namespace-dataset",
    ),
    path(
        "marquez/namespaces/<path:namespace>/jobs/<path:job>",
        marquez_views.MarquezJobView.as_view(),
        name="marquez-namespace-job",
    ),
    path("marquez/jobs", marquez_views.MarquezAllJobsView.as_view(), name="marquez-jobs"),
    *(
        path(f"marquez/stats/{kind}", marquez_views.MarquezStatsView.as_view(kind=kind), name=f"marquez-stats-{kind}")
        for kind in marquez_views.STAT_KINDS
    ),
    path("marquez/search", marquez_views.MarquezSearchView.as_view(), name="marquez-search"),
    path("marquez/events/lineage", marquez_views.MarquezEventsView.as_view(), name="marquez-events"),
    *router.urls,
]
