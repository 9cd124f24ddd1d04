"""Labels you can trust: likely mislabelled rows, near-identical rows with different labels, and how
groups of rows are represented, for a table with a classification label. No Django.

Likely mislabelled rows are found by confident learning, with Cleanlab's own
`cleanlab.filter.find_label_issues`, from out-of-fold predicted probabilities. Two models are fitted
out-of-fold on every analysis and the one whose probabilities explain the given labels better (the
lower out-of-fold log loss) is kept:

- tables: scikit-learn's `HistGradientBoostingClassifier` (native missing values and categories, no
  scaling, fast on 100,000s of rows) and a logistic regression (scaled numerics, one-hot categories):
  trees win on most real tables, but on small ones (iris, wine: a few hundred rows) a linear model's
  probabilities are better calibrated and Cleanlab's thresholds are learnt from them;
- text corpora (one text column, nothing else to learn from): TF-IDF of words and word pairs with a
  logistic regression.

Above `LabelOptions.max_rows` rows a stratified sample (every class kept in its share) is analysed and
the result says so (`sampled`). Near-identical conflicts are pairs of rows with the same categorical
values whose numeric values (each scaled to [0, 1] by its range) differ by at most
`near_distance` in every feature (Chebyshev distance), but not all by zero (those are the exact
`label_conflicts` of the profile), and whose labels differ; found with scikit-learn's
`NearestNeighbors` per group of equal categoricals.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from profiler.findings import finding, share_of
from profiler.result import Finding

if TYPE_CHECKING:  # pandas is imported where it is used: the API process imports this module for `masked`.
    import pandas as pd

# Logical types a model learns from; identifiers, constants and free text inside a table do not help.
NUMERIC_TYPES = frozenset({"numeric", "boolean", "datetime"})
CATEGORICAL_TYPES = frozenset({"categorical"})
TEXT_TYPES = frozenset({"text"})
# HistGradientBoostingClassifier takes at most 255 bins; the rarest values of a categorical feature
# beyond these share one code.
MAX_CATEGORIES = 250
# Values of a group feature listed by name; the rest are counted as one "(other)" group.
MAX_GROUPS = 30
OTHER_GROUP = "(other)"
# Near-identical rows are searched for in this many numeric dimensions, candidates checked in all,
# this many pairs at a time.
SEARCH_DIMENSIONS = 3
CANDIDATE_CHUNK = 1_000_000


class LabelAnalysisError(ValueError):
    """The analysis cannot run on this table: a sentence a person can act on."""


@dataclass(frozen=True)
class LabelOptions:
    # Above this many rows a stratified sample of this size is analysed.
    max_rows: int = 100_000
    folds: int = 5
    seed: int = 0
    # Chebyshev distance of range-scaled numerics under which two rows are near-identical: 1% of
    # each numeric feature's range.
    near_distance: float = 0.01
    examples: int = 50
    # A group below this share of rows is under-represented.
    min_group_share: float = 0.05
    # A class whose share differs by more than this between two groups is a disparate distribution.
    max_class_share_gap: float = 0.2
    # Groups smaller than this are left out of the comparison of label distributions (too noisy).
    min_group_rows: int = 20
    # Label-issue shares from which the `label_issues` finding is a warning, and an error.
    warning_share: float = 0.02
    error_share: float = 0.10
    # More classes than this are refused: a model per class and fold would not end in reasonable time.
    max_classes: int = 100
    # Which models are tried; the benchmark measures each alone.
    models: tuple[str, ...] = ("hist_gradient_boosting", "logistic_regression")
    # Threads the models use. One: on a shared machine OpenMP's waiting threads made the gradient
    # boosting of iris 7x slower with two threads than with one (20 s against 3 s, measured).
    threads: int = 1
    # Above this many rows the candidate models are compared on a stratified sample of this size,
    # and only the better one is fitted on every row.
    selection_rows: int = 20_000


@dataclass
class Prepared:
    """The features as matrices: numerics (NaN for nulls) then categorical codes."""

    matrix: np.ndarray
    numeric: list[str]
    categorical: list[str]
    text: str | None
    text_values: list[str] | None


def prepare(frame: pd.DataFrame, features: Mapping[str, str]) -> Prepared:
    """The columns of `frame` named in `features` (name -> logical type) as a float matrix: numeric,
    boolean and datetime columns as numbers, categorical ones as codes of their most frequent values.
    A table whose only usable column is text is read as a text corpus."""

    numeric = [name for name, kind in features.items() if kind in NUMERIC_TYPES and name in frame]
    categorical = [name for name, kind in features.items() if kind in CATEGORICAL_TYPES and name in frame]
    texts = [name for name, kind in features.items() if kind in TEXT_TYPES and name in frame]
    columns: list[np.ndarray] = []
    for name in numeric:
        columns.append(_as_number(frame[name]))
    for name in categorical:
        columns.append(_as_codes(frame[name]))
    matrix = np.column_stack(columns) if columns else np.empty((len(frame), 0))
    text = texts[0] if texts and not columns else None
    text_values = frame[text].fillna("").astype(str).tolist() if text is not None else None
    return Prepared(matrix, numeric, categorical, text, text_values)


def _as_number(column: pd.Series) -> np.ndarray:
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        values = column.astype("datetime64[ns]")
        result = values.astype("int64").to_numpy(dtype=float) / 1e9
        result[values.isna().to_numpy()] = np.nan
        return result
    return pd.to_numeric(column, errors="coerce").astype(float).to_numpy(dtype=float, na_value=np.nan)


def _as_codes(column: pd.Series) -> np.ndarray:
    values = column.astype("object").where(column.notna(), None)
    counts = values.value_counts(dropna=True)
    kept = {value: code for code, value in enumerate(counts.index[:MAX_CATEGORIES])}
    other = float(len(kept))
    return np.array(
        [np.nan if value is None else float(kept.get(value, other)) for value in values.tolist()], dtype=float
    )


def stratified_rows(labels: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Row positions of a sample of at most about `limit` rows in which each class keeps its share
    (at least one row of each class), sorted; all rows when there are no more than `limit`."""
    if len(labels) <= limit:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    fraction = limit / len(labels)
    chosen = []
    for value in np.unique(labels):
        members = np.flatnonzero(labels == value)
        take = max(1, round(len(members) * fraction))
        chosen.append(rng.choice(members, size=min(take, len(members)), replace=False))
    return np.sort(np.concatenate(chosen))


