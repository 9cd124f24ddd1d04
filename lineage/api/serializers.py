from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from lineage.choices import EdgeStatus
from lineage.models import Job, LineageEdge, Run, RunDataset


class IdentitySerializer(serializers.Serializer):
    namespace = serializers.CharField()
    name = serializers.CharField()


class IngestDatasetSerializer(IdentitySerializer):
    id = serializers.UUIDField(help_text="The catalog dataset the identity landed on (found by alias or created).")
    status = serializers.ChoiceField(
        choices=EdgeStatus.choices,
        help_text="unconfirmed: you may not write this dataset, so what the event said of it waits for its owners.",
    )


class IngestResultSerializer(serializers.Serializer):
    event_id = serializers.IntegerField(help_text="The id of the stored raw event.")
    kind = serializers.CharField(help_text="RunEvent, DatasetEvent or JobEvent.")
    duplicate = serializers.BooleanField(help_text="True when this exact event had been received before.")
    datasets = IngestDatasetSerializer(many=True, help_text="Each dataset the event names, and where it landed.")


class GraphEdgeSerializer(serializers.Serializer):
    origin = serializers.CharField(help_text="The node id the edge leaves.")
    destination = serializers.CharField(help_text="The node id the edge enters.")


class GraphNodeSerializer(serializers.Serializer):
    id = serializers.CharField(
        help_text="`dataset:{namespace}:{name}`, `job:{namespace}:{name}` or `datasetField:...`."
    )
    type = serializers.ChoiceField(choices=["DATASET", "JOB", "DATASET_FIELD"])
    data = serializers.DictField(help_text="What the catalog knows of the node.")
    inEdges = GraphEdgeSerializer(many=True)
    outEdges = GraphEdgeSerializer(many=True)


class GraphSerializer(serializers.Serializer):
    graph = GraphNodeSerializer(many=True)


class JobRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = ["id", "namespace", "name"]


class RunSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Run
        fields = ["id", "state", "started_at", "ended_at"]


class JobSerializer(serializers.ModelSerializer):
    latest_run = RunSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "namespace",
            "name",
            "description",
            "job_type",
            "integration",
            "processing_type",
            "facets",
            "latest_run",
            "created_at",
            "updated_at",
        ]


class RunDatasetSerializer(serializers.ModelSerializer):
    namespace = serializers.CharField(source="dataset.namespace")
    name = serializers.CharField(source="dataset.name")
    version_number = serializers.IntegerField(source="version.number", allow_null=True, default=None)

    class Meta:
        model = RunDataset
        fields = ["dataset", "namespace", "name", "direction", "version", "version_number", "reported_version"]


class RunSerializer(serializers.ModelSerializer):
    job = JobRefSerializer(read_only=True)
    inputs = serializers.SerializerMethodField()
    outputs = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = [
            "id",
            "job",
            "state",
            "started_at",
            "ended_at",
            "nominal_start_time",
            "nominal_end_time",
            "parent_run_id",
            "facets",
            "inputs",
            "outputs",
            "created_at",
            "updated_at",
        ]

    def _datasets(self, run: Run, direction: str) -> list[dict]:
        rows = [row for row in run.datasets.all() if row.direction == direction]
        return RunDatasetSerializer(rows, many=True).data

    @extend_schema_field(RunDatasetSerializer(many=True))
    def get_inputs(self, run: Run) -> list[dict]:
        return self._datasets(run, "input")

    @extend_schema_field(RunDatasetSerializer(many=True))
    def get_outputs(self, run: Run) -> list[dict]:
        return self._datasets(run, "output")


class EdgeSerializer(serializers.ModelSerializer):
    source = serializers.UUIDField(source="source_id", help_text="The dataset data came from.")
    target = serializers.UUIDField(source="target_id", help_text="The dataset made from it.")
    job = JobRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = LineageEdge
        fields = [
            "id",
            "source",
            "target",
            "origin",
            "status",
            "job",
            "run",
            "source_version",
            "target_version",
            "description",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class EdgeDeclareSerializer(serializers.Serializer):
    source = serializers.UUIDField(help_text="The id of the dataset data came from.")
    target = serializers.UUIDField(help_text="The id of the dataset made from it; you must be able to change it.")
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)

    def validate(self, attrs: dict) -> dict:
        if attrs["source"] == attrs["target"]:
            raise serializers.ValidationError({"target": ["A dataset cannot be declared derived from itself."]})
        return attrs


class TrustedProducersSerializer(serializers.Serializer):
    groups = serializers.ListField(
        child=serializers.CharField(max_length=150),
        max_length=100,
        help_text="Names of the groups whose members' lineage events the dataset accepts as its writers' own.",
    )
