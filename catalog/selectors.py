"""Reads of the catalog that are more than a filter."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NotRequired, TypedDict, cast
from urllib.parse import quote
from uuid import UUID

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.postgres.aggregates import StringAgg
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Left

from catalog.choices import LabelIssueDecision, Lifecycle, VersionStatus
from catalog.models import (
    CARD_SECTIONS,
    DATASET_FIELDS,
    URI_PREFIX_LENGTH,
    Dataset,
    DatasetVersion,
    Feature,
    LabelIssue,
)
from catalog.objects import ObjectURLInvalid, is_object_url, object_path, object_stores, object_url_parse
from catalog.sources import local_path, pattern_reaches, storage_roots
from config.identities import identity_normalised
from governance.choices import Sensitivity
from governance.models import License, Ownership, StorageLocation
from governance.permissions import may_read_restricted, user_sees_personal_data
from profiler import drift
from profiler.files import glob_base, is_glob
from profiler.pii import aliased_paths, detected_kinds, label_aliases, masked_value
from profiler.result import Association, Correlations, Media, Quality, Sample, SplitSummary, StoredDistribution


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
    *DATASET_FIELDS,
    "latest_version",
    "created_by",
    "created_at",
    "updated_at",
    "retired_at",
    "deprecated_at",
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


def version_list_queryset(dataset: Dataset) -> QuerySet[DatasetVersion]:
    """A dataset's versions as their list shows them, the latest first: without their stored profile,
    quality, manifest and contract check, of which the list shows only the check's summary (the
    contract version, the status and the number of anomalies), computed by the database."""
    return (
        DatasetVersion.objects.filter(dataset=dataset)
        .order_by("-number")
        .defer("manifest", "quality", "profile", "contract_check")
        .annotate(
            contract_summary_version=Cast(KT("contract_check__version"), IntegerField()),
            contract_summary_status=KT("contract_check__status"),
            contract_summary_anomalies=Func(
                F("contract_check__anomalies"), function="jsonb_array_length", output_field=IntegerField()
            ),
        )
    )


def datasets_at_locations(uris: Iterable[str]) -> dict[str, Dataset]:
    """The dataset each source URI was registered as a version of.

    The first registration keeps the location's identity: registering the same bytes again (which
    only someone who may read the first dataset can) never moves the lineage reported for them.
    """
    wanted = sorted(set(uris))
    if not wanted:
        return {}
    prefixes = sorted({uri[:URI_PREFIX_LENGTH] for uri in wanted})
    versions = (
        DatasetVersion.objects.annotate(uri_prefix=Left("uri", URI_PREFIX_LENGTH))
        .filter(uri_prefix__in=prefixes, uri__in=wanted)
        .select_related("dataset")
        .order_by("created_at", "id")
    )
    located: dict[str, Dataset] = {}
    for version in versions:
        located.setdefault(version.uri, version.dataset)
    return located


# --- Who may register what -------------------------------------------------------------------------


def _covers(location: Path, path: Path) -> bool:
    # Whole path segments: /data/a covers /data/a/b, never /data/ab.
    return path == location or path.is_relative_to(location)


def storage_may_register(*, user: User | AnonymousUser, path: str) -> bool:
    """Whether the user may register the local path or glob pattern `path` (absolute, inside the roots),
    or the object URL `path` (read as the path `/scheme/bucket/key…`, so the same rules apply to it,
    each CATALOG_OBJECT_STORES prefix being a root).

    The most specific location covering the path (or the folder a pattern starts from) decides;
    each storage root is a location open to every authenticated user unless staff made one for it.
    A folder or pattern must also not take in a narrower location that does not grant the user.
    Staff may register anywhere inside the roots.
    """
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    granted = set(
        StorageLocation.objects.filter(Q(users=user) | Q(groups__user=user)).values_list("pk", flat=True).distinct()
    )
    grants: dict[Path, bool]
    if is_object_url(path):
        grants = {object_path(store): True for store in object_stores()}
        for pk, location in StorageLocation.objects.exclude(uri__startswith="file://").values_list("pk", "uri"):
            if is_object_url(location):
                grants[object_path(location)] = pk in granted
        path = str(object_path(path))
    else:
        grants = {root: True for root in storage_roots()}
        for pk, uri in StorageLocation.objects.filter(uri__startswith="file://").values_list("pk", "uri"):
            grants[Path(uri.removeprefix("file://"))] = pk in granted
    pattern = is_glob(path)
    anchor = glob_base(path) if pattern else Path(path)
    covering = [location for location in grants if _covers(location, anchor)]
    if not covering or not grants[max(covering, key=lambda location: len(location.parts))]:
        return False
    return not any(
        location != anchor
        and location.is_relative_to(anchor)
        and not allowed
        and (not pattern or pattern_reaches(path, location))
        for location, allowed in grants.items()
    )


def _sources_overlap(first: str, second: str) -> bool:
    """Whether two local sources (paths or glob patterns) may take in a file in common. A plain
    path stands for itself and everything below it; two patterns are compared by where they may
    reach (erring towards an overlap)."""
    first_glob, second_glob = is_glob(first), is_glob(second)
    if not first_glob and not second_glob:
        return _covers(Path(first), Path(second)) or _covers(Path(second), Path(first))
    if first_glob and second_glob:
        return pattern_reaches(first, glob_base(second)) and pattern_reaches(second, glob_base(first))
    pattern, plain = (first, second) if first_glob else (second, first)
    return glob_base(pattern).is_relative_to(Path(plain)) or pattern_reaches(pattern, Path(plain))


# How a registered glob pattern's wildcards look in a stored (percent-encoded) URI.
_QUOTED_WILDCARDS = ("%2A", "%3F", "%5B")


def datasets_sharing_source(uri: str, *, registered_before: datetime | None = None) -> QuerySet[Dataset]:
    """The datasets with a version registered on bytes a canonical local source URI takes in: the
    same path, a folder or pattern containing it, or a path or pattern inside it (with
    `registered_before`, only versions registered before then count)."""
    if is_object_url(uri):
        return _datasets_sharing_objects(uri, registered_before=registered_before)
    if uri[:7].lower() != "file://":
        return Dataset.objects.none()
    path = local_path(uri)
    anchor = glob_base(path) if is_glob(path) else Path(path)
    outermost = next((root for root in storage_roots() if _covers(root, anchor)), Path(anchor.anchor or "/"))
    containing = [f"file://{quote(str(folder))}" for folder in (anchor, *anchor.parents)]
    below = f"file://{quote(str(anchor)).rstrip('/')}/"
    patterns = Q()
    for wildcard in _QUOTED_WILDCARDS:
        patterns |= Q(uri__contains=wildcard)
    versions = DatasetVersion.objects.all()
    if registered_before is not None:
        versions = versions.filter(created_at__lt=registered_before)
    candidates = (
        versions.filter(
            Q(uri__in=containing)
            | Q(uri__startswith=below)
            | (Q(uri__startswith=f"file://{quote(str(outermost)).rstrip('/')}/") & patterns)
        )
        .order_by()
        .values_list("dataset_id", "uri")
        .distinct()
    )
    sharing = {dataset_id for dataset_id, other in candidates if _sources_overlap(path, local_path(other))}
    return Dataset.objects.filter(pk__in=sharing)


def _datasets_sharing_objects(uri: str, *, registered_before: datetime | None) -> QuerySet[Dataset]:
    """`datasets_sharing_source` for an object URL: the versions registered in the same bucket whose
    keys, prefixes or patterns may take in an object in common (compared as `/scheme/bucket/key` paths)."""
    try:
        path = str(object_path(uri))
        url = object_url_parse(uri)
    except ObjectURLInvalid:
        return Dataset.objects.none()
    versions = DatasetVersion.objects.filter(uri__startswith=f"{url.scheme}://{url.bucket}/")
    if registered_before is not None:
        versions = versions.filter(created_at__lt=registered_before)
    candidates = versions.order_by().values_list("dataset_id", "uri").distinct()
    sharing = set()
    for dataset_id, other in candidates:
        try:
            if _sources_overlap(path, str(object_path(other))):
                sharing.add(dataset_id)
        except ObjectURLInvalid:
            continue
    return Dataset.objects.filter(pk__in=sharing)


def personal_data_visible_to(*, user: User | AnonymousUser, dataset_id: UUID) -> bool:
    """Whether the user sees the values of a dataset's personal-data features: as one who answers
    for it, and for every other dataset that registered the bytes its versions take in before
    them. Registering another dataset's bytes again makes one its owner, never entitled to more
    than that dataset's masking allows; the first dataset's owners keep seeing their own data."""
    if not user_sees_personal_data(user, dataset_id):
        return False
    versions = DatasetVersion.objects.filter(dataset_id=dataset_id).filter(
        Q(uri__startswith="file://") | Q(uri__regex=r"^(s3|gs|az|abfs)://")
    )
    others: set[UUID] = set()
    for uri, created_at in versions.values_list("uri", "created_at"):
        earlier = datasets_sharing_source(uri, registered_before=created_at).exclude(pk=dataset_id)
        others.update(earlier.values_list("pk", flat=True))
    return all(user_sees_personal_data(user, other) for other in others)


# --- References to datasets -------------------------------------------------------------------------

# The longest `namespace/name`: the longest namespace and name, and the slash between them.
REFERENCE_MAX_LENGTH = 255 + 1 + 512


class ReferenceInvalid(ValueError):
    """Text that is neither an id nor `namespace/name`."""


class ReferencesUnknown(LookupError):
    """References that name nothing the caller may read: unknown, or hidden from them (the same)."""

    def __init__(self, references: Sequence[str], *, versions: bool = False) -> None:
        what = "dataset or version" if versions else "dataset"
        shown = ", ".join(repr(reference) for reference in references[:10])
        if len(references) > 10:
            shown += f" and {len(references) - 10} more"
        super().__init__(f"No {what} you can read is {shown}: give its id, or its namespace/name.")
        self.references = list(references)


class ReferenceAmbiguous(LookupError):
    """A `namespace/name` that reads as more than one dataset (both namespace and name may hold '/')."""

    def __init__(self, reference: str, datasets: Sequence[Dataset]) -> None:
        shown = " and ".join(f"{dataset.namespace!r} / {dataset.name!r} ({dataset.pk})" for dataset in datasets)
        super().__init__(f"{reference!r} names more than one dataset, {shown}: give the id of the one you mean.")
        self.reference = reference


def reference_parse(text: str) -> UUID | tuple[tuple[str, str], ...]:
    """A dataset (or version) id, or the (namespace, name) pairs `namespace/name` may mean: both may
    hold '/', so the text is cut at each of them. Raises ReferenceInvalid for anything else."""
    text = text.strip()
    try:
        return UUID(text)
    except ValueError:
        pass
    text = identity_normalised(text)
    pairs = tuple(
        (text[:index], text[index + 1 :])
        for index, char in enumerate(text)
        if char == "/" and 0 < index <= 255 and 0 < len(text) - index - 1 <= 512
    )
    if not pairs:
        raise ReferenceInvalid(f"{text[:100]!r} is neither an id nor namespace/name.")
    return pairs


def datasets_resolve(
    *, user: User | AnonymousUser, references: Sequence[str | UUID], versions: bool = False
) -> dict[str, Dataset | DatasetVersion]:
    """What each reference names among what the user may read: a dataset, by its id or its
    `namespace/name`; with `versions`, a version too, by its id (its dataset loaded with it). Keyed
    by the reference as given (as text).

    Three queries, however many references. A dataset the user may not read is not found, exactly as
    one that does not exist (ReferencesUnknown lists them all, in the order given); a name that reads
    as two datasets they may read is ReferenceAmbiguous."""
    parsed = {str(reference): reference_parse(str(reference)) for reference in references}
    visible = datasets_visible_to(user)
    ids = {value for value in parsed.values() if isinstance(value, UUID)}
    pairs = {pair for value in parsed.values() if not isinstance(value, UUID) for pair in value}
    found: dict[UUID, Dataset | DatasetVersion] = {}
    if ids:
        found.update((dataset.pk, dataset) for dataset in visible.filter(pk__in=ids))
        if versions and ids - found.keys():
            found.update(
                (version.pk, version)
                for version in DatasetVersion.objects.filter(pk__in=ids - found.keys(), dataset__in=visible)
                .select_related("dataset")
                .defer("manifest", "quality", "profile")
            )
    named: dict[tuple[str, str], Dataset] = {}
    if pairs:
        # A superset (every namespace cut with every name cut), narrowed to the exact pairs here.
        candidates = visible.filter(
            namespace__in={namespace for namespace, _ in pairs}, name__in={name for _, name in pairs}
        )
        named = {
            (dataset.namespace, dataset.name): dataset
            for dataset in candidates
            if (dataset.namespace, dataset.name) in pairs
        }
    resolved: dict[str, Dataset | DatasetVersion] = {}
    unknown = []
    for reference, value in parsed.items():
        if isinstance(value, UUID):
            match = found.get(value)
            if match is None:
                unknown.append(reference)
            else:
                resolved[reference] = match
            continue
        matches = [named[pair] for pair in value if pair in named]
        if len(matches) > 1:
            raise ReferenceAmbiguous(reference, matches)
        if not matches:
            unknown.append(reference)
        else:
            resolved[reference] = matches[0]
    if unknown:
        raise ReferencesUnknown(unknown, versions=versions)
    return resolved


def version_previous_profiled(version: DatasetVersion) -> DatasetVersion | None:
    """The latest earlier version of the same dataset that was profiled: what drift compares with by
    default, and where people's decisions on features are carried over from."""
    return (
        DatasetVersion.objects.filter(
            dataset_id=version.dataset_id, number__lt=version.number, status=VersionStatus.READY
        )
        .order_by("-number")
        .first()
    )


