"""What people say about versions and features, a version's drift as a reader may see it, and verification asked for."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from catalog import tasks
from catalog.choices import VersionStatus
from catalog.models import CURATED_FIELDS, DatasetVersion, Feature
from catalog.selectors import drift_view, personal_data_visible_to
from catalog.services.errors import DeprecationUnexplained, VersionNotProfiled, VersionNotVerifiable
from catalog.signals import DEPRECATED, dataset_changed_send
from config import errors
from governance.choices import ChangeAction, ObjectType
from governance.services import change_record, changed_values
from profiler import drift


def version_drift(
    *, version: DatasetVersion, against: DatasetVersion, reader: User | AnonymousUser | None = None
) -> dict[str, Any]:
    """Drift of one profiled version from another (of the same dataset or any other), as `reader`
    may see it: the personal-data features of a version whose values the reader may not see are left
    out on both sides (by name, so neither a same-named column nor a rename can be compared with
    them), and so is the label when it is one of them; `masked_features` names them. Without a
    reader (the catalog itself), every feature is compared."""
    for item in (version, against):
        if item.status != VersionStatus.READY:
            raise VersionNotProfiled(item)
    withheld: set[str] = set()
    if reader is not None:
        for item in (version, against):
            if not personal_data_visible_to(user=reader, dataset_id=item.dataset_id):
                withheld |= set(Feature.objects.filter(version_id=item.pk, pii=True).values_list("name", flat=True))
    result = drift.compare(drift_view(version, withheld=withheld), drift_view(against, withheld=withheld))
    return {**result, "masked_features": sorted(withheld)}


def version_update(*, actor: User, version: DatasetVersion, **changes: Any) -> DatasetVersion:
    """Change what people say about a version: its notes, and whether it is deprecated (with a reason).

    Its source, format, fingerprint and statistics never change here: a version means the bytes it was
    registered with. A deprecation says why in the same change (DeprecationUnexplained)."""
    allowed = {"notes", "deprecated", "deprecation_reason"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"Cannot change {', '.join(sorted(unknown))} of a version.")
    if changes.get("deprecated") and not changes.get("deprecation_reason", "").strip():
        raise DeprecationUnexplained("Say why the version is deprecated (and what to use instead).")
    with transaction.atomic():
        locked = DatasetVersion.objects.select_for_update().get(pk=version.pk)
        before = _version_values(locked)
        if "notes" in changes:
            locked.notes = changes["notes"]
        if "deprecation_reason" in changes:
            locked.deprecation_reason = changes["deprecation_reason"]
        if changes.get("deprecated") is True and locked.deprecated_at is None:
            locked.deprecated_at = timezone.now()
        elif changes.get("deprecated") is False:
            locked.deprecated_at = None
            locked.deprecation_reason = ""
        old, new = changed_values(before, _version_values(locked))
        if new:
            locked.save(update_fields=["notes", "deprecated_at", "deprecation_reason", "updated_at"])
            change_record(
                actor=actor,
                action=ChangeAction.UPDATE,
                object_type=ObjectType.VERSION,
                object_id=locked.pk,
                dataset_id=locked.dataset_id,
                before=old,
                after=new,
                object_repr=str(locked),
            )
            if new.get("deprecated") is True:
                dataset_changed_send(dataset_id=locked.dataset_id, version_id=locked.pk, reason=DEPRECATED)
    return locked


def _version_values(version: DatasetVersion) -> dict[str, Any]:
    return {
        "notes": version.notes,
        "deprecated": version.deprecated_at is not None,
        "deprecation_reason": version.deprecation_reason,
    }


def feature_curate(*, actor: User, feature: Feature, **changes: Any) -> Feature:
    """Record a person's decision about a feature (its description, role, or whether it is personal
    data). Profiling never overrides it, and it carries over to later versions by feature name.

    A dismissal (`pii=False`) unmasks the feature's values for every reader: only those already
    entitled to them (owners and stewards) may take it. Staff may confirm personal data, not dismiss it."""
    unknown = set(changes) - set(CURATED_FIELDS)
    if unknown:
        raise ValueError(f"Cannot change {', '.join(sorted(unknown))} of a feature.")
    if changes.get("pii") is False and not personal_data_visible_to(user=actor, dataset_id=feature.version.dataset_id):
        raise errors.Forbidden(
            "Only the dataset's owners and stewards may decide that a feature is not personal data: "
            "it unmasks its values for everyone who reads the dataset."
        )
    with transaction.atomic():
        locked = Feature.objects.select_for_update().select_related("version").get(pk=feature.pk)
        before = {field: getattr(locked, field) for field in changes}
        for field, value in changes.items():
            setattr(locked, field, value)
        locked.curated = sorted(set(locked.curated) | set(changes))
        locked.curated_by = actor
        locked.curated_at = timezone.now()
        locked.save(update_fields=[*changes, "curated", "curated_by", "curated_at"])
        # A confirmation of what profiling suggested is a decision too, so it is recorded even when
        # the value stays the same.
        change_record(
            actor=actor,
            action=ChangeAction.UPDATE,
            object_type=ObjectType.FEATURE,
            object_id=locked.pk,
            dataset_id=locked.version.dataset_id,
            before=before,
            after={field: getattr(locked, field) for field in changes},
            object_repr=f"{locked.version}: {locked.name}",
        )
    return locked


def version_verify_request(*, actor: User, version: DatasetVersion) -> None:
    """Queue a re-hash of a version's source (answered at once; the worker records the outcome)."""
    if not version.manifest:
        raise VersionNotVerifiable(version)
    tasks.version_verify_enqueue(version_id=version.pk)
