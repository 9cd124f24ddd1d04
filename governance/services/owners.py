"""Who answers for a dataset or a model: its owners, stewards and custodians.

Datasets and models follow one rule, written once here: a thing that has owners keeps at least one;
once it has owners, only they (or staff) make someone else an owner or remove an owner. `Owned` says
where each kind keeps its ownerships and how the change log names them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet

from config import errors
from governance.choices import ChangeAction, ObjectType, OwnershipRole
from governance.models import AnswersFor, ModelOwnership, Ownership
from governance.services.changes import ChangeSpec, change_record, change_record_many


@dataclass(frozen=True)
class Owned:
    """A kind of thing that has owners: its noun in messages, its ownership records, the field of
    those that names the thing, and the change log's type for them."""

    noun: str
    records: type[AnswersFor]
    field: str
    object_type: str

    def ownerships(self, object_id: UUID) -> QuerySet[Any]:
        return self.records._default_manager.filter(**{f"{self.field}_id": object_id})

    def object_id(self, ownership: AnswersFor) -> UUID:
        return getattr(ownership, f"{self.field}_id")

    def change_dataset_id(self, object_id: UUID) -> UUID | None:
        # A dataset's entries are filed under it (they are shown to who may read it); a model's under none.
        return object_id if self.field == "dataset" else None


DATASETS = Owned(noun="dataset", records=Ownership, field="dataset", object_type=ObjectType.OWNERSHIP)
MODELS = Owned(noun="model", records=ModelOwnership, field="model", object_type=ObjectType.MODEL_OWNERSHIP)


class LastOwner(errors.Conflict):
    def __init__(self, noun: str = "dataset") -> None:
        super().__init__(
            f"This is the {noun}'s last owner; a {noun} must keep one. Add another owner first, then remove this one."
        )


class OwnersOnly(errors.Forbidden, PermissionDenied):
    """A change to who owns a dataset or a model, or to who may see a dataset at all, made by someone
    who may write it but is not one of its owners (a steward). Django's PermissionDenied as well, so
    the admin's own views answer it 403 too."""

    def __init__(self, what: str, noun: str = "dataset") -> None:
        super().__init__(f"Only the {noun}'s owners (or staff) may {what}; ask one of its owners.")


def _actor_owns(kind: Owned, actor: User | None, object_id: UUID) -> bool:
    if actor is None or not actor.is_authenticated:
        return False
    if actor.is_staff:
        return True
    return (
        kind.ownerships(object_id)
        .filter(Q(user=actor) | Q(group__user=actor))
        .filter(role=OwnershipRole.OWNER)
        .exists()
    )


def actor_owns_dataset(actor: User | None, dataset_id: UUID) -> bool:
    """Staff, or an owner (role `owner`) of the dataset, themselves or through a group."""
    return _actor_owns(DATASETS, actor, dataset_id)


def actor_owns_model(actor: User | None, model_id: UUID) -> bool:
    """Staff, or an owner (role `owner`) of the model, themselves or through a group."""
    return _actor_owns(MODELS, actor, model_id)


def principal_named(user: User | None, group: Group | None) -> dict[str, Any]:
    """The lookup for the one user or group an ownership or a grant names."""
    if (user is None) == (group is None):
        raise ValueError("An ownership or grant names exactly one of a user or a group.")
    return {"user": user} if user is not None else {"group": group}


def owner_add(
    kind: Owned,
    *,
    object_id: UUID,
    user: User | None = None,
    group: Group | None = None,
    role: str = OwnershipRole.OWNER,
    actor: User | None = None,
) -> tuple[Any, bool]:
    """Make a user or a group answer for a dataset or a model in a role. Returns the ownership and
    whether it is new (adding one that exists changes nothing and records nothing).

    Once it has owners, only they (or staff) make someone else an owner: a steward who could would
    make themselves one, then remove the owners they answer to (OwnersOnly)."""
    if (
        role == OwnershipRole.OWNER
        and actor is not None
        and kind.ownerships(object_id).filter(role=OwnershipRole.OWNER).exists()
        and not _actor_owns(kind, actor, object_id)
    ):
        raise OwnersOnly("make someone an owner", kind.noun)
    lookup: dict[str, Any] = {f"{kind.field}_id": object_id, "role": role, **principal_named(user, group)}
    ownership, created = kind.records._default_manager.get_or_create(**lookup)
    if created:
        change_record(
            actor=actor,
            action=ChangeAction.CREATE,
            object_type=kind.object_type,
            object_id=ownership.pk,
            dataset_id=kind.change_dataset_id(object_id),
            after=ownership.entry,
            object_repr=str(ownership),
        )
    return ownership, created


