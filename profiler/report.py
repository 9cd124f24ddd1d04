"""Turn the merged state of a source into its profile: features, quality, findings, sample.

Each column's profile is made in `features`, the dataset's quality in `quality`, what holds across
features in `associations`; this module puts them together with the sample, and summarises splits.
Field names follow DESIGN §8. Every approximate figure says so and carries its error bound.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from profiler.associations import (
    association_findings,
    correlations_of,
    feature_leakage,
    label_association,
    leakage_findings,
)
from profiler.features import feature_profile, stored_distribution
from profiler.findings import cap_findings, finding, sort_findings
from profiler.pii import mask
from profiler.quality import dataset_quality
from profiler.result import (
    Finding,
    LeakageExample,
    Profile,
    Sample,
    SampleRow,
    SplitLeakage,
    SplitSummary,
)
from profiler.state import ColumnState, PartialProfile
from profiler.values import jsonable

SAMPLE_SHOWN = 20


def build(profile: PartialProfile) -> Profile:
    columns = sorted(profile.columns, key=lambda column: column.position)
    label = profile.label_column
    features = [feature_profile(column, profile) for column in columns]
    quality = dataset_quality(profile, features)
    correlations = correlations_of(profile)
    association = label_association(profile) if quality["task_type"] == "classification" else []
    leaks = feature_leakage(profile, features, quality["task_type"])
    quality["leakage"] = [result.as_dict() for result in leaks]
    if profile.row_sample is not None:
        quality["findings"] += leakage_findings(leaks, label, quality["task_type"])
    quality["findings"] += association_findings(
        association, correlations, label, confirmed=profile.row_sample is not None
    )
    quality["findings"] = cap_findings(sort_findings(quality["findings"]))
    pii_columns = {feature["name"]: feature["pii_kinds"] for feature in features if feature["pii"]}
    return {
        "row_count": profile.rows,
        "column_count": len(columns),
        "file_count": len(profile.files),
        "features": features,
        "quality": quality,
        "correlations": correlations,
        "label_association": association,
        "sample": _sample(profile, columns, pii_columns),
        "distributions": {column.name: stored_distribution(column) for column in columns},
    }


# --- Sample ---------------------------------------------------------------------------------------


def _sample(profile: PartialProfile, columns: list[ColumnState], pii_columns: dict[str, list[str]]) -> Sample:
    names = [column.name for column in columns]
    rows: list[SampleRow] = [
        {"row": row_id, "values": dict(zip(names, values, strict=False))}
        for _, row_id, values in profile.sample[:SAMPLE_SHOWN]
    ]
    masked: list[SampleRow] = [
        {
            "row": entry["row"],
            "values": {
                name: mask(str(value), pii_columns[name]) if name in pii_columns and value is not None else value
                for name, value in entry["values"].items()
            },
        }
        for entry in rows
    ]
    return {"columns": names, "rows": rows, "masked_rows": masked, "pii_columns": sorted(pii_columns)}


# --- Splits -----------------------------------------------------------------------------------------

SPLIT_STATISTICS = ("count", "null_count", "null_fraction", "distinct_count", "min", "max", "mean", "std", "quantiles")
LEAKAGE_EXAMPLES = 5


def split_summary(profile: PartialProfile, built: Profile | None) -> SplitSummary:
    """What a split's own profile says, in brief: its files and rows, its label balance and
    quality, and each feature's main statistics."""
    if built is None:
        return {"files": list(profile.files), "row_count": 0, "features": [], "quality": {}}
    quality = built["quality"]
    return {
        "files": list(profile.files),
        "row_count": built["row_count"],
        "quality": {
            "duplicate_rows": quality["duplicate_rows"],
            "class_counts": quality["class_counts"],
            "imbalance_ratio": quality["imbalance_ratio"],
            "label_conflicts": {
                "groups": quality["label_conflicts"]["groups"],
                "rows": quality["label_conflicts"]["rows"],
            },
        },
        "features": [
            {
                "name": feature["name"],
                "logical_type": feature["logical_type"],
                "statistics": {key: feature["statistics"].get(key) for key in SPLIT_STATISTICS},
            }
            for feature in built["features"]
        ],
    }


def split_leakage(keys: dict[str, tuple[np.ndarray, np.ndarray]], file_names: Sequence[str]) -> SplitLeakage:
    """Rows whose features occur in more than one split: per pair of splits, how many distinct rows
    they share, and a few examples of each."""
    names = list(keys)
    between: dict[str, int] = {}
    examples: list[LeakageExample] = []
    shared_keys: list[np.ndarray] = []
    for position, first in enumerate(names):
        for second in names[position + 1 :]:
            (a_keys, a_rows), (b_keys, b_rows) = keys[first], keys[second]
            shared, in_a, in_b = np.intersect1d(a_keys, b_keys, assume_unique=True, return_indices=True)
            if not shared.size:
                continue
            between[f"{first}/{second}"] = int(shared.size)
            shared_keys.append(shared)
            for a, b in list(zip(in_a, in_b, strict=True))[: max(LEAKAGE_EXAMPLES - len(examples), 0)]:
                examples.append(
                    {
                        "splits": [first, second],
                        "rows": [_row_in(file_names, int(a_rows[a])), _row_in(file_names, int(b_rows[b]))],
                    }
                )
    rows = int(np.unique(np.concatenate(shared_keys)).size) if shared_keys else 0
    return {"rows": rows, "between": between, "examples": examples}


def split_leakage_finding(leakage: SplitLeakage) -> Finding:
    pairs = ", ".join(f"{pair.replace('/', ' and ')}: {count:,}" for pair, count in leakage["between"].items())
    example = leakage["examples"][0]["rows"] if leakage["examples"] else []
    shown = f", e.g. {' and '.join(example)}" if example else ""
    return finding(
        "error",
        "split_leakage",
        None,
        f"{leakage['rows']:,} distinct rows have the same features in more than one split ({pairs}){shown}: "
        "a model would be evaluated on rows it was trained on.",
    )


def _row_in(file_names: Sequence[str], row_id: int) -> str:
    file_index, row = row_id >> 40, row_id & ((1 << 40) - 1)
    name = file_names[file_index] if file_index < len(file_names) else f"file{file_index}"
    return f"{name}:{row + 1}"


__all__ = ["build", "jsonable"]
