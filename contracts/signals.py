"""What the contracts app tells the apps above it (webhooks, for one) when a check ends."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

# Sent once the transaction that stored a check commits, with `dataset_id`, `status` ("passed" or
# "failed"), `enforcement` ("warn" or "block"), `contract_version` (the number checked against),
# `anomalies` (as the check stored them) and either `version_id` (a version's check) or
# `check_id` (a check of serving data). A receiver's fault is logged, never raised.
contract_checked = Signal()


def contract_checked_send(
    *,
    dataset_id: UUID,
    status: str,
    enforcement: str,
    contract_version: int,
    anomalies: list[dict[str, Any]],
    version_id: UUID | None = None,
    check_id: UUID | None = None,
) -> None:
    kwargs: dict[str, Any] = {
        "dataset_id": dataset_id,
        "status": status,
        "enforcement": enforcement,
        "contract_version": contract_version,
        "anomalies": anomalies,
    }
    if version_id is not None:
        kwargs["version_id"] = version_id
    if check_id is not None:
        kwargs["check_id"] = check_id

    def send() -> None:
        for receiver, answer in contract_checked.send_robust(sender=None, **kwargs):
            if isinstance(answer, Exception):
                logger.error("Contract check of %s: %r failed", dataset_id, receiver, exc_info=answer)

    transaction.on_commit(send)
