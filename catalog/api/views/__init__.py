"""The catalog API's views, by resource; the routes (`catalog.api.urls`) take them from here."""

from catalog.api.views.cards import (
    DatasetCardCroissantView,
    DatasetCardImportView,
    DatasetCardMarkdownView,
    DatasetCardView,
)
from catalog.api.views.datasets import DatasetViewSet
from catalog.api.views.files import TokenAsBasicPassword, VersionFileView
from catalog.api.views.label_issues import VersionLabelCorrectionsView, VersionLabelIssuesView
from catalog.api.views.spdx import VersionSpdxView
from catalog.api.views.versions import DatasetVersionsView, VersionFeatureView, VersionViewSet

__all__ = [
    "DatasetCardCroissantView",
    "DatasetCardImportView",
    "DatasetCardMarkdownView",
    "DatasetCardView",
    "DatasetVersionsView",
    "DatasetViewSet",
    "TokenAsBasicPassword",
    "VersionFeatureView",
    "VersionFileView",
    "VersionLabelCorrectionsView",
    "VersionLabelIssuesView",
    "VersionSpdxView",
    "VersionViewSet",
]