# --- Out-of-fold probabilities -----------------------------------------------------------------------


def _model(name: str, prepared: Prepared, seed: int) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if name == "tfidf_logistic_regression":
        return make_pipeline(
            TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=100_000, sublinear_tf=True),
            # The default regularisation (C=1): on both real corpora of the benchmark it flagged the
            # planted flips at an F1 at least that of C=10 (0.82 and 0.41 against 0.82 and 0.34).
            LogisticRegression(max_iter=1000),
        )
    numeric = list(range(len(prepared.numeric)))
    categorical = list(range(len(prepared.numeric), len(prepared.numeric) + len(prepared.categorical)))
    if name == "hist_gradient_boosting":
        mask = np.zeros(prepared.matrix.shape[1], dtype=bool)
        mask[categorical] = True
        return HistGradientBoostingClassifier(
            categorical_features=mask if categorical else None,
            max_iter=100,
            early_stopping=False,
            random_state=seed,
        )
    if name == "logistic_regression":
        parts: list[tuple[str, Any, list[int]]] = []
        if numeric:
            parts.append(
                (
                    "numeric",
                    make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()),
                    numeric,
                )
            )
        if categorical:
            parts.append(
                (
                    "categorical",
                    make_pipeline(
                        SimpleImputer(strategy="constant", fill_value=-1.0),
                        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                    ),
                    categorical,
                )
            )
        return make_pipeline(ColumnTransformer(parts), LogisticRegression(max_iter=1000))
    raise ValueError(f"Unknown model {name!r}")


