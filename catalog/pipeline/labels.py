"""Label quality of a profiled version on a worker: its source read again, the analysis of
`profiler.labels`, and the result stored beside the profile (`quality.label_issues`,
`quality.near_conflicts`, `quality.groups` and their findings) without overwriting a profile stored
meanwhile."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.choices import FeatureRole, LabelQualityStatus, VersionStatus
from catalog.models import DatasetVersion, Feature
from catalog.pipeline.label_review import label_issues_store
from catalog.pipeline.profiling import _plan
from catalog.pipeline.store import json_safe
from catalog.sources import source_opened
from profiler import label_rows, labels
from profiler.api import SourceError
from profiler.findings import sort_findings

logger = logging.getLogger(__name__)

# The keys of `quality` this analysis owns; a profile stored again drops them (it rewrites quality).
QUALITY_KEYS = ("label_issues", "near_conflicts", "groups")
FINDING_CODES = frozenset(
    {"label_issues", "near_conflicts", "group_underrepresented", "group_label_disparity", "group_feature_missing"}
)
# Above this multiple of the analysed rows, rows are thinned while the source is read.
READ_MARGIN = 4
TEXT_READ_MARGIN = 1.2


def version_label_quality_reset(*, version_id: UUID) -> bool:
    """Make a freshly profiled version wait for its label quality (or say it has none to examine:
    no classification label). Returns whether the analysis should be queued."""
    version = DatasetVersion.objects.filter(pk=version_id, status=VersionStatus.READY).first()
    if version is None:
        return False
    applicable = _classification_label(version) is not None
    error = ""
    if applicable and not settings.CATALOG_LABEL_QUALITY:
        applicable, error = False, "Label quality is turned off here (CATALOG_LABEL_QUALITY=0)."
    elif not applicable and version.format == "images" and _labelled_for_classification(version):
        error = labels.IMAGES_NOT_APPLICABLE + labels.IMAGES_NO_GROUPS
    status = LabelQualityStatus.PENDING if applicable else LabelQualityStatus.NOT_APPLICABLE
    DatasetVersion.objects.filter(pk=version_id).update(
        label_quality_status=status,
        label_quality_error=error,
        label_quality_changed_at=timezone.now(),
        label_quality_attempts=0,
    )
    return applicable


def _labelled_for_classification(version: DatasetVersion) -> bool:
    quality = version.quality or {}
    return bool(quality.get("label_column")) and quality.get("task_type") == "classification"


def _classification_label(version: DatasetVersion) -> str | None:
    """The label column whose labels are examined: a classification label of a table or of a text
    corpus (its class folders or its records' label field), or of an image folder with group features
    named (only the representation of its groups is examined: `labels.IMAGES_NOT_APPLICABLE`)."""
    if not _labelled_for_classification(version):
        return None
    if version.format == "images" and version.group_features:
        return str(version.quality["label_column"])
    if version.format not in ("csv", "tsv", "parquet", "jsonl", "text"):
        return None
    return str(version.quality["label_column"])


def version_label_quality(*, version_id: UUID, options: labels.LabelOptions | None = None) -> str | None:
    """Analyse the labels of a ready version and store the result; returns the label-quality status
    reached, or None when the version was not waiting for it (another worker has it, or it changed)."""
    now = timezone.now()
    claimed = DatasetVersion.objects.filter(
        pk=version_id, status=VersionStatus.READY, label_quality_status=LabelQualityStatus.PENDING
    ).update(
        label_quality_status=LabelQualityStatus.RUNNING,
        label_quality_changed_at=now,
        label_quality_attempts=F("label_quality_attempts") + 1,
    )
    if not claimed:
        return None
    version = DatasetVersion.objects.get(pk=version_id)
    # The profile this analysis is about: a profile stored after it makes the result stale.
    profiled_at = version.profiled_at
    label = _classification_label(version)
    if label is None:
        return _end(version_id, profiled_at, status=LabelQualityStatus.NOT_APPLICABLE)
    options = options or labels.LabelOptions()
    try:
        result = _analyse(version, label, options)
    except (SourceError, labels.LabelAnalysisError) as exc:
        return _end(version_id, profiled_at, status=LabelQualityStatus.FAILED, error=str(exc))
    return _store(version_id, profiled_at, result)


def _analyse(version: DatasetVersion, label: str, options: labels.LabelOptions) -> dict[str, Any]:
    if version.format == "text":
        return _analyse_text(version, options)
    if version.format == "images":
        return _analyse_images(version, label, options)
    features = list(Feature.objects.filter(version=version).order_by("position"))
    names = {feature.name for feature in features}
    learn_from = {
        feature.name: feature.logical_type
        for feature in features
        if feature.name != label and feature.role not in (FeatureRole.ID, FeatureRole.TIMESTAMP, FeatureRole.WEIGHT)
    }
    learn_from = {name: kind for name, kind in learn_from.items() if name not in version.group_features}
    groups = [name for name in version.group_features if name in names]
    rows = version.row_count or 0
    keep = min(1.0, READ_MARGIN * options.max_rows / rows) if rows else 1.0
    with source_opened(version.uri) as files:
        planned, _ = _plan(version, files)
        frame, row_names = labels.read_table(
            planned.partitions, [label, *learn_from, *groups], keep_share=keep, seed=options.seed
        )
    result = labels.analyse(
        frame, label=label, features=learn_from, row_names=row_names, group_features=groups, options=options
    )
    if keep < 1.0:
        result["label_issues"]["sampled"] = True
    # Every flagged row (up to label_rows.MAX_STORED) is kept for review, not only the examples.
    result["review_rows"] = label_rows.flagged_rows(frame, result["flagged"], limit=label_rows.MAX_STORED)
    missing = [name for name in version.group_features if name not in names]
    result["findings"].extend(
        {
            "severity": "warning",
            "code": "group_feature_missing",
            "feature": name,
            "message": f"The group feature {name!r} is not a column of this version; its groups are not examined.",
        }
        for name in missing
    )
    return result


def _analyse_text(version: DatasetVersion, options: labels.LabelOptions) -> dict[str, Any]:
    """The documents of a text corpus read again (their labels, texts and group features: `split`,
    `language` or fields of their JSON Lines records) and analysed with TF-IDF and a linear model."""
    options = dataclasses.replace(options, max_rows=min(options.max_rows, labels.TEXT_MAX_DOCUMENTS))
    rows = version.row_count or 0
    # Documents are larger than rows: a smaller margin over the sample keeps memory bounded.
    keep = min(1.0, TEXT_READ_MARGIN * options.max_rows / rows) if rows else 1.0
    with source_opened(version.uri) as files:
        planned, _ = _plan(version, files)
        frame, row_names, missing = labels.read_documents(
            planned.partitions, list(version.group_features), keep_share=keep, seed=options.seed
        )
    groups = [name for name in version.group_features if name not in missing]
    result = labels.analyse_text(frame, row_names=row_names, group_features=groups, options=options)
    if keep < 1.0:
        result["label_issues"]["sampled"] = True
    # Kept for review with the document's label and text (its first characters the analysis read), and
    # hashed on them; fields of its record examined as groups stay out (they may be personal data
    # that no feature of the profile marks).
    result["review_rows"] = label_rows.flagged_rows(
        frame[[labels.TEXT_LABEL, labels.TEXT_COLUMN]], result["flagged"], limit=label_rows.MAX_STORED
    )
    result["findings"].extend(
        {
            "severity": "warning",
            "code": "group_feature_missing",
            "feature": name,
            "message": f"No document of this version has the group feature {name!r} (a field of its records, "
            "split or language); its groups are not examined.",
        }
        for name in missing
    )
    return result


def _analyse_images(version: DatasetVersion, label: str, options: labels.LabelOptions) -> dict[str, Any]:
    """The images of a folder listed again (their labels, splits and manifest columns, not their
    pixels) and the representation of their groups examined; their labels are not (no vision model)."""
    with source_opened(version.uri) as files:
        planned, _ = _plan(version, files)
        frame, _names, missing, others = labels.read_images(
            planned.partitions, files, list(version.group_features), label_column=label
        )
    groups = [name for name in version.group_features if name not in missing]
    result = labels.analyse_images(frame, group_features=groups, others=others, options=options)
    result["review_rows"] = []
    result["findings"].extend(
        {
            "severity": "warning",
            "code": "group_feature_missing",
            "feature": name,
            "message": f"No image of this version has the group feature {name!r} (split, or a column of its "
            "manifest); its groups are not examined.",
        }
        for name in missing
    )
    return result


def _store(version_id: UUID, profiled_at: Any, result: dict[str, Any]) -> str | None:
    with transaction.atomic():
        # The row lock orders this write after a profile being stored, and the check below drops
        # the result if that profile is newer than the one analysed.
        locked = (
            DatasetVersion.objects.select_for_update()
            .filter(pk=version_id, status=VersionStatus.READY, label_quality_status=LabelQualityStatus.RUNNING)
            .first()
        )
        if locked is None or locked.profiled_at != profiled_at:
            return None
        quality = {key: value for key, value in (locked.quality or {}).items() if key not in QUALITY_KEYS}
        kept = [item for item in quality.get("findings") or [] if item.get("code") not in FINDING_CODES]
        review = label_issues_store(locked, result.get("review_rows") or [])
        result["label_issues"]["review"] = {
            **review,
            "limit": label_rows.MAX_STORED,
            # No count when labels were not examined (images): nothing flagged, nothing cut.
            "capped": review["stored"] < int(result["label_issues"]["count"] or 0),
        }
        quality.update(json_safe({key: result[key] for key in QUALITY_KEYS}))
        quality["findings"] = sort_findings([*kept, *json_safe(result["findings"])])
        locked.quality = quality
        locked.label_quality_status = LabelQualityStatus.READY
        locked.label_quality_error = ""
        locked.label_quality_changed_at = timezone.now()
        locked.save(
            update_fields=[
                "quality",
                "label_quality_status",
                "label_quality_error",
                "label_quality_changed_at",
                "updated_at",
            ]
        )
    logger.info("Label quality of version %s: %s rows flagged", version_id, result["label_issues"]["count"])
    return LabelQualityStatus.READY


def _end(version_id: UUID, profiled_at: Any, *, status: str, error: str = "") -> str | None:
    ended = DatasetVersion.objects.filter(
        pk=version_id, label_quality_status=LabelQualityStatus.RUNNING, profiled_at=profiled_at
    ).update(label_quality_status=status, label_quality_error=error, label_quality_changed_at=timezone.now())
    if ended and error:
        logger.info("Label quality of version %s failed: %s", version_id, error)
    return status if ended else None


def version_label_quality_fail(*, version_id: UUID, error: str) -> None:
    """Record an unexpected fault of the analysis on the version (never left running)."""
    DatasetVersion.objects.filter(pk=version_id, label_quality_status=LabelQualityStatus.RUNNING).update(
        label_quality_status=LabelQualityStatus.FAILED,
        label_quality_error=error,
        label_quality_changed_at=timezone.now(),
    )
