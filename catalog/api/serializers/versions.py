"""What the version endpoints read and answer: a version with its features and quality, a new version, a
version's changes, its sample and thumbnails."""

import base64
from collections.abc import Mapping, MutableMapping
from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.api.serializers.datasets import ReadOptionsSerializer, SourceSerializer, SplitsField
from catalog.choices import FeatureRole, TaskType
from catalog.models import DatasetVersion, Feature
from catalog.selectors import version_profile_stored, version_quality
from config.api.fields import StrictCharField
from config.api.serializers import StrictSerializer, renamed_fields
from profiler.pii import (
    aliased_paths,
    class_aliases,
    label_aliases,
    masked_quality,
    masked_split_statistics,
    masked_statistics,
)


class TopValueSerializer(serializers.Serializer):
    value = serializers.JSONField()
    count = serializers.IntegerField()


_COARSENED = (
    "For personal data, unless you own or steward the dataset: rounded to a multiple of the largest power "
    "of ten not above a fifth of the spread between p5 and p95."
)


class FeatureStatisticsSerializer(serializers.Serializer):
    """Documents the statistics object; which keys appear depends on the feature's kind.

    For a personal-data feature (`pii` true, by detection or a person's decision), readers other than
    the dataset's owners and stewards get masked text values and coarsened numbers: no min or max, no
    outlier fences, and quantiles, mean, std and histogram edges rounded to a multiple of the largest
    power of ten not above a fifth of the p5-p95 spread (ages spread over 20-85: tens)."""

    count = serializers.IntegerField(help_text="Values present (not null, not NaN).")
    null_count = serializers.IntegerField()
    null_fraction = serializers.FloatField()
    distinct_count = serializers.IntegerField()
    distinct_is_approximate = serializers.BooleanField(help_text="True above 10,000 distinct values (HyperLogLog).")
    distinct_relative_error = serializers.FloatField(help_text="Standard error of an approximate distinct count.")
    min = serializers.JSONField(
        allow_null=True,
        help_text="Dates and times as ISO 8601 text; false for a boolean feature holding any false value. "
        "Masked or null for personal data, unless you own or steward the dataset.",
    )
    max = serializers.JSONField(
        allow_null=True, help_text="Masked or null for personal data, unless you own or steward the dataset."
    )
    mean = serializers.FloatField(allow_null=True, help_text=_COARSENED)
    std = serializers.FloatField(allow_null=True, help_text=f"Sample standard deviation (n - 1). {_COARSENED}")
    quantiles = serializers.DictField(
        child=serializers.JSONField(),
        allow_null=True,
        help_text="p1, p5, p25, p50, p75, p95, p99. Exact ones (quantiles_are_approximate false) use linear "
        "interpolation between the two nearest values, as pandas' default Series.quantile(); approximate ones come "
        "from a KLL sketch. Dates and times: ISO 8601 text, cut to a whole tick of the column's unit. "
        f"{_COARSENED}",
    )
    quantiles_are_approximate = serializers.BooleanField(required=False)
    quantile_rank_error = serializers.FloatField(required=False)
    histogram = serializers.JSONField(
        allow_null=True,
        help_text='Numeric and dates: {"kind": "equal_width", "edges", "counts", "approximate"}: 20 bins over the '
        "finite values, len(counts) == len(edges) - 1, sum(counts) == count minus infinities, each bin "
        "[edge, next edge) and the last closed (numpy.histogram); dates' edges are ISO 8601 text. "
        'Categorical: {"kind": "categorical", "values", "other_count"}.',
    )
    top_values = TopValueSerializer(many=True)
    top_values_are_approximate = serializers.BooleanField(
        help_text="True above 10,000 distinct values: top values (text or numbers) from a frequent-items sketch."
    )
    zeros = serializers.IntegerField(required=False)
    negatives = serializers.IntegerField(required=False)
    empty_strings = serializers.IntegerField(required=False)
    string_length = serializers.DictField(child=serializers.FloatField(allow_null=True), required=False)
    outliers = serializers.DictField(child=serializers.JSONField(), required=False, help_text="Beyond 1.5 IQR.")
    true_count = serializers.IntegerField(required=False)
    pii_shares = serializers.DictField(child=serializers.FloatField(), required=False)
    pii_kinds = serializers.ListField(child=serializers.CharField(), required=False)
    languages = serializers.JSONField(
        required=False,
        help_text='Text columns of tables: {"examined", "counts": {ISO 639-1 code: values}, "too_short", '
        '"undetermined"}, identified (py3langid, as documents are) in the values of at most 1,000 rows, those '
        "with the smallest hashes of their row ids, so `examined` below `count` means a sample.",
    )


