"""What the catalog tells the apps above it, which it does not import: they connect in their own
`apps.py`."""

from __future__ import annotations

import logging
from typing import Any
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


# Sent with `dataset_id` before a version of the dataset is profiled; each receiver answers a mapping
# of column name to a regular expression every value of the column is to be checked with (contracts
# answers its features' patterns), or None. The profiler counts the values that do not match.
profiling_patterns_requested = Signal()


def profiling_patterns(*, dataset_id: UUID) -> dict[str, str]:
    """Every answer to `profiling_patterns_requested` for the dataset, joined (a column named twice keeps
    the first answer's expression). A receiver's fault is logged: the version is profiled without it."""
    joined: dict[str, str] = {}
    answers: list[tuple[Any, Any]] = profiling_patterns_requested.send_robust(sender=None, dataset_id=dataset_id)
    for receiver, answer in answers:
        if isinstance(answer, Exception):
            logger.error("Patterns for %s: %r failed", dataset_id, receiver, exc_info=answer)
            continue
        for column, regex in (answer or {}).items():
            joined.setdefault(str(column), str(regex))
    return joined


# Sent once the transaction that changed a dataset's standing commits, when what learned from it may no
# longer rely on it: `dataset_id`, `version_id` (the version deprecated; None when the change is about the
# whole dataset) and `reason`: "license_changed", "deprecated" or "retired". Sent by the catalog's services
# whoever made the change (the API, the admin, an OpenLineage `DROP`). A receiver's fault is logged, and
# the change stays made.
dataset_changed = Signal()

# The reasons `dataset_changed` sends.
LICENSE_CHANGED, DEPRECATED, RETIRED = "license_changed", "deprecated", "retired"


def dataset_changed_send(*, dataset_id: UUID, version_id: UUID | None = None, reason: str) -> None:
    """Send `dataset_changed` after the current transaction commits (at once outside one)."""

    def send() -> None:
        for receiver, answer in dataset_changed.send_robust(
            sender=None, dataset_id=dataset_id, version_id=version_id, reason=reason
        ):
            if isinstance(answer, Exception):
                logger.error("Dataset %s changed (%s): %r failed", dataset_id, reason, receiver, exc_info=answer)

    transaction.on_commit(send)
