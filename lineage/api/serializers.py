from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.api.references import DatasetReferenceField
from config.api.serializers import StrictSerializer, renamed_fields
from lineage.choices import EdgeStatus, ProjectionState
from lineage.models import Job, LineageEdge, LineageEvent, Run, RunDataset
from lineage.selectors import datasets_hidden_from, jobs_touching_hidden, runs_hidden_from


class IdentitySerializer(serializers.Serializer):
    namespace = serializers.CharField()
    name = serializers.CharField()


class IngestDatasetSerializer(IdentitySerializer):
    id = serializers.UUIDField(
        allow_null=True,
        help_text="The catalog dataset the identity landed on (found by alias or created); null when it is a "
        "restricted dataset you may not read.",
    )
    status = serializers.ChoiceField(
        choices=EdgeStatus.choices,
        help_text="unconfirmed: you may not write this dataset, so what the event said of it waits for its owners.",
    )


class IngestResultSerializer(serializers.Serializer):
    event_id = serializers.IntegerField(help_text="The id of the stored raw event.")
    kind = serializers.CharField(help_text="RunEvent, DatasetEvent or JobEvent.")
    duplicate = serializers.BooleanField(help_text="True when this exact event had been received before.")
    state = serializers.ChoiceField(
        choices=ProjectionState.choices,
        help_text="pending (recorded, not yet in the graph), projected, or refused (`error` says why).",
    )
    url = serializers.CharField(help_text="Where the event's projection can be followed.")
    datasets = IngestDatasetSerializer(
        many=True, help_text="Once projected, each dataset the event names and where it landed; empty until then."
    )
    error = serializers.CharField(required=False, help_text="Refused: why the projection refused the event.")


@renamed_fields(errors_field="errors")
class BatchItemSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="The event's position in the array, from 0.")
    status = serializers.ChoiceField(
        choices=["created", "duplicate", "invalid", "refused"],
        help_text="created (recorded, to be projected: follow it at /api/v1/lineage/events/{event_id}); duplicate "
        "(this exact event had been received before); invalid (the OpenLineage schema refused it: nothing is kept); "
        "refused (more lineage than one event may report, nothing kept; or, with tasks in-process, refused by the "
        "projection, such as a run id of another job: kept as refused, and taken again if sent again).",
    )
    event_id = serializers.IntegerField(required=False, help_text="The stored raw event (created or duplicate).")
    errors_field = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Invalid or refused: the messages by the path in the event they are about.",
    )


class BatchResultSerializer(serializers.Serializer):
    results = BatchItemSerializer(many=True, help_text="One per event, in the array's order.")


class GraphEdgeSerializer(serializers.Serializer):
    origin = serializers.CharField(help_text="The node id the edge leaves.")
    destination = serializers.CharField(help_text="The node id the edge enters.")


@renamed_fields(data_field="data")
class GraphNodeSerializer(serializers.Serializer):
    id = serializers.CharField(
        help_text="`dataset:{namespace}:{name}`, `job:{namespace}:{name}` or `datasetField:...`."
    )
    type = serializers.ChoiceField(choices=["DATASET", "JOB", "DATASET_FIELD"])
    data_field = serializers.DictField(help_text="What the catalog knows of the node.")
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
    """A job. The context's `withheld` holds the jobs that ran on a dataset the reader may not read
    (their facets and description are not shown) and `hidden_runs` the runs not listed to them."""

    latest_run = serializers.SerializerMethodField()
    facets_withheld = serializers.SerializerMethodField(
        help_text="True when the job ran on a restricted dataset you may not read: its facets and description, "
        "which may name it, are not shown."
    )

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
            "facets_withheld",
            "latest_run",
            "created_at",
            "updated_at",
        ]

    def _withheld(self, job: Job) -> bool:
        withheld = self.context.get("withheld")
        if withheld is None:
            request = self.context.get("request")
            return request is None or bool(jobs_touching_hidden(request.user, [job.pk]))
        return job.pk in withheld

    def to_representation(self, job: Job) -> dict[str, Any]:
        data = super().to_representation(job)
        if data["facets_withheld"]:
            data["facets"], data["description"] = {}, ""
        return data

    def get_facets_withheld(self, job: Job) -> bool:
        return self._withheld(job)

    @extend_schema_field(RunSummarySerializer(allow_null=True))
    def get_latest_run(self, job: Job) -> dict[str, Any] | None:
        run = job.latest_run
        hidden = self.context.get("hidden_runs")
        if run is None or (hidden is not None and run.pk in hidden):
            return None
        if hidden is None:
            request = self.context.get("request")
            if request is None or runs_hidden_from(request.user, [run.pk]):
                return None
        return RunSummarySerializer(run).data