# --- A version's stored profile -------------------------------------------------------------------


class DriftSummary(TypedDict):
    """What the quality block says of drift against the version profiled before (the report itself is
    a DriftReport)."""

    against: str
    against_number: int
    drifted_features: list[str]
    label_drifted: bool
    schema_changed: bool


class StoredQuality(Quality):
    """A version's quality as stored: the engine's, with its drift and the findings of both."""

    drift: NotRequired[DriftSummary]


class StoredProfile(TypedDict, total=False):
    """What a version keeps of the engine's profile besides its features, quality and thumbnails
    (rows and columns of their own); while the parts of a chord run, only the dialect."""

    correlations: Correlations
    label_association: list[Association]
    sample: Sample
    column_count: int
    distributions: dict[str, StoredDistribution]
    splits: dict[str, SplitSummary]
    media: Media
    # How the first file of delimited text was read (`profiler.readers.read_layout`).
    dialect: dict[str, Any] | None


# The JSON columns hold what the pipeline stored: typed here, where the database gives them back, for
# every reader after. Both are empty before the version is profiled.


def version_quality(version: DatasetVersion) -> StoredQuality:
    """The version's stored quality block."""
    return cast(StoredQuality, version.quality or {})


def version_profile_stored(version: DatasetVersion) -> StoredProfile:
    """The version's stored profile."""
    return cast(StoredProfile, version.profile or {})


