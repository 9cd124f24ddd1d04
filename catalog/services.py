"""Writes to the catalog. Views, serializers and tasks call these; nothing else changes catalog rows."""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
import socket
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import psycopg.sql
from celery import chord as celery_chord
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import F, ProtectedError, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.dispatch import Signal
from django.utils import timezone

from catalog.cards.croissant import card_from_croissant
from catalog.cards.huggingface import CardDocumentInvalid, card_from_markdown
from catalog.choices import Lifecycle, SourceFormat, VersionStatus
from catalog.models import (
    CARD_SECTIONS,
    DataCard,
    Dataset,
    DatasetVersion,
    DriftReport,
    Feature,
    ProfilePart,
    Tag,
    Thumbnail,
)
from catalog.selectors import (
    datasets_sharing_source,
    datasets_visible_to,
    personal_data_visible_to,
    storage_may_register,
)
from catalog.sources import (
    Permit,
    ResolvedSource,
    SourceForbidden,
    local_path,
    source_opened,
    source_resolve,
    storage_roots,
)
from governance.choices import ChangeAction, ObjectType, OwnershipRole, Sensitivity
from governance.licensing import license_expression_parse
from governance.models import AuditSubject, Namespace, Ownership
from governance.services import (
    ChangeSpec,
    OwnersOnly,
    actor_owns_dataset,
    change_record,
    change_record_many,
    changed_values,
    ownership_add,
)
from profiler import drift, engine, report
from profiler.files import (
    LabelColumnMissing,
    ManifestEntry,
    SourceError,
    SourceFile,
    build_manifest,
    check_identities,
    glob_base,
    is_glob,
    manifest_fingerprint,
)
from profiler.readers import read_options_parse
from profiler.state import PartialProfile

logger = logging.getLogger(__name__)


class VersionBusy(Exception):
    def __init__(self, version: DatasetVersion) -> None:
        super().__init__(f"Version {version.number} is {version.status}; it can be profiled again once it is done.")
        self.version = version


class VersionNotProfiled(Exception):
    def __init__(self, version: DatasetVersion) -> None:
        super().__init__(
            f"Version {version.number} of {version.dataset} is {version.status}; drift needs both versions profiled."
        )
        self.version = version


class NamespaceClosed(PermissionDenied):
    def __init__(self, namespace: str) -> None:
        super().__init__(
            f"The namespace {namespace!r} has owners: only they and staff create datasets in it. "
            "Ask one of them, or staff, to register it or to add you."
        )
        self.namespace = namespace


class DatasetAlreadyExists(Exception):
    def __init__(self, existing: Dataset) -> None:
        super().__init__(f"A dataset named {existing.name!r} already exists in the namespace {existing.namespace!r}.")
        self.existing = existing


class ReadOptionsInapplicable(ValueError):
    """Read options were given for a source that is not delimited text."""

    def __init__(self, format: str) -> None:
        super().__init__(
            f"Read options apply to csv and tsv sources; this source is {format}. Leave read_options out, "
            "or give the source's format."
        )


class Inherit(enum.Enum):
    """What a new version's registration leaves out: taken from the version before it."""

    FROM_PREVIOUS = "from_previous"


INHERIT = Inherit.FROM_PREVIOUS


@dataclass(frozen=True)
class SourceSpec:
    uri: str
    format: str | None = None
    label_column: str = ""
    splits: dict[str, str] | None = None
    # As validated by readers.read_options_parse, in the API's spelling (ReadOptions.as_dict).
    read_options: dict[str, Any] | None = None
    task_type: str = ""


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


# The fields of a dataset people change (PATCH /datasets/{id}/), besides its tags.
DATASET_FIELDS = (
    "description",
    "license",
    "sensitivity",
    "origin",
    "origin_terms",
    "lifecycle",
    "deprecation_reason",
)


# Why a dataset's sensitivity is higher than the one asked for; the change log says so.
SENSITIVITY_FROM_SHARED_BYTES = (
    "raised to the strictest sensitivity of the datasets already registered on the same bytes"
)


def _registration_permit(actor: User) -> Permit:
    return lambda path: storage_may_register(user=actor, path=path)


def _shared_bytes_sensitivity(*, actor: User, resolved: ResolvedSource) -> str | None:
    """The strictest sensitivity among the datasets already registered on bytes this source takes
    in, or None when there are none. Raises SourceForbidden when the actor may not read one of
    them: registering those bytes again would show them what that dataset hides. The message
    names no dataset and no file."""
    sharing = list(datasets_sharing_source(resolved.uri).values_list("pk", "sensitivity"))
    if not sharing:
        return None
    readable = set(datasets_visible_to(actor).filter(pk__in=[pk for pk, _ in sharing]).values_list("pk", flat=True))
    if any(pk not in readable for pk, _ in sharing):
        raise SourceForbidden(
            "This source takes in data already registered by a dataset you may not read, so you may not "
            "register it. Ask that dataset's owners for access, or name a path that leaves it out."
        )
    return max((sensitivity for _, sensitivity in sharing), key=_sensitivity_rank)


def _sensitivity_rank(sensitivity: str) -> int:
    return Sensitivity.values.index(sensitivity)


