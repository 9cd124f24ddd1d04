from django.urls import path
from rest_framework.routers import SimpleRouter

from governance.api import views

router = SimpleRouter(use_regex_path=False)
router.register("licenses", views.LicenseViewSet, basename="license")
router.register("changes", views.ChangeViewSet, basename="change")
router.register("storage-locations", views.StorageLocationViewSet, basename="storage-location")
router.register("namespaces", views.NamespaceViewSet, basename="namespace")
router.register("groups", views.GroupViewSet, basename="group")

urlpatterns = [
    path("auth/token/", views.TokenCreateView.as_view(), name="auth-token"),
    path("datasets/<uuid:dataset_id>/owners/", views.DatasetOwnersView.as_view(), name="dataset-owners"),
    path("datasets/<uuid:dataset_id>/owners/<uuid:pk>/", views.DatasetOwnerView.as_view(), name="dataset-owner"),
    path("datasets/<uuid:dataset_id>/grants/", views.DatasetGrantsView.as_view(), name="dataset-grants"),
    path("datasets/<uuid:dataset_id>/grants/<uuid:pk>/", views.DatasetGrantView.as_view(), name="dataset-grant"),
    *router.urls,
]
