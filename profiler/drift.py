"""Drift between two profiles, computed from what profiling stored (quantile grids, value counts,
statistics), never from the data.

`compare(current, against)` answers the schema diff (added, removed, type-changed and renamed
features), per-feature metrics, the label's shift and the row-count change. Every metric is
flagged against a threshold in THRESHOLDS, chosen above the noise floor of the sketches (an
untouched column of a 5M-row table shows a KS distance of about 0.01 between two profiles):

    psi            Population Stability Index over ten bins cut at the deciles of the reference
                   (`against`): below 0.1 stable, 0.1 to 0.2 moderate, 0.2 and above a shift.
    js             Jensen-Shannon distance (base 2, from 0 to 1) over twenty shared bins
                   (numeric) or over the values (categorical).
    ks             Kolmogorov-Smirnov distance, the largest gap between the two CDFs.
    linf           L-infinity distance: the largest change in any one value's share.
    null_fraction  the change in the share of missing values.

On small samples chance alone moves every metric, so a metric is flagged only when it also passes
what two samples of that size from one distribution would reach in 99 of 100 comparisons (its
noise floor, from the metrics' chi-square and Kolmogorov limits); the threshold reported is the
larger of the two. Features with fewer than MIN_VALUES values on either side are measured but not
flagged.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from profiler.findings import finding
from profiler.result import (
    ChangedFeature,
    DescribedFeature,
    DriftResult,
    FeatureDrift,
    Finding,
    LabelDrift,
    Metric,
    Profile,
    SchemaChange,
)

THRESHOLDS = {"psi": 0.2, "js": 0.1, "ks": 0.1, "linf": 0.1, "null_fraction": 0.05}
MIN_VALUES = 30
PSI_BINS = 10
JS_BINS = 20
PSI_FLOOR = 1e-4  # a bin empty on one side counts as this share, so PSI stays finite
# A removed and an added feature are one renamed feature when their statistics agree this closely.
RENAME_DISTANCE = 0.05
RENAME_NULL_FRACTION = 0.01
RENAME_DISTINCT_RATIO = 0.05

NUMERIC_TYPES = ("numeric", "datetime", "identifier")
CATEGORICAL_TYPES = ("categorical", "boolean", "constant")
# The fallback grid when a profile carries no stored quantiles: its quantile statistics.
STATISTIC_RANKS = {"p1": 0.01, "p5": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95, "p99": 0.99}


@dataclass(frozen=True)
class FeatureView:
    name: str
    dtype: str
    logical_type: str
    statistics: dict[str, Any] = field(default_factory=dict)
    distribution: dict[str, Any] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return int(self.statistics.get("count") or 0)

    @property
    def rows(self) -> int:
        return self.count + int(self.statistics.get("null_count") or 0)

    @property
    def null_fraction(self) -> float:
        return float(self.statistics.get("null_fraction") or 0.0)

    def grid(self) -> Grid | None:
        """The feature's quantile function: stored at every half percent, or rebuilt coarsely from its
        quantile statistics and min/max."""
        exact = self._exact_grid()
        if exact is not None:
            return exact
        stored = self.distribution.get("quantiles")
        if stored:
            values = _floats(stored)
            if values is not None:
                return Grid(values, np.linspace(0.0, 1.0, len(values)))
        quantiles = self.statistics.get("quantiles") or {}
        if not quantiles or self.logical_type == "datetime":
            return None  # dates are stored as text; without the stored grid there is nothing to compare
        pairs = [(0.0, self.statistics.get("min"))]
        pairs += [(rank, quantiles.get(key)) for key, rank in STATISTIC_RANKS.items()]
        pairs.append((1.0, self.statistics.get("max")))
        values = _floats([value for _, value in pairs])
        if values is None:
            return None
        return Grid(np.maximum.accumulate(values), np.array([rank for rank, _ in pairs]))

    def _exact_grid(self) -> Grid | None:
        """A step CDF from complete value counts (few distinct values): exact, with no interpolation
        between values where there is no mass."""
        counts = self.distribution.get("counts")
        if not counts or self.distribution.get("other_count") or self.distribution.get("counts_approximate"):
            return None
        values = _floats([value for value, _ in counts])
        if values is None:
            return None
        weights = np.array([int(count) for _, count in counts], dtype=np.float64)
        order = np.argsort(values, kind="stable")
        values, weights = values[order], weights[order]
        return Grid(values, np.cumsum(weights) / weights.sum(), steps=True)

    def shares(self) -> dict[str, float] | None:
        """Each value's share of the present values ("other" holds the rest), or None when not counted."""
        counts = self.distribution.get("counts")
        if counts is None:
            top = self.statistics.get("top_values")
            if not top:
                return None
            counts = [[item["value"], item["count"]] for item in top]
            other = max(self.count - sum(item["count"] for item in top), 0)
        else:
            other = int(self.distribution.get("other_count") or 0)
        total = sum(int(count) for _, count in counts) + other
        if total <= 0:
            return None
        shares = {_key(value): int(count) / total for value, count in counts}
        if other:
            shares[OTHER] = other / total
        return shares


