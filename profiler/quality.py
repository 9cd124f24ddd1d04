"""The quality of a dataset from its merged state: duplicates, label balance and conflicts, the task
type, and the findings on each feature."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from profiler.features import id_like_name
from profiler.findings import finding, share_of
from profiler.hashes import HASH_BUCKETS, pair_keys
from profiler.result import (
    FeatureProfile,
    Finding,
    Quality,
    Target,
)
from profiler.state import ColumnState, PartialProfile

CONFLICT_EXAMPLES = 5

IMBALANCE_THRESHOLD = 10.0
RARE_CLASS_SHARE = 0.01
TASK_TYPES = ("classification", "regression")
# A numeric label is a classification label when its values are whole numbers and at most this many.
CLASSIFICATION_MAX_VALUES = 20
# Regression: rows with identical features conflict when their targets differ by more than this
# share of the target's standard deviation.
TARGET_TOLERANCE = 0.01
# Integer columns with at most this many distinct whole values are codes or small counts (a 1-5
# rating, a plan code, pixel intensities 0-255): the IQR rule says nothing about them.
CODE_VALUES = 256


def dataset_quality(profile: PartialProfile, features: list[FeatureProfile]) -> Quality:
    label = profile.label_column
    label_state = profile.column(label) if label else None
    task = task_type(profile, label_state)
    tolerance = _target_tolerance(label_state) if task == "regression" and label_state is not None else None
    duplicates, conflict_groups, conflict_rows, examples = _duplicates_and_conflicts(
        profile, bool(label_state), target=label_state if tolerance is not None else None, tolerance=tolerance or 0.0
    )
    findings: list[Finding] = []
    rows = profile.rows

    if duplicates:
        findings.append(
            finding(
                "warning",
                "duplicate_rows",
                None,
                f"{duplicates:,} rows ({share_of(duplicates, rows)}) repeat an earlier row exactly.",
            )
        )
    class_counts: dict[str, int] = {}
    imbalance = None
    if label_state is not None and task == "regression":
        missing = label_state.null_count + label_state.nan_count
        if missing:
            findings.append(
                finding(
                    "warning", "label_missing", label, f"{missing:,} rows ({share_of(missing, rows)}) have no target."
                )
            )
    elif label_state is not None and label_state.values is not None:
        class_counts = {
            str(value): count
            for value, count in sorted(label_state.values.items(), key=lambda item: (-item[1], str(item[0])))
        }
        if class_counts:
            largest, smallest = max(class_counts.values()), min(class_counts.values())
            imbalance = round(largest / smallest, 4)
            rarest = min(class_counts, key=lambda name: (class_counts[name], name))
            labelled = sum(class_counts.values())
            if imbalance >= IMBALANCE_THRESHOLD or class_counts[rarest] / labelled < RARE_CLASS_SHARE:
                findings.append(
                    finding(
                        "warning",
                        "class_imbalance",
                        label,
                        f"label {rarest!r} has {share_of(class_counts[rarest], labelled)} of rows; the largest class is "
                        f"{imbalance:g} times as frequent.",
                    )
                )
        if label_state.null_count + label_state.nan_count:
            missing = label_state.null_count + label_state.nan_count
            findings.append(
                finding(
                    "warning", "label_missing", label, f"{missing:,} rows ({share_of(missing, rows)}) have no label."
                )
            )
    if conflict_groups and tolerance is not None:
        shown = ", ".join(" and ".join(group) for group in examples[:2])
        findings.append(
            finding(
                "info",
                "target_conflicts",
                label,
                f"{conflict_groups:,} groups of rows ({conflict_rows:,} rows) have identical features but targets that "
                f"differ by more than {tolerance:.4g} ({TARGET_TOLERANCE:.0%} of the target's standard deviation), "
                f"e.g. rows {shown}: the noise a model of {label!r} cannot explain from these features.",
            )
        )
    elif conflict_groups:
        shown = ", ".join(" and ".join(group) for group in examples[:2])
        findings.append(
            finding(
                "error",
                "label_conflicts",
                label,
                f"{conflict_groups:,} groups of rows ({conflict_rows:,} rows) have identical features but different labels, "
                f"e.g. rows {shown}.",
            )
        )
    for feature in features:
        findings += _feature_findings(feature, rows)
    for column in profile.columns:
        if column.kind == "other" and column.non_null:
            findings.append(
                finding(
                    "info",
                    "not_summarised",
                    column.name,
                    f"{column.name!r} holds {column.dtype} values: only their count, missing values, distinct "
                    "count and duplicates are profiled.",
                )
            )
    return {
        "row_count": rows,
        "duplicate_rows": duplicates,
        "label_column": label,
        "label_inferred": bool(label) and not profile.label_declared,
        "task_type": task,
        "task_type_declared": bool(task) and profile.task_type is not None,
        "target": _target(features, label) if task == "regression" else None,
        "class_counts": class_counts,
        "imbalance_ratio": imbalance,
        "label_conflicts": {
            "groups": conflict_groups,
            "rows": conflict_rows,
            "examples": examples,
            "tolerance": tolerance,
        },
        "findings": findings,
    }


def task_type(profile: PartialProfile, label_state: ColumnState | None) -> str | None:
    """The declared task type, or the one the label's values imply: a number with more than
    CLASSIFICATION_MAX_VALUES distinct values, or with any fractional value, is a regression target;
    whole numbers with fewer values, strings and booleans are classes."""
    if label_state is None:
        return None
    if profile.task_type in TASK_TYPES:
        return profile.task_type
    if label_state.kind == "temporal":
        return "regression"
    if label_state.kind != "numeric":
        return "classification"
    values = label_state.values
    if values is None or len(values) > CLASSIFICATION_MAX_VALUES:
        return "regression"
    numbers = [float(value) for value in values if isinstance(value, int | float)]
    if any(math.isfinite(number) and not number.is_integer() for number in numbers):
        return "regression"
    return "classification"


def _target_tolerance(label_state: ColumnState) -> float | None:
    """How far two targets may differ and still be the same: TARGET_TOLERANCE of the standard
    deviation (None for a target that is not a number: its values are compared exactly)."""
    if label_state.kind != "numeric":
        return None
    variance = label_state.moments.variance(sample=True)
    return TARGET_TOLERANCE * math.sqrt(variance) if variance else 0.0


def _target(features: list[FeatureProfile], label: str | None) -> Target | None:
    """A regression target's distribution, as its feature's statistics give it."""
    stats = next((feature["statistics"] for feature in features if feature["name"] == label), None)
    if stats is None:
        return None
    return {
        "count": stats["count"],
        "null_count": stats["null_count"],
        "min": stats["min"],
        "max": stats["max"],
        "mean": stats["mean"],
        "std": stats["std"],
        "quantiles": stats["quantiles"],
        "histogram": stats["histogram"],
    }


def _feature_findings(feature: FeatureProfile, rows: int) -> list[Finding]:
    name, stats = feature["name"], feature["statistics"]
    findings = []
    if rows and stats["null_count"] == rows:
        findings.append(finding("warning", "all_missing", name, f"{name!r} has no values at all."))
    elif rows and stats["null_fraction"] >= 0.5:
        findings.append(
            finding(
                "warning",
                "mostly_missing",
                name,
                f"{name!r} is missing in {share_of(stats['null_count'], rows)} of rows.",
            )
        )
    if feature["logical_type"] == "constant":
        findings.append(
            finding(
                "warning", "constant", name, f"{name!r} has the same value in every row: it carries no information."
            )
        )
    if feature["logical_type"] == "identifier" and feature["role"] != "label":
        findings.append(
            finding(
                "info",
                "likely_identifier",
                name,
                f"{name!r} is unique in every row and {_identifier_evidence(feature)}: likely an identifier.",
            )
        )
    if stats.get("date_code"):
        findings.append(
            finding(
                "info",
                "integer_date_code",
                name,
                f"{name!r} holds integers that are all valid dates written {stats['date_code']}: it is a date "
                "(logical type datetime); its statistics are of the integers.",
            )
        )
    if feature["pii"]:
        kinds = ", ".join(kind.replace("_", " ") for kind in feature["pii_kinds"])
        share = max(stats["pii_shares"].values())
        findings.append(
            finding(
                "warning",
                "pii_suspected",
                name,
                f"{name!r} looks like personal data ({kinds}) in {share:.0%} of sampled values.",
            )
        )
    fences = stats.get("outliers")
    outliers = fences["count"] if fences else 0
    if stats["count"] and outliers / stats["count"] > 0.05 and not _is_code(feature):
        findings.append(
            finding(
                "info",
                "outliers",
                name,
                f"{name!r} has {outliers:,} values ({share_of(outliers, stats['count'])}) beyond 1.5 IQR.",
            )
        )
    return findings


def _identifier_evidence(feature: FeatureProfile) -> str:
    stats = feature["statistics"]
    if id_like_name(feature["name"]):
        return "named like one"
    low, high = stats.get("min"), stats.get("max")
    if isinstance(low, int) and isinstance(high, int) and high - low + 1 == stats["count"]:
        return "its values are consecutive integers"
    return f"the table has {stats['count']:,} rows"


def _is_code(feature: FeatureProfile) -> bool:
    """Whole numbers with at most CODE_VALUES distinct values: a code or a small count, whose
    values beyond the IQR fences are not outliers."""
    stats = feature["statistics"]
    if stats["distinct_is_approximate"] or stats["distinct_count"] > CODE_VALUES:
        return False
    bounds = (stats.get("min"), stats.get("max"))
    if not all(isinstance(value, int | float) and not isinstance(value, bool) for value in bounds):
        return False
    return "int" in feature["dtype"] or all(
        isinstance(entry["value"], int | float) and float(entry["value"]).is_integer()
        for entry in stats.get("top_values") or []
    )


def _duplicates_and_conflicts(
    profile: PartialProfile, has_label: bool, *, target: ColumnState | None = None, tolerance: float = 0.0
) -> tuple[int, int, int, list[list[str]]]:
    """Duplicate rows, and groups of rows with identical features but different labels: for a
    numeric regression `target`, only groups whose targets differ by more than `tolerance`."""
    duplicates = groups = conflict_rows = 0
    examples: list[list[str]] = []
    spread = None
    if target is not None:
        floating = "float" in target.dtype or "double" in target.dtype

        def spread(hashes: np.ndarray) -> np.ndarray:
            return target_values(hashes, floating=floating)

    # numpy sorts without the GIL: two buckets are counted at once, in the order of their results.
    with ThreadPoolExecutor(max_workers=2) as pool:
        counted = pool.map(
            lambda index: _count_bucket(profile, index, has_label, spread, tolerance), range(HASH_BUCKETS)
        )
        for bucket_duplicates, bucket_groups, bucket_rows, bucket_examples in counted:
            duplicates += bucket_duplicates
            groups += bucket_groups
            conflict_rows += bucket_rows
            for ids in bucket_examples[: CONFLICT_EXAMPLES - len(examples)]:
                examples.append([_row_name(profile, row_id) for row_id in ids])
    profile.hashes.discard()
    return duplicates, groups, conflict_rows, examples


def _count_bucket(
    profile: PartialProfile, index: int, has_label: bool, values_of: Any = None, tolerance: float = 0.0
) -> tuple[int, int, int, list[list[int]]]:
    """Duplicate rows, conflicting groups, conflicting rows and example row ids of one hash bucket."""
    block = profile.hashes.bucket(index)
    if block.size == 0:
        return 0, 0, 0, []
    surplus = profile.hashes.surplus_of(index)  # rows folded into their pair's first entry
    # Only rows whose feature key occurs more than once can repeat another or conflict with it.
    order = np.argsort(block[:, 0])
    ordered = block[order, 0]
    repeated = ordered[1:] == ordered[:-1]
    shared = np.r_[repeated, False] | np.r_[False, repeated]
    block = block[order[shared]]
    if not len(block):
        return int(surplus[:, 1].sum()), 0, 0, []
    pairs = pair_keys(block)
    order = np.lexsort((pairs, block[:, 0]))  # by features, then by (features, label)
    features, pairs = block[order, 0], pairs[order]
    new_pair = np.r_[True, (features[1:] != features[:-1]) | (pairs[1:] != pairs[:-1])]
    # A row repeats another when its feature key and its label key both do.
    duplicates = len(block) - int(np.count_nonzero(new_pair)) + int(surplus[:, 1].sum())
    if not has_label:
        return duplicates, 0, 0, []
    starts = np.flatnonzero(np.r_[True, features[1:] != features[:-1]])
    ends = np.r_[starts[1:], len(features)]
    # A group of one feature key conflicts when it holds more than one (features, label) pair.
    conflicting = np.add.reduceat(new_pair.astype(np.int64), starts) > 1
    if values_of is not None and conflicting.any():
        # A regression target: the group conflicts only when its targets spread beyond the tolerance.
        targets = values_of(block[order, 1])
        with np.errstate(invalid="ignore"):
            high = np.fmax.reduceat(targets, starts)
            low = np.fmin.reduceat(targets, starts)
        missing_and_present = np.add.reduceat(np.isnan(targets).astype(np.int64), starts)
        missing_and_present = (missing_and_present > 0) & (missing_and_present < ends - starts)
        conflicting &= ((high - low) > tolerance) | missing_and_present
    groups = int(np.count_nonzero(conflicting))
    conflict_rows = int(np.sum((ends - starts)[conflicting]))
    if surplus.size and conflicting.any():
        conflict_rows += int(surplus[np.isin(surplus[:, 0], features[starts[conflicting]]), 1].sum())
    examples = [
        sorted(block[order[start:end], 2].tolist())[:4]
        for start, end in zip(
            starts[conflicting][:CONFLICT_EXAMPLES], ends[conflicting][:CONFLICT_EXAMPLES], strict=True
        )
    ]
    return duplicates, groups, conflict_rows, examples


def _row_name(profile: PartialProfile, row_id: int) -> str:
    """A row id as `file:line`. Row ids carry their file's index among the source's files sorted by
    name; the profile's own list of files is in the order its parts were merged."""
    file_index, row = row_id >> 40, row_id & ((1 << 40) - 1)
    names = {index: name for name, index in profile.file_indexes.items()}
    if not names:
        names = dict(enumerate(sorted(profile.files)))
    return f"{names.get(file_index, f'file{file_index}')}:{row + 1}"


_MIX_1 = pow(0xBF58476D1CE4E5B9, -1, 1 << 64)
_MIX_2 = pow(0x94D049BB133111EB, -1, 1 << 64)


def target_values(hashes: np.ndarray, *, floating: bool) -> np.ndarray:
    """The numbers whose hashes these are (NaN for 0, a missing value): the profiler hashes a
    number by splitmix64 of its bits, which is a bijection, so the bits come back by its inverse."""
    with np.errstate(over="ignore"):
        z = hashes.astype(np.uint64)
        z = z ^ (z >> np.uint64(31)) ^ (z >> np.uint64(62))
        z = z * np.uint64(_MIX_2)
        z = z ^ (z >> np.uint64(27)) ^ (z >> np.uint64(54))
        z = z * np.uint64(_MIX_1)
        z = z ^ (z >> np.uint64(30)) ^ (z >> np.uint64(60))
        z = z - np.uint64(0x9E3779B97F4A7C15)
    values = z.view(np.float64).copy() if floating else z.view(np.int64).astype(np.float64)
    values[hashes == 0] = np.nan
    return values