def reader_label_aliases(context: Mapping[str, Any], version: DatasetVersion) -> dict[str, str]:
    """The aliases of a personal-data label's classes for a reader who may not see them (none for one
    who may, or when the label is not personal data); worked out once per version and response."""
    if context.get("show_pii", False):
        return {}
    # Kept in the context, the one dict a serializer shares with those nested in it for a response.
    cache: dict[Any, dict[str, str]] = context.get("label_aliases", {})
    if isinstance(context, MutableMapping):
        context.setdefault("label_aliases", cache)
    if version.pk not in cache:
        cache[version.pk] = label_aliases(
            version.quality, {feature.name for feature in version.features.all() if feature.pii}
        )
    return cache[version.pk]


class FeatureSerializer(serializers.ModelSerializer):
    statistics = serializers.SerializerMethodField()
    curated_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    pii_status = serializers.SerializerMethodField(
        help_text="suggested (by profiling), confirmed or dismissed (by a person), or none."
    )

    class Meta:
        model = Feature
        fields = [
            "name",
            "position",
            "dtype",
            "logical_type",
            "role",
            "description",
            "pii",
            "pii_status",
            "curated",
            "curated_by",
            "curated_at",
            "statistics",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "curated": {"help_text": "The fields a person set; profiling keeps them, later versions inherit them."}
        }

    @extend_schema_field(serializers.ChoiceField(choices=["none", "suggested", "confirmed", "dismissed"]))
    def get_pii_status(self, feature: Feature) -> str:
        decided = "pii" in feature.curated
        if feature.pii:
            return "confirmed" if decided else "suggested"
        return "dismissed" if decided else "none"

    @extend_schema_field(FeatureStatisticsSerializer)
    def get_statistics(self, feature: Feature) -> dict:
        if self.context.get("show_pii", False):
            return feature.statistics
        statistics = masked_statistics(feature.statistics) if feature.pii else feature.statistics
        # A path (an image's, say) names its class folder: under its alias when the label is personal data.
        aliases = reader_label_aliases(self.context, feature.version)
        return aliased_paths(statistics, aliases) if aliases else statistics


class ManifestEntrySerializer(serializers.Serializer):
    path = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    etag = serializers.CharField(required=False, help_text="Objects of an object store only: the object's ETag.")
    version_id = serializers.CharField(
        required=False,
        help_text="Objects of a versioned bucket only: the exact object version read (an S3 version id, a GCS "
        "generation, an Azure version id).",
    )


class SplitStatisticsSerializer(serializers.Serializer):
    files = serializers.ListField(child=serializers.CharField())
    row_count = serializers.IntegerField()
    quality = serializers.DictField(help_text="duplicate_rows, class_counts, imbalance_ratio, label_conflicts.")
    features = serializers.ListField(
        child=serializers.DictField(), help_text="name, logical_type and the main statistics of each feature."
    )


class ContractAnomalySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="new_feature, missing_feature, type_changed, not_unique, out_of_range, ...")
    feature = serializers.CharField(allow_null=True)
    severity = serializers.ChoiceField(choices=["error", "warning"], help_text="Errors fail the contract.")
    message = serializers.CharField()
    expected = serializers.JSONField(allow_null=True)
    actual = serializers.JSONField(allow_null=True)


class ContractCheckSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False, help_text="The contract version checked against.")
    status = serializers.ChoiceField(choices=["passed", "failed", "none"])
    enforcement = serializers.ChoiceField(choices=["warn", "block"], required=False)
    reference_version = serializers.IntegerField(required=False, allow_null=True)
    checked_at = serializers.DateTimeField(required=False)
    anomalies = ContractAnomalySerializer(many=True, required=False)


class ContractSummarySerializer(serializers.Serializer):
    version = serializers.IntegerField(allow_null=True, help_text="The contract version checked against.")
    status = serializers.ChoiceField(choices=["passed", "failed", "none"])
    anomaly_count = serializers.IntegerField(help_text="Errors and warnings; the version itself lists them.")