@dataclass(frozen=True)
class ProfileView:
    row_count: int
    features: Sequence[FeatureView]
    label_column: str | None = None
    class_counts: dict[str, int] = field(default_factory=dict)


OTHER = "\x00other"


def profile_view(
    *,
    row_count: int,
    features: Iterable[Mapping[str, Any]],
    distributions: Mapping[str, Any] | None,
    quality: Mapping[str, Any] | None,
) -> ProfileView:
    """A view of a stored profile: the features as the engine reports them (name, dtype,
    logical_type, statistics), the stored distributions and the quality block."""
    distributions = distributions or {}
    quality = quality or {}
    return ProfileView(
        row_count=int(row_count or 0),
        features=[
            FeatureView(
                name=feature["name"],
                dtype=feature["dtype"],
                logical_type=feature["logical_type"],
                statistics=feature.get("statistics") or {},
                distribution=distributions.get(feature["name"]) or {},
            )
            for feature in features
        ],
        label_column=quality.get("label_column"),
        class_counts={str(key): int(count) for key, count in (quality.get("class_counts") or {}).items()},
    )


def view_of(profile: Profile) -> ProfileView:
    """The view of a profile as the engine returned it."""
    return profile_view(
        row_count=profile["row_count"],
        features=profile["features"],
        distributions=profile["distributions"],
        quality=profile["quality"],
    )


