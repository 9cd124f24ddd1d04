"""Celery tasks of the webhooks: thin adapters that take ids, and the queueing of each attempt."""

from __future__ import annotations

import logging
from datetime import timedelta
from uuid import UUID

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from webhooks.choices import DeliveryStatus
from webhooks.delivery import delivery_attempt
from webhooks.models import WebhookDelivery

logger = logging.getLogger(__name__)

# The sweep sends a pending delivery due for this long that no queued attempt took (a lost message, a
# broker that was down, a retry later than a message may wait in the broker).
SWEEP_GRACE = timedelta(seconds=30)
SWEEP_BATCH = 500


@shared_task(
    name="webhooks.tasks.webhook_deliver",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    max_retries=5,
)
def webhook_deliver_task(delivery_id: str) -> float | None:
    retry_in = delivery_attempt(delivery_id=UUID(delivery_id))
    # In-process (the quick start) a countdown is not waited for: the next attempt waits for a worker's sweep.
    # A message held past the broker's visibility timeout is handed out again: later retries are the sweep's.
    eager = webhook_deliver_task.app.conf.task_always_eager
    if retry_in is not None and not eager and retry_in < settings.CELERY_BROKER_VISIBILITY_TIMEOUT / 2:
        _dispatch(delivery_id=UUID(delivery_id), countdown=retry_in)
    return retry_in


@shared_task(name="webhooks.tasks.webhook_deliveries_due")
def webhook_deliveries_due_task() -> int:
    """Beat's sweep: queue the pending deliveries past due that no worker holds."""
    now = timezone.now()
    due = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now - SWEEP_GRACE)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for delivery_id in due:
        _dispatch(delivery_id=delivery_id)
    return len(due)


def webhook_delivery_enqueue(*, delivery_id: UUID) -> None:
    """Queue the delivery's first attempt once the current transaction commits."""
    transaction.on_commit(lambda: _dispatch(delivery_id=delivery_id))


def _dispatch(*, delivery_id: UUID, countdown: float | None = None) -> None:
    try:
        if countdown is None:
            webhook_deliver_task.apply_async((str(delivery_id),))
        else:
            webhook_deliver_task.apply_async((str(delivery_id),), countdown=countdown)
    except Exception:
        # The event is stored; the sweep sends the delivery once the broker is back.
        logger.exception("Could not queue webhook delivery %s", delivery_id)
