"""What the catalog knows about a dataset, as a card shows it: filled in, never retyped."""

from __future__ import annotations

from typing import Any

from catalog.models import Dataset, DatasetVersion
from catalog.selectors import (
    dataset_latest_version_with_features,
    dataset_owners,
    licenses_by_id,
    version_profile_stored,
    version_quality,
)
from governance.choices import LICENSE_TERMS
from governance.licensing import LicenseExpressionInvalid, license_expression_parse
from profiler.pii import aliased_counts, aliased_paths, class_aliases


def card_facts(dataset: Dataset, *, shows_personal: bool = False) -> dict[str, Any]:
    """The latest version (its fingerprint, size, features, class balance, splits), the license with
    its terms, and who answers for the dataset.

    Unless `shows_personal` (the reader owns or stewards the dataset), a label that is personal data
    (`pii` true, by detection or decision, as its feature says now) has its classes named `class 1`,
    `class 2`... (the most frequent first, counts kept), in the counts and in the folders of file
    paths, and `class_names_masked` says so."""
    version = dataset_latest_version_with_features(dataset)
    try:
        parsed = license_expression_parse(dataset.license) if dataset.license else None
    except LicenseExpressionInvalid:
        parsed = None
    ids = parsed.ids if parsed is not None else ()
    licenses = licenses_by_id(ids)
    owners = dataset_owners(dataset)
    facts: dict[str, Any] = {
        "namespace": dataset.namespace,
        "name": dataset.name,
        "description": dataset.description,
        "created_at": dataset.created_at,
        "sensitivity": dataset.sensitivity,
        "origin": dataset.origin,
        "origin_terms": dataset.origin_terms,
        "owners": owners,
        "license": {
            "expression": dataset.license,
            "licenses": [
                {
                    "spdx_id": spdx_id,
                    "name": licenses[spdx_id].name,
                    "url": licenses[spdx_id].url,
                    "terms": {term: getattr(licenses[spdx_id], term) for term in LICENSE_TERMS},
                    "use_restrictions": licenses[spdx_id].use_restrictions,
                }
                for spdx_id in ids
                if spdx_id in licenses
            ],
            # How they combine: AND and OR told apart, WITH exceptions kept (None when unknown).
            "terms": parsed.terms if parsed is not None else None,
        },
        "version": None,
    }
    if version is None:
        return facts
    splits = version_profile_stored(version).get("splits") or {}
    label_column, class_counts, aliases, class_names_masked = label_as_shown(version, shows_personal=shows_personal)
    facts["version"] = {
        "id": str(version.pk),
        "number": version.number,
        "status": version.status,
        "uri": version.uri,
        "format": version.format,
        "fingerprint": version.fingerprint,
        "size_bytes": version.size_bytes,
        "file_count": version.file_count,
        "row_count": version.row_count,
        # A folder of images is filed in folders named after its classes.
        "manifest": aliased_paths(version.manifest, aliases),
        "created_at": version.created_at,
        "features": [
            {
                "name": feature.name,
                "dtype": feature.dtype,
                "logical_type": feature.logical_type,
                "role": feature.role,
                "pii": feature.pii,
                "description": feature.description,
            }
            for feature in version.features.all()
        ],
        "label_column": label_column,
        "class_counts": class_counts,
        "class_names_masked": class_names_masked,
        "imbalance_ratio": version_quality(version).get("imbalance_ratio"),
        "splits": {
            name: {"row_count": split.get("row_count"), "files": aliased_paths(split.get("files", []), aliases)}
            for name, split in splits.items()
        },
    }
    return facts


def label_as_shown(
    version: DatasetVersion, *, shows_personal: bool
) -> tuple[str | None, dict[str, int], dict[str, str], bool]:
    """The version's label column, its class counts as the reader may see them, the aliases that stand
    for the classes, and whether they are masked (the label is personal data and the reader may not see
    it): a class name is then `class 1`, `class 2`... wherever it would appear, a manifest's folders
    included (`profiler.pii.aliased_paths`). Reads the features prefetched on the version when they are."""
    quality = version_quality(version)
    label_column = quality.get("label_column") or version.label_column or None
    class_counts = quality.get("class_counts") or {}
    personal_label = any(feature.pii and feature.name == label_column for feature in version.features.all())
    if not (label_column and personal_label and not shows_personal):
        return label_column, class_counts, {}, False
    aliases = class_aliases(class_counts)
    return label_column, aliased_counts(class_counts, aliases), aliases, True