def dataset_register(
    *,
    actor: User,
    namespace: str,
    name: str,
    description: str = "",
    license: str = "",
    tags: Sequence[str] = (),
    sensitivity: str | None = None,
    origin: str = "",
    origin_terms: str = "",
    source: SourceSpec | None = None,
) -> Dataset:
    """Register a dataset; the actor becomes its first owner. With a source, version 1 is created.

    Raises DatasetAlreadyExists for a (namespace, name) already taken, LicenseExpressionInvalid for a
    license that is not a valid SPDX expression of known ids, SourceRejected for a source that
    may not be read, and NamespaceClosed in a namespace whose owners do not include the actor; in
    each case nothing is written.
    """
    if Namespace.objects.closed_to(actor, [namespace]):
        raise NamespaceClosed(namespace)
    expression = license_expression_parse(license).expression
    resolved = (
        source_resolve(source.uri, format=source.format, permit=_registration_permit(actor))
        if source is not None
        else None
    )
    if resolved is not None and source is not None:
        _read_options_check(resolved.format, source.read_options)
    shared = _shared_bytes_sensitivity(actor=actor, resolved=resolved) if resolved is not None else None
    fields: dict[str, Any] = {
        "description": description,
        "license": expression,
        "origin": origin,
        "origin_terms": origin_terms,
        "created_by": actor,
    }
    if sensitivity:
        fields["sensitivity"] = sensitivity
    asked = fields.get("sensitivity") or Dataset._meta.get_field("sensitivity").get_default()
    raised = shared is not None and _sensitivity_rank(shared) > _sensitivity_rank(asked)
    if raised:
        fields["sensitivity"] = shared

    with transaction.atomic():
        try:
            with transaction.atomic():
                dataset = Dataset.objects.create(namespace=namespace, name=name, **fields)
        except IntegrityError:
            existing = Dataset.objects.filter(namespace=namespace, name=name).first()
            if existing is None:
                raise
            raise DatasetAlreadyExists(existing) from None
        tag_rows = _tags_for(tags) if tags else []
        if tag_rows:
            dataset.tags.set(tag_rows)
        change_record(
            actor=actor,
            action=ChangeAction.CREATE,
            object_type=ObjectType.DATASET,
            object_id=dataset.pk,
            dataset_id=dataset.pk,
            after={
                "namespace": namespace,
                "name": name,
                **dataset_values(dataset, tags=[tag.name for tag in tag_rows]),
                **({"sensitivity_reason": SENSITIVITY_FROM_SHARED_BYTES} if raised else {}),
            },
            object_repr=str(dataset),
        )
        ownership_add(dataset_id=dataset.pk, user=actor, role=OwnershipRole.OWNER, actor=actor)
        if resolved is not None and source is not None:
            _version_insert(
                dataset=dataset,
                actor=actor,
                uri=resolved.uri,
                format=resolved.format,
                label_column=source.label_column,
                splits=source.splits or {},
                read_options=source.read_options or {},
                task_type=source.task_type,
            )
    return dataset


def version_create(
    *,
    actor: User,
    dataset: Dataset,
    uri: str,
    format: str | None = None,
    label_column: str | Inherit | None = INHERIT,
    splits: dict[str, str] | Inherit | None = INHERIT,
    read_options: dict[str, Any] | Inherit | None = INHERIT,
    task_type: str | Inherit | None = INHERIT,
) -> DatasetVersion:
    """Register a new version of a dataset from a source; it is profiled by a worker once committed.

    What the registration leaves out (INHERIT) is taken from the version before (`_carried_over`);
    None (or empty) says the new version has none. The source follows the rules of a registration:
    a storage location that grants the actor, and bytes other datasets registered only if the
    actor may read them; the dataset then takes the strictest sensitivity of those datasets. Raises
    ReadOptionsInapplicable for read options given for a source other than CSV or TSV.
    """
    resolved = source_resolve(uri, format=format, permit=_registration_permit(actor))
    if not isinstance(read_options, Inherit):
        _read_options_check(resolved.format, read_options)
    shared = _shared_bytes_sensitivity(actor=actor, resolved=resolved)
    with transaction.atomic():
        if shared is not None:
            _sensitivity_raise(actor=actor, dataset=dataset, sensitivity=shared)
        return _version_insert(
            dataset=dataset,
            actor=actor,
            uri=resolved.uri,
            format=resolved.format,
            label_column=label_column,
            splits=splits,
            read_options=read_options,
            task_type=task_type,
        )


@dataclass(frozen=True)
class _Declared:
    """What a version is registered with besides its source, once what it inherits is settled."""

    label_column: str
    splits: dict[str, str]
    read_options: dict[str, Any]
    task_type: str
    inherited: tuple[str, ...] = ()


def _carried_over(
    previous: DatasetVersion | None,
    *,
    format: str,
    label_column: str | Inherit | None,
    splits: dict[str, str] | Inherit | None,
    read_options: dict[str, Any] | Inherit | None,
    task_type: str | Inherit | None,
) -> _Declared:
    """A new version keeps what the version before it was registered with, unless told otherwise:
    its label column and splits; its read options when the source is of the same format (they say
    how that format is read); its task type when the label column is the same one (it says what
    that label is). None removes a field. Returns the settled values and the fields inherited."""
    inherited: list[str] = []

    def settle(field: str, given: Any, carried: Any, empty: Any) -> Any:
        if not isinstance(given, Inherit):
            return given or empty
        if carried:
            inherited.append(field)
            return carried
        return empty

    label = settle("label_column", label_column, previous.label_column if previous else "", "")
    declared = _Declared(
        label_column=label,
        splits=settle("splits", splits, previous.splits if previous else {}, {}),
        read_options=settle(
            "read_options",
            read_options,
            previous.read_options if previous is not None and previous.format == format else {},
            {},
        ),
        task_type=settle(
            "task_type",
            task_type,
            previous.task_type if previous is not None and previous.label_column == label else "",
            "",
        ),
    )
    return dataclasses.replace(declared, inherited=tuple(inherited))


def _read_options_check(format: str, read_options: dict[str, Any] | None) -> None:
    if read_options and format not in (SourceFormat.CSV, SourceFormat.TSV):
        raise ReadOptionsInapplicable(format)


def _sensitivity_raise(*, actor: User, dataset: Dataset, sensitivity: str) -> None:
    locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
    if _sensitivity_rank(sensitivity) <= _sensitivity_rank(locked.sensitivity):
        return
    Dataset.objects.filter(pk=locked.pk).update(sensitivity=sensitivity, updated_at=timezone.now())
    dataset.sensitivity = sensitivity
    change_record(
        actor=actor,
        action=ChangeAction.UPDATE,
        object_type=ObjectType.DATASET,
        object_id=locked.pk,
        dataset_id=locked.pk,
        before={"sensitivity": locked.sensitivity},
        after={"sensitivity": sensitivity, "sensitivity_reason": SENSITIVITY_FROM_SHARED_BYTES},
        object_repr=str(locked),
    )


