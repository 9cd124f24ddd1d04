"""Namespaces with owners: who may create datasets in which namespace."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from governance.choices import ChangeAction, ObjectType
from governance.models import (
    Namespace,
)
from governance.services.changes import change_record, changed_values


def _namespace_values(namespace: Namespace) -> dict[str, Any]:
    return {
        "name": namespace.name,
        "users": sorted(namespace.users.values_list("username", flat=True)),
        "groups": sorted(namespace.groups.values_list("name", flat=True)),
    }


def namespace_create(*, actor: User, name: str, users: Iterable[User] = (), groups: Iterable[Group] = ()) -> Namespace:
    """Give a namespace owners: from then on only they (and staff) create datasets in it."""
    with transaction.atomic():
        namespace = Namespace.objects.create(name=name)
        namespace.users.set(list(users))
        namespace.groups.set(list(groups))
        change_record(
            actor=actor,
            action=ChangeAction.CREATE,
            object_type=ObjectType.NAMESPACE,
            object_id=namespace.pk,
            after=_namespace_values(namespace),
            object_repr=namespace.name,
        )
    return namespace


def namespace_update(
    *,
    actor: User,
    namespace: Namespace,
    name: str | None = None,
    users: Iterable[User] | None = None,
    groups: Iterable[Group] | None = None,
) -> Namespace:
    """Rename a namespace or change its owners; what is left out stays."""
    with transaction.atomic():
        locked = Namespace.objects.select_for_update().get(pk=namespace.pk)
        before = _namespace_values(locked)
        if name is not None and name != locked.name:
            locked.name = name
            locked.save(update_fields=["name", "updated_at"])
        if users is not None:
            locked.users.set(list(users))
        if groups is not None:
            locked.groups.set(list(groups))
        old, new = changed_values(before, _namespace_values(locked))
        if new:
            Namespace.objects.filter(pk=locked.pk).update(updated_at=timezone.now())
            change_record(
                actor=actor,
                action=ChangeAction.UPDATE,
                object_type=ObjectType.NAMESPACE,
                object_id=locked.pk,
                before=old,
                after=new,
                object_repr=locked.name,
            )
    return Namespace.objects.get(pk=locked.pk)


def namespace_delete(*, actor: User, namespace: Namespace) -> None:
    """Open a namespace to everyone again: its record and owners go."""
    with transaction.atomic():
        values = _namespace_values(namespace)
        if Namespace.objects.filter(pk=namespace.pk).delete()[0]:
            change_record(
                actor=actor,
                action=ChangeAction.DELETE,
                object_type=ObjectType.NAMESPACE,
                object_id=namespace.pk,
                before=values,
                object_repr=namespace.name,
            )
