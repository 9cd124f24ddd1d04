"""Turn the merged state of a source into its profile: features, quality, findings, sample.

Field names follow DESIGN §8. Every approximate figure says so and carries its error bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from datasketches import frequent_items_error_type

from profiler import hll, leakage
from profiler.pii import mask
from profiler.result import (
    Association,
    Correlations,
    FeatureProfile,
    Finding,
    LeakageExample,
    Pearson,
    Profile,
    Quality,
    Sample,
    SampleRow,
    Spearman,
    SplitLeakage,
    SplitSummary,
    Statistics,
    StoredDistribution,
    Target,
)
from profiler.state import (
    HASH_BUCKETS,
    ColumnState,
    Moments,
    PartialProfile,
    iso_from_seconds,
    jsonable,
    pair_keys,
)

QUANTILES = {"p1": 0.01, "p5": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95, "p99": 0.99}
HISTOGRAM_BINS = 20
TOP_VALUES = 10
SAMPLE_SHOWN = 20
CONFLICT_EXAMPLES = 5
PII_THRESHOLD = 0.3
# What drift comparisons read later: a quantile grid (every half percent of rank) of each numeric or
# date column, and the counts of a categorical column's most frequent values.
DISTRIBUTION_RANKS = 200
DISTRIBUTION_VALUES = 1_000
LEAKAGE_THRESHOLD = 0.95
CORRELATION_THRESHOLD = 0.98
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
# An integer column unique in every row is an identifier only with more evidence than uniqueness:
# an id-like name, consecutive values, or at least this many rows.
IDENTIFIER_MIN_ROWS = 10_000
STRING_IDENTIFIER_MIN_ROWS = 100
IDENTIFIER_NAMES = ("id", "uuid", "guid", "key", "index", "idx", "pk")
# At most this many findings of one code are listed; the rest are counted in one more finding.
FINDINGS_PER_CODE = 10


def build(profile: PartialProfile) -> Profile:
    columns = sorted(profile.columns, key=lambda column: column.position)
    label = profile.label_column
    features = [_feature(column, profile) for column in columns]
    quality = _quality(profile, features)
    correlations = _correlations(profile)
    association = _label_association(profile) if quality["task_type"] == "classification" else []
    leaks = _leakage(profile, features, quality["task_type"])
    quality["leakage"] = [result.as_dict() for result in leaks]
    if profile.row_sample is not None:
        quality["findings"] += _leakage_findings(leaks, label, quality["task_type"])
    quality["findings"] += _association_findings(
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
        "distributions": {column.name: _stored_distribution(column) for column in columns},
    }


# --- Features -------------------------------------------------------------------------------------


def _feature(column: ColumnState, profile: PartialProfile) -> FeatureProfile:
    statistics = _statistics(column)
    logical_type = _logical_type(column, statistics)
    pii_shares = {
        kind: round(matches / column.pii_sampled, 4)
        for kind, matches in column.pii_matches.items()
        if column.pii_sampled and matches
    }
    pii_kinds = sorted(kind for kind, share in pii_shares.items() if share >= PII_THRESHOLD)
    statistics["pii_shares"] = pii_shares
    statistics["pii_kinds"] = pii_kinds
    if logical_type == "datetime" and column.kind == "numeric":
        statistics["date_code"] = date_code(column)
    return {
        "name": column.name,
        "position": column.position,
        "dtype": column.dtype,
        "logical_type": logical_type,
        "role": _role(column, logical_type, profile.label_column),
        "pii": bool(pii_kinds),
        "pii_kinds": pii_kinds,
        "statistics": statistics,
    }


def _distinct(column: ColumnState) -> tuple[int, bool]:
    if column.values is not None and column.kind != "other":
        return len(column.values), False
    return round(hll.estimate(column.registers)), True


def _statistics(column: ColumnState) -> Statistics:
    count = column.non_null
    nulls = column.null_count + column.nan_count
    distinct, approximate = _distinct(column)
    stats: dict[str, Any] = {
        "count": count,
        "null_count": nulls,
        "null_fraction": round(nulls / column.count, 6) if column.count else 0.0,
        "distinct_count": min(distinct, count),
        "distinct_is_approximate": approximate,
        "distinct_relative_error": round(hll.STANDARD_ERROR, 4) if approximate else 0.0,
        "min": column.minimum,
        "max": column.maximum,
        "mean": None,
        "std": None,
        "quantiles": None,
        "histogram": None,
        "top_values": _top_values(column),
        "top_values_are_approximate": column.values is None,
    }
    if column.values is None and column.frequent is not None:
        stats["top_values_error_bound"] = int(
            column.frequent_error + column.frequent.get_epsilon_for_lg_size(12) * column.frequent.total_weight
        )
    if column.kind == "numeric" and count:
        variance = column.moments.variance(sample=True)
        stats.update(
            mean=column.moments.mean,
            std=math.sqrt(variance) if variance is not None else None,
            zeros=column.zeros,
            negatives=column.negatives,
            infinite_count=column.infinities,
        )
        stats.update(_distribution(column, to_value=float))
    elif column.kind == "temporal" and count:
        stats.update(_distribution(column, to_value=lambda seconds: iso_from_seconds(column.dtype, seconds)))
    elif column.kind == "string":
        stats.update(
            empty_strings=column.empty_strings,
            string_length={
                "min": column.length_min,
                "max": column.length_max,
                "mean": (column.length_sum / count) if count else None,
            },
        )
        stats["histogram"] = _categorical_histogram(column, stats["top_values"], count)
    elif column.kind == "boolean":
        stats["true_count"] = column.true_count
        stats["min"] = (column.true_count == count) if count else None  # False when any value is False
        stats["max"] = column.true_count > 0 if count else None
        stats["histogram"] = _categorical_histogram(column, stats["top_values"], count)
    # The profile is stored as JSON: infinities become "Infinity", NaN null.
    return jsonable(stats)


def _top_values(column: ColumnState) -> list[dict[str, Any]]:
    if column.values is not None:
        ranked = sorted(column.values.items(), key=lambda item: (-item[1], str(item[0])))
        return [{"value": value, "count": count} for value, count in ranked[:TOP_VALUES]]
    if column.frequent is not None:
        items = column.frequent.get_frequent_items(frequent_items_error_type.NO_FALSE_NEGATIVES)
        return [{"value": item, "count": int(estimate)} for item, estimate, _, _ in items[:TOP_VALUES]]
    return []


def _categorical_histogram(column: ColumnState, top: list[dict[str, Any]], count: int) -> dict[str, Any]:
    shown = sum(entry["count"] for entry in top)
    return {"kind": "categorical", "values": top, "other_count": max(count - shown, 0)}


def _distribution(column: ColumnState, *, to_value: Any) -> dict[str, Any]:
    """Quantiles, an equal-width histogram and IQR outliers, all read from the KLL sketch (or the
    exact counts of a numeric column with few values)."""
    sketch = column.distribution()
    if sketch is None or sketch.is_empty():
        return {}
    n = sketch.n
    approximate = bool(sketch.is_estimation_mode())
    rank_error = float(sketch.normalized_rank_error(False)) if approximate else 0.0
    quantiles = {key: to_value(sketch.get_quantile(rank)) for key, rank in QUANTILES.items()}
    low, high = float(sketch.get_min_value()), float(sketch.get_max_value())
    if not (math.isfinite(low) and math.isfinite(high)):
        # Infinite values: bins span the finite values, and the infinities are counted on their own.
        low, high = sketch.get_finite_range() or (0.0, 0.0)
    # Bins hold the finite values: [edge, next edge), the last bin closed, as numpy.histogram.
    finite = n - column.infinities
    edges = np.unique(np.linspace(low, high, HISTOGRAM_BINS + 1))
    if high > low and len(edges) == HISTOGRAM_BINS + 1:
        shares = sketch.get_cdf([low, *edges[1:-1]], False)[:-1]  # below the lowest finite value: -inf
        below = np.round(np.array(shares) * n).astype(np.int64)
        cumulative = np.clip(below[1:] - below[0], 0, finite)
        counts = np.diff(np.concatenate(([0], np.maximum.accumulate(cumulative), [finite]))).tolist()
        histogram = {
            "kind": "equal_width",
            "edges": [to_value(edge) for edge in edges],
            "counts": counts,
            "approximate": approximate,
        }
    else:
        histogram = {
            "kind": "equal_width",
            "edges": [to_value(low), to_value(high)],
            "counts": [finite],
            "approximate": False,
        }
    q1, q3 = sketch.get_quantile(0.25), sketch.get_quantile(0.75)
    spread = q3 - q1
    lower, upper = q1 - 1.5 * spread, q3 + 1.5 * spread
    fences_usable = math.isfinite(lower) and math.isfinite(upper) and upper > lower
    # Outliers lie strictly beyond a fence: below the lower one, or above the upper one.
    below = sketch.get_cdf([lower], False)[0] if fences_usable else 0.0
    at_or_below_upper = sketch.get_cdf([upper], True)[0] if fences_usable else 1.0
    outliers = round(below * n + (1.0 - at_or_below_upper) * n) if fences_usable else 0
    return {
        "quantiles": quantiles,
        "quantiles_are_approximate": approximate,
        "quantile_rank_error": round(rank_error, 6),
        "histogram": histogram,
        "outliers": {"count": int(outliers), "lower_fence": to_value(lower), "upper_fence": to_value(upper)},
    }


def _stored_distribution(column: ColumnState) -> StoredDistribution:
    """The compact form of a column's distribution that drift is computed from, without the data."""
    stored: StoredDistribution = {"count": column.non_null, "nulls": column.null_count + column.nan_count}
    sketch = column.distribution()
    if sketch is not None and not sketch.is_empty():
        ranks = [index / DISTRIBUTION_RANKS for index in range(DISTRIBUTION_RANKS + 1)]
        stored["quantiles"] = jsonable([float(value) for value in sketch.get_quantiles(ranks)])
        stored["quantiles_approximate"] = bool(sketch.is_estimation_mode())
    if column.values is not None and column.kind != "other":
        ranked = sorted(column.values.items(), key=lambda item: (-item[1], str(item[0])))
        kept = ranked[:DISTRIBUTION_VALUES]
        stored["counts"] = [[jsonable(value), count] for value, count in kept]
        stored["other_count"] = sum(count for _, count in ranked[DISTRIBUTION_VALUES:])
        stored["counts_approximate"] = False
    elif column.frequent is not None:
        items = column.frequent.get_frequent_items(frequent_items_error_type.NO_FALSE_NEGATIVES)
        frequent = [[item, int(estimate)] for item, estimate, _, _ in items[:DISTRIBUTION_VALUES]]
        stored["counts"] = frequent
        stored["other_count"] = max(column.non_null - sum(count for _, count in frequent), 0)
        stored["counts_approximate"] = True
    return stored


