"""What the training app tells the apps above it, which it does not import: they connect in their own `apps.py`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from uuid import UUID

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

# Sent once the transaction that changed the data commits, when a model gains a finding because data
# it learned from (a version it read, or one upstream of it) changed: `model_id`, `finding_codes` (the
# model's finding codes now, e.g. "upstream_source_changed"), `dataset_id`, `version_id` (None when the
# change is about a whole dataset) and `reason`: "source_changed" (a version's bytes), "license_changed",
# "deprecated" or "retired" (catalog.signals.dataset_changed). A receiver's fault is logged.
model_affected = Signal()


def model_affected_send(
    *, model_id: UUID, finding_codes: Sequence[str], dataset_id: UUID, version_id: UUID | None, reason: str
) -> None:
    """Send `model_affected` after the current transaction commits (at once outside one)."""

    def send() -> None:
        for receiver, answer in model_affected.send_robust(
            sender=None,
            model_id=model_id,
            finding_codes=list(finding_codes),
            dataset_id=dataset_id,
            version_id=version_id,
            reason=reason,
        ):
            if isinstance(answer, Exception):
                logger.error("Model %s affected: %r failed", model_id, receiver, exc_info=answer)

    transaction.on_commit(send)
