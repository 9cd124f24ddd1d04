from datetime import timedelta
from typing import Any
from uuid import UUID

from django.contrib.auth.models import Group, User
from django.utils import timezone

from governance.choices import OwnershipRole
from governance.models import IdempotencyRecord, Ownership

# How long the first answer to a POST with an Idempotency-Key is kept for replay.
IDEMPOTENCY_RETENTION = timedelta(hours=24)


def ownership_add(
    *,
    dataset_id: UUID,
    user: User | None = None,
    group: Group | None = None,
    role: str = OwnershipRole.OWNER,
) -> Ownership:
    """Make a user or a group answer for a dataset in a role (a no-op when it already does)."""
    if (user is None) == (group is None):
        raise ValueError("An ownership names exactly one of a user or a group.")
    lookup: dict[str, Any] = {"dataset_id": dataset_id, "role": role}
    if user is not None:
        lookup["user"] = user
    else:
        lookup["group"] = group
    ownership, _ = Ownership.objects.get_or_create(**lookup)
    return ownership


def idempotency_records_purge() -> int:
    """Forget answers older than the retention period; their keys may be used again."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - IDEMPOTENCY_RETENTION).delete()
    return deleted
