import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.backends.postgresql.psycopg_any import Jsonb
from django.db.models import Q

from lineage.choices import (
    EVENT_KIND_CHOICES,
    AliasKind,
    Direction,
    EdgeOrigin,
    EdgeStatus,
    ProjectionState,
    RunState,
)


class DocumentField(models.JSONField):
    """A large JSON document that bulk inserts write as rows of VALUES, not as Django's UNNEST arrays.

    Django inserts many rows on PostgreSQL as one array parameter per column, and psycopg quotes each
    element of a text array in Python, one regular-expression replacement per quote character: about
    5 ms for a realistic 8 KB event, where libpq quotes the same document as a VALUES parameter in
    microseconds (a field with a placeholder of its own opts its rows out of UNNEST). Small documents
    stay plain JSONFields: for them UNNEST's few placeholders cost less than VALUES' one per value
    (measured on the projection's column lineage: 8.4 against 15.4 ms of CPU per event)."""

    def get_placeholder(self, value: object, compiler: object, connection: object) -> str:
        return "%s"

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if isinstance(value, SerializedDocument | DocumentText) and connection.vendor == "postgresql":
            text = value.text
            return Jsonb(value, dumps=lambda _: text)
        if isinstance(value, DocumentText):
            return value.text.decode()  # the JSON text, as the other databases keep it
        return super().get_db_prep_value(value, connection, prepared)


class SerializedDocument(dict):
    """A document whose JSON is written already (an event's canonical JSON, UTF-8, read for its digest):
    a DocumentField stores that text rather than serialising the document again. PostgreSQL's jsonb
    keeps no key order or spacing, so the text stored is the document's own."""

    def __init__(self, value: dict[str, Any], text: bytes) -> None:
        super().__init__(value)
        self.text = text


class DocumentText:
    """A document kept as its JSON text alone (UTF-8), for a row that is only written: the events of a
    batch, which are not all held as objects at once. A DocumentField stores the text as it is."""

    __slots__ = ("text",)

    def __init__(self, text: bytes) -> None:
        self.text = text


