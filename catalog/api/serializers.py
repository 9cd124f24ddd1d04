import base64
from collections.abc import Mapping, MutableMapping
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog import selectors
from catalog.choices import FeatureRole, Lifecycle, SourceFormat, TaskType
from catalog.models import Dataset, DatasetVersion, Feature, tag_name_validator
from config.api.fields import StrictCharField
from config.api.serializers import StrictSerializer, renamed_fields
from config.identities import IdentityInvalid, identity_checked
from governance.choices import Origin, PrincipalType, Sensitivity
from profiler.pii import (
    aliased_paths,
    class_aliases,
    label_aliases,
    masked_quality,
    masked_split_statistics,
    masked_statistics,
)
from profiler.readers import read_options_parse

# Printable text on one line: identities end up in URLs, logs and OpenLineage events.
_single_line = RegexValidator(r"^[^\x00-\x1f\x7f]+$", "Control characters (such as newlines) are not allowed.")
# SPDX expressions: license ids, LicenseRef-/DocumentRef- ids, AND/OR/WITH, parentheses, "+".
_license_expression = RegexValidator(
    r"^[A-Za-z0-9.+:() -]*$",
    "A license is an SPDX expression such as 'CC-BY-4.0' or 'MIT OR Apache-2.0'.",
)


class OwnerSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=PrincipalType.choices, source="principal_type", read_only=True)
    name = serializers.CharField(source="principal_name", read_only=True)
    role = serializers.CharField(read_only=True)


class VersionRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = DatasetVersion
        fields = ["id", "number", "status"]


class DatasetSerializer(serializers.ModelSerializer):
    tags = serializers.SerializerMethodField()
    owners = serializers.SerializerMethodField()
    latest_version = VersionRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Dataset
        fields = [
            "id",
            "namespace",
            "name",
            "description",
            "license",
            "tags",
            "sensitivity",
            "origin",
            "origin_terms",
            "lifecycle",
            "deprecation_reason",
            "deprecated_at",
            "owners",
            "latest_version",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, dataset: Dataset) -> list[str]:
        if not hasattr(dataset, "tag_names"):
            selectors.datasets_attach_relations([dataset])
        return dataset.tag_names  # type: ignore[attr-defined]

    @extend_schema_field(OwnerSerializer(many=True))
    def get_owners(self, dataset: Dataset) -> list[dict[str, str]]:
        if not hasattr(dataset, "owner_entries"):
            selectors.datasets_attach_relations([dataset])
        return dataset.owner_entries  # type: ignore[attr-defined]


_split_name = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", "A split name is letters, digits and _ . - (such as train, validation, test)."
)


class SplitsField(serializers.DictField):
    """Split name -> the files of the source it holds."""

    def __init__(self, **kwargs):
        super().__init__(child=StrictCharField(max_length=1024, validators=[_single_line]), **kwargs)

    def to_internal_value(self, data):
        splits = super().to_internal_value(data)
        if len(splits) > 20:
            raise serializers.ValidationError("At most 20 splits.")
        errors = []
        for name, pattern in splits.items():
            try:
                _split_name(name)
            except DjangoValidationError as exc:
                errors.append(f"{name!r}: {exc.messages[0]}")
            cleaned = pattern.strip()
            if not cleaned or cleaned.startswith("/") or ".." in cleaned.split("/"):
                errors.append(
                    f"{name!r}: {pattern!r} must name files inside the source, relative to it (no leading / or ..)."
                )
        if errors:
            raise serializers.ValidationError(errors)
        return {name: pattern.strip() for name, pattern in splits.items()}


