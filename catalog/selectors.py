"""Reads of the catalog that are more than a filter."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet

from catalog.choices import Lifecycle
from catalog.models import Dataset, DatasetVersion, Feature
from governance.choices import Sensitivity
from governance.models import Ownership
from governance.permissions import answers_for_dataset


def datasets_visible_to(user: User | AnonymousUser) -> QuerySet[Dataset]:
    """Every dataset the user may read, retired ones included (they stay resolvable by id).

    Restricted datasets are visible only to staff and to those who answer for them.
    """
    datasets = Dataset.objects.all()
    if not user.is_authenticated:
        return datasets.none()
    if user.is_staff:
        return datasets
    return datasets.filter(~Q(sensitivity=Sensitivity.RESTRICTED) | answers_for_dataset(user))


def with_list_relations(datasets: QuerySet[Dataset]) -> QuerySet[Dataset]:
    """Everything a dataset representation shows, in a constant number of queries."""
    return datasets.select_related("latest_version").prefetch_related(
        "tags",
        Prefetch("ownerships", queryset=Ownership.objects.select_related("user", "group")),
    )


def dataset_list(*, user: User | AnonymousUser) -> QuerySet[Dataset]:
    """The datasets a user may list: visible to them and not retired."""
    return with_list_relations(datasets_visible_to(user).exclude(lifecycle=Lifecycle.RETIRED))


def dataset_search(datasets: QuerySet[Dataset], text: str) -> QuerySet[Dataset]:
    """Datasets matching `text`; on PostgreSQL ranked best first by full-text relevance."""
    if connection.vendor == "postgresql":
        # Names are matched without stemming ("simple"), prose with English stemming.
        vector = (
            SearchVector("name", weight="A", config="simple")
            + SearchVector("namespace", weight="A", config="simple")
            + SearchVector("description", weight="B", config="english")
        )
        query = SearchQuery(text, search_type="websearch", config="simple") | SearchQuery(
            text, search_type="websearch", config="english"
        )
        return (
            datasets.annotate(search_vector=vector, search_rank=SearchRank(vector, query))
            .filter(search_vector=query)
            .order_by("-search_rank", "namespace", "name")
        )
    # SQLite: no full-text engine configured; a plain case-insensitive contains-match.
    return datasets.filter(Q(name__icontains=text) | Q(namespace__icontains=text) | Q(description__icontains=text))


def versions_visible_to(user: User | AnonymousUser) -> QuerySet[DatasetVersion]:
    return DatasetVersion.objects.filter(dataset__in=datasets_visible_to(user))


def version_detail_queryset(user: User | AnonymousUser) -> QuerySet[DatasetVersion]:
    return (
        versions_visible_to(user)
        .select_related("dataset")
        .prefetch_related(Prefetch("features", queryset=Feature.objects.order_by("position")))
    )
