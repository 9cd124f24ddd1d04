"""Which dataset version each input of a training run names.

An input is resolved only among the datasets the recorder may read: one they may not read is
treated exactly as one that does not exist (the same refusal, the same words), so a run cannot
probe for a restricted dataset."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.utils import timezone

from catalog.choices import VersionStatus
from catalog.models import Dataset, DatasetVersion
from catalog.selectors import datasets_visible_to
from config import errors
from training.choices import InputRole
from training.specs import InputRef

FIELD = "inputs"
_FINGERPRINT = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class ResolvedInput:
    dataset: Dataset
    version: DatasetVersion
    pinned: bool
    role: str


def _refused(index: int, message: str) -> errors.Invalid:
    return errors.Invalid(f"Input {index}: {message}", field=FIELD)


def _ready(index: int, version: DatasetVersion) -> DatasetVersion:
    if version.status != VersionStatus.READY:
        raise _refused(
            index,
            f"version {version.number} ({version.pk}) of {version.dataset.namespace}/{version.dataset.name} is "
            f"{version.status}, not ready: a run may read only a version whose fingerprint is known. Wait until "
            "it is ready, or name another version.",
        )
    return version


def _versions(user: User | AnonymousUser) -> QuerySet[DatasetVersion]:
    return DatasetVersion.objects.filter(dataset__in=datasets_visible_to(user)).select_related("dataset")


def _latest_ready(index: int, dataset: Dataset, at: datetime | None = None) -> DatasetVersion:
    versions = dataset.versions.filter(status=VersionStatus.READY)
    if at is not None:
        versions = versions.filter(created_at__lte=at)
    version = versions.order_by("-number").first()
    if version is None:
        when = f" at {at.isoformat()}" if at is not None else ""
        raise _refused(index, f"the dataset {dataset.namespace}/{dataset.name} had no ready version{when}.")
    version.dataset = dataset
    return version


def _as_uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


def _by_label(index: int, dataset: Dataset, label: str) -> DatasetVersion:
    versions = dataset.versions.all()
    if _FINGERPRINT.match(label):
        # The same bytes may be registered again as a later version: the latest one of them.
        version = versions.filter(fingerprint=label).order_by("-number").first()
    elif label.isdigit() and len(label) < 10:
        version = versions.filter(number=int(label)).first()
    elif (pk := _as_uuid(label)) is not None:
        version = versions.filter(pk=pk).first()
    else:
        raise _refused(index, f"the version {label!r} is neither a fingerprint (sha256:...), a number nor an id.")
    if version is None:
        raise _refused(index, f"the dataset {dataset.namespace}/{dataset.name} has no version {label!r}.")
    version.dataset = dataset
    return version


def input_resolve(*, actor: User | AnonymousUser, ref: InputRef, index: int = 0) -> ResolvedInput:
    """The version an input names, and whether the sender pinned it (named that exact version) or it
    was resolved to a dataset's latest ready version. Invalid(field="inputs") when it names no
    version the actor may read, or one that is not ready."""
    if ref.role not in InputRole.values:
        raise _refused(index, f"role {ref.role!r} is not one of {', '.join(InputRole.values)}.")
    pinned = True
    if ref.version is not None:
        version = _versions(actor).filter(pk=ref.version).first()
        if version is None:
            raise _refused(index, f"there is no version {ref.version}.")
    elif ref.dataset is not None:
        dataset = datasets_visible_to(actor).filter(pk=ref.dataset).first()
        if dataset is None:
            raise _refused(index, f"there is no dataset {ref.dataset}.")
        version, pinned = _latest_ready(index, dataset), False
    elif ref.fingerprint and ref.uri:
        if not _FINGERPRINT.match(ref.fingerprint):
            raise _refused(index, f"{ref.fingerprint!r} is not a fingerprint: sha256: and 64 lower-case hex digits.")
        version = _versions(actor).filter(uri=ref.uri, fingerprint=ref.fingerprint).order_by("-created_at").first()
        if version is None:
            raise _refused(
                index,
                f"no version of {ref.uri} has the fingerprint {ref.fingerprint}: those bytes were never registered "
                "(register them as a new version first, or name the version that was).",
            )
    elif ref.namespace and ref.name:
        dataset = datasets_visible_to(actor).filter(namespace=ref.namespace, name=ref.name).first()
        if dataset is None:
            raise _refused(index, f"there is no dataset {ref.namespace}/{ref.name}.")
        if ref.version_label:
            version = _by_label(index, dataset, ref.version_label)
        else:
            version, pinned = _latest_ready(index, dataset, ref.at or timezone.now()), False
    else:
        raise _refused(
            index, 'name a version ({"version": id}), a dataset ({"dataset": id}) or bytes ({"uri", "fingerprint"}).'
        )
    return ResolvedInput(dataset=version.dataset, version=_ready(index, version), pinned=pinned, role=ref.role)