def drift_view(version: DatasetVersion, *, withheld: Collection[str] = ()) -> drift.ProfileView:
    """A stored version as drift reads it: its features' statistics and its stored distributions,
    without the features named in `withheld` (nor its label, if that is one of them)."""
    needed = {"row_count", "quality", "profile"}
    loaded = not (needed & version.get_deferred_fields())
    stored = version if loaded else DatasetVersion.objects.only(*needed).get(pk=version.pk)
    features = [
        {"name": name, "dtype": dtype, "logical_type": logical_type, "statistics": statistics}
        for name, dtype, logical_type, statistics in Feature.objects.filter(version_id=version.pk)
        .exclude(name__in=list(withheld))
        .values_list("name", "dtype", "logical_type", "statistics")
    ]
    quality = version_quality(stored)
    read: Mapping[str, Any] = quality
    if quality.get("label_column") in withheld:
        read = {key: value for key, value in quality.items() if key not in ("label_column", "class_counts")}
    return drift.profile_view(
        row_count=stored.row_count or 0,
        features=features,
        distributions=version_profile_stored(stored).get("distributions"),
        quality=read,
    )


# --- What a data card states ----------------------------------------------------------------------


def dataset_latest_version_with_features(dataset: Dataset) -> DatasetVersion | None:
    """The dataset's latest version with its features (in position order), or None before the first."""
    if not dataset.latest_version_id:
        return None
    return DatasetVersion.objects.filter(pk=dataset.latest_version_id).prefetch_related("features").first()


