"""Namespaces with owners: who may create datasets in which namespace."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import Group, User
from django.db import transaction

from governance.models import Namespace
from governance.services.scopes import scope_changing, scope_created, scope_delete


def namespace_create(*, actor: User, name: str, users: Iterable[User] = (), groups: Iterable[Group] = ()) -> Namespace:
    """Give a namespace owners: from then on only they (and staff) create datasets in it."""
    with transaction.atomic():
        namespace = Namespace.objects.create(name=name)
        scope_created(actor=actor, scope=namespace, users=users, groups=groups)
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
    with transaction.atomic(), scope_changing(actor=actor, scope=namespace, users=users, groups=groups) as locked:
        if name is not None and name != locked.name:
            locked.name = name
            locked.save(update_fields=["name", "updated_at"])
    return Namespace.objects.get(pk=locked.pk)


def namespace_delete(*, actor: User, namespace: Namespace) -> None:
    """Open a namespace to everyone again: its record and owners go."""
    scope_delete(actor=actor, scope=namespace)