def _version_insert(
    *,
    dataset: Dataset,
    actor: User,
    uri: str,
    format: str,
    label_column: str | Inherit | None,
    splits: dict[str, str] | Inherit | None,
    read_options: dict[str, Any] | Inherit | None,
    task_type: str | Inherit | None,
) -> DatasetVersion:
    # The dataset row lock serialises version numbering: two registrations never get the same number,
    # and each inherits from the version registered just before it.
    locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
    previous = (
        locked.versions.order_by("-number")
        .only("number", "format", "label_column", "splits", "read_options", "task_type")
        .first()
    )
    number = (previous.number if previous is not None else 0) + 1
    now = timezone.now()
    declared = _carried_over(
        previous,
        format=format,
        label_column=label_column,
        splits=splits,
        read_options=read_options,
        task_type=task_type,
    )
    version = DatasetVersion.objects.create(
        dataset=locked,
        number=number,
        uri=uri,
        format=format,
        label_column=declared.label_column,
        splits=declared.splits,
        read_options=declared.read_options,
        task_type=declared.task_type,
        status=VersionStatus.PENDING,
        status_changed_at=now,
        queued_at=_queued_at(now),
        created_by=actor,
    )
    Dataset.objects.filter(pk=locked.pk).update(latest_version=version, updated_at=timezone.now())
    dataset.latest_version = version
    change_record(
        actor=actor,
        action=ChangeAction.CREATE,
        object_type=ObjectType.VERSION,
        object_id=version.pk,
        dataset_id=locked.pk,
        after={
            "number": number,
            "uri": uri,
            "format": format,
            "label_column": declared.label_column,
            "splits": declared.splits,
            **({"read_options": declared.read_options} if declared.read_options else {}),
            **({"task_type": declared.task_type} if declared.task_type else {}),
            **(
                {"inherited": list(declared.inherited), "inherited_from": previous.number}
                if declared.inherited and previous is not None
                else {}
            ),
        },
        object_repr=str(version),
    )
    transaction.on_commit(lambda: version_dispatch(version_id=version.pk))
    return version


def _queued_at(now: datetime) -> datetime | None:
    """When a version made pending now is handed to the broker: now, or never when tasks run in the
    process that asks for them (no broker), where nothing can be lost on the way to a worker."""
    from catalog.tasks import version_profile_task

    return None if version_profile_task.app.conf.task_always_eager else now


def version_dispatch(*, version_id: UUID) -> None:
    """Queue a version for profiling. Called after commit; a broker outage is survived, not raised."""
    from catalog.tasks import version_profile_task

    try:
        version_profile_task.delay(str(version_id))
    except Exception:
        # The registration is committed; the periodic re-queue sends it once the broker is back.
        logger.exception("Could not queue version %s for profiling; it will be re-queued", version_id)


def dataset_update(*, actor: User, dataset: Dataset, **changes: Any) -> Dataset:
    """Change a dataset's descriptive fields (description, license, tags, sensitivity, origin,
    lifecycle: a deprecated dataset stays readable and listed, marked, with the reason).

    The license is checked and normalised as at registration (LicenseExpressionInvalid)."""
    allowed = set(DATASET_FIELDS)
    unknown = set(changes) - allowed - {"tags"}
    if unknown:
        raise ValueError(f"Cannot change {', '.join(sorted(unknown))} of a dataset.")
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
    return locked


class DatasetNotPurgeable(Exception):
    pass


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
    for dataset in created:
        ownership_add(dataset_id=dataset.pk, user=actor, role=OwnershipRole.OWNER, actor=actor)
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


# --- Profiling (run by workers) -------------------------------------------------------------------


def _claim(version_id: UUID, claim: UUID) -> bool:
    """Take a version for profiling if it is waiting, if its previous claim went stale, or if the
    claim is already ours (the same task retried, or redelivered after its worker died)."""
    now = timezone.now()
    stale_before = now - settings.CATALOG_PROFILING_STUCK_AFTER
    taken = DatasetVersion.objects.filter(
        Q(status=VersionStatus.PENDING)
        | Q(status=VersionStatus.PROFILING, status_changed_at__lt=stale_before)
        | Q(status=VersionStatus.PROFILING, profiling_claim=claim),
        pk=version_id,
    ).update(
        status=VersionStatus.PROFILING,
        status_changed_at=now,
        profiling_claim=claim,
        profile_attempts=F("profile_attempts") + 1,
        updated_at=now,
    )
    return bool(taken)


def _finish(version_id: UUID, claim: UUID, **fields: Any) -> bool:
    now = timezone.now()
    return bool(
        DatasetVersion.objects.filter(pk=version_id, status=VersionStatus.PROFILING, profiling_claim=claim).update(
            status_changed_at=now, updated_at=now, profiling_claim=None, **fields
        )
    )


def version_profile(*, version_id: UUID, claim: UUID | None = None) -> str | None:
    """Read a version's source and store what it holds. Returns the final status ("profiling" when
    the work was handed to a chord of partition tasks), or None when the version was not this
    call's to profile (already done, or being profiled by another worker).

    `claim` identifies this attempt (the task id, which survives retries and redelivery)."""
    claim = claim or uuid.uuid4()
    if not _claim(version_id, claim):
        logger.info("Version %s is not waiting for profiling; skipped", version_id)
        return None
    version = DatasetVersion.objects.get(pk=version_id)
    try:
        with source_opened(version.uri) as files:
            manifest = build_manifest(files)
            planned, options, label_missing = _plan(version, files)
            partitions = planned.partitions
            if version.splits and version.format in engine.TABULAR_FORMATS:
                engine.split_names(partitions, version.splits)  # every split holds files, none overlap
            if len(partitions) > 1 and _spread_over_workers(version.uri):
                _store_manifest(
                    version_id, claim, manifest, files, dialect=planned.dialect, label_missing=label_missing
                )
                dispatch_chord(version_id=version_id, claim=claim, parts=len(partitions))
                return VersionStatus.PROFILING
            profile = engine.profile_files(files, version.format, options=options, workers=1)
            profile["label_missing"] = label_missing
    except SourceError as exc:
        _finish(version_id, claim, status=VersionStatus.FAILED, error=str(exc), profiled_at=timezone.now())
        logger.info("Version %s failed: %s", version_id, exc)
        return VersionStatus.FAILED
    return VersionStatus.READY if _store_profile(version_id, claim, profile, manifest) else None


def _engine_options(version: DatasetVersion) -> engine.Options:
    """What the engine is told of a version: its label, splits, read options and task type."""
    try:
        read_options = read_options_parse(version.read_options or None)
    except ValueError as exc:  # validated when registered; a row edited since is refused the same way
        raise SourceError(f"The version's read options are invalid: {exc}") from exc
    return engine.Options(
        label_column=version.label_column or None,
        splits=version.splits or None,
        read_options=read_options,
        # The engine classifies the label itself unless told.
        task_type=version.task_type or None,
    )


