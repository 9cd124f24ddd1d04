"""The contracts app's Celery tasks: they take ids and call `contracts.pipeline`. Services queue
them through the functions here, after their transaction commits; beat runs the sweep."""

import logging
from functools import partial
from uuid import UUID

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from contracts import pipeline
from contracts.models import ContractCheck

logger = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError)


@shared_task(name="contracts.tasks.contract_check_source", autoretry_for=TRANSIENT, retry_backoff=5, max_retries=5)
def contract_check_source_task(check_id: str) -> str | None:
    return pipeline.contract_check_source(check_id=UUID(check_id))


@shared_task(name="contracts.tasks.contract_checks_requeue_stuck")
def contract_checks_requeue_stuck_task() -> int:
    return len(contract_checks_requeue_stuck())


def contract_check_enqueue(*, check_id: UUID) -> None:
    """Queue a check of serving data once the current transaction commits."""
    transaction.on_commit(lambda: contract_check_dispatch(check_id=check_id))


def contract_check_dispatch(*, check_id: UUID) -> None:
    try:
        contract_check_source_task.delay(str(check_id))
    except Exception:
        # The check is committed and stays pending; the sweep sends it again.
        logger.exception("Could not queue contract check %s; the sweep will re-queue it", check_id)
        return
    ContractCheck.objects.filter(pk=check_id, queued_at__isnull=True).update(queued_at=timezone.now())


def contract_checks_requeue_stuck() -> list[UUID]:
    """Send again every check of serving data whose message was lost: pending longer than
    CATALOG_PENDING_REQUEUE_AFTER since it was created or last queued (a broker that was down or
    forgot), or running longer than CATALOG_PROFILING_STUCK_AFTER (a worker killed mid-profile). A
    check taken up CATALOG_CONTRACT_CHECK_MAX_ATTEMPTS times without finishing is given up on: it
    becomes `error`, saying so. Each is sent at most once per period; a row another transaction holds
    is left to it."""
    now = timezone.now()
    pending_before = now - settings.CATALOG_PENDING_REQUEUE_AFTER
    running_before = now - settings.CATALOG_PROFILING_STUCK_AFTER
    attempts = settings.CATALOG_CONTRACT_CHECK_MAX_ATTEMPTS
    lost = Q(status=ContractCheck.Status.RUNNING, status_changed_at__lt=running_before) | Q(
        Q(queued_at__lt=pending_before) | Q(queued_at__isnull=True, created_at__lt=pending_before),
        status=ContractCheck.Status.PENDING,
    )
    with transaction.atomic():
        checks = list(
            ContractCheck.objects.filter(lost)
            .order_by("pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", "attempts", "status")
        )
        exhausted = [pk for pk, tried, _ in checks if tried >= attempts]
        for check_id in exhausted:
            pipeline.contract_check_give_up(
                check_id=check_id,
                error=f"The check was taken up {attempts} times without finishing (a worker died or the time "
                "limit passed each time); the source may be too large for the workers. Ask for a new check.",
            )
        again = [pk for pk, tried, _ in checks if tried < attempts]
        ContractCheck.objects.filter(pk__in=again).update(
            status=ContractCheck.Status.PENDING, status_changed_at=now, queued_at=now
        )
        for check_id in again:
            transaction.on_commit(partial(contract_check_dispatch, check_id=check_id))
    if checks:
        logger.warning(
            "Contract checks: re-queued %d stuck in pending or running, gave up on %d", len(again), len(exhausted)
        )
    return again