class Job(models.Model):
    """A process that reads and writes datasets: an Airflow task, a Spark application, a training script."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    namespace = models.CharField(max_length=255)
    name = models.CharField(max_length=512)
    description = models.TextField(blank=True)
    job_type = models.CharField(max_length=64, blank=True, help_text="The jobType facet's jobType (QUERY, DAG, ...).")
    integration = models.CharField(max_length=64, blank=True, help_text="The jobType facet's integration.")
    processing_type = models.CharField(max_length=16, blank=True, help_text="BATCH or STREAMING.")
    facets = models.JSONField(default=dict, blank=True, help_text="The latest value of each job facet.")
    facet_times = models.JSONField(default=dict, blank=True, help_text="Facet -> the event time its value is from.")
    latest_run = models.ForeignKey("Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who first reported the job; only they (and staff) change its facets and description.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["namespace", "name"]
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="job_unique_identity")]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class Run(models.Model):
    """One execution of a job; its id is the OpenLineage runId."""

    id = models.UUIDField(primary_key=True, editable=False)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="runs")
    state = models.CharField(max_length=16, choices=RunState.choices)
    state_event_time = models.DateTimeField(help_text="The event time of the event that set the state.")
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    nominal_start_time = models.DateTimeField(null=True, blank=True)
    nominal_end_time = models.DateTimeField(null=True, blank=True)
    parent_run_id = models.UUIDField(null=True, blank=True, help_text="The parent facet's run, when reported.")
    facets = models.JSONField(
        default=dict, blank=True, help_text="The latest value of each run facet: parameters, engine, errors."
    )
    facet_times = models.JSONField(default=dict, blank=True, help_text="Facet -> the event time its value is from.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who first reported the run; only they (and staff) change its state, times and facets.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-state_event_time", "id"]
        indexes = [models.Index(fields=["job", "-state_event_time"], name="run_job_time_idx")]

    def __str__(self) -> str:
        return f"{self.job} run {self.id}"


class LineageEvent(models.Model):
    """An OpenLineage event exactly as received, and where its projection into the graph stands.

    What was received is append-only: nothing changes or deletes it. The projector alone moves `state`
    from pending to projected or refused, once, with `projected_at` and `outcome` (the datasets the event
    landed on, or why it was refused)."""

    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=64, unique=True, help_text="sha256 of the event's canonical JSON.")
    kind = models.CharField(max_length=16, choices=EVENT_KIND_CHOICES)
    event_type = models.CharField(max_length=16, blank=True)
    event_time = models.DateTimeField()
    run_id = models.UUIDField(null=True, blank=True, db_index=True)
    job_namespace = models.CharField(max_length=255, blank=True)
    job_name = models.CharField(max_length=512, blank=True)
    producer = models.CharField(max_length=2048, blank=True)
    payload = DocumentField()
    received_at = models.DateTimeField(auto_now_add=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=16, choices=ProjectionState.choices, default=ProjectionState.PROJECTED)
    projected_at = models.DateTimeField(null=True, blank=True)
    outcome = DocumentField(
        null=True,
        blank=True,
        help_text=(
            "Once projected, {'datasets': [[namespace, name, dataset id, status], ...]}; once refused, {'error': why}."
        ),
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            # The projector's queue: the pending events, oldest first.
            models.Index(fields=["id"], condition=Q(state="pending"), name="lineage_event_pending")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_type} {self.event_time:%Y-%m-%dT%H:%M:%SZ}"


class DatasetAlias(models.Model):
    """Another OpenLineage identity of a catalog dataset; an event naming it lands on that dataset."""

    id = models.BigAutoField(primary_key=True)
    dataset = models.ForeignKey("catalog.Dataset", on_delete=models.CASCADE, related_name="lineage_aliases")
    namespace = models.CharField(max_length=255)
    name = models.CharField(max_length=512)
    kind = models.CharField(max_length=16, choices=AliasKind.choices)
    alias_type = models.CharField(max_length=64, blank=True, help_text="The symlinks facet's type (TABLE, ...).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["namespace", "name"]
        verbose_name_plural = "dataset aliases"
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="dataset_alias_unique_identity")]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name} -> {self.dataset_id}"


class ReportedDataset(models.Model):
    """What OpenLineage events said about a catalog dataset: its facets, schema, type and location."""

    dataset = models.OneToOneField(
        "catalog.Dataset", primary_key=True, on_delete=models.CASCADE, related_name="lineage_report"
    )
    facets = models.JSONField(default=dict, blank=True, help_text="The latest value of each dataset facet.")
    facet_times = models.JSONField(default=dict, blank=True, help_text="Facet -> the event time its value is from.")
    fields = models.JSONField(
        default=list, blank=True, help_text="The schema facet's fields: name, type, description, position."
    )
    dataset_type = models.CharField(max_length=64, blank=True)
    source_name = models.CharField(max_length=512, blank=True, help_text="The dataSource facet's name.")
    source_uri = models.CharField(max_length=2048, blank=True, help_text="The dataSource facet's uri.")
    storage_layer = models.CharField(max_length=64, blank=True)
    file_format = models.CharField(max_length=64, blank=True)
    reported_version = models.CharField(max_length=255, blank=True, help_text="The version facet's datasetVersion.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["dataset"]

    def __str__(self) -> str:
        return f"reported facets of {self.dataset_id}"


class RunDataset(models.Model):
    """A dataset a run read or wrote, with the exact catalog version when the event let us know it."""

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="datasets")
    # PROTECT: lineage that names a dataset keeps it from being purged.
    dataset = models.ForeignKey("catalog.Dataset", on_delete=models.PROTECT, related_name="lineage_runs")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    version = models.ForeignKey(
        "catalog.DatasetVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="lineage_runs"
    )
    reported_version = models.CharField(max_length=255, blank=True)
    facets = models.JSONField(default=dict, blank=True, help_text="The input or output facets of this run.")

    class Meta:
        ordering = ["run", "direction", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "dataset", "direction"], name="run_dataset_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} {self.direction} {self.dataset_id}"


class LineageEdge(models.Model):
    """Data flowed from one dataset into another, through a job (or as declared by a person)."""

    id = models.BigAutoField(primary_key=True)
    # Indexed by the two composite indexes below, which lead with each.
    # PROTECT: a dataset that lineage references cannot be purged.
    source = models.ForeignKey("catalog.Dataset", on_delete=models.PROTECT, related_name="lineage_out", db_index=False)
    target = models.ForeignKey("catalog.Dataset", on_delete=models.PROTECT, related_name="lineage_in", db_index=False)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.CASCADE, related_name="edges")
    origin = models.CharField(max_length=16, choices=EdgeOrigin.choices)
    # Unconfirmed edges are shown but not audited until the target's owners confirm them.
    status = models.CharField(max_length=16, choices=EdgeStatus.choices, default=EdgeStatus.CONFIRMED)
    # The most recent run that moved data along the edge, and the versions it read and wrote.
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    run_event_time = models.DateTimeField(null=True, blank=True)
    source_version = models.ForeignKey(
        "catalog.DatasetVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_version = models.ForeignKey(
        "catalog.DatasetVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "target", "job"], condition=Q(job__isnull=False), name="edge_unique_per_job"
            ),
            models.UniqueConstraint(
                fields=["source", "target"], condition=Q(job__isnull=True), name="edge_unique_declared"
            ),
            models.CheckConstraint(
                condition=Q(job__isnull=False, origin=EdgeOrigin.OPENLINEAGE)
                | Q(job__isnull=True, origin=EdgeOrigin.MANUAL),
                name="edge_origin_matches_job",
            ),
        ]
        # The graph walks follow edges both ways: one index per direction, covering the far end.
        indexes = [
            models.Index(fields=["target", "source"], name="edge_target_source_idx"),
            models.Index(fields=["source", "target"], name="edge_source_target_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} -> {self.target_id}"


class ColumnLineage(models.Model):
    """An output field derived from an input field, as a columnLineage facet reported it."""

    id = models.BigAutoField(primary_key=True)
    # Indexed by the unique constraint and the input index below, which lead with each.
    output_dataset = models.ForeignKey(
        "catalog.Dataset", on_delete=models.PROTECT, related_name="column_lineage_in", db_index=False
    )
    output_field = models.CharField(max_length=1024)
    input_dataset = models.ForeignKey(
        "catalog.Dataset", on_delete=models.PROTECT, related_name="column_lineage_out", db_index=False
    )
    input_field = models.CharField(max_length=1024)
    transformations = models.JSONField(
        default=list, blank=True, help_text="Each transformation: type (DIRECT, INDIRECT), subtype, description."
    )
    transformation_type = models.CharField(max_length=32, blank=True, help_text="The field's deprecated summary type.")
    transformation_description = models.TextField(blank=True)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    run = models.ForeignKey(Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event_time = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=EdgeStatus.choices, default=EdgeStatus.CONFIRMED)
    # Who first reported it: what an input dataset's owners did not report does not hold it back
    # from being purged.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "column lineage"
        constraints = [
            models.UniqueConstraint(
                fields=["output_dataset", "output_field", "input_dataset", "input_field"],
                name="column_lineage_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["input_dataset", "input_field"], name="column_lineage_input_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.input_dataset_id}.{self.input_field} -> {self.output_dataset_id}.{self.output_field}"


class RejectedEdge(models.Model):
    """An edge a sender reported and the target's owners rejected: the same sender reporting it again
    (through the same job) does not bring it back. A writer of the target still can."""

    id = models.BigAutoField(primary_key=True)
    source = models.ForeignKey("catalog.Dataset", on_delete=models.CASCADE, related_name="+", db_index=False)
    target = models.ForeignKey("catalog.Dataset", on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "job", "sender"], name="rejected_edge_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} -> {self.target_id} (rejected)"


class TrustedProducer(models.Model):
    """A group whose members' lineage events a dataset's owners accept as if they wrote it themselves:
    their edges into it count at once, and their facets describe it."""

    id = models.BigAutoField(primary_key=True)
    dataset = models.ForeignKey("catalog.Dataset", on_delete=models.CASCADE, related_name="trusted_producers")
    group = models.ForeignKey("auth.Group", on_delete=models.CASCADE, related_name="trusted_for")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "group__name"]
        constraints = [models.UniqueConstraint(fields=["dataset", "group"], name="trusted_producer_unique")]

    def __str__(self) -> str:
        return f"{self.group_id} produces {self.dataset_id}"