def _logical_type(column: ColumnState, stats: Statistics) -> str:
    count, distinct = stats["count"], stats["distinct_count"]
    if column.kind == "boolean":
        return "boolean"
    if count and distinct == 1:
        return "constant"
    if column.kind == "temporal":
        return "datetime"
    unique = count >= 20 and distinct >= count and not stats["distinct_is_approximate"]
    unique = unique or (stats["distinct_is_approximate"] and distinct >= count * (1 - 3 * hll.STANDARD_ERROR))
    id_name = _id_like_name(column.name)
    if column.kind == "numeric":
        integral = "int" in column.dtype
        if integral and date_code(column):
            return "datetime"
        consecutive = (
            isinstance(column.minimum, int)
            and isinstance(column.maximum, int)
            and column.maximum - column.minimum + 1 == count
        )
        if integral and unique and (id_name or consecutive or count >= IDENTIFIER_MIN_ROWS):
            return "identifier"
        if integral and distinct <= 10:
            return "categorical"
        return "numeric"
    if column.kind == "string":
        length = stats.get("string_length")
        mean_length = (length["mean"] if length else None) or 0
        if mean_length >= 50:
            return "text"
        if unique and (id_name or count >= STRING_IDENTIFIER_MIN_ROWS):
            return "identifier"
        if count and distinct > 0.5 * count and mean_length >= 20:
            return "text"
        return "categorical"
    return "text"


