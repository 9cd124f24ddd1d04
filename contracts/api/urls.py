from django.urls import path

from contracts.api import views

urlpatterns = [
    path("datasets/<uuid:dataset_id>/contract/", views.ContractView.as_view(), name="dataset-contract"),
    path(
        "datasets/<uuid:dataset_id>/contract/versions/",
        views.ContractVersionsView.as_view(),
        name="dataset-contract-versions",
    ),
    path("datasets/<uuid:dataset_id>/contract/infer", views.ContractInferView.as_view(), name="dataset-contract-infer"),
    path(
        "datasets/<uuid:dataset_id>/contract/validate",
        views.ContractValidateView.as_view(),
        name="dataset-contract-validate",
    ),
    path("datasets/<uuid:dataset_id>/contract/odcs", views.ContractOdcsView.as_view(), name="dataset-contract-odcs"),
    path("contract-checks/<uuid:check_id>/", views.ContractCheckView.as_view(), name="contract-check"),
]
