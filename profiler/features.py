"""One column's profile from its merged state: statistics, distribution, logical type and role."""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
from datasketches import frequent_items_error_type

from profiler import hll
from profiler.result import (
    FeatureProfile,
    PatternStatistics,
    Statistics,
    StoredDistribution,
)
from profiler.state import ColumnState, PartialProfile
from profiler.values import iso_from_seconds, jsonable

QUANTILES = {"p1": 0.01, "p5": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95, "p99": 0.99}
HISTOGRAM_BINS = 20
TOP_VALUES = 10

PII_THRESHOLD = 0.3
# What drift comparisons read later: a quantile grid (every half percent of rank) of each numeric or
# date column, and the counts of a categorical column's most frequent values.
DISTRIBUTION_RANKS = 200
DISTRIBUTION_VALUES = 1_000

# An integer column unique in every row is an identifier only with more evidence than uniqueness:
# an id-like name, consecutive values, or at least this many rows.
IDENTIFIER_MIN_ROWS = 10_000
STRING_IDENTIFIER_MIN_ROWS = 100
IDENTIFIER_NAMES = ("id", "uuid", "guid", "key", "index", "idx", "pk")


def feature_profile(column: ColumnState, profile: PartialProfile) -> FeatureProfile:
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
    if logical_type == "text" and column.languages is not None and profile.media is None:
        statistics["languages"] = column.languages.summary()
    if column.pattern is not None:
        statistics["pattern"] = cast(PatternStatistics, column.pattern.as_data())
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


def stored_distribution(column: ColumnState) -> StoredDistribution:
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
    id_name = id_like_name(column.name)
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


def id_like_name(name: str) -> bool:
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
