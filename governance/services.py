from typing import Any
from uuid import UUID

from django.contrib.auth.models import Group, User

from governance.choices import OwnershipRole
from governance.models import Ownership


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
