"""What the catalog tells the apps above it, which it does not import: they connect in their own
`apps.py`."""

from __future__ import annotations

import logging
from uuid import UUID

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

# Sent once the transaction that settled a version commits, with `version_id`, `dataset_id` and
# `status`: "ready" or "failed" when profiling ends, "source_changed" when a re-hash first finds the
# bytes different. Receivers (contracts, label quality, webhooks) must not take the worker down: a
# receiver's fault is logged, and the version stays as it was stored.
version_settled = Signal()


def version_settled_send(*, version_id: UUID, dataset_id: UUID, status: str) -> None:
    """Send `version_settled` after the current transaction commits (at once outside one)."""

    def send() -> None:
        for receiver, answer in version_settled.send_robust(
            sender=None, version_id=version_id, dataset_id=dataset_id, status=status
        ):
            if isinstance(answer, Exception):
                logger.error("Version %s settled %s: %r failed", version_id, status, receiver, exc_info=answer)

    transaction.on_commit(send)
