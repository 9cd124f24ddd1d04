"""What one feature alone predicts of the label, measured out of sample on the row sample.

Each feature gets the simplest model that can reproduce a leak of its kind, fitted on four fifths of
the sampled rows and scored on the fifth it did not see, five times over (every sampled row is
predicted once, by a model that never saw it; the folds follow the rows' sample keys, so the same
bytes give the same figures):

- a number: a decision tree on that number alone (a few levels deep), with a branch of its own for
  rows where the number is missing, so a copy of the label, a score above a threshold exactly for
  one class, and a column missing exactly for one class are all reproduced;
- anything else (strings, booleans, dates, kept as hashes of their values): the most frequent class
  among the training rows with the same value, missing being a value; for a value never seen in
  training, the most frequent class among the rows that have a value (so an identifier predicts
  nothing, and unique notes present exactly for one class are a leak);
- a regression target: the training rows' mean target at the same value, linearly interpolated
  between the values seen for numbers (and extended beyond them), scored by R².

Classification is scored by accuracy and by skill, the share of the errors of always answering the
most frequent class that the feature removes: `1 - (1 - accuracy) / (1 - baseline)`. A feature is an
`error` when it reproduces the label for at least 99% of the sampled rows and removes at least 90% of
the baseline's errors (near-certain leakage; on a label that is 99.5% one class, 99% accuracy is no
evidence), a `warning` when it removes at least 80% of them (strongly predictive: look at how it was
collected). A regression target: `error` at R² ≥ 0.99, `warning` at R² ≥ 0.8.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from profiler.result import Leakage
from profiler.rowsample import RowSample

FOLDS = 5
MIN_ROWS = 30  # labelled rows in the sample below which nothing is said
ERROR_ACCURACY = 0.99
ERROR_SKILL = 0.9
WARNING_SKILL = 0.8
ERROR_R2 = 0.99
WARNING_R2 = 0.8
MAX_CLASSES = 200  # more classes than this: the check is not made
MAX_DEPTH = 6


@dataclass(frozen=True)
class Result:
    feature: str
    measure: str  # "accuracy" (classification) or "r2" (regression)
    value: float
    baseline: float
    skill: float
    rows: int
    severity: str | None  # "error", "warning" or None

    def as_dict(self) -> Leakage:
        return {
            "feature": self.feature,
            "measure": self.measure,
            "value": round(self.value, 4),
            "baseline": round(self.baseline, 4),
            "skill": round(self.skill, 4),
            "rows": self.rows,
            "severity": self.severity,
        }


def assess(sample: RowSample, label: str, task_type: str, features: list[str]) -> list[Result]:
    """One result per feature that could be measured, the most predictive first."""
    if label not in sample.columns:
        return []
    target = sample.columns[label]
    labelled = ~np.isnan(target) if target.dtype == np.float64 else target != 0
    if int(labelled.sum()) < MIN_ROWS:
        return []
    # Folds by the rank of each row's key: rows are kept in key order, so row i is in fold i % FOLDS.
    folds = np.arange(int(labelled.sum())) % FOLDS
    columns = {name: sample.columns[name][labelled] for name in features if name in sample.columns}
    results = []
    if task_type == "regression":
        y = target[labelled].astype(np.float64)
        if y.dtype != np.float64 or not np.isfinite(y).all() or np.var(y) <= 0:
            return []
        for name, x in columns.items():
            r2 = _regression_r2(x, y, folds)
            graded = "error" if r2 >= ERROR_R2 else "warning" if r2 >= WARNING_R2 else None
            results.append(Result(name, "r2", r2, 0.0, r2, int(y.size), graded))
    else:
        _, y = np.unique(target[labelled], return_inverse=True)
        classes = int(y.max()) + 1
        if classes < 2 or classes > MAX_CLASSES:
            return []
        baseline = float(np.bincount(y).max() / y.size)
        depth = min(MAX_DEPTH, math.ceil(math.log2(classes)) + 1)
        for name, x in columns.items():
            predicted = np.empty_like(y)
            # Numbers are sorted once; each fold's training rows keep that order.
            order = np.argsort(x) if x.dtype == np.float64 else None
            for fold in range(FOLDS):
                train, test = folds != fold, folds == fold
                if order is not None:
                    ordered = order[train[order]]
                    predicted[test] = _tree_predict(x[ordered], y[ordered], x[test], classes, depth)
                else:
                    predicted[test] = _value_predict(x[train], y[train], x[test], classes)
            accuracy = float(np.mean(predicted == y))
            skill = 1.0 - (1.0 - accuracy) / (1.0 - baseline) if baseline < 1 else 0.0
            if accuracy >= ERROR_ACCURACY and skill >= ERROR_SKILL:
                severity: str | None = "error"
            elif skill >= WARNING_SKILL:
                severity = "warning"
            else:
                severity = None
            results.append(Result(name, "accuracy", accuracy, baseline, skill, int(y.size), severity))
    return sorted(results, key=lambda result: (-result.skill, result.feature))


# --- Classification -------------------------------------------------------------------------------


def _majority(y: np.ndarray, classes: int) -> int:
    return int(np.bincount(y, minlength=classes).argmax())


def _tree_predict(x: np.ndarray, y: np.ndarray, x_new: np.ndarray, classes: int, depth: int) -> np.ndarray:
    """Fit a tree on one number, `x` sorted (missing values last, on a branch of their own), and
    predict `x_new`."""
    overall = _majority(y, classes) if y.size else 0
    missing = np.isnan(x)
    predicted = np.full(x_new.size, overall, dtype=y.dtype)
    new_missing = np.isnan(x_new)
    if missing.any():
        predicted[new_missing] = _majority(y[missing], classes)
    xs, ys = x[~missing], y[~missing]
    if not xs.size:
        return predicted
    thresholds: list[float] = []
    _split(xs, ys, classes, depth, max(2, xs.size // 200), thresholds)
    edges = np.array(sorted(thresholds), dtype=np.float64)
    cells = np.searchsorted(edges, xs, side="right")
    table = np.bincount(cells * classes + ys, minlength=(edges.size + 1) * classes).reshape(-1, classes)
    leaves = table.argmax(axis=1)
    present_new = ~new_missing
    predicted[present_new] = leaves[np.searchsorted(edges, x_new[present_new], side="right")]
    return predicted


def _split(x: np.ndarray, y: np.ndarray, classes: int, depth: int, min_leaf: int, out: list[float]) -> None:
    """Grow a tree on sorted `x` by Gini impurity, appending its thresholds to `out`."""
    n = x.size
    if depth == 0 or n < 2 * min_leaf:
        return
    onehot = np.zeros((n, classes), dtype=np.float64)
    onehot[np.arange(n), y] = 1.0
    cumulative = onehot.cumsum(axis=0)
    total = cumulative[-1]
    if np.count_nonzero(total) < 2:
        return  # pure
    left = cumulative[:-1]
    right = total - left
    n_left = np.arange(1, n, dtype=np.float64)
    n_right = n - n_left
    # Minimising the weighted Gini impurity is maximising this sum.
    score = (left**2).sum(axis=1) / n_left + (right**2).sum(axis=1) / n_right
    valid = (x[1:] > x[:-1]) & (n_left >= min_leaf) & (n_right >= min_leaf)
    if not valid.any():
        return
    score[~valid] = -np.inf
    best = int(score.argmax())
    if score[best] <= (total**2).sum() / n + 1e-9:
        return
    threshold = (x[best] + x[best + 1]) / 2
    if not (x[best] < threshold < x[best + 1]):
        threshold = x[best + 1]  # adjacent floats: everything below the right value goes left
    out.append(float(threshold))
    _split(x[: best + 1], y[: best + 1], classes, depth - 1, min_leaf, out)
    _split(x[best + 1 :], y[best + 1 :], classes, depth - 1, min_leaf, out)


def _value_predict(x: np.ndarray, y: np.ndarray, x_new: np.ndarray, classes: int) -> np.ndarray:
    """The most frequent class of each value (hash) in training, missing values (0) being one
    value; for a value never seen, the most frequent class among training rows that have a value
    (so a column of unique notes present exactly for one class is reproduced, and an identifier
    present in every row predicts only the overall most frequent class)."""
    present = x != 0
    overall = _majority(y[present] if present.any() else y, classes) if y.size else 0
    values, codes = np.unique(x, return_inverse=True)
    table = np.bincount(codes * classes + y, minlength=values.size * classes).reshape(-1, classes)
    per_value = table.argmax(axis=1)
    position = np.clip(np.searchsorted(values, x_new), 0, max(values.size - 1, 0))
    seen = values.size > 0
    found = (values[position] == x_new) if seen else np.zeros(x_new.size, dtype=bool)
    predicted = np.full(x_new.size, overall, dtype=y.dtype)
    predicted[found] = per_value[position[found]]
    return predicted


# --- Regression -----------------------------------------------------------------------------------


def _regression_r2(x: np.ndarray, y: np.ndarray, folds: np.ndarray) -> float:
    predicted = np.empty_like(y)
    for fold in range(FOLDS):
        train, test = folds != fold, folds == fold
        predicted[test] = _mean_predict(x[train], y[train], x[test])
    total = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - predicted) ** 2)) / total if total > 0 else 0.0


def _interpolate(x: np.ndarray, values: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Linear between the training values, and beyond them along the line through the two
    outermost (a copy of a heavy-tailed target is reproduced at its largest value too)."""
    predicted = np.interp(x, values, means)
    if values.size >= 2:
        low, high = x < values[0], x > values[-1]
        slope_low = (means[1] - means[0]) / (values[1] - values[0])
        slope_high = (means[-1] - means[-2]) / (values[-1] - values[-2])
        predicted[low] = means[0] + slope_low * (x[low] - values[0])
        predicted[high] = means[-1] + slope_high * (x[high] - values[-1])
    return predicted


def _mean_predict(x: np.ndarray, y: np.ndarray, x_new: np.ndarray) -> np.ndarray:
    overall = float(y.mean()) if y.size else 0.0
    predicted = np.full(x_new.size, overall, dtype=np.float64)
    if x.dtype == np.float64:
        missing, new_missing = np.isnan(x), np.isnan(x_new)
        if missing.any():
            predicted[new_missing] = y[missing].mean()
        xs, ys = x[~missing], y[~missing]
        if xs.size:
            values, codes = np.unique(xs, return_inverse=True)
            means = np.bincount(codes, weights=ys) / np.bincount(codes)
            predicted[~new_missing] = _interpolate(x_new[~new_missing], values, means)
        return predicted
    values, codes = np.unique(x, return_inverse=True)
    if not values.size:
        return predicted
    means = np.bincount(codes, weights=y) / np.bincount(codes)
    position = np.clip(np.searchsorted(values, x_new), 0, values.size - 1)
    found = values[position] == x_new
    predicted[found] = means[position[found]]
    return predicted