class VersionSummarySerializer(serializers.ModelSerializer):
    dataset = serializers.UUIDField(source="dataset_id", read_only=True)
    unchanged_from = serializers.UUIDField(
        source="unchanged_from_id",
        read_only=True,
        allow_null=True,
        help_text="The earlier version with the same fingerprint: this one holds the same bytes.",
    )
    task_type = serializers.ChoiceField(
        choices=TaskType.choices,
        read_only=True,
        allow_blank=True,
        help_text="What the registration said the label is; empty when it said nothing (see quality.task_type).",
    )
    deprecated = serializers.SerializerMethodField()
    source_changed = serializers.SerializerMethodField()
    contract = serializers.SerializerMethodField(
        help_text="The last check against the dataset's contract, in brief (status none: never checked)."
    )

    class Meta:
        model = DatasetVersion
        fields = [
            "id",
            "dataset",
            "number",
            "uri",
            "format",
            "label_column",
            "splits",
            "read_options",
            "task_type",
            "group_features",
            "status",
            "error",
            "label_quality_status",
            "label_quality_error",
            "fingerprint",
            "unchanged_from",
            "size_bytes",
            "file_count",
            "row_count",
            "notes",
            "deprecated",
            "deprecated_at",
            "deprecation_reason",
            "source_changed",
            "source_changed_at",
            "verified_at",
            "created_at",
            "updated_at",
            "profiled_at",
            "contract",
        ]
        read_only_fields = fields

    @extend_schema_field(ContractSummarySerializer)
    def get_contract(self, version: DatasetVersion) -> dict:
        if hasattr(version, "contract_summary_status"):  # annotated by the list (selectors.version_list_queryset)
            return {
                "version": getattr(version, "contract_summary_version", None),
                "status": version.contract_summary_status or "none",
                "anomaly_count": getattr(version, "contract_summary_anomalies", None) or 0,
            }
        check = version.contract_check or {}
        return {
            "version": check.get("version"),
            "status": check.get("status") or "none",
            "anomaly_count": len(check.get("anomalies") or []),
        }

    def get_deprecated(self, version: DatasetVersion) -> bool:
        return version.deprecated_at is not None

    def get_source_changed(self, version: DatasetVersion) -> bool:
        return version.source_changed_at is not None


class VersionSerializer(VersionSummarySerializer):
    features = FeatureSerializer(many=True, read_only=True)
    manifest = serializers.SerializerMethodField()
    quality = serializers.SerializerMethodField()

    verification = serializers.DictField(
        read_only=True, help_text="The last re-hash of the source: status (unchanged, changed, unreadable), when, what."
    )

    split_statistics = serializers.SerializerMethodField()
    dialect = serializers.SerializerMethodField()
    contract = serializers.SerializerMethodField()

    class Meta(VersionSummarySerializer.Meta):
        fields = [
            *VersionSummarySerializer.Meta.fields,
            "dialect",
            "verification",
            "manifest",
            "features",
            "quality",
            "split_statistics",
        ]
        read_only_fields = fields

    def _personal_features(self, version: DatasetVersion) -> set[str]:
        """The personal-data features this reader may not see the values of (none for those who may)."""
        if self.context.get("show_pii", False):
            return set()
        return {feature.name for feature in version.features.all() if feature.pii}

    @extend_schema_field(
        serializers.DictField(
            help_text="duplicate_rows, label_column, class_counts, imbalance_ratio, label_conflicts, findings, drift; "
            "once label quality is ready (label_quality_status), label_issues, near_conflicts (with "
            "`not_applicable` and the reason for a text corpus) and groups. For an image folder with group_features "
            "only its groups are examined (by split and manifest columns): label_issues and near_conflicts carry "
            "`not_applicable` and the reason, with no count or share, and no group has a label_issue_share. "
            "When the label is personal data, readers other than the dataset's owners and stewards get its "
            "classes as `class 1`, `class 2`... (the most frequent first, counts kept), and neither the drift "
            "nor the drift findings of personal-data features."
        )
    )
    @extend_schema_field(ManifestEntrySerializer(many=True))
    def get_manifest(self, version: DatasetVersion) -> list:
        # The folders of a folder of images are its classes: under their aliases when the label is
        # personal data this reader may not see.
        aliases = reader_label_aliases(self.context, version)
        return aliased_paths(version.manifest or [], aliases) if aliases else (version.manifest or [])

    def get_quality(self, version: DatasetVersion) -> dict:
        pii = self._personal_features(version)
        return masked_quality(version.quality, pii) if pii else (version.quality or {})

    @extend_schema_field(ContractCheckSerializer)
    def get_contract(self, version: DatasetVersion) -> dict:
        check = dict(version.contract_check or {"status": "none"})
        pii = self._personal_features(version)
        if pii and check.get("anomalies"):
            # What an anomaly found in a personal-data feature (its values) stays with those who may see them.
            check["anomalies"] = [
                {**item, "actual": None, "message": f"{item['code']} in a personal-data feature."}
                if item.get("feature") in pii
                else item
                for item in check["anomalies"]
            ]
        return check

    @extend_schema_field(
        serializers.DictField(
            allow_null=True,
            help_text="How a CSV or TSV source was read (its first file): delimiter (a character, or whitespace), "
            "quote, escape, header, encoding, skip_rows, null_values. Null for other formats or before profiling.",
        )
    )
    def get_dialect(self, version: DatasetVersion) -> dict | None:
        return version_profile_stored(version).get("dialect")

    @extend_schema_field(serializers.DictField(child=SplitStatisticsSerializer()))
    def get_split_statistics(self, version: DatasetVersion) -> dict:
        splits = version_profile_stored(version).get("splits") or {}
        pii = self._personal_features(version)
        if not pii:
            return splits
        quality = version_quality(version)
        label = quality.get("label_column")
        aliases = class_aliases(quality.get("class_counts") or {}) if label in pii else {}
        return masked_split_statistics(splits, pii, label, aliases)


