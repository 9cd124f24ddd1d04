"""Celery tasks of the training app: thin adapters that take ids and call the services."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from celery import shared_task
from django.db import InterfaceError, OperationalError, transaction

from config import errors
from training.choices import Reproducibility
from training.mlflow import TrackingServerError
from training.models import TrainingRun
from training.services.mlflow import mlflow_import_scheduled
from training.services.notices import models_affected_by_dataset_change
from training.services.verify import training_run_verify

logger = logging.getLogger(__name__)


# --- Verifying a run's inputs -----------------------------------------------------------------------


# A database that blinked is retried with backoff, as the catalog's verification is.
@shared_task(
    name="training.tasks.training_run_verify",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    max_retries=5,
)
def training_run_verify_task(run_id: str) -> str:
    return str(training_run_verify(run_id=UUID(run_id))["status"])


def training_run_verify_enqueue(*, run_id: UUID) -> None:
    """Mark the run's check pending and queue it once the current transaction commits."""
    TrainingRun.objects.filter(pk=run_id).update(verification_status=Reproducibility.PENDING)
    transaction.on_commit(lambda: _verify_dispatch(run_id=run_id))


def _verify_dispatch(*, run_id: UUID) -> None:
    try:
        training_run_verify_task.delay(str(run_id))
    except Exception:
        # The request is answered; the run stays pending until it is asked again.
        logger.exception("Could not queue training run %s for verification", run_id)


# --- Telling which models a dataset's change affects ----------------------------------------------------


@shared_task(
    name="training.tasks.models_affected_by_dataset_change",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    max_retries=5,
)
def models_affected_by_dataset_change_task(dataset_id: str, version_id: str | None, reason: str) -> list[str]:
    told = models_affected_by_dataset_change(
        dataset_id=UUID(dataset_id), version_id=UUID(version_id) if version_id else None, reason=reason
    )
    return [str(pk) for pk in told]


def dataset_changed_received(
    sender: Any, *, dataset_id: UUID, version_id: UUID | None, reason: str, **kwargs: Any
) -> None:
    """`catalog.signals.dataset_changed`'s receiver (sent after the change commits): the models that learned
    from the dataset are found and told on a worker, so a change in a request never waits for the walk of
    every model downstream. A broker that cannot be reached is logged; the change stays made."""
    try:
        models_affected_by_dataset_change_task.delay(str(dataset_id), str(version_id) if version_id else None, reason)
    except Exception:
        logger.exception("Could not queue the models affected by dataset %s (%s)", dataset_id, reason)


# --- Importing runs from MLflow ------------------------------------------------------------------------


@shared_task(name="training.tasks.mlflow_import_scheduled")
def mlflow_import_scheduled_task() -> dict[str, Any] | None:
    """Beat's import of CATALOG_MLFLOW_TRACKING_URI (config/settings.py); a server that cannot be read
    or a setting that is wrong is logged and fails the task, and the next one tries again."""
    try:
        summary = mlflow_import_scheduled()
    except (TrackingServerError, errors.DomainError) as exc:
        logger.error("The periodic MLflow import failed: %s", exc)
        raise
    if summary is None:
        return None
    for line in summary.lines():
        logger.info("%s", line)
    return summary.as_dict()
