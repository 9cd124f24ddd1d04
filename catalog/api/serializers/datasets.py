"""What the dataset endpoints read and answer: a dataset, its registration with a source, its changes."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog import selectors
from catalog.choices import Lifecycle, SourceFormat, TaskType
from catalog.models import Dataset, DatasetVersion, tag_name_validator
from config.api.fields import StrictCharField
from config.api.serializers import StrictSerializer, renamed_fields
from config.identities import IdentityInvalid, identity_checked
from governance.choices import Origin, PrincipalType, Sensitivity
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
    group_features = serializers.ListField(
        child=StrictCharField(max_length=1024, validators=[_single_line]),
        required=False,
        max_length=20,
        help_text="Features whose groups (such as region, or a demographic column) label quality examines for "
        "representation and disparate label distributions; checked against the profiled columns.",
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
