"""The contracts app's Celery tasks: they take ids and call `contracts.pipeline`. Services queue
them through the functions here, after their transaction commits."""

import logging
from uuid import UUID

from celery import shared_task
from django.db import InterfaceError, OperationalError, transaction

from contracts import pipeline

logger = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError)


@shared_task(name="contracts.tasks.contract_check_source", autoretry_for=TRANSIENT, retry_backoff=5, max_retries=5)
def contract_check_source_task(check_id: str) -> str | None:
    return pipeline.contract_check_source(check_id=UUID(check_id))


def contract_check_enqueue(*, check_id: UUID) -> None:
    """Queue a check of serving data once the current transaction commits."""
    transaction.on_commit(lambda: contract_check_dispatch(check_id=check_id))


def contract_check_dispatch(*, check_id: UUID) -> None:
    try:
        contract_check_source_task.delay(str(check_id))
    except Exception:
        # The check is committed and stays pending; asking again makes a new one.
        logger.exception("Could not queue contract check %s", check_id)
