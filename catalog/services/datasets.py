"""Writes to datasets: their descriptive fields, retirement, purging, and those lineage reports discover."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import ProtectedError, Q, QuerySet
from django.dispatch import Signal
from django.utils import timezone

from catalog.choices import Lifecycle
from catalog.models import DATASET_FIELDS, Dataset, Tag
from catalog.services.errors import DatasetNotPurgeable, DeprecationUnexplained
from catalog.signals import DEPRECATED, LICENSE_CHANGED, RETIRED, dataset_changed_send
from governance.choices import ChangeAction, ObjectType, Sensitivity
from governance.licensing import license_expression_parse
from governance.models import AuditSubject, Namespace, Ownership
from governance.services import (
    ChangeSpec,
    OwnersOnly,
    actor_owns_dataset,
    change_record,
    change_record_many,
    changed_values,
    new_datasets_owned,
)


def _tags_for(names: Iterable[str]) -> list[Tag]:
    unique = sorted({name.strip().lower() for name in names if name.strip()})
    existing = {tag.name: tag for tag in Tag.objects.filter(name__in=unique)}
    missing = [Tag(name=name) for name in unique if name not in existing]
    # ignore_conflicts: another request may create the same tag at the same moment.
    Tag.objects.bulk_create(missing, ignore_conflicts=True)
    if missing:
        existing = {tag.name: tag for tag in Tag.objects.filter(name__in=unique)}
    return list(existing.values())


def dataset_values(dataset: Dataset, tags: Iterable[str] | None = None) -> dict[str, Any]:
    """What the change log records of a dataset: the fields people set."""
    values = {field: getattr(dataset, field) for field in DATASET_FIELDS}
    values["tags"] = sorted(tags if tags is not None else dataset.tags.values_list("name", flat=True))
    return values


def dataset_update(*, actor: User, dataset: Dataset, **changes: Any) -> Dataset:
    """Change a dataset's descriptive fields (description, license, tags, sensitivity, origin,
    lifecycle: a deprecated dataset stays readable and listed, marked, with the reason).

    The license is checked and normalised as at registration (LicenseExpressionInvalid). A deprecation
    says why in the same change (DeprecationUnexplained)."""
    allowed = set(DATASET_FIELDS)
    unknown = set(changes) - allowed - {"tags"}
    if unknown:
        raise ValueError(f"Cannot change {', '.join(sorted(unknown))} of a dataset.")
    if changes.get("lifecycle") == Lifecycle.DEPRECATED and not changes.get("deprecation_reason", "").strip():
        raise DeprecationUnexplained("Say why the dataset is deprecated (and what to use instead).")
    if changes.get("lifecycle") == Lifecycle.RETIRED:
        raise ValueError("Retire a dataset by deleting it.")
    if "license" in changes:
        changes["license"] = license_expression_parse(changes["license"]).expression
    with transaction.atomic():
        locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
        before = dataset_values(locked)
        # `restricted` decides who may see the dataset at all: lifting it shows the data to everyone
        # the owners kept it from, setting it hides the dataset from those who rely on it. Either is
        # the owners' decision; moving between the other levels (labels) is a steward's too.
        crosses = "sensitivity" in changes and (locked.sensitivity == Sensitivity.RESTRICTED) != (
            changes["sensitivity"] == Sensitivity.RESTRICTED
        )
        if crosses and not actor_owns_dataset(actor, locked.pk):
            raise OwnersOnly("make a dataset restricted or lift the restriction")
        for field in allowed & set(changes):
            setattr(locked, field, changes[field])
        if changes.get("lifecycle") == Lifecycle.DEPRECATED:
            locked.deprecated_at = locked.deprecated_at or timezone.now()
        elif changes.get("lifecycle") == Lifecycle.ACTIVE:
            locked.deprecated_at = None
            locked.deprecation_reason = ""
        tag_names = before["tags"]
        if "tags" in changes:
            tag_rows = _tags_for(changes["tags"])
            locked.tags.set(tag_rows)
            tag_names = sorted(tag.name for tag in tag_rows)
        old, new = changed_values(before, dataset_values(locked, tags=tag_names))
        if new:
            locked.save()
            change_record(
                actor=actor,
                action=ChangeAction.UPDATE,
                object_type=ObjectType.DATASET,
                object_id=locked.pk,
                dataset_id=locked.pk,
                before=old,
                after=new,
                object_repr=str(locked),
            )
            # What learned from the dataset is told once this commits (training puts findings on models).
            if "license" in new:
                dataset_changed_send(dataset_id=locked.pk, reason=LICENSE_CHANGED)
            if new.get("lifecycle") == Lifecycle.DEPRECATED:
                dataset_changed_send(dataset_id=locked.pk, reason=DEPRECATED)
    return locked


def dataset_retire(*, actor: User, dataset: Dataset) -> Dataset:
    """Hide a dataset from lists; it stays resolvable by id, with its versions, audits and history."""
    with transaction.atomic():
        locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
        if locked.lifecycle != Lifecycle.RETIRED:
            before = locked.lifecycle
            locked.lifecycle = Lifecycle.RETIRED
            locked.retired_at = timezone.now()
            locked.save(update_fields=["lifecycle", "retired_at", "updated_at"])
            change_record(
                actor=actor,
                action=ChangeAction.RETIRE,
                object_type=ObjectType.DATASET,
                object_id=locked.pk,
                dataset_id=locked.pk,
                before={"lifecycle": before},
                after={"lifecycle": Lifecycle.RETIRED},
                object_repr=str(locked),
            )
            dataset_changed_send(dataset_id=locked.pk, reason=RETIRED)
    return locked


# Sent inside a purge's transaction, before the dataset is deleted, with `actor` and `dataset`: the
# apps whose rows reference datasets (lineage, which the catalog does not import) remove what of
# theirs does not hold the dataset back, and answer {kind: [what they removed]} for the change log.
dataset_purging = Signal()


def users_answering_for(dataset_id: UUID) -> QuerySet[User]:
    """The users who answer for a dataset (any role, themselves or through a group), and staff: whose
    word about it holds it back from being purged."""
    ownerships = Ownership.objects.filter(dataset_id=dataset_id)
    return User.objects.filter(
        Q(is_staff=True)
        | Q(pk__in=ownerships.filter(user__isnull=False).values("user_id"))
        | Q(groups__in=ownerships.filter(group__isnull=False).values("group_id"))
    )


def _audits_release(dataset: Dataset) -> list[str]:
    """Unlink the dataset from the audits run by someone who does not answer for it (nor staff).

    An audit is an immutable record of what a training run read. The audits of the dataset's owners
    (and staff) are what they stand behind: those keep the dataset from being purged, so their
    reports stay resolvable. An audit by anyone else is their own record: it keeps its whole report
    (`checked` names the dataset, versions, fingerprints and licenses it saw) and loses only the
    link to a dataset that no longer exists. Otherwise any reader would keep any dataset they may
    read from ever being purged, by auditing it once.
    """
    answering = users_answering_for(dataset.pk).values("pk")
    others = AuditSubject.objects.filter(dataset=dataset).exclude(audit__created_by__in=answering)
    released = sorted({str(audit_id) for audit_id in others.values_list("audit_id", flat=True)})
    if released:
        others.update(dataset=None, version=None)
    return released


def dataset_purge(*, actor: User, dataset: Dataset) -> None:
    """Delete a retired dataset for good, with its versions, features and ownership.

    Only what its owners stand behind holds it back: confirmed lineage into it, lineage out of it
    that they (or staff) reported, runs of theirs that read or wrote it, and audits run by those who
    answer for it or by staff (those foreign keys PROTECT it). What others reported about it
    (unconfirmed edges into it, their edges and column lineage out of it, their runs) goes with it,
    and audits by others lose their link to it but keep their report; all of it is recorded. The
    change log keeps its history, and records the purge."""
    if dataset.lifecycle != Lifecycle.RETIRED:
        raise DatasetNotPurgeable(
            f"{dataset} is {dataset.lifecycle}; retire it (DELETE /api/v1/datasets/{dataset.pk}/) before purging it."
        )
    try:
        with transaction.atomic():
            locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
            values = {"namespace": locked.namespace, "name": locked.name, **dataset_values(locked)}
            versions = list(locked.versions.values("id", "number", "fingerprint"))
            released: dict[str, Any] = {}
            for _, answer in dataset_purging.send(sender=Dataset, actor=actor, dataset=locked):
                if isinstance(answer, dict):
                    released.update(answer)
            audits = _audits_release(locked)
            if audits:
                released["audits"] = audits
            # latest_version points into the versions being deleted; unhook it first.
            Dataset.objects.filter(pk=locked.pk).update(latest_version=None)
            locked.delete()
            change_record(
                actor=actor,
                action=ChangeAction.PURGE,
                object_type=ObjectType.DATASET,
                object_id=dataset.pk,
                dataset_id=dataset.pk,
                before={**values, "versions": versions},
                after={"released": released} if released else None,
                object_repr=str(dataset),
            )
    except ProtectedError as exc:
        kinds = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
        raise DatasetNotPurgeable(
            f"{dataset} cannot be purged: it is referenced by {', '.join(kinds)} that its owners stand behind "
            "(confirmed lineage, lineage or runs they or staff reported, audits run by those who answer for it "
            "or by staff). Retired, it stays out of lists; its history must remain resolvable. Remove that "
            "lineage first (DELETE /api/v1/lineage/edges/{id}/) if it is wrong."
        ) from None


def datasets_discover(*, actor: User, identities: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Dataset]:
    """The datasets with these (namespace, name) identities, creating those the catalog lacks.

    Lineage reports name datasets nobody registered; the sender who first reported one owns it (so
    its later events keep describing it, and nobody else's can). Identities in a namespace whose
    owners do not include the actor are neither created nor answered.
    """
    wanted = set(identities)
    closed = Namespace.objects.closed_to(actor, {namespace for namespace, _ in wanted})
    wanted = {identity for identity in wanted if identity[0] not in closed}
    if not wanted:
        return {}
    new = [Dataset(namespace=namespace, name=name, created_by=actor) for namespace, name in sorted(wanted)]
    # ignore_conflicts: two reports may name the same new dataset at the same moment.
    Dataset.objects.bulk_create(new, ignore_conflicts=True)
    query = Q()
    for namespace, name in wanted:
        query |= Q(namespace=namespace, name=name)
    found = {(dataset.namespace, dataset.name): dataset for dataset in Dataset.objects.filter(query)}
    # Ids are made here, so the rows this call inserted are those whose id is the one it made.
    created = [found[(row.namespace, row.name)] for row in new if found[(row.namespace, row.name)].pk == row.pk]
    change_record_many(
        actor=actor,
        changes=[
            ChangeSpec(
                action=ChangeAction.CREATE,
                object_type=ObjectType.DATASET,
                object_id=dataset.pk,
                dataset_id=dataset.pk,
                after={"namespace": dataset.namespace, "name": dataset.name, "reported_by": "lineage"},
                object_repr=str(dataset),
            )
            for dataset in created
        ],
    )
    new_datasets_owned(dataset_ids=[dataset.pk for dataset in created], user=actor, actor=actor)
    return found


def dataset_describe(*, actor: User, dataset_id: UUID, description: str) -> bool:
    """Give a dataset a description reported from elsewhere, unless people already wrote one."""
    if not description.strip():
        return False
    described = (
        Dataset.objects.filter(pk=dataset_id, description="").update(
            description=description.strip(), updated_at=timezone.now()
        )
        > 0
    )
    if described:
        change_record(
            actor=actor,
            action=ChangeAction.UPDATE,
            object_type=ObjectType.DATASET,
            object_id=dataset_id,
            dataset_id=dataset_id,
            before={"description": ""},
            after={"description": description.strip(), "reported_by": "lineage"},
        )
    return described