class Grid:
    """A distribution known by its quantiles: values[i] is the quantile at rank ranks[i]."""

    def __init__(self, values: np.ndarray, ranks: np.ndarray, *, steps: bool = False) -> None:
        self.values = values
        self.ranks = ranks
        # Steps: the values are every value there is, and ranks[i] the share at or below values[i].
        self.steps = steps

    def cdf(self, points: np.ndarray) -> np.ndarray:
        """The share of values at or below each point; linear between grid values, exact at atoms
        (a value repeated over a run of ranks carries all of them)."""
        values, ranks = self.values, self.ranks
        last = np.searchsorted(values, points, side="right") - 1
        if self.steps:
            return np.where(last >= 0, ranks[np.maximum(last, 0)], 0.0)
        result = np.empty(len(points), dtype=np.float64)
        below = last < 0
        above = last >= len(values) - 1
        inside = ~(below | above)
        result[below] = 0.0
        result[above] = 1.0
        j = last[inside]
        low, high = values[j], values[j + 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            step = (points[inside] - low) / (high - low)
        step = np.where(np.isfinite(step), np.clip(step, 0.0, 1.0), 0.0)
        result[inside] = ranks[j] + step * (ranks[j + 1] - ranks[j])
        return result

    def quantiles(self, count: int) -> np.ndarray:
        """The inner cut points that split the distribution into `count` parts of equal mass (as near
        as the values allow, when they are few)."""
        targets = np.arange(1, count) / count
        if self.steps:
            return self.values[np.minimum(np.searchsorted(self.ranks, targets), len(self.values) - 1)]
        return np.interp(targets, self.ranks, self.values)

    def masses(self, edges: np.ndarray) -> np.ndarray:
        """The share of values in each bin: (-inf, e0], (e0, e1], ..., (e_last, inf)."""
        cumulative = np.concatenate(([0.0], self.cdf(edges), [1.0]))
        return np.maximum(np.diff(cumulative), 0.0)


# --- Metrics ----------------------------------------------------------------------------------------


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    p = np.maximum(expected, PSI_FLOOR)
    q = np.maximum(actual, PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def js_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon distance with base-2 logarithms: 0 for equal distributions, 1 for disjoint ones."""
    p = p / p.sum() if p.sum() > 0 else p
    q = q / q.sum() if q.sum() > 0 else q
    m = (p + q) / 2

    def kl(a: np.ndarray) -> float:
        present = a > 0
        return float(np.sum(a[present] * np.log2(a[present] / m[present])))

    return math.sqrt(max(0.0, (kl(p) + kl(q)) / 2))


def numeric_metrics(current: Grid, against: Grid) -> tuple[dict[str, float], dict[str, int]]:
    """The metrics, and the number of bins each was computed over."""
    psi_edges = np.unique(against.quantiles(PSI_BINS))
    js_edges = np.unique(np.concatenate((against.quantiles(JS_BINS), current.quantiles(JS_BINS))))
    points = np.unique(np.concatenate((current.values, against.values)))
    points = points[np.isfinite(points)]
    ks = float(np.max(np.abs(current.cdf(points) - against.cdf(points)))) if points.size else 0.0
    metrics = {
        "psi": psi(against.masses(psi_edges), current.masses(psi_edges)),
        "js": js_distance(against.masses(js_edges), current.masses(js_edges)),
        "ks": ks,
    }
    return metrics, {"psi": len(psi_edges) + 1, "js": len(js_edges) + 1}


def categorical_metrics(
    current: dict[str, float], against: dict[str, float]
) -> tuple[dict[str, float], dict[str, int]]:
    keys = sorted(set(current) | set(against))
    p = np.array([against.get(key, 0.0) for key in keys])
    q = np.array([current.get(key, 0.0) for key in keys])
    metrics = {"linf": float(np.max(np.abs(p - q))) if keys else 0.0, "js": js_distance(p, q)}
    return metrics, {"js": len(keys)}


def _chi2_quantile(degrees: int, z: float = 2.326) -> float:
    """The chi-square quantile for a standard-normal z (2.326: the 99th percentile), by Wilson-Hilferty."""
    k = max(degrees, 1)
    return float(k * (1 - 2 / (9 * k) + z * math.sqrt(2 / (9 * k))) ** 3)


def noise_floor(metric: str, n_current: int, n_against: int, bins: int) -> float:
    """What the metric reaches by chance between two samples of these sizes from one distribution
    (99th percentile). PSI and Jensen-Shannon divergence are, for large samples, chi-square with
    bins - 1 degrees of freedom scaled by 1/n1 + 1/n2; KS follows Kolmogorov's limit; the largest
    change of a share is bounded through the variance of a share of one half."""
    if n_current <= 0 or n_against <= 0:
        return math.inf
    scale = 1 / n_current + 1 / n_against
    if metric == "psi":
        return _chi2_quantile(bins - 1) * scale
    if metric == "js":
        return math.sqrt(_chi2_quantile(bins - 1) * scale / (8 * math.log(2)))
    if metric == "ks":
        return 1.63 * math.sqrt(scale)
    return 1.5 * math.sqrt(scale)  # linf, null_fraction: three standard deviations at a share of 0.5


def _flagged(
    values: dict[str, float],
    judged: bool,
    sizes: tuple[int, int],
    bins: dict[str, int],
    *,
    rows: tuple[int, int] | None = None,
) -> dict[str, Metric]:
    """Each metric with its threshold and whether it passes it. `sizes` are the values compared;
    `rows` (values and missing ones) what the null fraction is a share of."""
    flagged: dict[str, Metric] = {}
    for name, value in values.items():
        n = rows if name == "null_fraction" and rows is not None else sizes
        threshold = max(THRESHOLDS[name], noise_floor(name, n[0], n[1], bins.get(name, 2)))
        flagged[name] = {
            "value": round(value, 6),
            "threshold": round(threshold, 6),
            "drifted": judged and value >= threshold,
        }
    return flagged


# --- Comparison ---------------------------------------------------------------------------------


def comparison_kind(current: FeatureView, against: FeatureView) -> str | None:
    types = {current.logical_type, against.logical_type}
    if types <= set(CATEGORICAL_TYPES):
        return "categorical"
    if types <= set(NUMERIC_TYPES) and "identifier" not in types:
        return "numeric"
    return None  # identifiers and free text: only their completeness is compared


def feature_drift(current: FeatureView, against: FeatureView) -> FeatureDrift:
    judged = current.count >= MIN_VALUES and against.count >= MIN_VALUES
    values: dict[str, float] = {"null_fraction": abs(current.null_fraction - against.null_fraction)}
    bins: dict[str, int] = {}
    kind = comparison_kind(current, against)
    if kind == "numeric":
        grids = current.grid(), against.grid()
        if grids[0] is not None and grids[1] is not None and current.count and against.count:
            measured, bins = numeric_metrics(grids[0], grids[1])
            values.update(measured)
    elif kind == "categorical":
        shares = current.shares(), against.shares()
        if shares[0] is not None and shares[1] is not None:
            measured, bins = categorical_metrics(shares[0], shares[1])
            values.update(measured)
    metrics = _flagged(values, judged, (current.count, against.count), bins, rows=(current.rows, against.rows))
    entry: FeatureDrift = {
        "name": current.name,
        "kind": kind or "other",
        "metrics": metrics,
        "drifted": any(metric["drifted"] for metric in metrics.values()),
        "judged": judged,
    }
    if current.name != against.name:
        entry["previous_name"] = against.name
    return entry


def _distance(current: FeatureView, against: FeatureView) -> float | None:
    """How far apart two features' distributions are, if they could be the same feature renamed."""
    if current.logical_type != against.logical_type or _family(current.dtype) != _family(against.dtype):
        return None
    if abs(current.null_fraction - against.null_fraction) > RENAME_NULL_FRACTION:
        return None
    distinct = [float(feature.statistics.get("distinct_count") or 0) for feature in (current, against)]
    if max(distinct) and abs(distinct[0] - distinct[1]) > RENAME_DISTINCT_RATIO * max(distinct):
        return None
    kind = comparison_kind(current, against)
    if kind == "numeric" or (current.logical_type == "identifier" and current.grid() and against.grid()):
        grids = current.grid(), against.grid()
        if grids[0] is None or grids[1] is None:
            return None
        return numeric_metrics(grids[0], grids[1])[0]["ks"]
    if kind == "categorical":
        shares = current.shares(), against.shares()
        if shares[0] is None or shares[1] is None:
            return None
        return categorical_metrics(shares[0], shares[1])[0]["linf"]
    now, before = ((feature.statistics.get("string_length") or {}).get("mean") for feature in (current, against))
    if now is None or before is None or max(now, before) <= 0:
        return None
    return float(abs(now - before) / max(now, before))


def _family(dtype: str) -> str:
    lowered = dtype.lower()
    for family in ("int", "float", "double", "decimal", "timestamp", "date", "bool", "string", "utf8"):
        if family in lowered:
            return {"double": "float", "decimal": "float", "utf8": "string", "date": "timestamp"}.get(family, family)
    return lowered


def _renames(added: list[FeatureView], removed: list[FeatureView]) -> list[tuple[FeatureView, FeatureView, float]]:
    candidates = []
    for new in added:
        for old in removed:
            distance = _distance(new, old)
            if distance is not None and distance <= RENAME_DISTANCE:
                candidates.append((distance, new.name, old.name, new, old))
    pairs: list[tuple[FeatureView, FeatureView, float]] = []
    taken: set[str] = set()
    for distance, new_name, old_name, new, old in sorted(candidates, key=lambda item: item[:3]):
        if ("+" + new_name) in taken or ("-" + old_name) in taken:
            continue
        taken |= {"+" + new_name, "-" + old_name}
        pairs.append((new, old, distance))
    return pairs


def _described(feature: FeatureView) -> DescribedFeature:
    return {"name": feature.name, "dtype": feature.dtype, "logical_type": feature.logical_type}


def label_drift(current: ProfileView, against: ProfileView) -> LabelDrift | None:
    if not current.class_counts or not against.class_counts:
        return None
    totals = sum(current.class_counts.values()), sum(against.class_counts.values())
    if not totals[0] or not totals[1]:
        return None
    now = {str(key): count / totals[0] for key, count in current.class_counts.items()}
    before = {str(key): count / totals[1] for key, count in against.class_counts.items()}
    judged = min(totals) >= MIN_VALUES
    measured, bins = categorical_metrics(now, before)
    metrics = _flagged(measured, judged, totals, bins)
    added = sorted(set(now) - set(before))
    removed = sorted(set(before) - set(now))
    return {
        "column": current.label_column,
        "against_column": against.label_column,
        "metrics": metrics,
        "added_classes": added,
        "removed_classes": removed,
        "shares": {key: round(share, 6) for key, share in sorted(now.items())},
        "against_shares": {key: round(share, 6) for key, share in sorted(before.items())},
        "drifted": bool(added or removed) or any(metric["drifted"] for metric in metrics.values()),
    }


def compare(current: ProfileView, against: ProfileView) -> DriftResult:
    """The drift of `current` from `against` (the reference: the earlier version, or training data)."""
    now = {feature.name: feature for feature in current.features}
    before = {feature.name: feature for feature in against.features}
    added = [feature for name, feature in now.items() if name not in before]
    removed = [feature for name, feature in before.items() if name not in now]
    renamed = _renames(added, removed)
    renamed_new = {new.name for new, _, _ in renamed}
    renamed_old = {old.name for _, old, _ in renamed}
    changed: list[ChangedFeature] = [
        {"name": name, "before": _described(before[name]), "after": _described(feature)}
        for name, feature in now.items()
        if name in before and (feature.dtype != before[name].dtype or feature.logical_type != before[name].logical_type)
    ]
    pairs = [(feature, before[name]) for name, feature in now.items() if name in before]
    pairs += [(new, old) for new, old, _ in renamed]
    features = [feature_drift(new, old) for new, old in pairs]
    rows_before, rows_after = against.row_count, current.row_count
    return {
        "schema": {
            "added": [_described(feature) for feature in added if feature.name not in renamed_new],
            "removed": [_described(feature) for feature in removed if feature.name not in renamed_old],
            "changed": changed,
            "renamed": [
                {"from": old.name, "to": new.name, "distance": round(distance, 6)} for new, old, distance in renamed
            ],
        },
        "features": features,
        "drifted_features": [entry["name"] for entry in features if entry["drifted"]],
        "label": label_drift(current, against),
        "row_count_change": {
            "before": rows_before,
            "after": rows_after,
            "change": rows_after - rows_before,
            "relative": round((rows_after - rows_before) / rows_before, 6) if rows_before else None,
        },
        "thresholds": dict(THRESHOLDS),
        "min_values": MIN_VALUES,
    }


def findings(result: DriftResult, against_label: str) -> list[Finding]:
    """Quality findings for the newer profile: one per drifted feature, and for schema and label changes."""
    found = []
    label = result["label"]
    for entry in result["features"]:
        if not entry["drifted"] or (label and entry["name"] == label["column"]):
            continue  # the label's shift has a finding of its own
        message = f"{entry['name']!r} drifted from {against_label}: {', '.join(_flagged_text(entry['metrics']))}."
        found.append(finding("warning", "feature_drift", entry["name"], message))
    if label and label["drifted"]:
        parts = []
        if label["removed_classes"]:
            parts.append("classes gone: " + ", ".join(repr(name) for name in label["removed_classes"]))
        if label["added_classes"]:
            parts.append("new classes: " + ", ".join(repr(name) for name in label["added_classes"]))
        parts += _flagged_text(label["metrics"])
        message = f"The label distribution moved from {against_label}: {'; '.join(parts)}."
        found.append(finding("warning", "label_drift", label["column"], message))
    changes = _schema_sentence(result["schema"])
    if changes:
        found.append(finding("info", "schema_change", None, f"The schema changed from {against_label}: {changes}."))
    return found


def label_missing_finding(column: str, against_label: str) -> Finding:
    """The schema change that costs most and shows least: the label column the version before was
    labelled by is gone, so the version was profiled without it (if renamed, the label is a feature
    now; a column named like a label may have been taken for one)."""
    return finding(
        "warning",
        "schema_change",
        column,
        f"The label column {column!r} of {against_label} is not in this version's data, so it was profiled "
        "without that label: its class counts, label conflicts and label leakage are missing. Register a new "
        'version naming its label column, or with "label_column": null if the data has none.',
    )


def _flagged_text(metrics: dict[str, Metric]) -> list[str]:
    return [
        f"{name} {metric['value']:.3g} (threshold {metric['threshold']:g})"
        for name, metric in metrics.items()
        if metric["drifted"]
    ]


def _schema_sentence(schema: SchemaChange) -> str:
    def names(items: Iterable[DescribedFeature]) -> str:
        return ", ".join(repr(item["name"]) for item in items)

    parts = []
    if schema["added"]:
        parts.append("added " + names(schema["added"]))
    if schema["removed"]:
        parts.append("removed " + names(schema["removed"]))
    if schema["renamed"]:
        parts.append("renamed " + ", ".join(f"{item['from']!r} to {item['to']!r}" for item in schema["renamed"]))
    if schema["changed"]:
        parts.append(
            "changed type of "
            + ", ".join(
                f"{item['name']!r} ({item['before']['logical_type']} to {item['after']['logical_type']})"
                for item in schema["changed"]
            )
        )
    return "; ".join(parts)


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _floats(values: Sequence[Any]) -> np.ndarray | None:
    try:
        array = np.array([float(value) for value in values], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if np.isnan(array).any() or array.size < 2:
        return None
    return array
