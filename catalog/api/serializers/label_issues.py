"""The review of a version's flagged rows: each row as a reader sees it, and the decisions its owners
and stewards send."""

from rest_framework import serializers

from catalog.choices import LabelIssueDecision
from catalog.services.label_review import MAX_NOTE_CHARS
from config.api.fields import StrictCharField
from config.api.serializers import StrictSerializer, renamed_fields


@renamed_fields(label_field="label")
class LabelIssueSerializer(serializers.Serializer):
    row_hash = serializers.CharField(help_text="sha256 of the row's values: how a decision names the row.")
    row = serializers.CharField(help_text="Where the row is: file:row, data rows counted from 1.")
    rank = serializers.IntegerField(help_text="0 for the row most likely mislabelled.")
    given = serializers.CharField(help_text="The label the row has.")
    suggested = serializers.CharField(help_text="The label the model finds most likely.")
    confidence = serializers.FloatField(help_text="The model's out-of-fold probability of the suggested label.")
    values = serializers.DictField(
        child=serializers.JSONField(),
        help_text="The row's values of the columns analysed; personal data masked as in the sample.",
    )
    decision = serializers.ChoiceField(choices=LabelIssueDecision.choices)
    label_field = serializers.CharField(help_text="The corrected label of a confirmed row; empty otherwise.")
    note = serializers.CharField()
    decided_by = serializers.CharField(allow_null=True, help_text="Who decided (the username then).")
    decided_at = serializers.DateTimeField(allow_null=True)
    carried_from = serializers.UUIDField(
        allow_null=True,
        help_text="The earlier version of the dataset whose review decided this row (of the same content), when "
        "the decision was carried from there.",
    )


@renamed_fields(label_field="label")
class LabelIssueDecisionSerializer(StrictSerializer):
    row_hash = StrictCharField(max_length=64, help_text="The flagged row's `row_hash`.")
    decision = serializers.ChoiceField(choices=[LabelIssueDecision.CONFIRMED, LabelIssueDecision.DISMISSED])
    label_field = StrictCharField(
        required=False, allow_blank=True, max_length=1024, help_text="The corrected label: needed to confirm."
    )
    note = StrictCharField(required=False, allow_blank=True, max_length=MAX_NOTE_CHARS)
