"""Reads of the governance records that depend on what a reader may see: which change-log entries
are listed to whom, and which ids in them are redacted. They join the records to the catalog's
visibility, so they sit above the catalog, with the HTTP edge and the admin that use them."""

import re
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast

from catalog.models import Dataset, DatasetVersion
from catalog.selectors import datasets_visible_to
from governance.choices import STAFF_ONLY_OBJECT_TYPES, ChangeAction, ObjectType, Sensitivity
from governance.models import Change
from governance.permissions import groups_visible_to


def changes_visible_to(user: User | AnonymousUser) -> QuerySet[Change]:
    """The change-log entries a user may read: staff all; others those about datasets they may see
    (or about none), without the staff-only kinds, and a group's only to who may see the group.

    Models are visible to every authenticated user, so the entries about models, their ownerships
    and their training runs (filed under no dataset) are read by any authenticated user; the ids of
    datasets and versions a run read that the reader may not read are redacted (`change_ids_hidden`)."""
    changes = Change.objects.all()
    if user.is_staff:
        return changes
    visible = datasets_visible_to(user).values("pk")
    # Storage locations and namespaces belong to no dataset, and their entries say who may
    # register where (usernames, folder paths): staff business only. A group's entries name its
    # members: for those who may see the group.
    groups = groups_visible_to(user).annotate(key=Cast("pk", CharField())).values("key")
    return (
        changes.filter(Q(dataset_id__isnull=True) | Q(dataset_id__in=visible))
        .exclude(object_type__in=STAFF_ONLY_OBJECT_TYPES)
        .exclude(Q(object_type=ObjectType.GROUP) & ~Q(object_id__in=groups))
    )


_UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
RESTRICTED_REF = "a restricted dataset you may not read"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def change_ids_hidden(entries: list[Change], user: User | AnonymousUser) -> set[str]:
    """The ids, as text, of datasets (and their versions) named in these entries that the user may not
    read: three queries for a page, however many entries."""
    named: set[UUID] = set()
    for entry in entries:
        # The entry's own object belongs to its dataset, which the reader may read (or it is not listed).
        for text in _strings([entry.object_repr, entry.before, entry.after]):
            for match in _UUID_TEXT.findall(text):
                named.add(UUID(match))
        named.discard(entry.dataset_id)
    if not named:
        return set()
    visible = datasets_visible_to(user).values("pk")
    hidden: set[UUID] = set(Dataset.objects.filter(pk__in=named).exclude(pk__in=visible).values_list("pk", flat=True))
    hidden |= set(
        DatasetVersion.objects.filter(pk__in=named - hidden).exclude(dataset__in=visible).values_list("pk", flat=True)
    )
    hidden |= _purged_restricted_ids(named - hidden)
    return {str(pk) for pk in hidden} | {pk.hex for pk in hidden}


def _purged_restricted_ids(named: set[UUID]) -> set[UUID]:
    """Of these ids, those of restricted datasets that were purged, and of their versions: entries
    about other datasets (an edge removed with the purge, one created before) still name them, and
    with the dataset gone, only its purge entry says it was restricted. One query (ids are never
    reused: a dataset with a purge entry is gone)."""
    if not named:
        return set()
    hidden: set[UUID] = set()
    purges = Change.objects.filter(
        action=ChangeAction.PURGE, object_type=ObjectType.DATASET, object_id__in=[str(pk) for pk in named]
    )
    for object_id, before in purges.values_list("object_id", "before"):
        state = before or {}
        if state.get("sensitivity") == Sensitivity.RESTRICTED:
            hidden.add(UUID(object_id))
            hidden |= {UUID(str(version["id"])) for version in state.get("versions", [])}
    return hidden & named


def change_redacted(value: Any, hidden: set[str]) -> Any:
    """A serialized entry (or any part of it) with the ids in `hidden` replaced by RESTRICTED_REF."""
    if isinstance(value, str):
        return _UUID_TEXT.sub(lambda m: RESTRICTED_REF if m.group(0).lower() in hidden else m.group(0), value)
    if isinstance(value, dict):
        return {key: change_redacted(item, hidden) for key, item in value.items()}
    if isinstance(value, list):
        return [change_redacted(item, hidden) for item in value]
    return value