class ReadOptionsSerializer(StrictSerializer):
    """How a CSV or TSV source is read where the sniffer should not guess; every key optional, no other key."""

    delimiter = serializers.CharField(
        required=False,
        help_text='One character (such as ";" or "|"), "\\t" for tabs, or "whitespace" for runs of spaces.',
    )
    header = serializers.BooleanField(
        required=False, help_text="false: the first row is data, and the columns are named column_1, column_2, ..."
    )
    quote = serializers.CharField(
        required=False, allow_blank=True, help_text='The quote character; "" reads quotes as ordinary characters.'
    )
    encoding = serializers.CharField(
        required=False, help_text="A text encoding such as utf-8, cp1252, latin-1, utf-16."
    )
    null_values = serializers.ListField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text="Fields read as null, instead of the usual NA, N/A, null, NULL, NaN, nan, None (the empty field "
        "stays null).",
    )
    skip_rows = serializers.IntegerField(required=False, min_value=0, help_text="Lines to skip before the header.")

    def to_internal_value(self, data):
        if isinstance(data, dict) and (refused := self.refused_keys(data)):
            raise serializers.ValidationError(refused)
        try:
            options = read_options_parse(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return options.as_dict() if options is not None else {}

    def to_representation(self, instance):
        return instance


class SourceSerializer(StrictSerializer):
    uri = StrictCharField(
        max_length=2048,
        validators=[_single_line],
        help_text="A path under a storage root (relative, absolute or file://, a glob allowed) or an https:// URL.",
    )
    format = serializers.ChoiceField(
        choices=SourceFormat.choices, required=False, help_text="Detected from the file names when omitted."
    )
    label_column = StrictCharField(max_length=1024, required=False, allow_blank=True, default="")
    splits = SplitsField(
        required=False,
        help_text='Name the splits, e.g. {"train": "train/", "test": "test-*.csv"}: a path, a glob or a folder/ '
        "relative to the source. Each split gets its own statistics; rows found in two splits are a leakage finding.",
    )
    read_options = ReadOptionsSerializer(required=False)
    task_type = serializers.ChoiceField(
        choices=TaskType.choices,
        required=False,
        help_text="What the label is; inferred from its values when omitted.",
    )


class _DatasetFieldsSerializer(StrictSerializer):
    representation = DatasetSerializer

    description = StrictCharField(required=False, allow_blank=True, max_length=100_000)
    license = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=255,
        validators=[_license_expression],
        help_text="An SPDX license expression (`CC-BY-4.0`, `MIT OR Apache-2.0`, `LicenseRef-...`), normalised; "
        "empty or `unknown` when the license is not known, which audits never treat as permissive.",
    )
    tags = serializers.ListField(
        child=StrictCharField(max_length=64, validators=[tag_name_validator]),
        required=False,
        max_length=100,
        help_text="Lower-case tags; letters, digits and . _ : / + -.",
    )
    sensitivity = serializers.ChoiceField(choices=Sensitivity.choices, required=False)
    origin = serializers.ChoiceField(
        choices=Origin.choices, required=False, allow_blank=True, help_text="How the data was obtained."
    )
    origin_terms = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=100_000,
        help_text="The terms of service, contract or agreement the data came under (text or a link).",
    )

    def to_internal_value(self, data):
        # Tags are case-insensitive: normalise before the per-tag validator sees them.
        if isinstance(data, dict) and isinstance(data.get("tags"), list):
            data = {
                **data,
                "tags": [tag.strip().lower() if isinstance(tag, str) else tag for tag in data["tags"]],
            }
        return super().to_internal_value(data)


@renamed_fields(source_field="source")
class DatasetRegisterSerializer(_DatasetFieldsSerializer):
    namespace = StrictCharField(
        max_length=255, validators=[_single_line], help_text="e.g. `file`, `s3://bucket` or a team name."
    )
    name = StrictCharField(max_length=512, validators=[_single_line])
    source_field = SourceSerializer(required=False, help_text="Give a source to create version 1 at once.")

    # An identity has one spelling (NFC) and nothing that lets it pass for another (config.identities).
    def validate_namespace(self, value: str) -> str:
        return _identity(value)

    def validate_name(self, value: str) -> str:
        return _identity(value)


def _identity(value: str) -> str:
    try:
        return identity_checked(value)
    except IdentityInvalid as exc:
        raise serializers.ValidationError(f"This name {exc}.") from None


