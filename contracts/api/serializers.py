"""The shapes of contracts in the API. A contract's body is read by `contracts.rules.contract_parsed`
(strict: unknown keys, wrong types, bad bounds and patterns are 400s naming the field); these
serializers describe it for the schema and render it."""

from rest_framework import serializers

from catalog.api.serializers.datasets import SourceSerializer
from catalog.api.serializers.versions import ContractAnomalySerializer, ContractCheckSerializer
from config.api.serializers import StrictSerializer, renamed_fields
from contracts.rules import DRIFT_METRICS, ENFORCEMENTS, LOGICAL_TYPES

__all__ = ["ContractAnomalySerializer", "ContractCheckSerializer"]


@renamed_fields(required_field="required")
class ContractFeatureSerializer(StrictSerializer):
    name = serializers.CharField()
    logical_type = serializers.JSONField(
        required=False, allow_null=True, help_text=f"One of {', '.join(LOGICAL_TYPES)}, or a list of those allowed."
    )
    required_field = serializers.BooleanField(required=False, help_text="No value may be missing.")
    unique = serializers.BooleanField(required=False)
    min = serializers.JSONField(required=False, allow_null=True, help_text="A number, or an ISO 8601 string.")
    max = serializers.JSONField(required=False, allow_null=True)
    allowed_values = serializers.ListField(child=serializers.JSONField(), required=False, allow_null=True)
    max_outside_share = serializers.FloatField(
        required=False, allow_null=True, help_text="The share of values allowed outside allowed_values (0 to 1)."
    )
    max_null_fraction = serializers.FloatField(required=False, allow_null=True)
    min_length = serializers.IntegerField(required=False, allow_null=True)
    max_length = serializers.IntegerField(required=False, allow_null=True)
    pattern = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="A regular expression every value must match in full (checked on the row sample); at most 256 "
        "characters, no nested repeats, no alternatives inside a repeat, no back-references.",
    )
    max_drift = serializers.DictField(
        child=serializers.FloatField(),
        required=False,
        help_text=f"Limits of drift metrics ({', '.join(DRIFT_METRICS)}) against the reference version.",
    )


class ContractDatasetSerializer(StrictSerializer):
    min_rows = serializers.IntegerField(required=False, allow_null=True)
    max_rows = serializers.IntegerField(required=False, allow_null=True)
    max_duplicate_share = serializers.FloatField(required=False, allow_null=True)
    classes = serializers.ListField(child=serializers.JSONField(), required=False, allow_null=True)
    min_class_share = serializers.FloatField(required=False, allow_null=True)
    max_label_conflict_share = serializers.FloatField(required=False, allow_null=True)
    no_split_leakage = serializers.BooleanField(required=False)


class ContractWriteSerializer(StrictSerializer):
    enforcement = serializers.ChoiceField(choices=list(ENFORCEMENTS), required=False, help_text="warn by default.")
    reference_version = serializers.IntegerField(
        required=False, allow_null=True, help_text="The number of the version drift is measured against."
    )
    features = ContractFeatureSerializer(many=True, required=False)
    dataset = ContractDatasetSerializer(required=False)


class ContractSerializer(ContractWriteSerializer):
    version = serializers.IntegerField(help_text="Increments on every save.")
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class ContractInferSerializer(StrictSerializer):
    version = serializers.JSONField(
        required=False, allow_null=True, help_text="A version's id or number; the latest ready one by default."
    )


@renamed_fields(source_field="source")
class ContractValidateSerializer(StrictSerializer):
    source_field = SourceSerializer(help_text="Any source a version takes; `splits` are not read here.")


class ContractCheckAcceptedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()


class ContractSourceCheckSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    dataset = serializers.UUIDField()
    uri = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["pending", "running", "passed", "failed", "error"],
        help_text="running: a worker is profiling the source. error: the source could not be read, or workers "
        "took the check up too many times without finishing (see error).",
    )
    error = serializers.CharField(allow_blank=True)
    row_count = serializers.IntegerField(allow_null=True)
    version = serializers.IntegerField(help_text="The contract version checked against.")
    enforcement = serializers.CharField()
    reference_version = serializers.IntegerField(allow_null=True)
    anomalies = ContractAnomalySerializer(many=True)
    attempts = serializers.IntegerField(help_text="How many times a worker took the check up.")
    created_at = serializers.DateTimeField()
    checked_at = serializers.DateTimeField(allow_null=True)


class ContractOdcsSerializer(StrictSerializer):
    """What OPTIONS describes of a PUT of …/contract/odcs: no JSON fields, the body is ODCS YAML text."""
