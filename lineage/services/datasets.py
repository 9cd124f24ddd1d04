"""The datasets an event names, resolved to the catalog's (or discovered), and their facets applied."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.contrib.auth.models import Group, User
from django.db.models import Q

from catalog.choices import Lifecycle
from catalog.models import Dataset
from catalog.services import dataset_update
from governance.choices import OwnershipRole
from governance.services import ownership_add
from lineage.models import ReportedDataset
from lineage.services.events import _merge_facets, _time_key

logger = logging.getLogger(__name__)

# OpenLineage ownership types (free text) mapped to the catalog's roles; anything else is an owner.
OWNERSHIP_ROLES = {
    "steward": OwnershipRole.STEWARD,
    "data_steward": OwnershipRole.STEWARD,
    "maintainer": OwnershipRole.STEWARD,
    "custodian": OwnershipRole.CUSTODIAN,
    "technical_owner": OwnershipRole.CUSTODIAN,
}


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