def _plan(
    version: DatasetVersion, files: Sequence[SourceFile]
) -> tuple[engine.Plan, engine.Options, dict[str, Any] | None]:
    """The plan of a version's source, the options it is profiled with, and, when the label column
    the version before was labelled by is not in this source, that column and that version's
    number: the version is then profiled without that label, and says why in a finding, rather than
    failing as a label column a registration names for the first time does (most likely a typo)."""
    options = _engine_options(version)
    try:
        planned = engine.plan_source(
            files, version.format, options.label_column, options.splits, read_options=options.read_options
        )
        return planned, options, None
    except LabelColumnMissing:
        previous = (
            DatasetVersion.objects.filter(dataset_id=version.dataset_id, number__lt=version.number)
            .order_by("-number")
            .values_list("number", "label_column")
            .first()
        )
        if previous is None or previous[1] != version.label_column:
            raise
    options = dataclasses.replace(options, label_column=None, task_type=None)
    planned = engine.plan_source(files, version.format, None, options.splits, read_options=options.read_options)
    return planned, options, {"column": version.label_column, "version": previous[0]}


def _spread_over_workers(uri: str) -> bool:
    # Parts run on other workers, which read local sources from the shared storage roots; a
    # downloaded source exists only where it was downloaded, and in-process tasks gain nothing.
    return not settings.CELERY_TASK_ALWAYS_EAGER and not uri.lower().startswith("https://")


def dispatch_chord(*, version_id: UUID, claim: UUID, parts: int) -> None:
    from catalog.tasks import version_merge_parts_task, version_profile_part_task

    header = [version_profile_part_task.s(str(version_id), str(claim), index) for index in range(parts)]
    celery_chord(header)(version_merge_parts_task.s(str(version_id), str(claim), parts))


def version_profile_part(*, version_id: UUID, claim: UUID, index: int) -> bool:
    """Profile one partition of a version for a chord; the part is stored for the merge."""
    version = DatasetVersion.objects.filter(
        pk=version_id, status=VersionStatus.PROFILING, profiling_claim=claim
    ).first()
    if version is None:
        return False  # superseded, or failed by another part
    try:
        with source_opened(version.uri) as opened:
            # Every file read here must be the one hashed for the manifest, by whichever worker did it.
            files = _recorded_files(version_id, claim, opened)
            planned, options, _ = _plan(version, files)
            partitions, label, declared = planned.partitions, planned.label, planned.declared
            if index >= len(partitions):
                raise SourceError("The source changed while it was being profiled; profile it again.")
            order = {
                file.relative_path: position
                for position, file in enumerate(sorted(files, key=lambda f: f.relative_path))
            }
            partition = partitions[index]
            part = engine.profile_partition(
                partition,
                file_index=order[partition.relative_path],
                label_column=label,
                declared=declared,
                options=options,
            )
    except SourceError as exc:
        _finish(version_id, claim, status=VersionStatus.FAILED, error=str(exc), profiled_at=timezone.now())
        return False
    _part_store(version_id, claim, index, part.to_bytes())
    return True


# The files a chord's parts may read: their identities when the manifest was made, kept beside the parts
# (in the same scratch table, at an index no part has) rather than in the manifest people see.
_FILES_INDEX = 2**31 - 1


def _host() -> str:
    """This machine while it runs: device numbers mean the same file only on the same one."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except OSError:
        return socket.gethostname()


def _record_files(version_id: UUID, claim: UUID, files: Sequence[SourceFile]) -> None:
    identities = {file.relative_path: file.identity.as_list() for file in files if file.identity is not None}
    record = {"host": _host(), "files": identities}
    _part_store(version_id, claim, _FILES_INDEX, json.dumps(record, separators=(",", ":")).encode())


def _recorded_files(version_id: UUID, claim: UUID, files: Sequence[SourceFile]) -> list[SourceFile]:
    stored = ProfilePart.objects.filter(version_id=version_id, claim=claim, index=_FILES_INDEX).first()
    if stored is None:
        raise SourceError("The files of the source were not recorded when it was hashed; profile it again.")
    record = json.loads(bytes(stored.data))
    return check_identities(files, record["files"], same_device_numbers=record["host"] == _host())


# A partial profile holds its rows' duplicate-detection hashes (24 bytes a row: 25 MB for a million
# rows). Django binds parameters into the SQL text, so a bytea travels as hex and is parsed back by
# the server (0.8 s to store a million rows' part); on PostgreSQL parts go as binary parameters and
# come back as binary results instead (0.2 s, and a quarter of the time to read).


def _part_store(version_id: UUID, claim: UUID, index: int, data: bytes) -> None:
    if connection.vendor != "postgresql":
        ProfilePart.objects.update_or_create(version_id=version_id, claim=claim, index=index, defaults={"data": data})
        return
    connection.ensure_connection()
    # Django's own exceptions, so a database that blinked is retried like any other query's fault.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            psycopg.sql.SQL(
                "INSERT INTO {table} (version_id, claim, index, data, created_at) VALUES (%s, %s, %s, %b, now()) "
                "ON CONFLICT (version_id, claim, index) DO UPDATE SET data = EXCLUDED.data"
            ).format(table=psycopg.sql.Identifier(ProfilePart._meta.db_table)),
            [version_id, claim, index, data],
        )


def _parts_stored(version_id: UUID, claim: UUID) -> list[bytes]:
    """The stored parts of a version's profiling attempt, in their order."""
    if connection.vendor != "postgresql":
        parts = ProfilePart.objects.filter(version_id=version_id, claim=claim, index__lt=_FILES_INDEX).order_by("index")
        return [bytes(part.data) for part in parts]
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            psycopg.sql.SQL(
                "SELECT data FROM {table} WHERE version_id = %s AND claim = %s AND index < %s ORDER BY index"
            ).format(table=psycopg.sql.Identifier(ProfilePart._meta.db_table)),
            [version_id, claim, _FILES_INDEX],
            binary=True,
        )
        return [bytes(data) for (data,) in cursor.fetchall()]


