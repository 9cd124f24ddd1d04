"""One attempt at a delivery, on a worker: claim it, sign the body, POST it, record how it went.

Knows no Celery: `webhooks.tasks` runs it and queues the next attempt it asks for.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from webhooks import signing, transport
from webhooks.choices import DeliveryStatus
from webhooks.models import WebhookDelivery

logger = logging.getLogger(__name__)

# Of an answer's body, what is kept on the delivery (characters).
EXCERPT_CHARS = 1000
# Statuses worth another attempt, besides every 5xx: the receiver timed out, or asks to slow down.
RETRIED_STATUSES = frozenset({408, 429})


def retry_delay(attempt: int, *, base: float, cap: float) -> float:
    """Seconds to wait after failed attempt number `attempt` (1, 2, ...): base, 2 base, 4 base, ... at most cap."""
    return float(min(cap, base * 2 ** max(0, attempt - 1)))


def retried(status: int) -> bool:
    return status >= 500 or status in RETRIED_STATUSES


def body_of(payload: dict[str, Any]) -> bytes:
    """The bytes sent, the same at every attempt: the members in their documented order, `data` sorted."""
    ordered = {key: payload.get(key) for key in ("event", "id", "created_at", "data")}
    return json.dumps(ordered, separators=(",", ":"), sort_keys=False, ensure_ascii=False).encode()


def _excerpt(raw: bytes) -> str:
    # PostgreSQL text holds no NUL; the rest is kept as the receiver sent it, cut.
    return raw.decode("utf-8", errors="replace").replace("\x00", "")[:EXCERPT_CHARS]


def delivery_attempt(*, delivery_id: UUID) -> float | None:
    """Make the delivery's next attempt if it is due and no other worker holds it. Returns the seconds
    until the attempt after it when this one failed in a way worth retrying, else None."""
    now = timezone.now()
    timeout = settings.CATALOG_WEBHOOK_CONNECT_TIMEOUT + settings.CATALOG_WEBHOOK_TIMEOUT
    held_until = now + timedelta(seconds=timeout + 30)
    # Compare-and-set: a redelivered task, the sweep and a retry never send one delivery twice at once.
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=held_until)
    )
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None:  # its webhook was removed since
        return None
    webhook = delivery.webhook
    attempt = delivery.attempts + 1
    started = time.monotonic()
    code: int | None = None
    excerpt = ""
    error = ""
    retry = False
    if not webhook.active:
        error = "The webhook was made inactive before this delivery was sent."
    else:
        body = body_of(delivery.payload)
        headers = {
            signing.HEADER: signing.signature_header(webhook.secret, body),
            "Catalog-Event": delivery.event,
            "Catalog-Event-Id": str(delivery.event_id),
            "Catalog-Delivery": str(delivery.pk),
        }
        try:
            target = transport.url_vet(webhook.url, allow_private=settings.CATALOG_WEBHOOK_ALLOW_PRIVATE_URLS)
            answer = transport.post(
                target,
                body,
                headers,
                connect_timeout=settings.CATALOG_WEBHOOK_CONNECT_TIMEOUT,
                read_timeout=settings.CATALOG_WEBHOOK_TIMEOUT,
                max_response_bytes=settings.CATALOG_WEBHOOK_MAX_RESPONSE_BYTES,
                ca_certs=settings.CATALOG_WEBHOOK_CA_BUNDLE,
            )
        except transport.UrlRefused as exc:
            error = str(exc)
        except transport.DeliveryError as exc:
            error, retry = str(exc), True
        else:
            code, excerpt = answer.status, _excerpt(answer.excerpt)
            if 300 <= code < 400:
                error = f"The receiver answered {code}; redirects are not followed: register the final URL."
            elif not 200 <= code < 300:
                error = f"The receiver answered {code}."
                retry = retried(code)
    finished = timezone.now()
    succeeded = code is not None and 200 <= code < 300
    delay = None
    if retry and attempt < settings.CATALOG_WEBHOOK_MAX_ATTEMPTS:
        delay = retry_delay(
            attempt, base=settings.CATALOG_WEBHOOK_RETRY_DELAY, cap=settings.CATALOG_WEBHOOK_RETRY_MAX_DELAY
        )
    if succeeded:
        status = DeliveryStatus.SUCCEEDED
    elif delay is not None:
        status = DeliveryStatus.PENDING
    else:
        status = DeliveryStatus.FAILED
    history = [
        *delivery.history,
        {
            "attempt": attempt,
            "at": now.isoformat(),
            "response_code": code,
            "error": error,
            "duration_ms": round((time.monotonic() - started) * 1000),
        },
    ]
    WebhookDelivery.objects.filter(pk=delivery_id, claimed_until=held_until).update(
        status=status,
        attempts=attempt,
        response_code=code,
        response_excerpt=excerpt,
        error=error,
        history=history,
        next_attempt_at=finished + timedelta(seconds=delay) if delay is not None else None,
        claimed_until=None,
        delivered_at=finished if succeeded else None,
        updated_at=finished,
    )
    if status == DeliveryStatus.FAILED:
        logger.warning("Webhook delivery %s of %s failed for good: %s", delivery_id, delivery.event, error)
    return delay