class DatasetUpdateSerializer(_DatasetFieldsSerializer):
    lifecycle = serializers.ChoiceField(
        choices=[(Lifecycle.ACTIVE, "Active"), (Lifecycle.DEPRECATED, "Deprecated")],
        required=False,
        help_text="Deprecate with a `deprecation_reason`; retire with DELETE.",
    )
    deprecation_reason = StrictCharField(
        required=False, allow_blank=True, max_length=10_000, help_text="Why, and what to use instead."
    )

    def validate(self, attrs: dict) -> dict:
        if attrs.get("lifecycle") == Lifecycle.DEPRECATED and not attrs.get("deprecation_reason", "").strip():
            raise serializers.ValidationError(
                {"deprecation_reason": ["Say why the dataset is deprecated (and what to use instead)."]}
            )
        return attrs


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


class SplitStatisticsSerializer(serializers.Serializer):
    files = serializers.ListField(child=serializers.CharField())
    row_count = serializers.IntegerField()
    quality = serializers.DictField(help_text="duplicate_rows, class_counts, imbalance_ratio, label_conflicts.")
    features = serializers.ListField(
        child=serializers.DictField(), help_text="name, logical_type and the main statistics of each feature."
    )


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
            "status",
            "error",
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
        ]
        read_only_fields = fields

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
            help_text="duplicate_rows, label_column, class_counts, imbalance_ratio, label_conflicts, findings, drift. "
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

    @extend_schema_field(
        serializers.DictField(
            allow_null=True,
            help_text="How a CSV or TSV source was read (its first file): delimiter (a character, or whitespace), "
            "quote, escape, header, encoding, skip_rows, null_values. Null for other formats or before profiling.",
        )
    )
    def get_dialect(self, version: DatasetVersion) -> dict | None:
        return (version.profile or {}).get("dialect")

    @extend_schema_field(serializers.DictField(child=SplitStatisticsSerializer()))
    def get_split_statistics(self, version: DatasetVersion) -> dict:
        splits = (version.profile or {}).get("splits") or {}
        pii = self._personal_features(version)
        if not pii:
            return splits
        quality = version.quality or {}
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

    def validate(self, attrs: dict) -> dict:
        if attrs.get("deprecated") and not attrs.get("deprecation_reason", "").strip():
            raise serializers.ValidationError(
                {"deprecation_reason": ["Say why the version is deprecated (and what to use instead)."]}
            )
        return attrs


class FeatureUpdateSerializer(StrictSerializer):
    description = StrictCharField(required=False, allow_blank=True, max_length=100_000)
    role = serializers.ChoiceField(choices=FeatureRole.choices, required=False)
    pii = serializers.BooleanField(required=False, help_text="A person's decision; profiling will not override it.")

    representation = FeatureSerializer


class SchemaFeatureSerializer(serializers.Serializer):
    name = serializers.CharField()
    dtype = serializers.CharField()
    logical_type = serializers.CharField()


class SchemaChangeSerializer(serializers.Serializer):
    name = serializers.CharField()
    before = SchemaFeatureSerializer()
    after = SchemaFeatureSerializer()


class RenameSerializer(serializers.Serializer):
    from_ = serializers.CharField()
    to = serializers.CharField()
    distance = serializers.FloatField(help_text="KS or L-infinity distance between the two (small: the same data).")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class SchemaDiffSerializer(serializers.Serializer):
    added = SchemaFeatureSerializer(many=True)
    removed = SchemaFeatureSerializer(many=True)
    changed = SchemaChangeSerializer(many=True, help_text="Same name, another dtype or logical type.")
    renamed = RenameSerializer(many=True)


class MetricSerializer(serializers.Serializer):
    value = serializers.FloatField()
    threshold = serializers.FloatField()
    drifted = serializers.BooleanField()


class FeatureDriftSerializer(serializers.Serializer):
    name = serializers.CharField()
    previous_name = serializers.CharField(required=False, help_text="When the feature was renamed.")
    kind = serializers.ChoiceField(choices=["numeric", "categorical", "other"])
    metrics = serializers.DictField(
        child=MetricSerializer(), help_text="psi, js, ks (numeric); linf, js (categorical); null_fraction (all)."
    )
    drifted = serializers.BooleanField()
    judged = serializers.BooleanField(help_text="False when either side has too few values to flag drift.")