def out_of_fold(name: str, prepared: Prepared, labels: np.ndarray, *, folds: int, seed: int) -> np.ndarray:
    """Out-of-fold predicted probabilities of `name` (rows x classes, classes 0..K-1)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    inputs: Any = prepared.text_values if prepared.text is not None else prepared.matrix
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    probabilities = cross_val_predict(
        _model(name, prepared, seed), inputs, labels, cv=splitter, method="predict_proba", n_jobs=1
    )
    return np.asarray(probabilities, dtype=float)


def _log_loss(probabilities: np.ndarray, labels: np.ndarray) -> float:
    picked = probabilities[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0))))


def best_probabilities(
    prepared: Prepared, labels: np.ndarray, options: LabelOptions
) -> tuple[str, np.ndarray, dict[str, float]]:
    """The out-of-fold probabilities of the candidate model with the lowest out-of-fold log loss:
    its name, the probabilities, and each candidate's log loss. Above `options.selection_rows` rows
    the candidates are compared on a stratified sample of that many rows, and only the one chosen
    is fitted on all of them."""
    from threadpoolctl import threadpool_limits

    candidates = ("tfidf_logistic_regression",) if prepared.text is not None else options.models
    losses: dict[str, float] = {}
    if len(candidates) > 1 and len(labels) > options.selection_rows:
        rows = stratified_rows(labels, options.selection_rows, options.seed)
        small = Prepared(prepared.matrix[rows], prepared.numeric, prepared.categorical, None, None)
        for name in candidates:
            with threadpool_limits(limits=options.threads):
                probabilities = out_of_fold(name, small, labels[rows], folds=options.folds, seed=options.seed)
            losses[name] = round(_log_loss(probabilities, labels[rows]), 6)
        candidates = (min(losses, key=losses.__getitem__),)
    best: tuple[str, np.ndarray] | None = None
    for name in candidates:
        with threadpool_limits(limits=options.threads):
            probabilities = out_of_fold(name, prepared, labels, folds=options.folds, seed=options.seed)
        losses[name] = round(_log_loss(probabilities, labels), 6)
        if best is None or losses[name] < losses[best[0]]:
            best = (name, probabilities)
    assert best is not None
    return best[0], best[1], losses


# --- The analysis --------------------------------------------------------------------------------------


def analyse(
    frame: pd.DataFrame,
    *,
    label: str,
    features: Mapping[str, str],
    row_names: Sequence[str] | None = None,
    group_features: Sequence[str] = (),
    options: LabelOptions | None = None,
) -> dict[str, Any]:
    """Label issues, near-identical conflicts and group representation of `frame` labelled by
    `label`, learning from `features` (name -> logical type; the label and group features need not
    be among them). `row_names` name the rows in results (`file:row`); their positions by default.

    Returns `label_issues`, `near_conflicts`, `groups`, `findings` and `flagged` (every flagged row
    checked, most likely mislabelled first: `index`, `row`, `given`, `suggested`, `confidence`).
    Raises LabelAnalysisError when there is nothing to learn from."""
    options = options or LabelOptions()
    started = time.perf_counter()
    if label not in frame:
        raise LabelAnalysisError(f"The label column {label!r} is not in the source.")
    learn_from = {name: kind for name, kind in features.items() if name != label}
    given_all = frame[label]
    labelled = given_all.notna().to_numpy()
    counts = given_all[labelled].astype(str).value_counts()
    usable_classes = counts[counts >= options.folds]
    if len(usable_classes) < 2:
        raise LabelAnalysisError(
            f"Label quality needs at least two classes with {options.folds} rows or more each; "
            f"{label!r} has {len(usable_classes)}."
        )
    if len(usable_classes) > options.max_classes:
        raise LabelAnalysisError(
            f"Label quality examines labels of at most {options.max_classes} classes; {label!r} has "
            f"{len(usable_classes):,} with {options.folds} rows or more."
        )
    as_text = given_all.astype(str).to_numpy()
    kept = labelled & np.isin(as_text, usable_classes.index.to_numpy())
    positions = np.flatnonzero(kept)
    chosen = positions[stratified_rows(as_text[positions], options.max_rows, options.seed)]
    sampled = len(chosen) < len(positions)
    subset = frame.iloc[chosen].reset_index(drop=True)
    names = [row_names[index] for index in chosen] if row_names is not None else [str(index) for index in chosen]
    classes = np.array(sorted(usable_classes.index.tolist()))
    given = np.searchsorted(classes, as_text[chosen])
    prepared = prepare(subset, learn_from)
    if prepared.matrix.shape[1] == 0 and prepared.text is None:
        raise LabelAnalysisError(
            "Label quality needs a feature to learn the label from (numeric, boolean, datetime, categorical or "
            "text); this source has none besides the label."
        )

    from cleanlab.filter import find_label_issues

    method, probabilities, losses = best_probabilities(prepared, given, options)
    ranked = np.asarray(
        find_label_issues(labels=given, pred_probs=probabilities, return_indices_ranked_by="self_confidence", n_jobs=1),
        dtype=int,
    )
    suggested = probabilities.argmax(axis=1)
    flagged = [
        {
            "index": int(chosen[position]),
            "row": names[position],
            "given": str(classes[given[position]]),
            "suggested": str(classes[suggested[position]]),
            "confidence": round(float(probabilities[position, suggested[position]]), 4),
        }
        for position in ranked
    ]
    checked = len(chosen)
    by_class = {str(name): 0 for name in classes}
    for item in flagged:
        by_class[item["given"]] += 1
    share = len(flagged) / checked if checked else 0.0
    label_issues = {
        "method": f"confident learning (cleanlab.filter.find_label_issues) on {options.folds}-fold out-of-fold "
        f"probabilities of {method}",
        "model": method,
        "log_loss": losses,
        "rows_checked": checked,
        "sampled": sampled,
        "count": len(flagged),
        "share": round(share, 6),
        "by_class": by_class,
        "examples": [{key: item[key] for key in ("row", "given", "suggested", "confidence")} for item in flagged][
            : options.examples
        ],
    }
    flagged_mask = np.zeros(checked, dtype=bool)
    flagged_mask[ranked] = True
    near = near_conflicts(prepared, given, names, classes, options)
    groups = group_representation(subset, label, group_features, flagged_mask, learn_from, options)
    findings = [
        *_label_issue_findings(label, label_issues, options),
        *_near_findings(label, near, checked),
        *group_findings(groups, options),
    ]
    return {
        "label_issues": label_issues,
        "near_conflicts": near,
        "groups": groups,
        "findings": findings,
        "flagged": flagged,
        "seconds": round(time.perf_counter() - started, 3),
    }


def near_conflicts(
    prepared: Prepared, labels: np.ndarray, names: Sequence[str], classes: np.ndarray, options: LabelOptions
) -> dict[str, Any]:
    """Rows within `options.near_distance` of a row with another label (see the module's note), as
    groups of rows linked by such pairs: how many groups and rows, and examples of groups."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from sklearn.neighbors import NearestNeighbors

    result: dict[str, Any] = {
        "groups": 0,
        "rows": 0,
        "distance": {"metric": "chebyshev", "scale": "range", "max": options.near_distance},
        "examples": [],
    }
    numeric_count = len(prepared.numeric)
    if numeric_count == 0 or len(labels) < 2:
        return result
    numbers = prepared.matrix[:, :numeric_count]
    low, high = np.nanmin(numbers, axis=0), np.nanmax(numbers, axis=0)
    spread = np.where(np.isfinite(high - low) & (high > low), high - low, 1.0)
    scaled = (numbers - np.nan_to_num(low)) / spread
    missing = np.isnan(scaled)
    scaled = np.where(missing, 0.0, scaled)
    # Rows are compared only with rows of the same categorical values and the same missing numerics.
    keys = np.column_stack([np.nan_to_num(prepared.matrix[:, numeric_count:], nan=-1.0), missing])
    _, key_ids = np.unique(keys, axis=0, return_inverse=True)
    key_ids = key_ids.reshape(-1)
    sources: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    order = np.argsort(key_ids, kind="stable")
    bounds = np.flatnonzero(np.diff(key_ids[order])) + 1
    for members in np.split(order, bounds):
        if len(members) < 2 or len(np.unique(labels[members])) < 2:
            continue
        points = scaled[members]
        # The search runs on the few numerics that spread most, where a KD-tree stays fast (on all
        # 20 numerics of 100,000 rows it took minutes): a pair within the distance in every numeric
        # is within it in these, and each candidate pair is then checked on all of them.
        search_on = _search_columns(points, options.near_distance)
        search = NearestNeighbors(radius=options.near_distance, metric="chebyshev", algorithm="kd_tree")
        graph = search.fit(points[:, search_on]).radius_neighbors_graph(points[:, search_on]).tocoo()
        pairs = graph.row < graph.col
        for start in range(0, int(pairs.sum()), CANDIDATE_CHUNK):
            row = graph.row[pairs][start : start + CANDIDATE_CHUNK]
            col = graph.col[pairs][start : start + CANDIDATE_CHUNK]
            distance = np.abs(points[row] - points[col]).max(axis=1)
            # Distance zero is an exact conflict, which the profile reports.
            different = (
                (distance <= options.near_distance) & (distance > 0) & (labels[members][row] != labels[members][col])
            )
            sources.append(members[row[different]])
            targets.append(members[col[different]])
    if not sources or not sum(len(part) for part in sources):
        return result
    row, col = np.concatenate(sources), np.concatenate(targets)
    linked = coo_matrix((np.ones(len(row)), (row, col)), shape=(len(labels), len(labels)))
    _, component = connected_components(linked, directed=False)
    involved = np.unique(np.concatenate([row, col]))
    groups: dict[int, list[int]] = {}
    for index in involved:
        groups.setdefault(int(component[index]), []).append(int(index))
    result["groups"] = len(groups)
    result["rows"] = len(involved)
    for members_list in list(groups.values())[: options.examples]:
        shown = members_list[:10]
        points = scaled[shown]
        result["examples"].append(
            {
                "rows": [names[index] for index in shown],
                "labels": [str(classes[labels[index]]) for index in shown],
                "distance": round(float(np.max(np.max(points, axis=0) - np.min(points, axis=0))), 6),
            }
        )
    return result


def _search_columns(points: np.ndarray, distance: float) -> list[int]:
    """The SEARCH_DIMENSIONS columns of `points` with the most distinct cells of width `distance`."""
    spread = [len(np.unique(np.floor(points[:, column] / distance))) for column in range(points.shape[1])]
    return sorted(np.argsort(spread)[::-1][:SEARCH_DIMENSIONS].tolist())


def group_representation(
    frame: pd.DataFrame,
    label: str,
    group_features: Sequence[str],
    flagged: np.ndarray | None,
    features: Mapping[str, str],
    options: LabelOptions,
) -> dict[str, list[dict[str, Any]]]:
    """Per group feature, per value (the MAX_GROUPS most frequent, then "(other)"; nulls as None):
    its rows and share, its label distribution, its share of flagged rows (None when `flagged` is:
    no row was examined for label issues) and of missing values in the other features."""
    result: dict[str, list[dict[str, Any]]] = {}
    labels = frame[label].astype(str).to_numpy()
    classes = sorted(set(labels.tolist()))
    others = [name for name in features if name in frame and name not in group_features]
    nulls = frame[others].isna().to_numpy().mean(axis=1) if others else np.zeros(len(frame))
    total = len(frame)
    for name in group_features:
        if name not in frame:
            continue
        column = frame[name].astype("object").where(frame[name].notna(), None)
        frequent = column.value_counts(dropna=True).index[:MAX_GROUPS].tolist()
        values = np.array(
            [value if value is None or value in frequent else OTHER_GROUP for value in column.tolist()], dtype=object
        )
        entries = []
        for value in [*frequent, OTHER_GROUP, None]:
            members = np.array([item is value or item == value for item in values], dtype=bool)
            rows = int(members.sum())
            if not rows:
                continue
            in_group = labels[members]
            entries.append(
                {
                    "value": _plain(value),
                    "rows": rows,
                    "share": round(rows / total, 6),
                    "class_shares": {str(cls): round(float(np.mean(in_group == cls)), 6) for cls in classes},
                    "label_issue_share": None if flagged is None else round(float(flagged[members].mean()), 6),
                    "null_fraction": round(float(nulls[members].mean()), 6),
                }
            )
        result[name] = entries
    return result


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float | np.floating):
        number = float(value)
        return int(number) if number.is_integer() else number
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    return str(value)


