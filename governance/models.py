import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from governance.choices import OwnershipRole


class Ownership(models.Model):
    """Who answers for a dataset: a user or a group, in a role."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dataset = models.ForeignKey("catalog.Dataset", on_delete=models.CASCADE, related_name="ownerships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="ownerships"
    )
    group = models.ForeignKey("auth.Group", null=True, blank=True, on_delete=models.PROTECT, related_name="ownerships")
    role = models.CharField(max_length=16, choices=OwnershipRole.choices, default=OwnershipRole.OWNER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset", "role", "created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True) | Q(user__isnull=True, group__isnull=False),
                name="ownership_user_xor_group",
            ),
            models.UniqueConstraint(
                fields=["dataset", "user", "role"],
                condition=Q(user__isnull=False),
                name="ownership_unique_user",
            ),
            models.UniqueConstraint(
                fields=["dataset", "group", "role"],
                condition=Q(group__isnull=False),
                name="ownership_unique_group",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.principal_name} ({self.role})"

    @property
    def principal_type(self) -> str:
        return "user" if self.user_id else "group"

    @property
    def principal_name(self) -> str:
        if self.user_id:
            return self.user.get_username()  # type: ignore[union-attr]
        return self.group.name  # type: ignore[union-attr]


class IdempotencyRecord(models.Model):
    """The first answer to a POST sent with an `Idempotency-Key`, replayed when the client retries."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64, help_text="sha256 of method, path and body.")
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    response_location = models.CharField(max_length=2048, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique_user_key")]

    def __str__(self) -> str:
        return f"{self.key} ({self.user_id})"
