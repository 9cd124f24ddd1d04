"""The datasets an event names, resolved to the catalog's (or discovered), and their facets applied."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import Group, User
from django.db.models import Q

from catalog.models import Dataset
from catalog.services import dataset_describe, datasets_discover
from governance.choices import OwnershipRole
from governance.models import Namespace
from governance.services import ownership_add
from lineage.choices import AliasKind
from lineage.models import DatasetAlias, ReportedDataset
from lineage.selectors import Identity, datasets_resolve, location_uris
from lineage.services.events import _EventDataset, _merge_facets
from lineage.services.trust import datasets_writable_by_events

logger = logging.getLogger(__name__)

# OpenLineage ownership types (free text) mapped to the catalog's roles; anything else is an owner.
OWNERSHIP_ROLES = {
    "steward": OwnershipRole.STEWARD,
    "data_steward": OwnershipRole.STEWARD,
    "maintainer": OwnershipRole.STEWARD,
    "custodian": OwnershipRole.CUSTODIAN,
    "technical_owner": OwnershipRole.CUSTODIAN,
}


# --- Resolving identities to catalog datasets ------------------------------------------------------


def _resolve_event_datasets(
    actor: User, datasets: Sequence[_EventDataset], extra: set[Identity]
) -> dict[Identity, Dataset]:
    """Every identity the event names, resolved; datasets nobody registered are created.

    An event's dataset is the catalog dataset named by its own identity or, failing that, by one of
    its symlinks; whatever identities it carries that name no dataset yet become aliases of it. An
    identity only ever becomes an alias of a dataset the sender may write, in a namespace open to
    them: a sender cannot make others' names land on a dataset, nor their own on others'. Identities
    in a namespace closed to the sender are not created and are absent from the answer.
    """
    identities = {item.identity for item in datasets} | extra
    symlinked = {alias for item in datasets for alias, _ in item.symlinks}
    resolved = datasets_resolve(identities | symlinked)
    closed = Namespace.objects.closed_to(actor, {namespace for namespace, _ in identities | symlinked})
    writable = datasets_writable_by_events(actor, {dataset.pk for dataset in resolved.values()})

    aliases: list[DatasetAlias] = []
    for item in datasets:
        if item.identity in resolved:
            dataset = resolved[item.identity]
            if (dataset.namespace, dataset.name) != item.identity:
                kind = AliasKind.LOCATION if location_uris(item.identity) else AliasKind.SYMLINK
                aliases.append(
                    DatasetAlias(dataset=dataset, namespace=item.identity[0], name=item.identity[1], kind=kind)
                )
            continue
        via = next((resolved[alias] for alias, _ in item.symlinks if alias in resolved), None)
        if via is not None and via.pk in writable and item.identity[0] not in closed:
            resolved[item.identity] = via
            aliases.append(
                DatasetAlias(dataset=via, namespace=item.identity[0], name=item.identity[1], kind=AliasKind.SYMLINK)
            )

    created = datasets_discover(actor=actor, identities=identities - resolved.keys())
    resolved.update(created)
    writable |= datasets_writable_by_events(actor, {dataset.pk for dataset in created.values()})

    for item in datasets:
        named = resolved.get(item.identity)
        if named is None or named.pk not in writable:
            continue
        for alias, alias_type in item.symlinks:
            if alias not in resolved and alias[0] not in closed:
                aliases.append(
                    DatasetAlias(
                        dataset=named,
                        namespace=alias[0],
                        name=alias[1],
                        kind=AliasKind.SYMLINK,
                        alias_type=alias_type[:64],
                    )
                )
                resolved[alias] = named
    if aliases:
        # ignore_conflicts: an identity already taken keeps naming the dataset it named first.
        DatasetAlias.objects.bulk_create(aliases, ignore_conflicts=True)
    return resolved


# --- Facets ---------------------------------------------------------------------------------------


def _reported_fields(schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    fields = []
    for position, item in enumerate(schema.get("fields") or [], start=1):
        entry: dict[str, Any] = {"name": item["name"], "type": item.get("type", ""), "position": position}
        if item.get("description"):
            entry["description"] = item["description"]
        if item.get("fields"):
            entry["fields"] = _reported_fields(item)
        fields.append(entry)
    return fields


def _project_dataset_facets(
    *, actor: User, dataset: Dataset, facets: Mapping[str, Any], moment: datetime, governs: bool
) -> None:
    """Apply a dataset's facets (called only for datasets the sender may write); `ownership` only
    from its owners, stewards or staff: a trusted producer describes a dataset, it does not name
    who answers for it."""
    if not facets:
        return
    ReportedDataset.objects.get_or_create(dataset=dataset)
    report = ReportedDataset.objects.select_for_update().get(dataset=dataset)
    current, times = dict(report.facets), dict(report.facet_times)
    if not _merge_facets(current, times, facets, moment):
        return
    report.facets, report.facet_times = current, times
    report.fields = _reported_fields(current["schema"]) if "schema" in current else []
    report.dataset_type = str((current.get("datasetType") or {}).get("datasetType", ""))[:64]
    source = current.get("dataSource") or {}
    report.source_name = str(source.get("name", ""))[:512]
    report.source_uri = str(source.get("uri", ""))[:2048]
    storage = current.get("storage") or {}
    report.storage_layer = str(storage.get("storageLayer", ""))[:64]
    report.file_format = str(storage.get("fileFormat", ""))[:64]
    report.reported_version = str((current.get("version") or {}).get("datasetVersion", ""))[:255]
    report.save()

    documentation = facets.get("documentation") or {}
    if isinstance(documentation.get("description"), str):
        dataset_describe(actor=actor, dataset_id=dataset.pk, description=documentation["description"])
    if not governs:
        return
    ownership = facets.get("ownership") or {}
    for owner in ownership.get("owners") or []:
        _owner_add(actor=actor, dataset=dataset, name=str(owner.get("name", "")), kind=str(owner.get("type", "")))


def _owner_add(*, actor: User, dataset: Dataset, name: str, kind: str) -> None:
    """An ownership facet's owner, when it names a user (username or email) or a group of the catalog."""
    role = OWNERSHIP_ROLES.get(kind.strip().lower().replace(" ", "_"), OwnershipRole.OWNER)
    prefix, _, rest = name.partition(":")
    wants_user = prefix.lower() == "user"
    wants_group = prefix.lower() in ("group", "team")
    principal = rest if (wants_user or wants_group) else name
    if not principal:
        return
    if not wants_group:
        user = User.objects.filter(Q(username=principal) | Q(email__iexact=principal), is_active=True).first()
        if user is not None:
            ownership_add(dataset_id=dataset.pk, user=user, role=role, actor=actor)
            return
    if not wants_user:
        group = Group.objects.filter(name=principal).first()
        if group is not None:
            ownership_add(dataset_id=dataset.pk, group=group, role=role, actor=actor)
            return
    logger.info("Ownership facet names %r, who is neither a user nor a group of the catalog", name)
