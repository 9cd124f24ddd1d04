"""Verifying a version on a worker: its source hashed again and compared with its manifest."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import DatasetVersion
from catalog.signals import version_settled_send
from catalog.sources import source_opened
from governance.choices import ChangeAction, ObjectType
from governance.services import change_record
from profiler.files import SourceError, build_manifest, manifest_fingerprint

logger = logging.getLogger(__name__)


def version_verify(*, version_id: UUID) -> dict[str, Any]:
    """Re-hash a version's source and compare it with the manifest it was registered with. A source
    whose bytes differ (or that is gone) marks the version `source_changed`, with when it was found."""
    version = DatasetVersion.objects.get(pk=version_id)
    recorded = {entry["path"]: entry for entry in version.manifest}
    now = timezone.now()
    outcome: dict[str, Any] = {"checked_at": now.isoformat()}
    try:
        # An object source whose objects all have version ids is read at those exact versions.
        with source_opened(version.uri, manifest=version.manifest) as files:
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
            if outcome["status"] != "unchanged":
                version_settled_send(version_id=version_id, dataset_id=version.dataset_id, status="source_changed")
    return outcome