def licenses_by_id(ids: Iterable[str]) -> dict[str, License]:
    """The catalog's licenses among these SPDX ids, by id."""
    return {license.spdx_id: license for license in License.objects.filter(spdx_id__in=ids)}


def dataset_owners(dataset: Dataset) -> list[dict[str, str]]:
    """Who answers for a dataset: each user or group, by name, with its role."""
    return [
        {"type": ownership.principal_type, "name": ownership.principal_name, "role": ownership.role}
        for ownership in Ownership.objects.filter(dataset=dataset).select_related("user", "group")
    ]


# --- The review of flagged rows -------------------------------------------------------------------


def label_issues_shown(version: DatasetVersion, issues: Iterable[LabelIssue], *, shows_personal: bool) -> list[dict]:
    """Flagged rows as a reader of the version gets them: for one who may not see its personal data,
    the values of personal-data features masked as the sample masks them, and a personal-data label's
    classes under their aliases (in the given, suggested and corrected labels alike)."""
    pii: dict[str, list[str]] = {}
    aliases: dict[str, str] = {}
    if not shows_personal:
        pii = {
            feature.name: detected_kinds(feature.statistics)
            for feature in Feature.objects.filter(version=version, pii=True).only("name", "statistics")
        }
        aliases = label_aliases(version.quality, pii)
    label = (version.quality or {}).get("label_column") or version.label_column

    def named(value: str) -> str:
        return aliases.get(value, "class ?") if aliases and value else value

    shown = []
    for issue in issues:
        values = dict(issue.values or {})
        if pii:
            values = {
                name: (
                    named(str(value))
                    if name == label and aliases and value is not None
                    else masked_value(value, pii[name])
                    if name in pii
                    else value
                )
                for name, value in values.items()
            }
        shown.append(
            {
                "row_hash": issue.row_hash,
                "row": aliased_paths(issue.row, aliases) if aliases else issue.row,
                "rank": issue.rank,
                "given": named(issue.given),
                "suggested": named(issue.suggested),
                "confidence": issue.confidence,
                "values": values,
                "decision": issue.decision,
                "label": named(issue.label),
                "note": issue.note,
                "decided_by": issue.decided_by_name or None,
                "decided_at": issue.decided_at,
                "carried_from": issue.carried_from_id,
            }
        )
    return shown


def label_issues_reviewed_shares(version_ids: Collection[UUID]) -> dict[UUID, float]:
    """For each version with stored flagged rows, the share of them confirmed or dismissed."""
    counts = (
        LabelIssue.objects.filter(version_id__in=list(version_ids))
        .values("version_id")
        .annotate(total=Count("id"), reviewed=Count("id", filter=~Q(decision=LabelIssueDecision.UNREVIEWED)))
    )
    return {row["version_id"]: row["reviewed"] / row["total"] for row in counts if row["total"]}