# --- Findings --------------------------------------------------------------------------------------


def _label_issue_findings(label: str, issues: Mapping[str, Any], options: LabelOptions) -> list[Finding]:
    share = float(issues["share"])
    severity = "error" if share >= options.error_share else "warning" if share >= options.warning_share else "info"
    sampled = " of a stratified sample" if issues["sampled"] else ""
    return [
        finding(
            severity,
            "label_issues",
            label,
            f"{issues['count']:,} of {issues['rows_checked']:,} rows{sampled} "
            f"({share_of(issues['count'], issues['rows_checked'])}) are likely mislabelled in {label!r}.",
        )
    ]


def _near_findings(label: str, near: Mapping[str, Any], checked: int) -> list[Finding]:
    if not near["groups"]:
        return []
    return [
        finding(
            "warning",
            "near_conflicts",
            label,
            f"{near['rows']:,} rows ({share_of(near['rows'], checked)}) in {near['groups']:,} groups are nearly "
            f"identical (within {near['distance']['max']:g} of each numeric feature's range, categories equal) "
            f"to a row with another {label!r}.",
        )
    ]


def group_findings(groups: Mapping[str, Sequence[Mapping[str, Any]]], options: LabelOptions) -> list[Finding]:
    """A finding for each group below `min_group_share` of rows, and one per group feature whose
    label distribution differs across its groups (of `min_group_rows` rows or more) by more than
    `max_class_share_gap` in some class's share."""
    findings: list[Finding] = []
    for name, entries in groups.items():
        for entry in entries:
            if entry["value"] is None or entry["value"] == OTHER_GROUP:
                continue
            if entry["share"] < options.min_group_share:
                findings.append(
                    finding(
                        "warning",
                        "group_underrepresented",
                        name,
                        f"{name} = {entry['value']!r} has {entry['rows']:,} rows ({entry['share']:.1%}), "
                        f"below {options.min_group_share:.0%} of the rows.",
                    )
                )
        compared = [entry for entry in entries if entry["rows"] >= options.min_group_rows]
        if len(compared) < 2:
            continue
        worst: tuple[float, str, float] | None = None
        for cls in compared[0]["class_shares"]:
            shares = [float(entry["class_shares"][cls]) for entry in compared]
            gap = max(shares) - min(shares)
            ratio = min(shares) / max(shares) if max(shares) > 0 else 1.0
            if worst is None or gap > worst[0]:
                worst = (gap, cls, ratio)
        if worst is not None and worst[0] > options.max_class_share_gap:
            gap, cls, ratio = worst
            findings.append(
                finding(
                    "warning",
                    "group_label_disparity",
                    name,
                    f"The share of label {cls!r} differs across the groups of {name} by {gap:.0%} "
                    f"(smallest to largest share: {_ratio(ratio)}), more than {options.max_class_share_gap:.0%}.",
                )
            )
    return findings