def _id_like_name(name: str) -> bool:
    """`id`, `uuid`, `user_id`, `UserId`, `order-key`: a name that says it identifies."""
    words = [
        word
        for word in "".join(f" {c}" if c.isupper() else c for c in name)
        .lower()
        .replace("-", " ")
        .replace("_", " ")
        .split()
    ]
    return bool(words) and (words[-1] in IDENTIFIER_NAMES or words[0] in IDENTIFIER_NAMES)


def date_code(column: ColumnState) -> str | None:
    """ "yyyymmdd" or "yyyymm" when every value of an integer column is a valid date written that
    way (between 1800 and 2200), else None. Exact value counts are needed to check every value."""
    if column.kind != "numeric" or "int" not in column.dtype or not column.values or column.null_count == column.count:
        return None
    whole = [int(value) for value in column.values]
    # Checked before numpy sees them: an unsigned 64-bit value past 2**63 fits no int64.
    if min(whole) < 180001 or max(whole) > 22001231:
        return None
    values = np.array(whole, dtype=np.int64)
    if values.min() >= 18000101 and values.max() <= 22001231:
        year, month, day = values // 10_000, values // 100 % 100, values % 100
        if ((month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)).all():
            leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
            days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[month] + (leap & (month == 2))
            if (day <= days).all():
                return "yyyymmdd"
        return None
    if values.min() >= 180001 and values.max() <= 220012 and len(values) >= 3:
        month = values % 100
        if ((month >= 1) & (month <= 12)).all():
            return "yyyymm"
    return None


