"""Telling the apps above which models are affected when data they learned from changes."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AnonymousUser

from training.impact import model_findings, models_trained_on
from training.signals import model_affected_send

logger = logging.getLogger(__name__)

# What a version's settling says about the models that read it, as the finding it puts on them.
FINDING_OF_STATUS = {"source_changed": "upstream_source_changed"}


def models_affected_by_version(
    sender: Any, *, version_id: UUID, dataset_id: UUID, status: str, **kwargs: Any
) -> list[UUID]:
    """`version_settled`'s receiver: a version found changed puts `upstream_source_changed` on the models whose
    latest confirmed run read it (or data derived from it); each such model is told with `model_affected`.
    Returns the ids of the models told."""
    finding = FINDING_OF_STATUS.get(status)
    if finding is None:
        return []
    told = []
    for model in models_trained_on(dataset_id=dataset_id, version_id=version_id):
        # No reader: the codes are what is sent, never the datasets' names (placeholders here).
        codes = sorted({item["code"] for item in model_findings(model, AnonymousUser())})
        if finding in codes:
            model_affected_send(
                model_id=model.pk, finding_codes=codes, dataset_id=dataset_id, version_id=version_id, reason=status
            )
            told.append(model.pk)
    return told
