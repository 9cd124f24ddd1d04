import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from training.choices import ImportStatus, InputRole, Reproducibility, RunSource, RunStatus


class Model(models.Model):
    """A machine-learning model, identified like a dataset by (namespace, name); its versions are the
    labels of its training runs."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    namespace = models.CharField(max_length=255)
    name = models.CharField(max_length=512)
    description = models.TextField(blank=True)
    tags = models.ManyToManyField("catalog.Tag", blank=True, related_name="models")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["namespace", "name"]
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="model_unique_identity")]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class TrainingRun(models.Model):
    """One training of a model: the exact dataset versions it read, its hyperparameters, code and
    environment, as they were. Inputs and hyperparameters never change once recorded; status, end
    time, metrics and artifacts do while the run goes on."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    model = models.ForeignKey(Model, on_delete=models.PROTECT, related_name="runs")
    model_version = models.CharField(max_length=255, blank=True, help_text="The model's version label, e.g. 1.3.0.")
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    code_repository = models.CharField(max_length=2048, blank=True)
    code_commit = models.CharField(max_length=255, blank=True)
    code_entrypoint = models.CharField(max_length=2048, blank=True)
    hyperparameters = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    environment = models.JSONField(default=dict, blank=True)
    purpose = models.JSONField(
        null=True, blank=True, help_text="commercial, distribute_model, distribute_data; null when not stated."
    )
    source = models.CharField(max_length=16, choices=RunSource.choices, default=RunSource.API)
    external_id = models.CharField(
        max_length=255, blank=True, help_text="The run's id where it came from: OpenLineage runId, MLflow run_id."
    )
    lineage_run = models.ForeignKey(
        "lineage.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="training_runs"
    )
    unmatched_inputs = models.JSONField(
        default=list, blank=True, help_text="Inputs reported that match no catalog version, as reported."
    )
    verification = models.JSONField(
        default=dict, blank=True, help_text="The outcome of the last re-hash of its inputs."
    )
    verification_status = models.CharField(max_length=16, choices=Reproducibility.choices, blank=True)
    confirmed = models.BooleanField(
        default=True,
        help_text="False for a run reported (OpenLineage, MLflow) by someone who may not write the model, until "
        "one of its owners confirms it: until then it is not the model's latest run.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], condition=~Q(external_id=""), name="training_run_unique_external_id"
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True)
                | Q(started_at__isnull=True)
                | Q(ended_at__gte=models.F("started_at")),
                name="training_run_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["model", "-created_at"], name="training_run_model_idx")]

    def __str__(self) -> str:
        label = f" {self.model_version}" if self.model_version else ""
        return f"{self.model}{label} run {self.id}"


class TrainingInput(models.Model):
    """A dataset version a run read, with what it was used for and the fingerprint it had then.

    The version and dataset are kept by reference while they exist; purging a dataset empties them,
    and the run keeps what it read by name, number, URI and fingerprint."""

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="inputs")
    position = models.PositiveIntegerField()
    dataset = models.ForeignKey(
        "catalog.Dataset", null=True, blank=True, on_delete=models.SET_NULL, related_name="training_inputs"
    )
    version = models.ForeignKey(
        "catalog.DatasetVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="training_inputs"
    )
    role = models.CharField(max_length=16, choices=InputRole.choices, default=InputRole.TRAIN)
    pinned = models.BooleanField(
        default=True,
        help_text="The sender named this exact version; false when it was resolved to the latest ready one.",
    )
    dataset_label = models.CharField(max_length=768, help_text="namespace/name when recorded.")
    version_number = models.PositiveIntegerField()
    uri = models.CharField(max_length=2048)
    fingerprint = models.CharField(max_length=71)
    license = models.CharField(
        max_length=255,
        blank=True,
        help_text="The dataset's license expression when the run was recorded; empty: unknown.",
    )

    class Meta:
        ordering = ["run", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "position"], name="training_input_position")]

    def __str__(self) -> str:
        return f"{self.dataset_label} v{self.version_number} ({self.role})"


class TrainingArtifact(models.Model):
    """Something a run produced: model weights, a checkpoint, an exported bundle."""

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="artifacts")
    position = models.PositiveIntegerField()
    uri = models.CharField(max_length=2048)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["run", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "position"], name="training_artifact_position")]

    def __str__(self) -> str:
        return self.uri


class MlflowImport(models.Model):
    """One import of training runs from an MLflow tracking server: what it read and how it ended. The
    periodic import reads the runs since the start of the last one that succeeded."""

    id = models.BigAutoField(primary_key=True)
    tracking_uri = models.CharField(max_length=2048, help_text="The server, without credentials.")
    experiments = models.JSONField(default=list, blank=True, help_text="The experiments named; empty for all.")
    since = models.DateTimeField(null=True, blank=True, help_text="Runs that started or ended since then.")
    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.RUNNING)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["tracking_uri", "-started_at"], name="mlflow_import_uri_idx")]

    def __str__(self) -> str:
        return f"MLflow import from {self.tracking_uri} at {self.started_at:%Y-%m-%d %H:%M:%S} ({self.status})"


class TrainingContentNarrative(models.Model):
    """What a model's owners wrote for one item of its public summary of training content (the EU AI
    Act's template, Article 53(1)(d)): the parts the catalog cannot know, such as opt-out compliance
    or the removal of illegal content. Keyed by the template's section number and the item's key."""

    id = models.BigAutoField(primary_key=True)
    model = models.ForeignKey(Model, on_delete=models.CASCADE, related_name="content_narratives")
    section = models.CharField(max_length=16, help_text="The template's section number, e.g. 3.1.")
    item = models.CharField(max_length=64, help_text="The item's key in that section, e.g. measures.")
    text = models.TextField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model", "section", "item"]
        constraints = [
            models.UniqueConstraint(fields=["model", "section", "item"], name="training_content_narrative_item")
        ]

    def __str__(self) -> str:
        return f"{self.model_id} {self.section} {self.item}"
