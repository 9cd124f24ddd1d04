"""What the audit tells the apps above it, which it does not import: they connect in their own `apps.py`."""

from __future__ import annotations

import logging
from uuid import UUID

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

# Sent once the transaction that stored an audit commits, with `audit_id` and `verdict` ("pass",
# "conditional", "fail"). An audit stored in a savepoint that is rolled back is never told. A
# receiver's fault is logged; the audit stays stored.
audit_completed = Signal()


def audit_completed_send(*, audit_id: UUID, verdict: str) -> None:
    """Send `audit_completed` after the current transaction commits (at once outside one)."""

    def send() -> None:
        for receiver, answer in audit_completed.send_robust(sender=None, audit_id=audit_id, verdict=verdict):
            if isinstance(answer, Exception):
                logger.error("Audit %s completed: %r failed", audit_id, receiver, exc_info=answer)

    transaction.on_commit(send)