def version_merge_parts(*, version_id: UUID, claim: UUID, parts: int) -> str | None:
    """The chord's end: merge the stored partial profiles of a version and store its profile."""
    data = _parts_stored(version_id, claim)
    try:
        if len(data) != parts:
            if not DatasetVersion.objects.filter(pk=version_id, profiling_claim=claim).exists():
                return None  # a part failed the version, or a newer attempt took over
            raise SourceError(f"Only {len(data)} of {parts} parts of the source were profiled; profile it again.")
        splits, format = DatasetVersion.objects.values_list("splits", "format").get(pk=version_id)
        if splits and format in engine.TABULAR_FORMATS:  # a folder of media knows its splits per item
            covered = [PartialProfile.files_of(part) for part in data]
            names = [engine.split_of(files[0], splits) if files else None for files in covered]
            file_names = sorted({name for files in covered for name in files})
            profile = engine.build_with_splits(data, names, file_names)
        else:
            profile = engine.merge_and_build([PartialProfile.from_bytes(part) for part in data])
    except SourceError as exc:
        _finish(version_id, claim, status=VersionStatus.FAILED, error=str(exc), profiled_at=timezone.now())
        return VersionStatus.FAILED
    finally:
        ProfilePart.objects.filter(version_id=version_id, claim=claim).delete()
    stored_ok = _store_profile(version_id, claim, profile, None)
    logger.info("Version %s merged from %d parts", version_id, parts)
    return VersionStatus.READY if stored_ok else None


def _manifest_fields(manifest: Sequence[ManifestEntry]) -> dict[str, Any]:
    return {
        "manifest": [entry.as_dict() for entry in manifest],
        "fingerprint": manifest_fingerprint(manifest),
        "size_bytes": sum(entry.size for entry in manifest),
        "file_count": len(manifest),
    }


def _store_manifest(
    version_id: UUID,
    claim: UUID,
    manifest: Sequence[ManifestEntry],
    files: Sequence[SourceFile],
    *,
    dialect: dict[str, Any] | None = None,
    label_missing: dict[str, Any] | None = None,
) -> None:
    """The manifest, before a chord profiles the files; and, for its parts, which files were hashed.
    How the text is read (its dialect) and a label column gone since the version before are known
    now, and kept in the profile for the merge."""
    _record_files(version_id, claim, files)
    DatasetVersion.objects.filter(pk=version_id, profiling_claim=claim).update(
        **_manifest_fields(manifest),
        profile={"dialect": dialect, "label_missing": label_missing},
    )


def _store_profile(
    version_id: UUID, claim: UUID, profile: dict[str, Any], manifest: Sequence[ManifestEntry] | None
) -> bool:
    """Store a finished profile, its features and thumbnails included, if the claim still holds."""
    thumbnails = profile.pop("thumbnails", [])
    profile = json_safe(profile)
    fields: dict[str, Any] = {
        "status": VersionStatus.READY,
        "error": "",
        "row_count": profile["row_count"],
        "quality": profile["quality"],
        "profile": {
            "correlations": profile["correlations"],
            "label_association": profile["label_association"],
            "sample": profile["sample"],
            "column_count": profile["column_count"],
            "distributions": profile.get("distributions", {}),
            "splits": profile.get("splits", {}),
            **({"media": profile["media"]} if "media" in profile else {}),
        },
        "profiled_at": timezone.now(),
    }
    if manifest is not None:
        fields.update(_manifest_fields(manifest))
    with transaction.atomic():
        locked = (
            DatasetVersion.objects.select_for_update()
            .filter(pk=version_id, status=VersionStatus.PROFILING, profiling_claim=claim)
            .first()
        )
        if locked is None:
            return False
        # A chord's merge builds the profile from the parts: how the text was read, and whether the label
        # was missing, were stored before them.
        dialect = profile.get("dialect") or (locked.profile or {}).get("dialect")
        if dialect is not None:
            fields["profile"]["dialect"] = dialect
        stored = locked.profile or {}
        label_missing = profile["label_missing"] if "label_missing" in profile else stored.get("label_missing")
        against = version_previous_profiled(locked)
        curated = _curated_annotations(locked, against)
        Thumbnail.objects.filter(version_id=version_id).delete()
        Thumbnail.objects.bulk_create(
            Thumbnail(version_id=version_id, position=position, **{**thumbnail, "label": thumbnail["label"] or ""})
            for position, thumbnail in enumerate(thumbnails)
        )
        Feature.objects.filter(version_id=version_id).delete()
        Feature.objects.bulk_create(
            _feature_with_annotations(version_id, feature, curated.get(feature["name"]))
            for feature in profile["features"]
        )
        fingerprint = fields["fingerprint"] if manifest is not None else locked.fingerprint
        fields["unchanged_from"] = _unchanged_from(locked, fingerprint)
        if against is not None:
            fields["quality"] = _with_drift(locked, profile, against)
        if label_missing:
            lost = drift.label_missing_finding(label_missing["column"], f"version {label_missing['version']}")
            quality = fields["quality"]
            fields["quality"] = {**quality, "findings": report.sort_findings([lost, *quality.get("findings", [])])}
        return _finish(version_id, claim, **fields)


def version_previous_profiled(version: DatasetVersion) -> DatasetVersion | None:
    """The latest earlier version of the same dataset that was profiled: what drift compares with by
    default, and where people's decisions on features are carried over from."""
    return (
        DatasetVersion.objects.filter(
            dataset_id=version.dataset_id, number__lt=version.number, status=VersionStatus.READY
        )
        .order_by("-number")
        .first()
    )


def _unchanged_from(version: DatasetVersion, fingerprint: str) -> DatasetVersion | None:
    """The version before this one, if it holds the same bytes (the latest earlier fingerprint)."""
    earlier = (
        DatasetVersion.objects.filter(dataset_id=version.dataset_id, number__lt=version.number)
        .exclude(fingerprint="")
        .order_by("-number")
        .only("id", "fingerprint")
        .first()
    )
    return earlier if earlier is not None and earlier.fingerprint == fingerprint else None


CURATED_FIELDS = ("description", "role", "pii")


def _curated_annotations(version: DatasetVersion, source: DatasetVersion | None) -> dict[str, Feature]:
    """What people decided about each feature, by name: kept from this version's own features when it
    is profiled again, else carried over from `source` (the latest earlier profiled version)."""
    own = [feature for feature in Feature.objects.filter(version=version) if feature.curated]
    if own:
        return {feature.name: feature for feature in own}
    if source is None:
        return {}
    return {feature.name: feature for feature in Feature.objects.filter(version=source) if feature.curated}


