"""Read grants: who may read a restricted dataset besides staff and those who answer for it."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.models import Group, User

from governance.choices import ChangeAction, ObjectType
from governance.models import AccessGrant
from governance.services.changes import change_record
from governance.services.owners import principal_named


def access_grant_add(
    *, actor: User, dataset_id: UUID, user: User | None = None, group: Group | None = None
) -> tuple[AccessGrant, bool]:
    """Let a user or a group read a dataset even when it is restricted."""
    grant, created = AccessGrant.objects.get_or_create(
        dataset_id=dataset_id, defaults={"granted_by": actor}, **principal_named(user, group)
    )
    if created:
        change_record(
            actor=actor,
            action=ChangeAction.CREATE,
            object_type=ObjectType.ACCESS_GRANT,
            object_id=grant.pk,
            dataset_id=dataset_id,
            after=grant.entry,
            object_repr=str(grant),
        )
    return grant, created


def access_grant_remove(*, actor: User, grant: AccessGrant) -> None:
    values = grant.entry
    if AccessGrant.objects.filter(pk=grant.pk).delete()[0]:
        change_record(
            actor=actor,
            action=ChangeAction.DELETE,
            object_type=ObjectType.ACCESS_GRANT,
            object_id=grant.pk,
            dataset_id=grant.dataset_id,
            before=values,
            object_repr=str(grant),
        )