class LabelDriftSerializer(serializers.Serializer):
    column = serializers.CharField(allow_null=True)
    against_column = serializers.CharField(allow_null=True)
    metrics = serializers.DictField(child=MetricSerializer())
    added_classes = serializers.ListField(child=serializers.CharField())
    removed_classes = serializers.ListField(child=serializers.CharField())
    shares = serializers.DictField(child=serializers.FloatField())
    against_shares = serializers.DictField(child=serializers.FloatField())
    drifted = serializers.BooleanField()


class RowCountChangeSerializer(serializers.Serializer):
    before = serializers.IntegerField()
    after = serializers.IntegerField()
    change = serializers.IntegerField()
    relative = serializers.FloatField(allow_null=True)


@renamed_fields(label_field="label")
class DriftSerializer(serializers.Serializer):
    version = serializers.UUIDField()
    against = serializers.UUIDField()
    schema = SchemaDiffSerializer()
    features = FeatureDriftSerializer(many=True)
    drifted_features = serializers.ListField(child=serializers.CharField())
    label_field = LabelDriftSerializer(allow_null=True)
    row_count_change = RowCountChangeSerializer()
    thresholds = serializers.DictField(child=serializers.FloatField())
    min_values = serializers.IntegerField(help_text="Fewer values than this on either side: measured, not flagged.")
    masked_features = serializers.ListField(
        child=serializers.CharField(),
        help_text="Personal-data features left out of the comparison (and of the schema diff), because you may "
        "not see their values in one of the two versions; a personal-data label is left out the same way.",
    )


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


class DataCardSerializer(serializers.Serializer):
    """A dataset's card: the sections people wrote, and the facts the catalog fills in."""

    dataset = serializers.UUIDField(read_only=True)
    summary = serializers.CharField(read_only=True)
    citation = serializers.CharField(read_only=True)
    people = serializers.CharField(read_only=True)
    motivation = serializers.CharField(read_only=True)
    intended_uses = serializers.CharField(read_only=True)
    out_of_scope_uses = serializers.CharField(read_only=True)
    composition = serializers.CharField(read_only=True)
    collection = serializers.CharField(read_only=True)
    preprocessing = serializers.CharField(read_only=True)
    labeling = serializers.CharField(read_only=True)
    personal_information = serializers.CharField(read_only=True)
    biases_and_limitations = serializers.CharField(read_only=True)
    distribution = serializers.CharField(read_only=True)
    maintenance = serializers.CharField(read_only=True)
    task_categories = serializers.ListField(child=serializers.CharField(), read_only=True)
    completeness = serializers.FloatField(read_only=True, help_text="The share of sections written, 0 to 1.")
    missing_sections = serializers.ListField(child=serializers.CharField(), read_only=True)
    facts = serializers.DictField(
        read_only=True,
        help_text="What the catalog knows, filled in at every read: the latest version (rows, features, class "
        "balance, splits, fingerprint), the license and its terms, the owners.",
    )
    updated_by = serializers.CharField(read_only=True, allow_null=True)
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)


def _section() -> StrictCharField:
    return StrictCharField(required=False, allow_blank=True, max_length=100_000)


class DataCardUpdateSerializer(StrictSerializer):
    summary = _section()
    citation = _section()
    people = _section()
    motivation = _section()
    intended_uses = _section()
    out_of_scope_uses = _section()
    composition = _section()
    collection = _section()
    preprocessing = _section()
    labeling = _section()
    personal_information = _section()
    biases_and_limitations = _section()
    distribution = _section()
    maintenance = _section()
    task_categories = serializers.ListField(
        child=StrictCharField(max_length=100, validators=[tag_name_validator]),
        required=False,
        max_length=50,
        help_text="Hugging Face task categories, e.g. text-classification.",
    )

    representation = DataCardSerializer


class DataCardImportSerializer(StrictSerializer):
    format = serializers.ChoiceField(choices=["huggingface", "croissant"])
    content = serializers.JSONField(
        help_text="A Hugging Face README.md as a string, or a Croissant JSON-LD document as an object."
    )
