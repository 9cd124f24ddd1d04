"""Who answers for a dataset: its owners, stewards and custodians."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q

from config import errors
from governance.choices import ChangeAction, ObjectType, OwnershipRole
from governance.models import Ownership
from governance.services.changes import change_record


class LastOwner(errors.Conflict):
    def __init__(self) -> None:
        super().__init__(
            "This is the dataset's last owner; a dataset must keep one. Add another owner first, then remove this one."
        )


class OwnersOnly(errors.Forbidden, PermissionDenied):
    """A change to who owns a dataset, or to who may see it at all, made by someone who may write
    the dataset but is not one of its owners (a steward). Django's PermissionDenied as well, so the
    admin's own views answer it 403 too."""

    def __init__(self, what: str) -> None:
        super().__init__(f"Only the dataset's owners (or staff) may {what}; ask one of its owners.")


def actor_owns_dataset(actor: User | None, dataset_id: UUID) -> bool:
    """Staff, or an owner (role `owner`) of the dataset, themselves or through a group."""
    if actor is None or not actor.is_authenticated:
        return False
    if actor.is_staff:
        return True
    return (
        Ownership.objects.filter(Q(user=actor) | Q(group__user=actor))
        .filter(dataset_id=dataset_id, role=OwnershipRole.OWNER)
        .exists()
    )


def principal_named(user: User | None, group: Group | None) -> dict[str, Any]:
    """The lookup for the one user or group an ownership or a grant names."""
    if (user is None) == (group is None):
        raise ValueError("An ownership or grant names exactly one of a user or a group.")
    return {"user": user} if user is not None else {"group": group}


def ownership_add(
    *,
    dataset_id: UUID,
    user: User | None = None,
    group: Group | None = None,
    role: str = OwnershipRole.OWNER,
    actor: User | None = None,
) -> tuple[Ownership, bool]:
    """Make a user or a group answer for a dataset in a role. Returns the ownership and whether it
    is new (adding one that exists changes nothing and records nothing).

    Once a dataset has owners, only they (or staff) make someone else an owner: a steward who could
    would make themselves one, then remove the owners they answer to (OwnersOnly)."""
    if (
        role == OwnershipRole.OWNER
        and actor is not None
        and Ownership.objects.filter(dataset_id=dataset_id, role=OwnershipRole.OWNER).exists()
        and not actor_owns_dataset(actor, dataset_id)
    ):
        raise OwnersOnly("make someone an owner")
    ownership, created = Ownership.objects.get_or_create(
        dataset_id=dataset_id, role=role, **principal_named(user, group)
    )
    if created:
        change_record(
            actor=actor,
            action=ChangeAction.CREATE,
            object_type=ObjectType.OWNERSHIP,
            object_id=ownership.pk,
            dataset_id=dataset_id,
            after=ownership.entry,
            object_repr=str(ownership),
        )
    return ownership, created


def ownership_remove(*, actor: User, ownership: Ownership) -> None:
    """Remove an ownership; the last owner (role `owner`) of a dataset that has owners stays.

    Owners (and staff) remove anyone; stewards remove stewards and custodians, never an owner
    (OwnersOnly): those who answer to the owners cannot take the dataset from them."""
    with transaction.atomic():
        # Locking every owner row of the dataset serialises removals: two requests cannot each
        # remove one of the last two owners.
        owners = list(
            Ownership.objects.select_for_update()
            .filter(dataset_id=ownership.dataset_id, role=OwnershipRole.OWNER)
            .values_list("pk", flat=True)
        )
        if ownership.role == OwnershipRole.OWNER and owners == [ownership.pk]:
            raise LastOwner()
        if ownership.role == OwnershipRole.OWNER and not actor_owns_dataset(actor, ownership.dataset_id):
            raise OwnersOnly("remove an owner")
        values = ownership.entry
        deleted, _ = Ownership.objects.filter(pk=ownership.pk).delete()
        if deleted:
            change_record(
                actor=actor,
                action=ChangeAction.DELETE,
                object_type=ObjectType.OWNERSHIP,
                object_id=ownership.pk,
                dataset_id=ownership.dataset_id,
                before=values,
                object_repr=str(ownership),
            )