def _feature_with_annotations(version_id: UUID, feature: dict[str, Any], curated: Feature | None) -> Feature:
    row = Feature(
        version_id=version_id,
        name=feature["name"],
        position=feature["position"],
        dtype=feature["dtype"][:128],
        logical_type=feature["logical_type"],
        role=feature["role"],
        pii=feature["pii"],
        statistics=feature["statistics"],
    )
    if curated is not None:
        for field in curated.curated:
            if field in CURATED_FIELDS:
                setattr(row, field, getattr(curated, field))
        row.curated = [field for field in curated.curated if field in CURATED_FIELDS]
        row.curated_by_id = curated.curated_by_id
        row.curated_at = curated.curated_at
    return row


def _with_drift(version: DatasetVersion, profile: dict[str, Any], against: DatasetVersion) -> dict[str, Any]:
    """Compare a freshly profiled version with the one before it: store the report, and return its
    quality with the drift findings and a summary added."""
    quality = dict(profile["quality"])
    try:
        current = drift.profile_view(
            row_count=profile["row_count"],
            features=profile["features"],
            distributions=profile.get("distributions"),
            quality=profile["quality"],
        )
        result = drift.compare(current, drift_view(against))
    except Exception:
        # Drift is a comparison on top of the profile; a fault in it must not lose the profile.
        logger.exception("Drift of version %s against %s failed", version.pk, against.pk)
        return quality
    DriftReport.objects.update_or_create(version_id=version.pk, against_id=against.pk, defaults={"result": result})
    findings = drift.findings(result, f"version {against.number}")
    quality["findings"] = report.sort_findings([*quality.get("findings", []), *findings])
    quality["drift"] = {
        "against": str(against.pk),
        "against_number": against.number,
        "drifted_features": result["drifted_features"],
        "label_drifted": bool(result["label"] and result["label"]["drifted"]),
        "schema_changed": any(result["schema"][key] for key in ("added", "removed", "changed", "renamed")),
    }
    return quality


def drift_view(version: DatasetVersion, *, withheld: Collection[str] = ()) -> drift.ProfileView:
    """A stored version as drift reads it: its features' statistics and its stored distributions,
    without the features named in `withheld` (nor its label, if that is one of them)."""
    needed = {"row_count", "quality", "profile"}
    loaded = not (needed & version.get_deferred_fields())
    stored = version if loaded else DatasetVersion.objects.only(*needed).get(pk=version.pk)
    features = [
        {"name": name, "dtype": dtype, "logical_type": logical_type, "statistics": statistics}
        for name, dtype, logical_type, statistics in Feature.objects.filter(version_id=version.pk)
        .exclude(name__in=list(withheld))
        .values_list("name", "dtype", "logical_type", "statistics")
    ]
    quality = stored.quality or {}
    if quality.get("label_column") in withheld:
        quality = {key: value for key, value in quality.items() if key not in ("label_column", "class_counts")}
    return drift.profile_view(
        row_count=stored.row_count or 0,
        features=features,
        distributions=(stored.profile or {}).get("distributions"),
        quality=quality,
    )


def version_drift(
    *, version: DatasetVersion, against: DatasetVersion, reader: User | AnonymousUser | None = None
) -> dict[str, Any]:
    """Drift of one profiled version from another (of the same dataset or any other), as `reader`
    may see it: the personal-data features of a version whose values the reader may not see are left
    out on both sides (by name, so neither a same-named column nor a rename can be compared with
    them), and so is the label when it is one of them; `masked_features` names them. Without a
    reader (the catalog itself), every feature is compared."""
    for item in (version, against):
        if item.status != VersionStatus.READY:
            raise VersionNotProfiled(item)
    withheld: set[str] = set()
    if reader is not None:
        for item in (version, against):
            if not personal_data_visible_to(user=reader, dataset_id=item.dataset_id):
                withheld |= set(Feature.objects.filter(version_id=item.pk, pii=True).values_list("name", flat=True))
    result = drift.compare(drift_view(version, withheld=withheld), drift_view(against, withheld=withheld))
    return {**result, "masked_features": sorted(withheld)}


def json_safe(value: Any) -> Any:
    """PostgreSQL's jsonb refuses NUL characters; data may hold them. They become U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {json_safe(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def _reprofile_source_check(*, actor: User, version: DatasetVersion) -> str | None:
    """Check a local source against today's rules before the worker expands it again: a glob
    registered before staff narrowed a location, or before someone registered restricted files
    under it, would otherwise take those files in. Refused (SourceForbidden) as a registration of
    the same source by the actor would be; otherwise the strictest sensitivity of the datasets
    registered on its bytes (None: none). Only rules are asked here, never the file system: a path
    outside the roots, missing or replaced by a link is the worker's to refuse, failing the version
    with the file's name."""
    if version.uri[:7].lower() != "file://":
        return None
    path = local_path(version.uri)
    anchor = glob_base(path) if is_glob(path) else Path(path)
    if not any(anchor == root or anchor.is_relative_to(root) for root in storage_roots()):
        return None
    if not storage_may_register(user=actor, path=path):
        raise SourceForbidden(
            "This version's source may no longer be registered by you: a storage location now covering it "
            "(or a narrower one it takes in) does not grant you registration, so it is not profiled again. "
            "Ask staff to add you to the storage location, or register a new version from a path it grants."
        )
    try:
        return _shared_bytes_sensitivity(actor=actor, resolved=ResolvedSource(uri=version.uri, format=version.format))
    except SourceForbidden:
        raise SourceForbidden(
            "This version's source now takes in data registered by a dataset you may not read, so it is not "
            "profiled again. Ask that dataset's owners for access, or register a new version from a path "
            "that leaves it out."
        ) from None


def version_reprofile(*, actor: User, version: DatasetVersion) -> DatasetVersion:
    """Queue a finished version to be profiled again (after a fix to its source or to the engine).

    A local source is checked against the current storage locations and the datasets registered on
    its bytes since (SourceForbidden, nothing changed), as registering it would be; the dataset
    takes the strictest sensitivity of those datasets."""
    shared = _reprofile_source_check(actor=actor, version=version)
    with transaction.atomic():
        return _version_requeue(actor=actor, version=version, shared=shared)


