"""The datasets an event names, resolved to the catalog's (or discovered), and their facets applied."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from django.contrib.auth.models import Group, User
from django.db.models import Q
from django.utils import timezone

from catalog.choices import Lifecycle
from catalog.models import Dataset
from catalog.services import dataset_describe, dataset_update, datasets_discover
from governance.choices import OwnershipRole
from governance.models import Namespace
from governance.services import ownership_add
from lineage.choices import AliasKind
from lineage.models import DatasetAlias, ReportedDataset
from lineage.selectors import Identity, datasets_resolve, location_uris
from lineage.services.events import _EventDataset, _merge_facets, _time_key
from lineage.services.trust import _writable_and_governed

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
) -> tuple[dict[Identity, Dataset], set[UUID], set[UUID]]:
    """Every identity the event names, resolved; datasets nobody registered are created. With the
    ids of those datasets the sender's events may write, and of those the sender governs.

    An event's dataset is the catalog dataset named by its own identity or, failing that, by one of
    its symlinks; whatever identities it carries that name no dataset yet become aliases of it. An
    identity only ever becomes an alias of a dataset the sender may write, in a namespace open to
    them: a sender cannot make others' names land on a dataset, nor their own on others'. Identities
    in a namespace closed to the sender are not created and are absent from the answer.
    """
    identities = {item.identity for item in datasets} | extra
    symlinked = {alias for item in datasets for alias, _ in item.symlinks}
    resolved = datasets_resolve(identities | symlinked)
    # Which namespaces are closed to the sender matters only for identities to create or alias.
    closed = (
        Namespace.objects.closed_to(actor, {namespace for namespace, _ in identities | symlinked})
        if symlinked or identities - resolved.keys()
        else set()
    )
    writable, governed = _writable_and_governed(actor, {dataset.pk for dataset in resolved.values()})

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
    if created:
        more, also_governed = _writable_and_governed(actor, {dataset.pk for dataset in created.values()})
        writable |= more
        governed |= also_governed

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
    return resolved, writable, governed


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


def _project_datasets_facets(
    *, actor: User, reports: Sequence[tuple[Dataset, Mapping[str, Any]]], moment: datetime, governed: set[UUID]
) -> None:
    """Apply the facets of the event's datasets (called only with datasets the sender may write), all
    their reports locked, read and written at once; `ownership` only from the datasets' owners,
    stewards or staff (`governed`): a trusted producer describes a dataset, it does not name who
    answers for it."""
    reports = [(dataset, facets) for dataset, facets in reports if facets]
    if not reports:
        return
    ids = sorted({dataset.pk for dataset, _ in reports}, key=str)
    # Locked in one order, the datasets' ids, so that concurrent events never wait on each other in a cycle.
    locked = ReportedDataset.objects.select_for_update().order_by("dataset_id")
    rows = {row.dataset_id: row for row in locked.filter(dataset_id__in=ids)}
    missing = [pk for pk in ids if pk not in rows]
    if missing:
        # ignore_conflicts: another event may create the same report at the same moment.
        ReportedDataset.objects.bulk_create([ReportedDataset(dataset_id=pk) for pk in missing], ignore_conflicts=True)
        rows.update({row.dataset_id: row for row in locked.filter(dataset_id__in=missing)})
    changed: dict[UUID, ReportedDataset] = {}
    applied: list[tuple[Dataset, Mapping[str, Any]]] = []
    for dataset, facets in sorted(reports, key=lambda entry: str(entry[0].pk)):
        report = rows[dataset.pk]
        if _report_merge(report, facets, moment):
            changed[dataset.pk] = report
            applied.append((dataset, facets))
    if not changed:
        return
    now = timezone.now()
    for report in changed.values():
        report.updated_at = now
    ReportedDataset.objects.bulk_update(list(changed.values()), [*REPORT_FIELDS, "updated_at"])
    for dataset, facets in applied:
        documentation = facets.get("documentation") or {}
        if isinstance(documentation.get("description"), str):
            dataset_describe(actor=actor, dataset_id=dataset.pk, description=documentation["description"])
        if rows[dataset.pk].facet_times.get("lifecycleStateChange") == _time_key(moment):
            _lifecycle_apply(
                actor=actor, dataset=dataset, facet=facets.get("lifecycleStateChange") or {}, moment=moment
            )
        if dataset.pk not in governed:
            continue
        ownership = facets.get("ownership") or {}
        for owner in ownership.get("owners") or []:
            _owner_add(actor=actor, dataset=dataset, name=str(owner.get("name", "")), kind=str(owner.get("type", "")))


def _lifecycle_apply(*, actor: User, dataset: Dataset, facet: Mapping[str, Any], moment: datetime) -> None:
    """A dataset reported dropped is deprecated (it stays readable and listed, marked, with the reason;
    the change log records it). Other changes (CREATE, OVERWRITE, TRUNCATE, ALTER, RENAME) stay on
    the dataset's reported facets, the latest one by event time."""
    if not isinstance(facet, dict) or facet.get("lifecycleStateChange") != "DROP":
        return
    current = Dataset.objects.filter(pk=dataset.pk).values_list("lifecycle", flat=True).first()
    if current != Lifecycle.ACTIVE:
        return
    dataset_update(
        actor=actor,
        dataset=dataset,
        lifecycle=Lifecycle.DEPRECATED,
        deprecation_reason=f"Dropped: an OpenLineage lifecycleStateChange DROP at {_time_key(moment)}.",
    )


REPORT_FIELDS = [
    "facets",
    "facet_times",
    "fields",
    "dataset_type",
    "source_name",
    "source_uri",
    "storage_layer",
    "file_format",
    "reported_version",
]


def _report_merge(report: ReportedDataset, facets: Mapping[str, Any], moment: datetime) -> bool:
    """The facets merged into the report and its columns derived again; False when nothing changed."""
    current, times = dict(report.facets), dict(report.facet_times)
    if not _merge_facets(current, times, facets, moment):
        return False
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
    return True


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
