"""Who an event may change: the owners and stewards of a dataset, staff, and the groups its owners
trust as producers; and setting those groups."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from uuid import UUID

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.db.models import Q

from catalog.models import Dataset
from governance.choices import WRITING_ROLES, ChangeAction, ObjectType
from governance.models import Ownership
from governance.services import change_record
from lineage.models import TrustedProducer


def _governed_by(actor: User, dataset_ids: Iterable[UUID]) -> set[UUID]:
    """The datasets whose owners and stewards include the actor (or staff): who may name owners."""
    wanted = set(dataset_ids)
    if actor.is_staff:
        return wanted
    owned = Ownership.objects.filter(Q(user=actor) | Q(group__user=actor), role__in=WRITING_ROLES)
    return set(owned.filter(dataset_id__in=wanted).values_list("dataset_id", flat=True))


def datasets_writable_by_events(actor: User, dataset_ids: Iterable[UUID]) -> set[UUID]:
    """The datasets an event from the actor may change: owned or stewarded by them (or a group of
    theirs), staff, or trusting a group of theirs as a producer. Lineage into the others waits for
    their owners to confirm it."""
    return _writable_and_governed(actor, dataset_ids)[0]


def _writable_and_governed(actor: User, dataset_ids: Iterable[UUID]) -> tuple[set[UUID], set[UUID]]:
    """(writable by the actor's events, governed by the actor) among these datasets, in at most two
    queries whatever their number."""
    wanted = set(dataset_ids)
    if not wanted:
        return set(), set()
    governed = _governed_by(actor, wanted)
    rest = wanted - governed
    if not rest:
        return governed, governed
    trusted = TrustedProducer.objects.filter(group__user=actor, dataset_id__in=rest)
    return governed | set(trusted.values_list("dataset_id", flat=True)), governed


def _may_change(actor: User, owner_id: int | None) -> bool:
    """A job or run is changed by the sender who first reported it, or by staff."""
    return actor.is_staff or (owner_id is not None and owner_id == actor.pk)


def trusted_producers_set(*, actor: User, dataset: Dataset, groups: Sequence[Group]) -> list[Group]:
    """Replace the groups whose members' events may change the dataset as its writers' would."""
    with transaction.atomic():
        # The dataset row is locked so two writers setting the list at once end with one of them.
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        current = {row.group_id: row for row in TrustedProducer.objects.filter(dataset=dataset).select_related("group")}
        wanted = {group.pk: group for group in groups}
        if set(current) == set(wanted):
            return list(wanted.values())
        before = sorted(row.group.name for row in current.values())
        TrustedProducer.objects.filter(dataset=dataset).exclude(group_id__in=wanted).delete()
        TrustedProducer.objects.bulk_create(
            [
                TrustedProducer(dataset=dataset, group=group, created_by=actor)
                for pk, group in wanted.items()
                if pk not in current
            ]
        )
        change_record(
            actor=actor,
            action=ChangeAction.UPDATE,
            object_type=ObjectType.DATASET,
            object_id=dataset.pk,
            dataset_id=dataset.pk,
            before={"trusted_producers": before},
            after={"trusted_producers": sorted(group.name for group in wanted.values())},
            object_repr=str(dataset),
        )
    return list(wanted.values())
