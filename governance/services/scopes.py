"""Storage locations and namespaces have one shape: a record named by a key (a location's `uri`, a
namespace's `name`) that lets in the users and groups it names. This is the one mechanism that
writes who they let in and records them in the change log, the key with its users and groups."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from governance.choices import ChangeAction, ObjectType
from governance.models import Namespace, StorageLocation
from governance.services.changes import change_record, changed_values

Scope = TypeVar("Scope", StorageLocation, Namespace)

# What names each kind of record in its change-log entries, and the kind of object they are about.
_KEYS: dict[type[Any], tuple[str, ObjectType]] = {
    StorageLocation: ("uri", ObjectType.STORAGE_LOCATION),
    Namespace: ("name", ObjectType.NAMESPACE),
}


def scope_values(scope: StorageLocation | Namespace) -> dict[str, Any]:
    key, _ = _KEYS[type(scope)]
    return {
        key: getattr(scope, key),
        "users": sorted(scope.users.values_list("username", flat=True)),
        "groups": sorted(scope.groups.values_list("name", flat=True)),
    }


def _record(*, actor: User, scope: StorageLocation | Namespace, action: str, **values: Any) -> None:
    key, object_type = _KEYS[type(scope)]
    change_record(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=scope.pk,
        object_repr=getattr(scope, key),
        **values,
    )


def scope_created(
    *, actor: User, scope: StorageLocation | Namespace, users: Iterable[User], groups: Iterable[Group]
) -> None:
    """Let a new location or namespace's users and groups in, and record it with them."""
    scope.users.set(list(users))
    scope.groups.set(list(groups))
    _record(actor=actor, scope=scope, action=ChangeAction.CREATE, after=scope_values(scope))


@contextmanager
def scope_changing(
    *, actor: User, scope: Scope, users: Iterable[User] | None, groups: Iterable[Group] | None
) -> Iterator[Scope]:
    """The location or namespace locked, for the block to change its key; then who it lets in is
    replaced by the lists given (what is None stays), and what changed, if anything, is recorded."""
    locked = type(scope)._default_manager.select_for_update().get(pk=scope.pk)
    before = scope_values(locked)
    yield locked
    if users is not None:
        locked.users.set(list(users))
    if groups is not None:
        locked.groups.set(list(groups))
    old, new = changed_values(before, scope_values(locked))
    if new:
        type(locked)._default_manager.filter(pk=locked.pk).update(updated_at=timezone.now())
        _record(actor=actor, scope=locked, action=ChangeAction.UPDATE, before=old, after=new)


def scope_delete(*, actor: User, scope: Scope) -> None:
    """Remove a location or namespace, recorded with who it let in."""
    with transaction.atomic():
        values = scope_values(scope)
        if type(scope)._default_manager.filter(pk=scope.pk).delete()[0]:
            _record(actor=actor, scope=scope, action=ChangeAction.DELETE, before=values)