def _version_requeue(*, actor: User, version: DatasetVersion, shared: str | None) -> DatasetVersion:
    # The dataset row first, as registration takes it: rolled back with the rest if the version is busy.
    if shared is not None:
        _sensitivity_raise(actor=actor, dataset=version.dataset, sensitivity=shared)
    now = timezone.now()
    updated = DatasetVersion.objects.filter(
        pk=version.pk, status__in=[VersionStatus.READY, VersionStatus.FAILED]
    ).update(
        status=VersionStatus.PENDING,
        status_changed_at=now,
        queued_at=_queued_at(now),
        updated_at=now,
        error="",
        profiling_claim=None,
    )
    if not updated:
        raise VersionBusy(version)
    change_record(
        actor=actor,
        action=ChangeAction.UPDATE,
        object_type=ObjectType.VERSION,
        object_id=version.pk,
        dataset_id=version.dataset_id,
        before={"status": version.status},
        after={"status": VersionStatus.PENDING, "reprofile": True},
        object_repr=str(version),
    )
    transaction.on_commit(lambda: version_dispatch(version_id=version.pk))
    version.refresh_from_db()
    return version


def version_fail(*, version_id: UUID, error: str, claim: UUID | None = None) -> None:
    """Record that profiling gave up on a version (a time limit, a fault, attempts exhausted)."""
    now = timezone.now()
    versions = DatasetVersion.objects.filter(pk=version_id, status=VersionStatus.PROFILING)
    if claim is not None:
        versions = versions.filter(profiling_claim=claim)
    versions.update(
        status=VersionStatus.FAILED,
        error=error,
        status_changed_at=now,
        updated_at=now,
        profiling_claim=None,
        profiled_at=now,
    )