class RunDatasetSerializer(serializers.ModelSerializer):
    dataset = serializers.UUIDField(source="dataset_id", allow_null=True, help_text="Null when you may not read it.")
    namespace = serializers.CharField(source="dataset.namespace", allow_null=True)
    name = serializers.CharField(source="dataset.name", allow_null=True)
    version = serializers.UUIDField(source="version_id", allow_null=True)
    version_number = serializers.IntegerField(source="version.number", allow_null=True, default=None)
    reported_version = serializers.CharField(allow_null=True)
    restricted = serializers.SerializerMethodField(
        help_text="True for a restricted dataset you may not read: the run read or wrote it, and nothing more is shown."
    )

    class Meta:
        model = RunDataset
        fields = [
            "dataset",
            "namespace",
            "name",
            "direction",
            "version",
            "version_number",
            "reported_version",
            "restricted",
        ]

    def get_restricted(self, row: RunDataset) -> bool:
        return False


def restricted_run_dataset(direction: str) -> dict[str, Any]:
    """What a run shows of a dataset it read or wrote that the reader may not read: that there was
    one, in which direction; not its id, name, namespace or version."""
    return {
        "dataset": None,
        "namespace": None,
        "name": None,
        "direction": direction,
        "version": None,
        "version_number": None,
        "reported_version": None,
        "restricted": True,
    }


class RunSerializer(serializers.ModelSerializer):
    """A run. The context's `hidden` holds the ids of the datasets the reader may not read (the view
    computes it once per page); without it, every dataset of the run is checked here."""

    job = JobRefSerializer(read_only=True)
    inputs = serializers.SerializerMethodField()
    outputs = serializers.SerializerMethodField()
    facets_withheld = serializers.SerializerMethodField(
        help_text="True when the run read or wrote a restricted dataset you may not read: its facets, which may "
        "name it, are not shown."
    )

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
            "facets_withheld",
            "inputs",
            "outputs",
            "created_at",
            "updated_at",
        ]

    def _hidden(self, run: Run) -> set[UUID]:
        hidden = self.context.get("hidden")
        if hidden is not None:
            return hidden
        request = self.context.get("request")
        ids = {row.dataset_id for row in run.datasets.all()}
        if request is None:
            return ids  # no reader known: show no dataset's identity
        return datasets_hidden_from(request.user, ids)

    def get_facets_withheld(self, run: Run) -> bool:
        hidden = self._hidden(run)
        return any(row.dataset_id in hidden for row in run.datasets.all())

    def to_representation(self, run: Run) -> dict[str, Any]:
        data = super().to_representation(run)
        if data["facets_withheld"]:
            data["facets"] = {}
        return data

    def _datasets(self, run: Run, direction: str) -> list[dict]:
        hidden = self._hidden(run)
        return [
            restricted_run_dataset(direction) if row.dataset_id in hidden else RunDatasetSerializer(row).data
            for row in run.datasets.all()
            if row.direction == direction
        ]

    @extend_schema_field(RunDatasetSerializer(many=True))
    def get_inputs(self, run: Run) -> list[dict]:
        return self._datasets(run, "input")

    @extend_schema_field(RunDatasetSerializer(many=True))
    def get_outputs(self, run: Run) -> list[dict]:
        return self._datasets(run, "output")


@renamed_fields(source_field="source")
class EdgeSerializer(serializers.ModelSerializer):
    source_field = serializers.UUIDField(source="source_id", help_text="The dataset data came from.")
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


@renamed_fields(source_field="source")
class EdgeDeclareSerializer(StrictSerializer):
    representation = EdgeSerializer

    source_field = DatasetReferenceField(help_text="The dataset data came from: its id or its namespace/name.")
    target = DatasetReferenceField(
        help_text="The dataset made from it (its id or its namespace/name); you must be able to change it."
    )
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=10000)


class TrustedProducersSerializer(StrictSerializer):
    groups = serializers.ListField(
        child=serializers.CharField(max_length=150),
        max_length=100,
        help_text="Names of the groups whose members' lineage events the dataset accepts as its writers' own.",
    )


def event_datasets(event: LineageEvent, hidden: set[UUID]) -> list[dict[str, Any]]:
    """The datasets a projected event landed on, as its answer shows them: a dataset the reader may not
    read without its id."""
    return [
        {"namespace": namespace, "name": name, "id": None if UUID(pk) in hidden else pk, "status": status}
        for namespace, name, pk, status in (event.outcome or {}).get("datasets", [])
    ]


def event_hidden(user: Any, events: list[LineageEvent]) -> set[UUID]:
    """Of the datasets these events landed on, those the reader may not read: one query."""
    ids = {UUID(item[2]) for event in events for item in (event.outcome or {}).get("datasets", [])}
    return datasets_hidden_from(user, ids) if ids else set()


class LineageEventSerializer(serializers.ModelSerializer):
    datasets = serializers.SerializerMethodField(
        help_text="Once projected, each dataset the event names and where it landed (no id where you may not read it)."
    )
    error = serializers.SerializerMethodField(help_text="Refused: why.")

    class Meta:
        model = LineageEvent
        fields = ["id", "kind", "event_type", "event_time", "run_id", "job_namespace", "job_name", "producer",
                  "received_at", "state", "projected_at", "datasets", "error"]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(IngestDatasetSerializer(many=True))
    def get_datasets(self, event: LineageEvent) -> list[dict[str, Any]]:
        return event_datasets(event, self.context.get("hidden", set()))

    def get_error(self, event: LineageEvent) -> str | None:
        return (event.outcome or {}).get("error")
