"""Groups of users, with owners who manage their members."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.db import transaction

from config import errors
from config.identities import IdentityInvalid, identity_checked
from governance.choices import ChangeAction, ObjectType
from governance.models import AccessGrant, GroupProfile, Ownership, grant_entry
from governance.services.changes import ChangeSpec, change_record, change_record_many, changed_values


class GroupExists(errors.Conflict):
    def __init__(self, existing: Group) -> None:
        super().__init__(
            f"A group named {existing.name!r} exists already (names are compared ignoring case).",
            existing_id=str(existing.pk),
        )
        self.existing = existing


class GroupInUse(errors.Conflict):
    """A group that answers for datasets: deleting it would leave them without those owners."""

    def __init__(self, group: Group, dataset_ids: list[UUID]) -> None:
        shown = ", ".join(str(pk) for pk in dataset_ids[:10]) + (" ..." if len(dataset_ids) > 10 else "")
        super().__init__(
            f"The group {group.name!r} answers for {len(dataset_ids)} dataset(s) ({shown}); remove it from their "
            f"owners first (DELETE /api/v1/datasets/{{id}}/owners/?group={group.name}&role=...)."
        )


class GroupManagersOnly(errors.Forbidden, PermissionDenied):
    def __init__(self) -> None:
        super().__init__(
            "Only the group's owners and staff add or remove its members (a member may leave it); ask one of them."
        )


class GroupNameInvalid(errors.Invalid):
    field = "name"


def group_name_checked(name: str) -> str:
    """A group's name as the API and the admin take it: one line, no '/', no spaces around it, not a
    number alone (numbers address groups by id), and no look-alike characters."""
    if "/" in name or name.strip() != name or name.isdigit():
        raise GroupNameInvalid(
            "A group name has no '/', no leading or trailing spaces, and is not a number alone "
            "(numbers address groups by id)."
        )
    try:
        return identity_checked(name)
    except IdentityInvalid as exc:
        raise GroupNameInvalid(f"This name {exc}.") from None


def group_managed_by(actor: User | None, group: Group) -> bool:
    """Staff, or an owner of the group: who adds and removes its members."""
    if actor is None or not actor.is_authenticated:
        return False
    return actor.is_staff or GroupProfile.objects.filter(group=group, owners=actor).exists()


def _group_values(group: Group) -> dict[str, Any]:
    profile = GroupProfile.objects.filter(group=group).first()
    return {
        "name": group.name,
        "description": profile.description if profile is not None else "",
        "owners": sorted(profile.owners.values_list("username", flat=True)) if profile is not None else [],
        "members": sorted(group.user_set.values_list("username", flat=True)),
    }


def group_name_free(name: str, *, other_than: Group | None = None) -> None:
    """GroupExists when another group has this name, compared ignoring case."""
    taken = Group.objects.filter(name__iexact=name)
    if other_than is not None:
        taken = taken.exclude(pk=other_than.pk)
    existing = taken.first()
    if existing is not None:
        raise GroupExists(existing)


def group_create(
    *, actor: User, name: str, description: str = "", owners: Iterable[User] = (), members: Iterable[User] = ()
) -> Group:
    """Create a group, with owners who manage its members (besides staff) and its first members."""
    name = group_name_checked(name)
    with transaction.atomic():
        group_name_free(name)
        group = Group.objects.create(name=name)
        profile = GroupProfile.objects.create(group=group, description=description, created_by=actor)
        profile.owners.set(list(owners))
        group.user_set.set(list(members))
        change_record(
            actor=actor,
            action=ChangeAction.CREATE,
            object_type=ObjectType.GROUP,
            object_id=group.pk,
            after=_group_values(group),
            object_repr=group.name,
        )
    return group


def group_update(
    *,
    actor: User,
    group: Group,
    name: str | None = None,
    description: str | None = None,
    owners: Iterable[User] | None = None,
) -> Group:
    """Rename a group, describe it, or say who owns it; what is left out stays. Its grants and
    ownerships follow it: they name the group, not its name."""
    if name is not None:
        name = group_name_checked(name)
    with transaction.atomic():
        locked = Group.objects.select_for_update().get(pk=group.pk)
        before = _group_values(locked)
        if name is not None and name != locked.name:
            group_name_free(name, other_than=locked)
            locked.name = name
            locked.save(update_fields=["name"])
        profile, _ = GroupProfile.objects.get_or_create(group=locked)
        if description is not None:
            profile.description = description
        profile.save()
        if owners is not None:
            profile.owners.set(list(owners))
        old, new = changed_values(before, _group_values(locked))
        if new:
            change_record(
                actor=actor,
                action=ChangeAction.UPDATE,
                object_type=ObjectType.GROUP,
                object_id=locked.pk,
                before=old,
                after=new,
                object_repr=locked.name,
            )
    return locked


def group_delete(*, actor: User, group: Group) -> None:
    """Delete a group that answers for no dataset (GroupInUse otherwise). Its read grants go with it,
    each recorded under its dataset; the namespaces and storage locations it opened, and the datasets
    that trusted it as a lineage producer, close to it (named in the group's entry)."""
    with transaction.atomic():
        locked = Group.objects.select_for_update().get(pk=group.pk)
        answering = sorted(set(Ownership.objects.filter(group=locked).values_list("dataset_id", flat=True)))
        if answering:
            raise GroupInUse(locked, answering)
        values = {
            **_group_values(locked),
            "namespaces": sorted(locked.owned_namespaces.values_list("name", flat=True)),
            "storage_locations": sorted(locked.storage_locations.values_list("uri", flat=True)),
            # Lineage's rows name the group too (the records import no lineage: its reverse relation does).
            "trusted_producer_of": sorted(str(pk) for pk in locked.trusted_for.values_list("dataset_id", flat=True)),
        }
        grants = list(AccessGrant.objects.filter(group=locked))
        change_record_many(
            actor=actor,
            changes=[
                ChangeSpec(
                    action=ChangeAction.DELETE,
                    object_type=ObjectType.ACCESS_GRANT,
                    object_id=grant.pk,
                    dataset_id=grant.dataset_id,
                    before=grant_entry(principal_type="group", name=locked.name),
                    after={"reason": "the group was deleted"},
                    object_repr=f"read: {locked.name}",
                )
                for grant in grants
            ],
        )
        locked.delete()
        change_record(
            actor=actor,
            action=ChangeAction.DELETE,
            object_type=ObjectType.GROUP,
            object_id=group.pk,
            before=values,
            object_repr=values["name"],
        )


def _group_membership_change(*, actor: User, group: Group, user: User, member: bool) -> bool:
    # A member may leave a group; only its owners and staff add members or remove others.
    if not (group_managed_by(actor, group) or (not member and user.pk == actor.pk)):
        raise GroupManagersOnly()
    with transaction.atomic():
        locked = Group.objects.select_for_update().get(pk=group.pk)
        before = sorted(locked.user_set.values_list("username", flat=True))
        if (user.get_username() in before) == member:
            return False
        if member:
            locked.user_set.add(user)
        else:
            locked.user_set.remove(user)
        change_record(
            actor=actor,
            action=ChangeAction.UPDATE,
            object_type=ObjectType.GROUP,
            object_id=locked.pk,
            before={"members": before},
            after={"members": sorted(locked.user_set.values_list("username", flat=True))},
            object_repr=locked.name,
        )
    return True


def group_member_add(*, actor: User, group: Group, user: User) -> bool:
    """Add a user to a group (its owners and staff); False when they are a member already."""
    return _group_membership_change(actor=actor, group=group, user=user, member=True)


def group_member_remove(*, actor: User, group: Group, user: User) -> bool:
    """Remove a user from a group (its owners and staff; a member themselves); False when they were
    not a member."""
    return _group_membership_change(actor=actor, group=group, user=user, member=False)