def versions_requeue_stuck() -> list[UUID]:
    """Queue again every version whose message was lost: sent to the broker longer ago than
    CATALOG_PENDING_REQUEUE_AFTER and still pending (a broker that was down or lost its memory), or
    half-profiled past CATALOG_PROFILING_STUCK_AFTER (a worker killed mid-profile).

    Only versions handed to the broker are looked after: one profiled in the process that registered
    it (no broker) is that process's to finish. Each is sent at most once per period, so a long queue
    is not flooded with copies, and a row another transaction holds is left to it."""
    now = timezone.now()
    # A version that keeps killing its worker (or outlasting the time limit) is given up on.
    exhausted = DatasetVersion.objects.filter(
        status=VersionStatus.PROFILING,
        status_changed_at__lt=now - settings.CATALOG_PROFILING_STUCK_AFTER,
        profile_attempts__gte=settings.CATALOG_MAX_PROFILE_ATTEMPTS,
        queued_at__isnull=False,
    )
    for version_id in exhausted.values_list("pk", flat=True):
        version_fail(
            version_id=version_id,
            error=f"Profiling was attempted {settings.CATALOG_MAX_PROFILE_ATTEMPTS} times without finishing "
            "(a worker died or the time limit passed each time); the source may be too large for the workers.",
        )
    with transaction.atomic():
        stuck = list(
            DatasetVersion.objects.filter(
                Q(status=VersionStatus.PENDING)
                | Q(status=VersionStatus.PROFILING, status_changed_at__lt=now - settings.CATALOG_PROFILING_STUCK_AFTER),
                queued_at__lt=now - settings.CATALOG_PENDING_REQUEUE_AFTER,
            )
            .order_by("pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        DatasetVersion.objects.filter(pk__in=stuck).update(queued_at=now)
        for version_id in stuck:
            transaction.on_commit(partial(version_dispatch, version_id=version_id))
    if stuck:
        logger.warning("Re-queued %d version(s) stuck in pending or profiling", len(stuck))
    return stuck


# --- Annotations, deprecation, verification ---------------------------------------------------------


def version_update(*, actor: User, version: DatasetVersion, **changes: Any) -> DatasetVersion:
    """Change what people say about a version: its notes, and whether it is deprecated (with a reason).

    Its source, format, fingerprint and statistics never change here: a version means the bytes it was
    registered with."""
    allowed = {"notes", "deprecated", "deprecation_reason"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"Cannot change {', '.join(sorted(unknown))} of a version.")
    with transaction.atomic():
        locked = DatasetVersion.objects.select_for_update().get(pk=version.pk)
        before = _version_values(locked)
        if "notes" in changes:
            locked.notes = changes["notes"]
        if "deprecation_reason" in changes:
            locked.deprecation_reason = changes["deprecation_reason"]
        if changes.get("deprecated") is True and locked.deprecated_at is None:
            locked.deprecated_at = timezone.now()
        elif changes.get("deprecated") is False:
            locked.deprecated_at = None
            locked.deprecation_reason = ""
        old, new = changed_values(before, _version_values(locked))
        if new:
            locked.save(update_fields=["notes", "deprecated_at", "deprecation_reason", "updated_at"])
            change_record(
                actor=actor,
                action=ChangeAction.UPDATE,
                object_type=ObjectType.VERSION,
                object_id=locked.pk,
                dataset_id=locked.dataset_id,
                before=old,
                after=new,
                object_repr=str(locked),
            )
    return locked


def _version_values(version: DatasetVersion) -> dict[str, Any]:
    return {
        "notes": version.notes,
        "deprecated": version.deprecated_at is not None,
        "deprecation_reason": version.deprecation_reason,
    }


def feature_curate(*, actor: User, feature: Feature, **changes: Any) -> Feature:
    """Record a person's decision about a feature (its description, role, or whether it is personal
    data). Profiling never overrides it, and it carries over to later versions by feature name."""
    unknown = set(changes) - set(CURATED_FIELDS)
    if unknown:
        raise ValueError(f"Cannot change {', '.join(sorted(unknown))} of a feature.")
    with transaction.atomic():
        locked = Feature.objects.select_for_update().select_related("version").get(pk=feature.pk)
        before = {field: getattr(locked, field) for field in changes}
        for field, value in changes.items():
            setattr(locked, field, value)
        locked.curated = sorted(set(locked.curated) | set(changes))
        locked.curated_by = actor
        locked.curated_at = timezone.now()
        locked.save(update_fields=[*changes, "curated", "curated_by", "curated_at"])
        # A confirmation of what profiling suggested is a decision too, so it is recorded even when
        # the value stays the same.
        change_record(
            actor=actor,
            action=ChangeAction.UPDATE,
            object_type=ObjectType.FEATURE,
            object_id=locked.pk,
            dataset_id=locked.version.dataset_id,
            before=before,
            after={field: getattr(locked, field) for field in changes},
            object_repr=f"{locked.version}: {locked.name}",
        )
    return locked


class VersionNotVerifiable(Exception):
    def __init__(self, version: DatasetVersion) -> None:
        super().__init__(
            f"Version {version.number} has no manifest yet ({version.status}); it can be verified once profiled."
        )
        self.version = version


def version_verify_request(*, actor: User, version: DatasetVersion) -> None:
    """Queue a re-hash of a version's source (answered at once; the worker records the outcome)."""
    if not version.manifest:
        raise VersionNotVerifiable(version)
    transaction.on_commit(lambda: version_verify_dispatch(version_id=version.pk))


def version_verify_dispatch(*, version_id: UUID) -> None:
    from catalog.tasks import version_verify_task

    try:
        version_verify_task.delay(str(version_id))
    except Exception:
        logger.exception("Could not queue version %s for verification; the schedule will retry it", version_id)


def version_verify(*, version_id: UUID) -> dict[str, Any]:
    """Re-hash a version's source and compare it with the manifest it was registered with. A source
    whose bytes differ (or that is gone) marks the version `source_changed`, with when it was found."""
    version = DatasetVersion.objects.get(pk=version_id)
    recorded = {entry["path"]: entry for entry in version.manifest}
    now = timezone.now()
    outcome: dict[str, Any] = {"checked_at": now.isoformat()}
    try:
        with source_opened(version.uri) as files:
            current_entries = {entry.path: entry for entry in build_manifest(files)}
            current = {path: entry.as_dict() for path, entry in current_entries.items()}
    except SourceError as exc:
        outcome.update(status="unreadable", detail=str(exc))
    else:
        changed = sorted(
            path
            for path in recorded.keys() & current.keys()
            if (recorded[path]["sha256"], recorded[path]["size"]) != (current[path]["sha256"], current[path]["size"])
        )
        added = sorted(current.keys() - recorded.keys())
        removed = sorted(recorded.keys() - current.keys())
        matches = not (changed or added or removed)
        outcome.update(
            status="unchanged" if matches else "changed",
            changed=changed[:100],
            added=added[:100],
            removed=removed[:100],
            fingerprint=manifest_fingerprint(list(current_entries.values())),
        )
        if not matches:
            outcome["detail"] = (
                f"{len(changed)} file(s) changed, {len(added)} added, {len(removed)} removed since registration."
            )
    fields: dict[str, Any] = {"verification": outcome, "updated_at": now}
    if outcome["status"] == "unchanged":
        # The bytes are those of the registration (again): the version means what it meant.
        fields.update(verified_at=now, source_changed_at=None)
    else:
        # Kept from the first time the bytes were found different; one UPDATE, so no reader sees
        # the outcome without the mark.
        fields.update(source_changed_at=Coalesce(F("source_changed_at"), Value(now)))
        logger.warning("Version %s: source %s (%s)", version_id, outcome["status"], outcome.get("detail", ""))
    with transaction.atomic():
        DatasetVersion.objects.filter(pk=version_id).update(**fields)
        # Recorded when the mark comes or goes, not at every weekly check that finds the same.
        if (outcome["status"] != "unchanged") != (version.source_changed_at is not None):
            change_record(
                actor=None,
                action=ChangeAction.UPDATE,
                object_type=ObjectType.VERSION,
                object_id=version_id,
                dataset_id=version.dataset_id,
                before={"source_changed": version.source_changed_at is not None},
                after={"source_changed": outcome["status"] != "unchanged", "verification": outcome},
                object_repr=str(version),
            )
    return outcome


def versions_verify_due() -> list[UUID]:
    """Queue a re-hash of every profiled version not verified within CATALOG_VERIFY_EVERY."""
    every = settings.CATALOG_VERIFY_EVERY
    if not every:
        return []
    due_before = timezone.now() - every
    due = list(
        DatasetVersion.objects.filter(status=VersionStatus.READY)
        .exclude(fingerprint="")
        .filter(Q(verified_at__lt=due_before) | Q(verified_at__isnull=True, profiled_at__lt=due_before))
        .order_by("verified_at", "profiled_at")
        .values_list("pk", flat=True)[: settings.CATALOG_VERIFY_BATCH]
    )
    for version_id in due:
        version_verify_dispatch(version_id=version_id)
    return due


# --- Data cards ------------------------------------------------------------------------------------


def card_update(*, actor: User, dataset: Dataset, replace: bool = False, **changes: Any) -> DataCard:
    """Write a dataset's card: the sections given (all of them when `replace`, the others emptied)
    and its task categories. Completeness follows; the change log records what changed."""
    allowed = {*CARD_SECTIONS, "task_categories"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"Cannot change {', '.join(sorted(unknown))} of a card.")
    if replace:
        changes = {**{section: "" for section in CARD_SECTIONS}, "task_categories": [], **changes}
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()  # one writer of a card at a time
        card, created = DataCard.objects.get_or_create(dataset_id=dataset.pk)
        before = {field: getattr(card, field) for field in allowed}
        for field, value in changes.items():
            setattr(card, field, value)
        card.completeness = round(1 - len(card.missing_sections) / len(CARD_SECTIONS), 4)
        card.updated_by = actor
        old, new = changed_values(before, {field: getattr(card, field) for field in allowed})
        if new or created:
            card.save()
            change_record(
                actor=actor,
                action=ChangeAction.CREATE if created else ChangeAction.UPDATE,
                object_type=ObjectType.CARD,
                object_id=dataset.pk,
                dataset_id=dataset.pk,
                before=None if created else old,
                after=new,
                object_repr=f"card of {dataset}",
            )
    return card


def card_import(*, actor: User, dataset: Dataset, format: str, content: Any) -> DataCard:
    """Fill a card from a Hugging Face README.md or a Croissant document: the sections the document
    states replace those of the card; the others stay. Raises CardDocumentInvalid."""
    if format == "huggingface":
        if not isinstance(content, str):
            raise CardDocumentInvalid("A Hugging Face dataset card is Markdown text (a JSON string).")
        found = card_from_markdown(content)
    else:
        if not isinstance(content, dict):
            raise CardDocumentInvalid("A Croissant document is a JSON-LD object.")
        found = card_from_croissant(content)
    stated = {field: value for field, value in found.items() if value}
    if not stated:
        raise CardDocumentInvalid("The document states none of the card's sections.")
    return card_update(actor=actor, dataset=dataset, **stated)
