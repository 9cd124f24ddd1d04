"""Storage locations: who may register sources under which prefix."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction

from config import errors
from governance.models import StorageLocation
from governance.services.scopes import scope_changing, scope_created, scope_delete

# Object stores a location may name; sources there are matched on whole path segments like paths.
OBJECT_STORE_SCHEMES = ("s3", "gs", "az")


class StorageLocationExists(errors.Conflict):
    def __init__(self, existing: StorageLocation) -> None:
        super().__init__(
            f"A storage location for {existing.uri} exists already; change that one.", existing_id=str(existing.pk)
        )
        self.existing = existing


class StorageLocationInvalid(errors.Invalid):
    field = "uri"


def storage_location_uri(text: str) -> str:
    """The canonical form of a location: `file:///abs/path` (symbolic links resolved, inside a
    storage root) or `scheme://bucket/prefix`, without a trailing slash. StorageLocationInvalid says what is wrong."""
    text = text.strip()
    if not text or any(ord(char) < 32 for char in text):
        raise StorageLocationInvalid(
            "Give a path under a storage root, a file:// URI or an object-store prefix (s3://bucket/…)."
        )
    scheme, separator, rest = text.partition("://")
    if separator and scheme.lower() in OBJECT_STORE_SCHEMES:
        parts = [part for part in PurePosixPath(rest).parts if part != "/"]
        if not parts or ".." in parts or "." in parts:
            raise StorageLocationInvalid(
                f"{text} must name a bucket, optionally with a prefix, and no '.' or '..' parts."
            )
        return f"{scheme.lower()}://{'/'.join(parts)}"
    if separator and scheme.lower() != "file":
        raise StorageLocationInvalid(
            f"{text}: a location is a local path or an {', '.join(OBJECT_STORE_SCHEMES)} prefix."
        )
    path_text = rest if separator else text
    if separator and not path_text.startswith("/"):
        raise StorageLocationInvalid(f"{text} must name a local path: file:///abs/path.")
    path = Path(path_text)
    if not path.is_absolute() or ".." in path.parts or any(char in path_text for char in "*?["):
        raise StorageLocationInvalid(f"{text} must be an absolute path, with no '..' and no wildcards.")
    resolved = path.resolve()
    if not any(resolved == root or resolved.is_relative_to(root) for root in settings.CATALOG_STORAGE_ROOTS):
        roots = ", ".join(str(root) for root in settings.CATALOG_STORAGE_ROOTS)
        raise StorageLocationInvalid(
            f"{text} is outside the storage roots ({roots}); locations narrow a root, never widen it."
        )
    return f"file://{resolved}"


def storage_location_uri_checked(text: str, *, other_than: StorageLocation | None = None) -> str:
    """The canonical form of a new location's prefix (`storage_location_uri`), or StorageLocationExists
    when another location has it already."""
    uri = storage_location_uri(text)
    taken = StorageLocation.objects.filter(uri=uri)
    if other_than is not None:
        taken = taken.exclude(pk=other_than.pk)
    existing = taken.first()
    if existing is not None:
        raise StorageLocationExists(existing)
    return uri


def storage_location_create(
    *, actor: User, uri: str, users: Iterable[User] = (), groups: Iterable[Group] = ()
) -> StorageLocation:
    """Add a location: from then on only its users, the members of its groups (and staff) may
    register sources under it, unless a more specific location says otherwise."""
    with transaction.atomic():
        location = StorageLocation.objects.create(uri=storage_location_uri_checked(uri), created_by=actor)
        scope_created(actor=actor, scope=location, users=users, groups=groups)
    return location


def storage_location_update(
    *,
    actor: User,
    location: StorageLocation,
    uri: str | None = None,
    users: Iterable[User] | None = None,
    groups: Iterable[Group] | None = None,
) -> StorageLocation:
    """Change a location's prefix or who may register from it; what is left out stays."""
    with transaction.atomic(), scope_changing(actor=actor, scope=location, users=users, groups=groups) as locked:
        if uri is not None:
            locked.uri = storage_location_uri_checked(uri, other_than=locked)
            locked.save()
    return StorageLocation.objects.get(pk=locked.pk)


def storage_location_delete(*, actor: User, location: StorageLocation) -> None:
    """Remove a location: its paths fall back to the next location covering them (in the end the
    storage root, open to every authenticated user)."""
    scope_delete(actor=actor, scope=location)