def _ratio(value: float) -> str:
    return "0" if value == 0 or not math.isfinite(value) else f"{value:.2f}"


# --- Reading a table source ----------------------------------------------------------------------


def read_table(
    partitions: Sequence[Any], columns: Sequence[str], *, keep_share: float = 1.0, seed: int = 0
) -> tuple[pd.DataFrame, list[str]]:
    """The `columns` of the rows of `partitions` (the table partitions of a profiler plan) as one
    frame, with each row's name (`file:row`, 1-based data rows, as the profile names rows). With a
    `keep_share` below 1 each row is kept with that probability (seeded), so that a source far larger
    than the analysis reads is held in memory only as its sample."""
    import pandas as pd

    from profiler.readers import first_row, read_partition
    from profiler.readers.partition import Partition, opened

    rng = np.random.default_rng(seed)
    frames: list[pd.DataFrame] = []
    names: list[str] = []
    for partition in partitions:
        if not isinstance(partition, Partition):
            raise LabelAnalysisError("Label quality reads tables (csv, tsv, parquet, jsonl); this source is media.")
        with opened(partition) as readable:
            start = first_row(readable)
            for batch in read_partition(readable, batch_rows=200_000):
                present = [name for name in columns if name in batch.schema.names]
                rows = np.arange(start, start + batch.num_rows)
                start += batch.num_rows
                frame = batch.select(present).to_pandas()
                if keep_share < 1.0:
                    kept = rng.random(len(frame)) < keep_share
                    frame, rows = frame[kept], rows[kept]
                frames.append(frame.reset_index(drop=True))
                names.extend(f"{partition.relative_path}:{row + 1}" for row in rows.tolist())
    if not frames:
        raise LabelAnalysisError("The source has no rows.")
    return pd.concat(frames, ignore_index=True), names


