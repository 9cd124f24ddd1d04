"""Telling the apps above which models are affected when data they learned from changes."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from training.impact import model_findings, models_trained_on
from training.signals import model_affected_send

logger = logging.getLogger(__name__)

# What a version's settling says about the models that read it, as the finding it puts on them.
FINDING_OF_STATUS = {"source_changed": "upstream_source_changed"}

# What a change of a dataset's standing (`catalog.signals.dataset_changed`) may put on the models that
# learned from it. A license change is a finding only where the new terms forbid the run's purpose.
FINDING_OF_REASON = {
    "license_changed": "upstream_license_changed",
    "deprecated": "upstream_deprecated",
    "retired": "upstream_retired",
}


def models_affected(*, dataset_id: UUID, version_id: UUID | None, finding: str, reason: str) -> list[UUID]:
    """Tell (`model_affected`) each model whose latest confirmed run read the dataset (with a version: that
    version) or data derived from it, and which now has `finding` about that dataset. A model whose finding
    of that kind is about another dataset is not told again. Returns the ids of the models told."""
    told = []
    for model in models_trained_on(dataset_id=dataset_id, version_id=version_id):
        # The catalog itself reads the findings: the codes are what is sent, never the datasets' names.
        findings = model_findings(model, None)
        if any(item["code"] == finding and item["dataset"] == dataset_id for item in findings):
            model_affected_send(
                model_id=model.pk,
                finding_codes=sorted({item["code"] for item in findings}),
                dataset_id=dataset_id,
                version_id=version_id,
                reason=reason,
            )
            told.append(model.pk)
    return told


def models_affected_by_version(
    sender: Any, *, version_id: UUID, dataset_id: UUID, status: str, **kwargs: Any
) -> list[UUID]:
    """`version_settled`'s receiver: a version found changed puts `upstream_source_changed` on the models whose
    latest confirmed run read it (or data derived from it); each such model is told with `model_affected`.
    Returns the ids of the models told."""
    finding = FINDING_OF_STATUS.get(status)
    if finding is None:
        return []
    return models_affected(dataset_id=dataset_id, version_id=version_id, finding=finding, reason=status)


def models_affected_by_dataset_change(*, dataset_id: UUID, version_id: UUID | None, reason: str) -> list[UUID]:
    """A dataset's license changed, or it (or one of its versions) was deprecated or retired: the models that
    learned from it (or from data derived from it) and now have the matching finding are told with
    `model_affected`, with the reason. Runs on a worker (`training.tasks`). Returns the ids of the models told."""
    finding = FINDING_OF_REASON.get(reason)
    if finding is None:
        logger.warning("Dataset %s changed for an unknown reason %r: no model told", dataset_id, reason)
        return []
    return models_affected(dataset_id=dataset_id, version_id=version_id, finding=finding, reason=reason)
