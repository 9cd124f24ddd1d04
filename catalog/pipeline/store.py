"""A finished profile stored on its version: features (keeping what people decided), thumbnails, the
manifest and fingerprint, and drift from the version profiled before."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, TypedDict
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from catalog.choices import VersionStatus
from catalog.models import CURATED_FIELDS, DatasetVersion, DriftReport, Feature, Thumbnail
from catalog.selectors import StoredProfile, StoredQuality, drift_view, version_previous_profiled
from catalog.signals import version_settled_send
from profiler import drift, report
from profiler.api import FeatureProfile, Profile
from profiler.files import ManifestEntry, manifest_fingerprint

logger = logging.getLogger(__name__)


class LabelMissing(TypedDict):
    """The label column the version before was labelled by, not in this version's source: the
    version is profiled without a label and says why in a finding."""

    column: str
    version: int


def _finish(version_id: UUID, claim: UUID, **fields: Any) -> bool:
    now = timezone.now()
    finished = bool(
        DatasetVersion.objects.filter(pk=version_id, status=VersionStatus.PROFILING, profiling_claim=claim).update(
            status_changed_at=now, updated_at=now, profiling_claim=None, **fields
        )
    )
    if finished and fields.get("status") in (VersionStatus.READY, VersionStatus.FAILED):
        _settled(version_id, fields["status"])
    return finished


def _settled(version_id: UUID, status: str) -> None:
    dataset_id = DatasetVersion.objects.filter(pk=version_id).values_list("dataset_id", flat=True).first()
    if dataset_id is not None:
        version_settled_send(version_id=version_id, dataset_id=dataset_id, status=str(status))


def _manifest_fields(manifest: Sequence[ManifestEntry]) -> dict[str, Any]:
    return {
        "manifest": [entry.as_dict() for entry in manifest],
        "fingerprint": manifest_fingerprint(manifest),
        "size_bytes": sum(entry.size for entry in manifest),
        "file_count": len(manifest),
    }


def _store_profile(
    version_id: UUID,
    claim: UUID,
    profile: Profile,
    manifest: Sequence[ManifestEntry] | None,
    *,
    label_missing: LabelMissing | None = None,
) -> bool:
    """Store a finished profile, its features and thumbnails included, if the claim still holds (with
    the finding of `label_missing`, a label column gone since the version before)."""
    thumbnails = profile.get("thumbnails", [])
    profile = json_safe({key: value for key, value in profile.items() if key != "thumbnails"})
    stored: StoredProfile = {
        "correlations": profile["correlations"],
        "label_association": profile["label_association"],
        "sample": profile["sample"],
        "column_count": profile["column_count"],
        "distributions": profile["distributions"],
        "splits": profile.get("splits", {}),
    }
    if "media" in profile:
        stored["media"] = profile["media"]
    dialect = profile.get("dialect")
    if dialect:
        stored["dialect"] = dialect
    quality: StoredQuality = {**profile["quality"]}
    fields: dict[str, Any] = {
        "status": VersionStatus.READY,
        "error": "",
        "row_count": profile["row_count"],
        "profile": stored,
        "profiled_at": timezone.now(),
    }
    if manifest is not None:
        fields.update(_manifest_fields(manifest))
    with transaction.atomic():
        locked = (
            DatasetVersion.objects.select_for_update()
            .filter(pk=version_id, status=VersionStatus.PROFILING, profiling_claim=claim)
            .first()
        )
        if locked is None:
            return False
        against = version_previous_profiled(locked)
        curated = _curated_annotations(locked, against)
        Thumbnail.objects.filter(version_id=version_id).delete()
        Thumbnail.objects.bulk_create(
            Thumbnail(version_id=version_id, position=position, **{**thumbnail, "label": thumbnail["label"] or ""})
            for position, thumbnail in enumerate(thumbnails)
        )
        Feature.objects.filter(version_id=version_id).delete()
        Feature.objects.bulk_create(
            _feature_with_annotations(version_id, feature, curated.get(feature["name"]))
            for feature in profile["features"]
        )
        fingerprint = fields["fingerprint"] if manifest is not None else locked.fingerprint
        fields["unchanged_from"] = _unchanged_from(locked, fingerprint)
        if against is not None:
            quality = _with_drift(locked, profile, against)
        if label_missing is not None:
            lost = drift.label_missing_finding(label_missing["column"], f"version {label_missing['version']}")
            quality = {**quality, "findings": report.sort_findings([lost, *quality["findings"]])}
        return _finish(version_id, claim, quality=quality, **fields)


def _unchanged_from(version: DatasetVersion, fingerprint: str) -> DatasetVersion | None:
    """The version before this one, if it holds the same bytes (the latest earlier fingerprint)."""
    earlier = (
        DatasetVersion.objects.filter(dataset_id=version.dataset_id, number__lt=version.number)
        .exclude(fingerprint="")
        .order_by("-number")
        .only("id", "fingerprint")
        .first()
    )
    return earlier if earlier is not None and earlier.fingerprint == fingerprint else None


def _curated_annotations(version: DatasetVersion, source: DatasetVersion | None) -> dict[str, Feature]:
    """What people decided about each feature, by name: kept from this version's own features when it
    is profiled again, else carried over from `source` (the latest earlier profiled version)."""
    own = [feature for feature in Feature.objects.filter(version=version) if feature.curated]
    if own:
        return {feature.name: feature for feature in own}
    if source is None:
        return {}
    return {feature.name: feature for feature in Feature.objects.filter(version=source) if feature.curated}


def _feature_with_annotations(version_id: UUID, feature: FeatureProfile, curated: Feature | None) -> Feature:
    row = Feature(
        version_id=version_id,
        name=feature["name"],
        position=feature["position"],
        dtype=feature["dtype"][:128],
        logical_type=feature["logical_type"],
        role=feature["role"],
        pii=feature["pii"],
        statistics=feature["statistics"],
    )
    if curated is not None:
        for field in curated.curated:
            if field in CURATED_FIELDS:
                setattr(row, field, getattr(curated, field))
        row.curated = [field for field in curated.curated if field in CURATED_FIELDS]
        row.curated_by_id = curated.curated_by_id
        row.curated_at = curated.curated_at
    return row


def _with_drift(version: DatasetVersion, profile: Profile, against: DatasetVersion) -> StoredQuality:
    """Compare a freshly profiled version with the one before it: store the report, and return its
    quality with the drift findings and a summary added."""
    quality: StoredQuality = {**profile["quality"]}
    try:
        result = drift.compare(drift.view_of(profile), drift_view(against))
    except Exception:
        # Drift is a comparison on top of the profile; a fault in it must not lose the profile.
        logger.exception("Drift of version %s against %s failed", version.pk, against.pk)
        return quality
    DriftReport.objects.update_or_create(version_id=version.pk, against_id=against.pk, defaults={"result": result})
    findings = drift.findings(result, f"version {against.number}")
    quality["findings"] = report.sort_findings([*quality["findings"], *findings])
    quality["drift"] = {
        "against": str(against.pk),
        "against_number": against.number,
        "drifted_features": result["drifted_features"],
        "label_drifted": bool(result["label"] and result["label"]["drifted"]),
        "schema_changed": any(result["schema"][key] for key in ("added", "removed", "changed", "renamed")),
    }
    return quality


def json_safe(value: Any) -> Any:
    """PostgreSQL's jsonb refuses NUL characters; data may hold them. They become U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, dict):
        return {json_safe(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value