def _role(column: ColumnState, logical_type: str, label: str | None) -> str:
    if column.name == label:
        return "label"
    if logical_type == "identifier":
        return "id"
    if logical_type == "datetime":
        return "timestamp"
    if column.name.lower() in ("weight", "sample_weight", "weights"):
        return "weight"
    return "feature"


# --- Dataset quality ------------------------------------------------------------------------------


def _quality(profile: PartialProfile, features: list[FeatureProfile]) -> Quality:
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
                f"{duplicates:,} rows ({_share(duplicates, rows)}) repeat an earlier row exactly.",
            )
        )
    class_counts: dict[str, int] = {}
    imbalance = None
    if label_state is not None and task == "regression":
        missing = label_state.null_count + label_state.nan_count
        if missing:
            findings.append(
                finding(
                    "warning", "label_missing", label, f"{missing:,} rows ({_share(missing, rows)}) have no target."
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
                        f"label {rarest!r} has {_share(class_counts[rarest], labelled)} of rows; the largest class is "
                        f"{imbalance:g} times as frequent.",
                    )
                )
        if label_state.null_count + label_state.nan_count:
            missing = label_state.null_count + label_state.nan_count
            findings.append(
                finding("warning", "label_missing", label, f"{missing:,} rows ({_share(missing, rows)}) have no label.")
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
                f"{name!r} is missing in {_share(stats['null_count'], rows)} of rows.",
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
                f"{name!r} has {outliers:,} values ({_share(outliers, stats['count'])}) beyond 1.5 IQR.",
            )
        )
    return findings


def _identifier_evidence(feature: FeatureProfile) -> str:
    stats = feature["statistics"]
    if _id_like_name(feature["name"]):
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


# --- Across features ------------------------------------------------------------------------------


def _correlations(profile: PartialProfile) -> Correlations:
    pearson: list[Pearson] = [
        {"a": a, "b": b, "r": round(r, 6), "n": moments.n}
        for (a, b), moments in profile.pairs.items()
        if (r := moments.pearson()) is not None
    ]
    spearman: list[Spearman] = []
    names = [column.name for column in sorted(profile.columns, key=lambda c: c.position)]
    sample = np.array([entry[2] for entry in profile.sample], dtype=object) if profile.sample else None
    if sample is not None and sample.ndim == 2:
        for item in pearson:
            x = _numeric(sample[:, names.index(item["a"])]) if item["a"] in names else None
            y = _numeric(sample[:, names.index(item["b"])]) if item["b"] in names else None
            if x is None or y is None:
                continue
            both = ~(np.isnan(x) | np.isnan(y))
            if both.sum() >= 10:
                rho = np.corrcoef(_ranks(x[both]), _ranks(y[both]))[0, 1]
                if not np.isnan(rho):
                    spearman.append({"a": item["a"], "b": item["b"], "rho": round(float(rho), 4), "n": int(both.sum())})
    return {
        "pearson": pearson,
        "spearman": spearman,
        "spearman_is_approximate": True,
        "spearman_sample_rows": len(profile.sample),
    }