# What a version's registration fixed for good; PATCH refuses them with this advice.
_IMMUTABLE_VERSION_FIELDS = {
    "uri": "its source",
    "source": "its source",
    "format": "its format",
    "label_column": "its label column",
    "read_options": "how its source is read",
    "task_type": "its task type",
    "fingerprint": "its fingerprint",
    "manifest": "its manifest",
    "number": "its number",
    "dataset": "its dataset",
}


class VersionUpdateSerializer(StrictSerializer):
    notes = StrictCharField(required=False, allow_blank=True, max_length=100_000)
    deprecated = serializers.BooleanField(required=False, help_text="Deprecate (with a reason), or undo it.")
    deprecation_reason = StrictCharField(required=False, allow_blank=True, max_length=10_000)

    representation = VersionSerializer

    def refusal(self, key: str) -> str | None:
        what = _IMMUTABLE_VERSION_FIELDS.get(key)
        if what is None:
            return None
        return (
            f"A version's {key} cannot change: {what} is what it was registered with. "
            "Register a new version (POST /api/v1/datasets/{id}/versions/) instead."
        )


class FeatureUpdateSerializer(StrictSerializer):
    description = StrictCharField(required=False, allow_blank=True, max_length=100_000)
    role = serializers.ChoiceField(choices=FeatureRole.choices, required=False)
    pii = serializers.BooleanField(required=False, help_text="A person's decision; profiling will not override it.")

    representation = FeatureSerializer


_INHERITED = " Left out, it is the version before's{when}; null removes it."


class VersionCreateSerializer(SourceSerializer):
    """A new version: what it leaves out of label_column, splits, read_options and task_type is
    taken from the version before (services.version_create); null says it has none."""

    label_column = StrictCharField(
        max_length=1024,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="The label column." + _INHERITED.format(when=""),
    )
    splits = SplitsField(
        required=False,
        allow_null=True,
        help_text='Name the splits, e.g. {"train": "train/", "test": "test-*.csv"}: a path, a glob or a folder/ '
        "relative to the source." + _INHERITED.format(when=""),
    )
    read_options = ReadOptionsSerializer(
        required=False,
        allow_null=True,
        help_text="How a CSV or TSV source is read." + _INHERITED.format(when=" when the source has the same format"),
    )
    task_type = serializers.ChoiceField(
        choices=TaskType.choices,
        required=False,
        allow_null=True,
        help_text="What the label is; inferred from its values when not known."
        + _INHERITED.format(when=" when the label column is the same"),
    )
    group_features = serializers.ListField(
        child=StrictCharField(max_length=1024),
        required=False,
        allow_null=True,
        max_length=20,
        help_text="Features whose groups label quality examines." + _INHERITED.format(when=""),
    )

    representation = VersionSerializer


class SampleRowSerializer(serializers.Serializer):
    row = serializers.CharField(help_text="file:row (1-based, data rows) the values come from.")
    values = serializers.DictField(child=serializers.JSONField(allow_null=True))


class VersionSampleSerializer(serializers.Serializer):
    columns = serializers.ListField(child=serializers.CharField())
    rows = SampleRowSerializer(many=True)
    masked = serializers.BooleanField(help_text="Whether values of personal-data features are masked for you.")
    pii_columns = serializers.ListField(child=serializers.CharField())


@renamed_fields(label_field="label")
class ThumbnailSerializer(serializers.Serializer):
    label_field = serializers.CharField(help_text="The class it shows; empty for unlabelled images.")
    path = serializers.CharField(help_text="The image's path in the source.")
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    src = serializers.SerializerMethodField(help_text="The thumbnail as a data: URI (JPEG, at most 128 pixels a side).")

    def get_src(self, thumbnail) -> str:
        return "data:image/jpeg;base64," + base64.b64encode(bytes(thumbnail.content)).decode("ascii")
