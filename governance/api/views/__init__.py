"""Governance's HTTP edge, one module per resource."""

from governance.api.views.changes import ChangeViewSet
from governance.api.views.groups import GroupViewSet
from governance.api.views.licenses import LicenseViewSet
from governance.api.views.owners import DatasetGrantsView, DatasetGrantView, DatasetOwnersView, DatasetOwnerView
from governance.api.views.storage import NamespaceViewSet, StorageLocationViewSet
from governance.api.views.tokens import TokenCreateView

__all__ = [
    "ChangeViewSet",
    "DatasetGrantView",
    "DatasetGrantsView",
    "DatasetOwnerView",
    "DatasetOwnersView",
    "GroupViewSet",
    "LicenseViewSet",
    "NamespaceViewSet",
    "StorageLocationViewSet",
    "TokenCreateView",
]
