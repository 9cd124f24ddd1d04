"""What holds across features: correlations, association with the label, and leakage, with their findings."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from profiler import leakage
from profiler.findings import finding
from profiler.result import (
    Association,
    Correlations,
    FeatureProfile,
    Finding,
    Pearson,
    Spearman,
)
from profiler.sketches import Moments
from profiler.state import PartialProfile

LEAKAGE_THRESHOLD = 0.95
CORRELATION_THRESHOLD = 0.98


def correlations_of(profile: PartialProfile) -> Correlations:
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


def label_association(profile: PartialProfile) -> list[Association]:
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


def feature_leakage(profile: PartialProfile, features: list[FeatureProfile], task: str | None) -> list[leakage.Result]:
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


def leakage_findings(results: list[leakage.Result], label: str | None, task: str | None) -> list[Finding]:
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


def association_findings(
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