# --- Text corpora ------------------------------------------------------------------------------------

# The label and text columns of the frame `read_documents` returns.
TEXT_LABEL = "label"
TEXT_COLUMN = "text"
# The characters of each document the model reads: a TF-IDF of the first 10,000 characters (a couple
# of thousand words) holds the words that tell the topic, and memory stays bounded on long documents.
TEXT_CHARACTERS = 10_000
# Above this many documents a stratified sample of them is analysed (LabelOptions.max_rows is for
# rows of a table): at most about 500 MB of text held, and a TF-IDF of word pairs fitted in minutes.
TEXT_MAX_DOCUMENTS = 50_000
# A group value taken from a document's record is cut to this many characters (an object: its JSON).
GROUP_VALUE_CHARACTERS = 200
NEAR_NOT_APPLICABLE_TEXT = (
    "Near-identical conflicts compare numeric features within a distance; documents have none. Documents "
    "that are the same or nearly the same (MinHash) under two labels are the profile's label_conflicts."
)
IMAGES_NOT_APPLICABLE = (
    "Label quality of images needs a model that sees them (embeddings of a pretrained vision model, "
    "then a linear model out-of-fold); none is run here, so the labels of an image folder are not "
    "examined. Identical and near-identical images under two labels are the profile's label_conflicts."
)
IMAGES_NO_GROUPS = (
    " Name group_features (split, or columns of its manifest) to have the representation of its groups examined."
)
NEAR_NOT_APPLICABLE_IMAGES = (
    "Near-identical conflicts compare numeric features within a distance; images have none here. Identical and "
    "near-identical images (a perceptual hash) under two labels are the profile's label_conflicts."
)
# The label column of the frame `read_images` returns.
IMAGE_LABEL = "label"