def owner_remove(kind: Owned, *, actor: User, ownership: AnswersFor) -> None:
    """Remove an ownership; the last owner (role `owner`) of a dataset or model that has owners stays.

    Owners (and staff) remove anyone; stewards remove stewards and custodians, never an owner
    (OwnersOnly): those who answer to the owners cannot take it from them."""
    object_id = kind.object_id(ownership)
    with transaction.atomic():
        # Locking every owner row serialises removals: two requests cannot each remove one of the
        # last two owners.
        owners = list(
            kind.ownerships(object_id).select_for_update().filter(role=OwnershipRole.OWNER).values_list("pk", flat=True)
        )
        if ownership.role == OwnershipRole.OWNER and owners == [ownership.pk]:
            raise LastOwner(kind.noun)
        if ownership.role == OwnershipRole.OWNER and not _actor_owns(kind, actor, object_id):
            raise OwnersOnly("remove an owner", kind.noun)
        values = ownership.entry
        deleted, _ = kind.records._default_manager.filter(pk=ownership.pk).delete()
        if deleted:
            change_record(
                actor=actor,
                action=ChangeAction.DELETE,
                object_type=kind.object_type,
                object_id=ownership.pk,
                dataset_id=kind.change_dataset_id(object_id),
                before=values,
                object_repr=str(ownership),
            )


def ownership_add(
    *,
    dataset_id: UUID,
    user: User | None = None,
    group: Group | None = None,
    role: str = OwnershipRole.OWNER,
    actor: User | None = None,
) -> tuple[Ownership, bool]:
    """Make a user or a group answer for a dataset in a role (`owner_add`)."""
    return owner_add(DATASETS, object_id=dataset_id, user=user, group=group, role=role, actor=actor)


def new_datasets_owned(*, dataset_ids: Iterable[UUID], user: User, actor: User | None = None) -> list[Ownership]:
    """Make a user the owner of datasets just created, which have no owners yet (so nobody's consent is
    needed): their ownerships inserted in one statement and recorded in the change log in another,
    whatever their number, as `ownership_add` would record each."""
    rows = Ownership.objects.bulk_create(
        [Ownership(dataset_id=pk, user=user, role=OwnershipRole.OWNER) for pk in dataset_ids]
    )
    change_record_many(
        actor=actor,
        changes=[
            ChangeSpec(
                action=ChangeAction.CREATE,
                object_type=DATASETS.object_type,
                object_id=row.pk,
                dataset_id=row.dataset_id,
                after=row.entry,
                object_repr=str(row),
            )
            for row in rows
        ],
    )
    return rows


def ownership_remove(*, actor: User, ownership: Ownership) -> None:
    """Remove a dataset's ownership (`owner_remove`)."""
    owner_remove(DATASETS, actor=actor, ownership=ownership)


def model_ownership_add(
    *,
    model_id: UUID,
    user: User | None = None,
    group: Group | None = None,
    role: str = OwnershipRole.OWNER,
    actor: User | None = None,
) -> tuple[ModelOwnership, bool]:
    """Make a user or a group answer for a model in a role (`owner_add`)."""
    return owner_add(MODELS, object_id=model_id, user=user, group=group, role=role, actor=actor)


def model_ownership_remove(*, actor: User, ownership: ModelOwnership) -> None:
    """Remove a model's ownership (`owner_remove`)."""
    owner_remove(MODELS, actor=actor, ownership=ownership)
