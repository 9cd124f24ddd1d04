import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class ContractVersion(models.Model):
    """One saved version of a dataset's contract: every save adds one, so its history is kept. The
    contract in force is the dataset's highest version."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dataset = models.ForeignKey("catalog.Dataset", on_delete=models.CASCADE, related_name="contract_versions")
    number = models.PositiveIntegerField()
    enforcement = models.CharField(max_length=8, choices=[("warn", "Warn"), ("block", "Block")], default="warn")
    document = models.JSONField(help_text="The contract in its normal form (contracts.rules.contract_parsed).")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="contract_version_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="contract_version_number_positive"),
        ]

    def __str__(self) -> str:
        return f"contract v{self.number} of {self.dataset_id}"


class ContractCheck(models.Model):
    """A check of data that is not a version (serving data) against a dataset's contract: its source is
    profiled on a worker and checked, and nothing is registered."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"
        ERROR = "error", "Error"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dataset = models.ForeignKey("catalog.Dataset", on_delete=models.CASCADE, related_name="contract_checks")
    contract = models.ForeignKey(ContractVersion, on_delete=models.CASCADE, related_name="checks")
    uri = models.CharField(max_length=2048)
    format = models.CharField(max_length=16)
    label_column = models.CharField(max_length=1024, blank=True)
    read_options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # When the check was last handed to the broker (null: never, or queueing failed), and how many
    # times a worker took it up: the sweep (contracts.tasks.contract_checks_requeue_stuck) reads both.
    queued_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    row_count = models.BigIntegerField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True, help_text="The check, as a version's `contract` shows it.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["dataset", "created_at"], name="contract_check_dataset_idx"),
            models.Index(
                fields=["status", "status_changed_at"],
                name="contract_check_unsettled_idx",
                condition=Q(status__in=["pending", "running"]),
            ),
        ]

    def __str__(self) -> str:
        return f"check {self.id} of {self.dataset_id}"
