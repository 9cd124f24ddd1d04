"""What the data card endpoints read and answer."""

from rest_framework import serializers

from catalog.models import tag_name_validator
from config.api.fields import StrictCharField
from config.api.serializers import StrictSerializer


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
