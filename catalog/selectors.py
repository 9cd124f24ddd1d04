"""Reads of the catalog that are more than a filter."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from uuid import UUID

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.postgres.aggregates import StringAgg
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Coalesce, Left

from catalog.choices import Lifecycle
from catalog.models import CARD_SECTIONS, URI_PREFIX_LENGTH, Dataset, DatasetVersion, Feature
from governance.choices import Sensitivity
from governance.permissions import may_read_restricted


def datasets_visible_to(user: User | AnonymousUser) -> QuerySet[Dataset]:
    """Every dataset the user may read, retired ones included (they stay resolvable by id).

    Restricted datasets are visible only to staff, to those who answer for them (owners, stewards,
    custodians) and to users and groups granted read.
    """
    datasets = Dataset.objects.all()
    if not user.is_authenticated:
        return datasets.none()
    if user.is_staff:
        return datasets
    return datasets.filter(~Q(sensitivity=Sensitivity.RESTRICTED) | may_read_restricted(user))


# What a dataset representation shows of its latest version; the rest (manifest, quality) can be large.
_DATASET_COLUMNS = (
    "id",
    "namespace",
    "name",
    "description",
    "license",
    "sensitivity",
    "origin",
    "origin_terms",
    "lifecycle",
    "latest_version",
    "created_by",
    "created_at",
    "updated_at",
    "retired_at",
    "deprecated_at",
    "deprecation_reason",
    "latest_version__id",
    "latest_version__number",
    "latest_version__status",
)


def with_latest_version(datasets: QuerySet[Dataset]) -> QuerySet[Dataset]:
    return datasets.select_related("latest_version").only(*_DATASET_COLUMNS)


def dataset_list(*, user: User | AnonymousUser) -> QuerySet[Dataset]:
    """The datasets a user may list: visible to them and not retired."""
    return with_latest_version(datasets_visible_to(user).exclude(lifecycle=Lifecycle.RETIRED))


def datasets_attach_relations(datasets: Sequence[Dataset]) -> Sequence[Dataset]:
    """Give each dataset of a page its `tag_names` and `owner_entries` in one query, whatever the
    page size. Plain values, not model instances: on a list page those cost more than the rows.

    Tags and owners are joined side by side, so a dataset's rows are its tags times its owners;
    both are a handful, and the duplicates are folded here.
    """
    tags: dict[UUID, set[str]] = defaultdict(set)
    owners: dict[UUID, dict[UUID, tuple]] = defaultdict(dict)
    rows = Dataset.objects.filter(pk__in=[dataset.pk for dataset in datasets]).values_list(
        "pk",
        "tags__name",
        "ownerships__id",
        "ownerships__role",
        "ownerships__created_at",
        "ownerships__user__username",
        "ownerships__group__name",
    )
    for dataset_id, tag, ownership_id, role, created_at, username, group_name in rows:
        if tag is not None:
            tags[dataset_id].add(tag)
        if ownership_id is not None:
            owners[dataset_id][ownership_id] = (role, created_at, str(ownership_id), username, group_name)
    for dataset in datasets:
        dataset.tag_names = sorted(tags[dataset.pk])  # type: ignore[attr-defined]
        dataset.owner_entries = [  # type: ignore[attr-defined]
            {"type": "user", "name": username, "role": role}
            if username is not None
            else {"type": "group", "name": group_name, "role": role}
            for role, _, _, username, group_name in sorted(owners[dataset.pk].values())
        ]
    return datasets


def dataset_search(datasets: QuerySet[Dataset], text: str) -> QuerySet[Dataset]:
    """Datasets matching `text` in their names, descriptions, data cards or the feature names of their
    latest version; on PostgreSQL ranked best first by full-text relevance."""
    if connection.vendor == "postgresql":
        feature_names = (
            Feature.objects.filter(version_id=OuterRef("latest_version_id"))
            # No default ordering: its joins would shadow the outer dataset table.
            .order_by()
            .values("version_id")
            .annotate(names=StringAgg("name", delimiter=" "))
            .values("names")
        )
        # Names are matched without stemming ("simple"), prose with English stemming.
        vector = (
            SearchVector("name", weight="A", config="simple")
            + SearchVector("namespace", weight="A", config="simple")
            + SearchVector("description", weight="B", config="english")
            + SearchVector(*(f"card__{section}" for section in CARD_SECTIONS), weight="B", config="english")
            + SearchVector(
                Coalesce(Subquery(feature_names), Value(""), output_field=TextField()), weight="C", config="simple"
            )
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
    features = Feature.objects.filter(version_id=OuterRef("latest_version_id"), name__icontains=text).order_by()
    in_card = Q()
    for section in CARD_SECTIONS:
        in_card |= Q(**{f"card__{section}__icontains": text})
    return datasets.filter(
        Q(name__icontains=text)
        | Q(namespace__icontains=text)
        | Q(description__icontains=text)
        | in_card
        | Exists(features)
    )


def versions_visible_to(user: User | AnonymousUser) -> QuerySet[DatasetVersion]:
    return DatasetVersion.objects.filter(dataset__in=datasets_visible_to(user))


def version_detail_queryset(user: User | AnonymousUser) -> QuerySet[DatasetVersion]:
    return (
        versions_visible_to(user)
        .select_related("dataset")
        .prefetch_related(
            Prefetch("features", queryset=Feature.objects.select_related("curated_by").order_by("position"))
        )
    )


def datasets_at_locations(uris: Iterable[str]) -> dict[str, Dataset]:
    """The dataset each source URI was registered as a version of (the newest registration wins)."""
    wanted = sorted(set(uris))
    if not wanted:
        return {}
    prefixes = sorted({uri[:URI_PREFIX_LENGTH] for uri in wanted})
    versions = (
        DatasetVersion.objects.annotate(uri_prefix=Left("uri", URI_PREFIX_LENGTH))
        .filter(uri_prefix__in=prefixes, uri__in=wanted)
        .select_related("dataset")
        .order_by("created_at")
    )
    return {version.uri: version.dataset for version in versions}
