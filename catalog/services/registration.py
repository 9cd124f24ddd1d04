"""Registering datasets and versions from sources, and profiling a version again: the checks a source
must pass, what a new version inherits, and the version handed to the workers once committed."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog import tasks
from catalog.choices import DELIMITED_FORMATS, VersionStatus
from catalog.models import Dataset, DatasetVersion
from catalog.objects import is_object_url
from catalog.selectors import datasets_sharing_source, datasets_visible_to, storage_may_register
from catalog.services.datasets import _tags_for, dataset_values
from catalog.services.errors import DatasetAlreadyExists, NamespaceClosed, ReadOptionsInapplicable, VersionBusy
from catalog.sources import Permit, ResolvedSource, SourceForbidden, local_path, source_resolve, storage_roots
from config import errors
from governance.choices import ChangeAction, ObjectType, OwnershipRole, Sensitivity
from governance.licensing import license_expression_parse
from governance.models import Namespace
from governance.services import change_record, ownership_add
from profiler.files import glob_base, is_glob


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
    # Features whose groups label quality examines (validated against the profiled columns then).
    group_features: list[str] | None = None


# Why a dataset's sensitivity is higher than the one asked for; the change log says so.
SENSITIVITY_FROM_SHARED_BYTES = (
    "raised to the strictest sensitivity of the datasets already registered on the same bytes"
)


@contextmanager
def _input_under(prefix: str) -> Iterator[None]:
    """A refusal of an input nested in the request (a registration's `source`) names it by its path."""
    try:
        yield
    except errors.Invalid as exc:
        exc.field = f"{prefix}.{exc.field}" if exc.field else prefix
        raise


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


def source_confined(
    *, actor: User, uri: str, format: str | None = None, read_options: dict[str, Any] | None = None
) -> ResolvedSource:
    """A source to be read but not registered (serving data checked against a contract), confined
    as a registration's is: a storage location that grants the actor, and no bytes of a dataset the
    actor may not read. Raises SourceRejected, SourceForbidden or ReadOptionsInapplicable."""
    resolved = source_resolve(uri, format=format, permit=_registration_permit(actor))
    _read_options_check(resolved.format, read_options)
    _shared_bytes_sensitivity(actor=actor, resolved=resolved)
    return resolved


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
    resolved = None
    if source is not None:
        with _input_under("source"):
            resolved = source_resolve(source.uri, format=source.format, permit=_registration_permit(actor))
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
            readable = datasets_visible_to(actor).filter(pk=existing.pk).exists()
            raise DatasetAlreadyExists(existing, readable=readable) from None
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
                group_features=source.group_features or [],
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
    group_features: list[str] | Inherit | None = INHERIT,
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
            group_features=group_features,
        )


@dataclass(frozen=True)
class _Declared:
    """What a version is registered with besides its source, once what it inherits is settled."""

    label_column: str
    splits: dict[str, str]
    read_options: dict[str, Any]
    task_type: str
    group_features: list[str]
    inherited: tuple[str, ...] = ()


def _carried_over(
    previous: DatasetVersion | None,
    *,
    format: str,
    label_column: str | Inherit | None,
    splits: dict[str, str] | Inherit | None,
    read_options: dict[str, Any] | Inherit | None,
    task_type: str | Inherit | None,
    group_features: list[str] | Inherit | None = INHERIT,
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
        group_features=settle("group_features", group_features, previous.group_features if previous else [], []),
    )
    return dataclasses.replace(declared, inherited=tuple(inherited))


def _read_options_check(format: str, read_options: dict[str, Any] | None) -> None:
    if read_options and format not in DELIMITED_FORMATS:
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
    group_features: list[str] | Inherit | None = INHERIT,
) -> DatasetVersion:
    # The dataset row lock serialises version numbering: two registrations never get the same number,
    # and each inherits from the version registered just before it.
    locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
    previous = (
        locked.versions.order_by("-number")
        .only("number", "format", "label_column", "splits", "read_options", "task_type", "group_features")
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
        group_features=group_features,
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
        group_features=declared.group_features,
        status=VersionStatus.PENDING,
        status_changed_at=now,
        queued_at=tasks.queued_at(now),
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
            **({"group_features": declared.group_features} if declared.group_features else {}),
            **(
                {"inherited": list(declared.inherited), "inherited_from": previous.number}
                if declared.inherited and previous is not None
                else {}
            ),
        },
        object_repr=str(version),
    )
    tasks.version_profile_enqueue(version_id=version.pk)
    return version


def _reprofile_source_check(*, actor: User, version: DatasetVersion) -> str | None:
    """Check a local source against today's rules before the worker expands it again: a glob
    registered before staff narrowed a location, or before someone registered restricted files
    under it, would otherwise take those files in. Refused (SourceForbidden) as a registration of
    the same source by the actor would be; otherwise the strictest sensitivity of the datasets
    registered on its bytes (None: none). Only rules are asked here, never the file system: a path
    outside the roots, missing or replaced by a link is the worker's to refuse, failing the version
    with the file's name."""
    if is_object_url(version.uri):
        # An object source: the locations over its prefix and the datasets on its objects, as today.
        path = version.uri
    elif version.uri[:7].lower() != "file://":
        return None
    else:
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
        queued_at=tasks.queued_at(now),
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
    tasks.version_profile_enqueue(version_id=version.pk)
    version.refresh_from_db()
    return version