def read_documents(
    partitions: Sequence[Any], group_features: Sequence[str] = (), *, keep_share: float = 1.0, seed: int = 0
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The documents of `partitions` (the partitions of a text corpus's profiler plan) as a frame of
    `label`, `text` (its first TEXT_CHARACTERS; None when empty) and one column per group feature
    found: `split`, `language` (detected as the profile does) or a field of a JSON Lines record.
    Returns the frame, each row's name (the document's path, `file:line` in a JSON Lines corpus, as
    the profile names them) and the group features found in no document. Unreadable documents are
    left out (the profile lists them). With a `keep_share` below 1 each document is kept with that
    probability (seeded)."""
    import pandas as pd

    from profiler.languages import language_of
    from profiler.media.documents import documents_of
    from profiler.media.partition import MediaPartition

    rng = np.random.default_rng(seed)
    rows: dict[str, list[Any]] = {TEXT_LABEL: [], TEXT_COLUMN: [], **{name: [] for name in group_features}}
    names: list[str] = []
    found: set[str] = set()
    for partition in partitions:
        if not isinstance(partition, MediaPartition) or partition.format != "text":
            raise LabelAnalysisError("Label quality of documents reads a text corpus; this source is not one.")
        for document in documents_of(partition):
            if document.error is not None or (keep_share < 1.0 and rng.random() >= keep_share):
                continue
            text = (document.text or "")[:TEXT_CHARACTERS]
            rows[TEXT_LABEL].append(document.label)
            rows[TEXT_COLUMN].append(text or None)
            for name in group_features:
                value = _document_group(name, document, text, language_of)
                if value is not None:
                    found.add(name)
                rows[name].append(value)
            names.append(document.path)
    if not names:
        raise LabelAnalysisError("The corpus has no readable documents.")
    frame = pd.DataFrame(
        {name: values for name, values in rows.items() if name in found or name in (TEXT_LABEL, TEXT_COLUMN)}
    )
    return frame, names, [name for name in group_features if name not in found]


def record_group_value(value: Any) -> Any:
    """A field of a record (a JSON Lines document's, a manifest row's) as a group's value: nested
    values as their canonical JSON, text cut to GROUP_VALUE_CHARACTERS, NaN missing, and an infinite
    number as its text (JSON Lines allows Infinity; jsonb does not)."""
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, sort_keys=True)[:GROUP_VALUE_CHARACTERS]
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    return value[:GROUP_VALUE_CHARACTERS] if isinstance(value, str) else value


def _document_group(name: str, document: Any, text: str, language_of: Any) -> Any:
    if document.fields is not None and name in document.fields:
        return record_group_value(document.fields[name])
    if name == "split":
        return document.split
    if name == "language":
        return language_of(text)
    return None


def analyse_text(
    frame: pd.DataFrame,
    *,
    row_names: Sequence[str] | None = None,
    group_features: Sequence[str] = (),
    options: LabelOptions | None = None,
) -> dict[str, Any]:
    """Label issues and group representation of a corpus of documents (the frame of `read_documents`):
    out-of-fold probabilities of a TF-IDF of words and word pairs with a logistic regression, then
    Cleanlab's `find_label_issues`, as `analyse` does for a table. Near-identical conflicts are not
    applicable to documents and the result says so."""
    if not frame[TEXT_COLUMN].notna().any():
        raise LabelAnalysisError("Every document of the corpus is empty; there is no text to learn the label from.")
    try:
        result = analyse(
            frame,
            label=TEXT_LABEL,
            features={TEXT_COLUMN: "text"},
            row_names=row_names,
            group_features=group_features,
            options=options,
        )
    except ValueError as exc:
        if isinstance(exc, LabelAnalysisError) or not ("empty vocabulary" in str(exc) or "no terms remain" in str(exc)):
            raise
        raise LabelAnalysisError(
            "The documents share too few words to learn the label from (no word is in two documents or more)."
        ) from exc
    result["near_conflicts"] = {**result["near_conflicts"], "not_applicable": NEAR_NOT_APPLICABLE_TEXT}
    _mask_personal_groups(result)
    return result


def _mask_personal_groups(result: dict[str, Any]) -> None:
    """Mask, for every reader, the values of a group feature that is a field of the documents'
    records (the profile has no feature of it to flag as personal data, so readers who may not see
    personal data could not be told apart) when some of its values look like personal data; the
    findings about its groups then name no value."""
    from profiler import pii

    masked: set[str] = set()
    for name, entries in result["groups"].items():
        if name in ("split", "language"):
            continue
        scan = pii.scan_values([str(entry["value"]) for entry in entries if entry["value"] is not None])
        kinds = [kind for kind, count in scan.matches.items() if count]
        if not kinds:
            continue
        masked.add(name)
        for entry in entries:
            if entry["value"] not in (None, OTHER_GROUP):
                entry["value"] = pii.masked_value(entry["value"], kinds)
            entry["personal_data"] = kinds
    for item in result["findings"]:
        if item["feature"] in masked and item["code"] in pii.GROUP_MESSAGES_MASKED:
            item["message"] = pii.GROUP_MESSAGES_MASKED[item["code"]].format(feature=item["feature"])


# --- Image folders -----------------------------------------------------------------------------------


def read_images(
    partitions: Sequence[Any],
    files: Sequence[Any],
    group_features: Sequence[str] = (),
    *,
    label_column: str | None = None,
) -> tuple[pd.DataFrame, list[str], list[str], list[str]]:
    """The labelled images of `partitions` (the partitions of an image folder's profiler plan, over
    `files`) as a frame of `label` and one column per group feature found (`split`, or a column of the
    manifest), plus the manifest's other columns (but `label_column`), in which missing values are
    counted. The images themselves are not decoded: a group is what the layout and the manifest say.
    Returns the frame, each row's name (the image's path, as the profile names it), the group
    features found for no image and the other manifest columns."""
    import pandas as pd

    from profiler.media.items import manifest_attributes
    from profiler.media.partition import MediaPartition

    manifest_path = next((partition.manifest for partition in partitions if getattr(partition, "manifest", None)), None)
    manifest = next((file for file in files if file.relative_path == manifest_path), None)
    attributes = manifest_attributes(manifest) if manifest is not None else {}
    columns = sorted({name for row in attributes.values() for name in row})
    others = [name for name in columns if name not in group_features and name != label_column and name != IMAGE_LABEL]
    rows: dict[str, list[Any]] = {IMAGE_LABEL: [], **{name: [] for name in [*group_features, *others]}}
    names: list[str] = []
    found: set[str] = set()
    for partition in partitions:
        if not isinstance(partition, MediaPartition) or partition.format != "images":
            raise LabelAnalysisError("Label quality of images reads an image folder; this source is not one.")
        for item in partition.items:
            if item.label is None:
                continue
            row = attributes.get(item.relative_path, {})
            rows[IMAGE_LABEL].append(item.label)
            for name in group_features:
                value = _image_group(name, item, row)
                if value is not None:
                    found.add(name)
                rows[name].append(value)
            for name in others:
                rows[name].append(row.get(name))
            names.append(item.relative_path)
    if not names:
        raise LabelAnalysisError("No image of the folder has a label.")
    kept = [IMAGE_LABEL, *[name for name in group_features if name in found], *others]
    frame = pd.DataFrame({name: rows[name] for name in kept})
    return frame, names, [name for name in group_features if name not in found], others


def _image_group(name: str, item: Any, row: Mapping[str, Any]) -> Any:
    if name in row:
        return record_group_value(row[name])
    if name == "split":
        return item.split
    return None


def analyse_images(
    frame: pd.DataFrame,
    *,
    group_features: Sequence[str] = (),
    others: Sequence[str] = (),
    options: LabelOptions | None = None,
) -> dict[str, Any]:
    """The representation of the groups of an image folder (the frame of `read_images`): per group its
    share of images, its label distribution and its share of missing values in the manifest's `others`
    columns, with the findings of `group_findings`. Labels are not examined (`IMAGES_NOT_APPLICABLE`):
    `label_issues` says so, with no count or share, and no group has a label-issue share."""
    options = options or LabelOptions()
    started = time.perf_counter()
    groups = group_representation(
        frame, IMAGE_LABEL, group_features, None, {name: "categorical" for name in others}, options
    )
    label_issues: dict[str, Any] = {
        "method": None,
        "not_applicable": IMAGES_NOT_APPLICABLE,
        "rows_checked": 0,
        "sampled": False,
        "count": None,
        "share": None,
        "by_class": {},
        "examples": [],
    }
    near: dict[str, Any] = {
        "groups": 0,
        "rows": 0,
        "distance": None,
        "examples": [],
        "not_applicable": NEAR_NOT_APPLICABLE_IMAGES,
    }
    result = {
        "label_issues": label_issues,
        "near_conflicts": near,
        "groups": groups,
        "findings": group_findings(groups, options),
        "flagged": [],
        "seconds": round(time.perf_counter() - started, 3),
    }
    _mask_personal_groups(result)
    return result
