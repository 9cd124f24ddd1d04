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
]
