from django.db import models


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class InputRole(models.TextChoices):
    """What a training run used a dataset version for."""

    TRAIN = "train", "Training"
    VALIDATION = "validation", "Validation"
    TEST = "test", "Test"
    OTHER = "other", "Other"


class RunSource(models.TextChoices):
    """How a training run reached the catalog."""

    API = "api", "REST API"
    OPENLINEAGE = "openlineage", "OpenLineage"
    MLFLOW = "mlflow", "MLflow"


class Reproducibility(models.TextChoices):
    """The outcome of re-hashing every input of a run."""

    PENDING = "pending", "Pending"
    REPRODUCIBLE = "reproducible", "Reproducible: every input's bytes are as recorded"
    CHANGED = "changed", "Changed: an input's bytes differ from what the run read"
    UNREADABLE = "unreadable", "Unreadable: an input could not be read"


class ImportStatus(models.TextChoices):
    """How an import of training runs from a tracking server ended."""

    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed: the tracking server could not be read"
