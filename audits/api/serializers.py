from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audits.services import audit_compare
from catalog.api.references import DatasetReferenceField
from config.api.serializers import StrictSerializer
from governance.models import Audit


class AuditPurposeSerializer(StrictSerializer):
    commercial = serializers.BooleanField(default=False, help_text="The model will be used commercially.")
    distribute_model = serializers.BooleanField(default=False, help_text="The trained model will be distributed.")
    distribute_data = serializers.BooleanField(default=False, help_text="The data itself will be distributed.")


class PathStepSerializer(serializers.Serializer):
    dataset = serializers.UUIDField(allow_null=True, help_text="Null for a restricted dataset you may not read.")
    name = serializers.CharField(
        help_text="namespace/name, or 'a restricted upstream dataset you may not read' when you may not see it."
    )


class AuditFindingSerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=["blocker", "obligation", "warning"])
    code = serializers.CharField(
        help_text="`restricted_upstream` stands for the findings, of this severity, of a dataset you may not read."
    )
    dataset = serializers.UUIDField(allow_null=True, help_text="Null for a restricted dataset you may not read.")
    dataset_name = serializers.CharField()
    version = serializers.UUIDField(allow_null=True)
    path = PathStepSerializer(many=True, help_text="From the audited dataset to the one this is about.")
    message = serializers.CharField()
    license = serializers.CharField(required=False, help_text="The license a license finding is about.")
    features = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="The personal-data features a finding names."
    )


class AttributionSerializer(serializers.Serializer):
    dataset = serializers.UUIDField(allow_null=True, help_text="Null for a restricted dataset you may not read.")
    dataset_name = serializers.CharField()
    license = serializers.CharField(allow_null=True)
    credit = serializers.CharField(help_text="The credit line owed.")
    requirements = serializers.CharField(help_text="What the license says the credit must contain.")


class CheckedSerializer(serializers.Serializer):
    dataset = serializers.UUIDField(allow_null=True, help_text="Null for a restricted dataset you may not read.")
    name = serializers.CharField()
    role = serializers.ChoiceField(choices=["audited", "upstream"])
    depth = serializers.IntegerField()
    version = serializers.UUIDField(allow_null=True)
    version_number = serializers.IntegerField(allow_null=True)
    fingerprint = serializers.CharField()
    license = serializers.CharField(help_text="The SPDX expression at the time; empty when unknown.")
    licenses_applied = serializers.ListField(
        child=serializers.CharField(), help_text="The alternative of the expression the audit applied."
    )
    origin = serializers.CharField()
    sensitivity = serializers.CharField()
    owners = serializers.ListField(child=serializers.CharField())
    restricted = serializers.BooleanField(
        required=False, help_text="True for a restricted dataset you may not read: only that it was checked is shown."
    )


class AuditComparisonSerializer(serializers.Serializer):
    earlier = serializers.UUIDField()
    earlier_verdict = serializers.CharField()
    verdict = serializers.CharField()
    findings_added = serializers.ListField(child=serializers.DictField())
    findings_removed = serializers.ListField(child=serializers.DictField())


class AuditedRunSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The training run audited.")
    model = serializers.CharField(help_text="Its model's namespace/name when audited.")
    model_id = serializers.UUIDField()
    model_version = serializers.CharField(help_text="The model version the run trained; empty when unlabelled.")


class AuditSerializer(serializers.ModelSerializer):
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    purpose = AuditPurposeSerializer(read_only=True)
    requested = serializers.ListField(child=serializers.DictField(), read_only=True)
    findings = AuditFindingSerializer(many=True, read_only=True)
    attributions = AttributionSerializer(many=True, read_only=True)
    obligations = serializers.ListField(
        child=serializers.DictField(), read_only=True, help_text="Share-alike scopes and use restrictions owed."
    )
    checked = CheckedSerializer(many=True, read_only=True)
    counts = serializers.DictField(child=serializers.IntegerField(), read_only=True)
    training_runs = serializers.SerializerMethodField()
    comparison = serializers.SerializerMethodField()

    class Meta:
        model = Audit
        fields = [
            "id",
            "created_at",
            "created_by",
            "rerun_of",
            "purpose",
            "requested",
            "training_run",
            "training_runs",
            "verdict",
            "counts",
            "findings",
            "attributions",
            "obligations",
            "checked",
            "request_id",
            "comparison",
        ]
        read_only_fields = fields

    @extend_schema_field(AuditedRunSerializer(many=True))
    def get_training_runs(self, audit: Audit) -> list[dict]:
        """The training runs audited, with their models, as they were named when audited."""
        return [
            {
                "id": item["training_run"],
                "model": item["model"],
                "model_id": item["model_id"],
                "model_version": item["model_version"],
            }
            for item in audit.requested
            if "training_run" in item
        ]

    @extend_schema_field(AuditComparisonSerializer(allow_null=True))
    def get_comparison(self, audit: Audit) -> dict | None:
        """For a re-run: how its report differs from the earlier one."""
        if audit.rerun_of is None:
            return None
        return audit_compare(audit=audit, earlier=audit.rerun_of)


class AuditSummarySerializer(serializers.ModelSerializer):
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    purpose = AuditPurposeSerializer(read_only=True)
    counts = serializers.DictField(child=serializers.IntegerField(), read_only=True)

    class Meta:
        model = Audit
        fields = ["id", "created_at", "created_by", "rerun_of", "training_run", "purpose", "verdict", "counts"]
        read_only_fields = fields


class AuditCreateSerializer(StrictSerializer):
    representation = AuditSerializer

    datasets = serializers.ListField(
        child=DatasetReferenceField(),
        required=False,
        max_length=500,
        help_text="The datasets, or exact versions, the training run will read: a dataset by its id or its "
        "namespace/name, a version by its id.",
    )
    training_runs = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        max_length=100,
        help_text="Recorded training runs, by id: the exact versions each read are audited.",
    )
    models = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        max_length=100,
        help_text="Models, by id: each stands for its latest completed training run.",
    )
    purpose = AuditPurposeSerializer(help_text="All false is a research run.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not any(attrs.get(name) for name in ("datasets", "training_runs", "models")):
            raise serializers.ValidationError(
                {"datasets": ["Name at least one dataset or version, training run or model to audit."]}
            )
        return attrs
