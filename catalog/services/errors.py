"""The catalog's refusals: what its services raise when a request cannot be done as asked."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from catalog.models import Dataset, DatasetVersion


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


class DatasetNotPurgeable(Exception):
    pass


class VersionNotVerifiable(Exception):
    def __init__(self, version: DatasetVersion) -> None:
        super().__init__(
            f"Version {version.number} has no manifest yet ({version.status}); it can be verified once profiled."
        )
        self.version = version
