"""The shape of a drift report between two versions."""

from rest_framework import serializers

from config.api.serializers import renamed_fields


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
