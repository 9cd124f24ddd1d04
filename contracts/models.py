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
