"""The catalog's refusals: what its services raise when a request cannot be done as asked. Each is a
kind of `config.errors`, so the HTTP edge answers it as a problem document without a word of its own."""

from __future__ import annotations

from catalog.models import Dataset, DatasetVersion
from config import errors


class VersionBusy(errors.Conflict):
    def __init__(self, version: DatasetVersion) -> None:
        super().__init__(f"Version {version.number} is {version.status}; it can be profiled again once it is done.")
        self.version = version


class VersionNotProfiled(errors.Conflict):
    def __init__(self, version: DatasetVersion) -> None:
        super().__init__(
            f"Version {version.number} of {version.dataset} is {version.status}; drift needs both versions profiled."
        )
        self.version = version


class NamespaceClosed(errors.Forbidden):
    def __init__(self, namespace: str) -> None:
        super().__init__(
            f"The namespace {namespace!r} has owners: only they and staff create datasets in it. "
            "Ask one of them, or staff, to register it or to add you."
        )
        self.namespace = namespace


class DatasetAlreadyExists(errors.Conflict):
    """The (namespace, name) is taken. The existing dataset's id is given only to who may read it: a
    restricted dataset is not named by a conflict either."""

    def __init__(self, existing: Dataset, *, readable: bool = True) -> None:
        message = f"A dataset named {existing.name!r} already exists in the namespace {existing.namespace!r}."
        if readable:
            super().__init__(message, existing_id=str(existing.pk))
        else:
            super().__init__(f"{message} It is not one you may read; choose another name or ask its owners for access.")
        self.existing = existing


class ReadOptionsInapplicable(errors.Invalid):
    """Read options were given for a source that is not delimited text."""

    field = "read_options"

    def __init__(self, format: str) -> None:
        super().__init__(
            f"Read options apply to csv and tsv sources; this source is {format}. Leave read_options out, "
            "or give the source's format."
        )


class DatasetNotPurgeable(errors.Conflict):
    pass


class DeprecationUnexplained(errors.Invalid):
    """Deprecated without a reason: readers need to know why, and what to use instead."""

    field = "deprecation_reason"


class VersionNotVerifiable(errors.Conflict):
    def __init__(self, version: DatasetVersion) -> None:
        super().__init__(
            f"Version {version.number} has no manifest yet ({version.status}); it can be verified once profiled."
        )
        self.version = version
