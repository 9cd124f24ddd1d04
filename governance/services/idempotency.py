"""Housekeeping of the answers kept for requests sent with an Idempotency-Key."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from governance.models import IdempotencyRecord

# How long the first answer to a POST with an Idempotency-Key is kept for replay.
IDEMPOTENCY_RETENTION = timedelta(hours=24)


def idempotency_records_purge() -> int:
    """Forget answers older than the retention period; their keys may be used again."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - IDEMPOTENCY_RETENTION).delete()
    return deleted
