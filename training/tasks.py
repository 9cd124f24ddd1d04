"""Celery tasks of the training app: thin adapters that take ids and call the services."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from config import errors
from training.mlflow import TrackingServerError
from training.services.mlflow import mlflow_import_scheduled

logger = logging.getLogger(__name__)


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