def _numeric(values: np.ndarray) -> np.ndarray | None:
    try:
        return np.array([np.nan if value is None else float(value) for value in values], dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _ranks(values: np.ndarray) -> np.ndarray:
    order = values.argsort(kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(len(values), dtype=np.float64)
    # Ties share their average rank.
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def _label_association(profile: PartialProfile) -> list[Association]:
    label = profile.label_column
    if not label:
        return []
    results: list[Association] = []
    for column in profile.columns:
        if column.name == label or not column.by_label:
            continue
        parts = list(column.by_label.values())
        if all(isinstance(part, Moments) for part in parts):
            total = Moments()
            for part in parts:
                total = total.merge(part)
            if total.n < 2 or total.m2 <= 0:
                continue
            between = sum(part.n * (part.mean - total.mean) ** 2 for part in parts)
            value = math.sqrt(max(0.0, min(1.0, between / total.m2)))
            results.append(
                {"feature": column.name, "measure": "correlation_ratio", "value": round(value, 4), "n": total.n}
            )
        elif all(isinstance(part, dict) for part in parts):
            cramers_v, n, cells = _cramers_v(column.by_label)
            if cramers_v is not None:
                results.append(
                    {
                        "feature": column.name,
                        "measure": "cramers_v",
                        "value": round(cramers_v, 4),
                        "n": n,
                        "values": cells,
                    }
                )
    return sorted(results, key=lambda item: -item["value"])


def _cramers_v(table: dict[Any, Any]) -> tuple[float | None, int, int]:
    labels = list(table)
    values = sorted({value for counts in table.values() for value in counts}, key=str)
    if len(labels) < 2 or len(values) < 2:
        return None, 0, len(values)
    matrix = np.array([[table[label].get(value, 0) for value in values] for label in labels], dtype=np.float64)
    n = matrix.sum()
    expected = np.outer(matrix.sum(axis=1), matrix.sum(axis=0)) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = np.nansum((matrix - expected) ** 2 / expected)
    return math.sqrt(chi2 / (n * (min(matrix.shape) - 1))), int(n), len(values)


def _leakage(profile: PartialProfile, features: list[FeatureProfile], task: str | None) -> list[leakage.Result]:
    """What each feature alone predicts of the label out of sample (see `leakage`). Identifiers are
    measured too: an unseen value predicts nothing, so one is flagged only when its values themselves
    follow the label (ids handed out class by class, notes written only for one class)."""
    label = profile.label_column
    if profile.row_sample is None or not label or task is None:
        return []
    names = [
        feature["name"] for feature in features if feature["role"] != "label" and feature["logical_type"] != "constant"
    ]
    return leakage.assess(profile.row_sample, label, task, names)


def _leakage_findings(results: list[leakage.Result], label: str | None, task: str | None) -> list[Finding]:
    findings = []
    for result in results:
        if result.severity is None:
            continue
        if result.measure == "r2":
            how = f"R² {result.value:.3f} out of sample on {result.rows:,} sampled rows"
        else:
            how = (
                f"{result.value:.1%} of {result.rows:,} sampled rows right out of sample, where always answering "
                f"the most frequent class gets {result.baseline:.1%}"
            )
        if result.severity == "error":
            message = (
                f"{result.feature!r} alone reproduces the label {label!r} ({how}): almost certainly leakage "
                "(a copy of the label, or a value recorded because of it). Drop it or check how it was collected."
            )
        else:
            message = (
                f"{result.feature!r} alone predicts the label {label!r} strongly ({how}): a legitimate strong "
                "feature, or leakage; check that it is known when the model will be used."
            )
        findings.append(finding(result.severity, "label_leakage", result.feature, message))
    return findings


def _association_findings(
    association: list[Association], correlations: Correlations, label: str | None, *, confirmed: bool = False
) -> list[Finding]:
    """Without a row sample (folders of media), a strong association is a warning of possible
    leakage; with one, the out-of-sample check decides instead. Correlated features are grouped:
    one finding per cluster of features linked by |r| at or above CORRELATION_THRESHOLD."""
    findings = []
    for item in association if not confirmed else []:
        # Many distinct values on few rows tie to the label by chance; require ten rows per value.
        too_sparse = item["measure"] == "cramers_v" and item["values"] * 10 > item["n"]
        if item["value"] >= LEAKAGE_THRESHOLD and not too_sparse:
            measure = "Cramér's V" if item["measure"] == "cramers_v" else "correlation ratio"
            findings.append(
                finding(
                    "warning",
                    "label_leakage",
                    item["feature"],
                    f"{item['feature']!r} predicts the label {label!r} almost perfectly ({measure} {item['value']:.2f}): "
                    "possible leakage.",
                )
            )
    for cluster in correlated_clusters(correlations["pearson"]):
        members, pairs = cluster
        shown = ", ".join(repr(name) for name in members)
        lowest = min(abs(item["r"]) for item in pairs)
        if len(members) == 2:
            message = f"{shown.replace(', ', ' and ')} are almost perfectly correlated (r = {pairs[0]['r']:.3f})."
        else:
            message = (
                f"{len(members)} features are almost perfectly correlated with one another ({shown}; "
                f"{len(pairs)} pairs with |r| ≥ {lowest:.3f}): one of them carries what the others do."
            )
        findings.append(finding("info", "high_correlation", members[0], message))
    return findings


def correlated_clusters(pearson: list[Pearson]) -> list[tuple[list[str], list[Pearson]]]:
    """Features linked by |r| ≥ CORRELATION_THRESHOLD, as connected groups (members in column
    order of first mention), each with its strong pairs."""
    strong = [item for item in pearson if abs(item["r"]) >= CORRELATION_THRESHOLD]
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for item in strong:
        parent[root(item["a"])] = root(item["b"])
    order: dict[str, int] = {}
    for item in strong:
        for name in (item["a"], item["b"]):
            order.setdefault(name, len(order))
    clusters: dict[str, tuple[list[str], list[Pearson]]] = {}
    for name in sorted(order, key=order.__getitem__):
        clusters.setdefault(root(name), ([], []))[0].append(name)
    for item in strong:
        clusters[root(item["a"])][1].append(item)
    return list(clusters.values())


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


SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def cap_findings(findings: list[Finding]) -> list[Finding]:
    """At most FINDINGS_PER_CODE findings of each code (the first, which are the most severe when
    the list is sorted); the rest of a code are counted in one `findings_omitted` finding."""
    kept: list[Finding] = []
    seen: dict[str, int] = {}
    for item in findings:
        seen[item["code"]] = seen.get(item["code"], 0) + 1
        if seen[item["code"]] <= FINDINGS_PER_CODE:
            kept.append(item)
    for code, count in seen.items():
        if count > FINDINGS_PER_CODE:
            kept.append(
                finding(
                    "info",
                    "findings_omitted",
                    None,
                    f"{count - FINDINGS_PER_CODE:,} more {code!r} findings are not listed ({count:,} in all).",
                )
            )
    return kept


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Most severe first (in place, stable); also returns the list."""
    findings.sort(key=lambda finding: SEVERITY_ORDER.get(finding["severity"], len(SEVERITY_ORDER)))
    return findings


def finding(severity: str, code: str, feature: str | None, message: str) -> Finding:
    return {"severity": severity, "code": code, "feature": feature, "message": message}


def _share(part: int, whole: int) -> str:
    if not whole:
        return "0%"
    share = 100.0 * part / whole
    return f"{share:.1f}%" if share >= 0.1 else f"{share:.2g}%"


__all__ = ["build", "jsonable"]
