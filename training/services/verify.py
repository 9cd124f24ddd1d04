"""Whether a training run can still be reproduced: every input version's source hashed again by the
catalog's own verification, and the outcome kept on the run."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from django.utils import timezone

from catalog import pipeline
from training.choices import Reproducibility
from training.models import TrainingRun

logger = logging.getLogger(__name__)


def training_run_verify(*, run_id: UUID) -> dict[str, Any]:
    """Re-hash the source of every version the run read (`catalog.pipeline.version_verify`, which also
    marks a version whose bytes changed) and store on the run whether it is still reproducible:
    `changed` when a file of an input differs, was added or is gone, naming the files; else
    `unreadable` when an input could not be read (its source is gone, or the version was purged);
    else `reproducible`."""
    run = TrainingRun.objects.get(pk=run_id)
    inputs = list(run.inputs.select_related("version").order_by("position"))
    changed: list[dict[str, Any]] = []
    unreadable: list[dict[str, Any]] = []
    verified: dict[UUID, dict[str, Any]] = {}
    for item in inputs:
        if item.version_id is None:
            unreadable.append(
                {"version": None, "position": item.position, "detail": "The version was purged from the catalog."}
            )
            continue
        if item.version_id in verified:  # the same version read twice (two roles) is hashed once
            continue
        outcome = verified[item.version_id] = pipeline.version_verify(version_id=item.version_id)
        if outcome["status"] == "unreadable":
            unreadable.append({"version": str(item.version_id), "position": item.position, "detail": outcome["detail"]})
        elif outcome["status"] == "changed" or outcome.get("fingerprint") != item.fingerprint:
            paths = sorted({*outcome.get("changed", []), *outcome.get("added", []), *outcome.get("removed", [])})
            changed.append(
                {
                    "version": str(item.version_id),
                    "position": item.position,
                    "paths": paths,
                    "changed": outcome.get("changed", []),
                    "added": outcome.get("added", []),
                    "removed": outcome.get("removed", []),
                }
            )
    status = (
        Reproducibility.CHANGED
        if changed
        else Reproducibility.UNREADABLE
        if unreadable
        else Reproducibility.REPRODUCIBLE
    )
    verification = {
        "status": status.value,
        "checked_at": timezone.now().isoformat(),
        "changed": changed,
        "unreadable": unreadable,
    }
    TrainingRun.objects.filter(pk=run_id).update(
        verification=verification, verification_status=status, updated_at=timezone.now()
    )
    if status != Reproducibility.REPRODUCIBLE:
        logger.warning("Training run %s: inputs %s", run_id, status.value)
    return verification
