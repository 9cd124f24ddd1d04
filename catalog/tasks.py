"""Celery adapters: take ids, call services. Dispatched only after the registering transaction commits."""

import logging
from uuid import UUID

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from catalog import services

logger = logging.getLogger(__name__)


@shared_task(
    name="catalog.tasks.version_profile",
    bind=True,
    # Only transient faults are retried: a database that blinked. A bad source fails the version.
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def version_profile_task(self, version_id: str) -> str | None:  # type: ignore[no-untyped-def]
    try:
        return services.version_profile(version_id=UUID(version_id), claim=_claim_of(self.request.id))
    except SoftTimeLimitExceeded:
        limit = settings.CELERY_TASK_SOFT_TIME_LIMIT
        services.version_fail(
            version_id=UUID(version_id),
            error=f"Profiling took longer than the {limit} s limit (CELERY_TASK_SOFT_TIME_LIMIT).",
        )
        return "failed"


def _claim_of(task_id: str | None) -> UUID | None:
    try:
        return UUID(task_id) if task_id else None
    except ValueError:
        return None


@shared_task(name="catalog.tasks.versions_requeue_stuck")
def versions_requeue_stuck_task() -> int:
    return len(services.versions_requeue_stuck())
