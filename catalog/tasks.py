"""Celery adapters: take ids, call services. Dispatched only after the registering transaction commits."""

import logging
from uuid import UUID

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from catalog import services

logger = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError)


class ProfilingTask(Task):
    """Retried with backoff on transient faults only: a database that blinked. A bad source fails
    the version instead, and other faults are recorded on it (see _fail_on_fault)."""

    autoretry_for = TRANSIENT
    retry_backoff = 5
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 5


def _claim_of(task_id: str | None) -> UUID | None:
    try:
        return UUID(task_id) if task_id else None
    except ValueError:
        return None


def _fail_on_fault(version_id: str, claim: UUID | None, exc: BaseException) -> str:
    if isinstance(exc, SoftTimeLimitExceeded):
        error = f"Profiling took longer than the {settings.CELERY_TASK_SOFT_TIME_LIMIT} s limit (CELERY_TASK_SOFT_TIME_LIMIT)."
    else:
        logger.exception("Profiling version %s failed unexpectedly", version_id)
        error = f"The profiler failed unexpectedly ({type(exc).__name__}); the fault is logged for the operators."
    services.version_fail(version_id=UUID(version_id), error=error, claim=claim)
    return "failed"


@shared_task(
    name="catalog.tasks.version_profile",
    bind=True,
    base=ProfilingTask,
)
def version_profile_task(self, version_id: str) -> str | None:  # type: ignore[no-untyped-def]
    claim = _claim_of(self.request.id)
    try:
        return services.version_profile(version_id=UUID(version_id), claim=claim)
    except TRANSIENT:
        raise
    except Exception as exc:
        return _fail_on_fault(version_id, claim, exc)


@shared_task(
    name="catalog.tasks.version_profile_part",
    bind=True,
    ignore_result=False,  # a chord counts its parts' results
    base=ProfilingTask,
)
def version_profile_part_task(self, version_id: str, claim: str, index: int) -> bool:  # type: ignore[no-untyped-def]
    try:
        return services.version_profile_part(version_id=UUID(version_id), claim=UUID(claim), index=index)
    except TRANSIENT:
        raise
    except Exception as exc:
        _fail_on_fault(version_id, UUID(claim), exc)
        return False


@shared_task(
    name="catalog.tasks.version_merge_parts",
    bind=True,
    base=ProfilingTask,
)
def version_merge_parts_task(self, results: list[bool], version_id: str, claim: str, parts: int) -> str | None:  # type: ignore[no-untyped-def]
    try:
        return services.version_merge_parts(version_id=UUID(version_id), claim=UUID(claim), parts=parts)
    except TRANSIENT:
        raise
    except Exception as exc:
        return _fail_on_fault(version_id, UUID(claim), exc)


@shared_task(name="catalog.tasks.versions_requeue_stuck")
def versions_requeue_stuck_task() -> int:
    return len(services.versions_requeue_stuck())


@shared_task(name="catalog.tasks.version_verify", autoretry_for=TRANSIENT, retry_backoff=5, max_retries=5)
def version_verify_task(version_id: str) -> str:
    return services.version_verify(version_id=UUID(version_id))["status"]


@shared_task(name="catalog.tasks.versions_verify_due")
def versions_verify_due_task() -> int:
    return len(services.versions_verify_due())
