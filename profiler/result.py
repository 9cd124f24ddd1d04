"""The shape of a profile, as the engine returns it and the catalog stores it.

These are TypedDicts, not classes: a profile is JSON (stored in jsonb, printed by `python -m profiler`),
and the types only name its keys so that a reader who misspells one is told by mypy. Keys present
only for some sources (splits, media, thumbnails, the dialect of delimited text) or some columns (a
numeric column's mean, a string column's lengths) are `NotRequired`.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class Finding(TypedDict):
    severity: str
    code: str
    feature: str | None
    message: str


# --- A feature's statistics ---------------------------------------------------------------------------


class TopValue(TypedDict):
    value: Any
    count: int


class EqualWidthHistogram(TypedDict):
    kind: Literal["equal_width"]
    edges: list[Any]
    counts: list[int]
    approximate: bool


class CategoricalHistogram(TypedDict):
    kind: Literal["categorical"]
    values: list[TopValue]
    other_count: int


class Outliers(TypedDict):
    count: int
    lower_fence: Any
    upper_fence: Any


class StringLength(TypedDict):
    min: int | None
    max: int | None
    mean: float | None


class Languages(TypedDict):
    """The languages of a text column, from the values of a sample of its rows (`examined` of them)."""

    examined: int
    counts: dict[str, int]  # values per ISO 639-1 code
    too_short: int  # fewer letters than a language can be told from
    undetermined: int  # the identifier was not sure enough


class PatternStatistics(TypedDict):
    """Every value of a column checked against the expression the caller gave (Options.patterns)."""

    regex: str
    checked: int  # values matched against it
    mismatched: int  # of those, the values that do not match it whole
    unchecked: int  # values longer than patterns.MAX_VALUE_LENGTH characters, not matched
    examples: list[str]  # the smallest of the values not matching (patterns.EXAMPLES_KEPT), cut short
    error: NotRequired[str]  # why the expression was not checked at all


class Statistics(TypedDict):
    count: int
    null_count: int
    null_fraction: float
    distinct_count: int
    distinct_is_approximate: bool
    distinct_relative_error: float
    min: Any
    max: Any
    mean: float | None
    std: float | None
    # p1, p5, p25, p50, p75, p95, p99: numbers, or ISO text for dates and times.
    quantiles: dict[str, Any] | None
    histogram: EqualWidthHistogram | CategoricalHistogram | None
    top_values: list[TopValue]
    top_values_are_approximate: bool
    pii_shares: dict[str, float]
    pii_kinds: list[str]
    top_values_error_bound: NotRequired[int]
    # Numeric columns.
    zeros: NotRequired[int]
    negatives: NotRequired[int]
    infinite_count: NotRequired[int]
    # Numeric and temporal columns with values.
    quantiles_are_approximate: NotRequired[bool]
    quantile_rank_error: NotRequired[float]
    outliers: NotRequired[Outliers]
    # String columns.
    empty_strings: NotRequired[int]
    string_length: NotRequired[StringLength]
    # Text columns of tables (not documents, which each have their language).
    languages: NotRequired[Languages]
    # Boolean columns.
    true_count: NotRequired[int]
    # Integer columns whose values are all dates written as yyyymmdd or yyyymm.
    date_code: NotRequired[str | None]
    # Columns the caller gave a regular expression for.
    pattern: NotRequired[PatternStatistics]


class FeatureProfile(TypedDict):
    name: str
    position: int
    dtype: str
    logical_type: str
    role: str
    pii: bool
    pii_kinds: list[str]
    statistics: Statistics


class StoredDistribution(TypedDict):
    """What drift is computed from later: a quantile grid and the most frequent values' counts."""

    count: int
    nulls: int
    quantiles: NotRequired[list[Any]]
    quantiles_approximate: NotRequired[bool]
    counts: NotRequired[list[list[Any]]]
    other_count: NotRequired[int]
    counts_approximate: NotRequired[bool]


# --- Quality --------------------------------------------------------------------------------------


class Target(TypedDict):
    count: Any
    null_count: Any
    min: Any
    max: Any
    mean: Any
    std: Any
    quantiles: Any
    histogram: Any


class LabelConflicts(TypedDict):
    groups: int
    rows: int
    examples: list[list[str]]
    # How far apart a regression target's values may be and still agree (tables only).
    tolerance: NotRequired[float | None]


class Leakage(TypedDict):
    """What one feature alone predicts of the label out of sample (see `leakage`)."""

    feature: str
    measure: str
    value: float
    baseline: float
    skill: float
    rows: int
    severity: str | None


class LeakageExample(TypedDict):
    splits: list[str]
    rows: list[str]


class SplitLeakage(TypedDict):
    rows: int
    between: dict[str, int]
    examples: list[LeakageExample]


class DuplicateGroups(TypedDict):
    groups: int
    items: int
    examples: list[list[str]]


class Duplicates(TypedDict):
    exact: DuplicateGroups
    near: DuplicateGroups
    method: str


class Examples(TypedDict):
    count: int
    examples: list[Any]


class Quality(TypedDict):
    row_count: int
    duplicate_rows: int
    label_column: str | None
    label_inferred: bool
    task_type: str | None
    task_type_declared: bool
    target: Target | None
    class_counts: dict[str, int]
    imbalance_ratio: float | None
    label_conflicts: LabelConflicts
    findings: list[Finding]
    leakage: NotRequired[list[Leakage]]
    # Sources with splits.
    split_leakage: NotRequired[SplitLeakage]
    # Folders of media.
    duplicates: NotRequired[Duplicates]
    unreadable: NotRequired[Examples]
    ignored_files: NotRequired[Examples]
    # Corpora of documents.
    empty_documents: NotRequired[int]
    pii_documents: NotRequired[dict[str, int]]


# --- Across features ------------------------------------------------------------------------------


class Pearson(TypedDict):
    a: str
    b: str
    r: float
    n: int


class Spearman(TypedDict):
    a: str
    b: str
    rho: float
    n: int


class Correlations(TypedDict):
    pearson: list[Pearson]
    spearman: list[Spearman]
    spearman_is_approximate: bool
    spearman_sample_rows: int


class Association(TypedDict):
    feature: str
    measure: str  # "correlation_ratio" or "cramers_v"
    value: float
    n: int
    values: NotRequired[int]  # Cramér's V: the feature's distinct values


class SampleRow(TypedDict):
    row: str  # file:line
    values: dict[str, Any]


class Sample(TypedDict):
    columns: list[str]
    rows: list[SampleRow]
    masked_rows: list[SampleRow]
    pii_columns: list[str]


# --- Splits and media -----------------------------------------------------------------------------


class SplitConflicts(TypedDict):
    groups: int
    rows: int


class SplitQuality(TypedDict, total=False):
    duplicate_rows: int
    class_counts: dict[str, int]
    imbalance_ratio: float | None
    label_conflicts: SplitConflicts


class SplitFeature(TypedDict):
    name: str
    logical_type: str
    statistics: dict[str, Any]


class SplitSummary(TypedDict):
    row_count: int
    quality: SplitQuality
    # Tables only (a folder of media knows its splits by item, not by file).
    files: NotRequired[list[str]]
    features: NotRequired[list[SplitFeature]]


class Media(TypedDict):
    kind: str
    items: int
    files: int


class Thumbnail(TypedDict):
    label: str | None
    path: str
    content: bytes
    width: int
    height: int


class Profile(TypedDict):
    row_count: int
    column_count: int
    file_count: int
    features: list[FeatureProfile]
    quality: Quality
    correlations: Correlations
    label_association: list[Association]
    sample: Sample
    distributions: dict[str, StoredDistribution]
    # The statistics of each declared (or laid out) split.
    splits: NotRequired[dict[str, SplitSummary]]
    # How the first file of delimited text was read (`readers.read_layout`).
    dialect: NotRequired[dict[str, Any]]
    # Folders of media.
    media: NotRequired[Media]
    thumbnails: NotRequired[list[Thumbnail]]


# --- Drift ----------------------------------------------------------------------------------------


class Metric(TypedDict):
    value: float
    threshold: float
    drifted: bool


class DescribedFeature(TypedDict):
    name: str
    dtype: str
    logical_type: str


class ChangedFeature(TypedDict):
    name: str
    before: DescribedFeature
    after: DescribedFeature


Renamed = TypedDict("Renamed", {"from": str, "to": str, "distance": float})


class SchemaChange(TypedDict):
    added: list[DescribedFeature]
    removed: list[DescribedFeature]
    changed: list[ChangedFeature]
    renamed: list[Renamed]


class FeatureDrift(TypedDict):
    name: str
    kind: str
    metrics: dict[str, Metric]
    drifted: bool
    judged: bool
    previous_name: NotRequired[str]


class LabelDrift(TypedDict):
    column: str | None
    against_column: str | None
    metrics: dict[str, Metric]
    added_classes: list[str]
    removed_classes: list[str]
    shares: dict[str, float]
    against_shares: dict[str, float]
    drifted: bool


class RowCountChange(TypedDict):
    before: int
    after: int
    change: int
    relative: float | None


class DriftResult(TypedDict):
    schema: SchemaChange
    features: list[FeatureDrift]
    drifted_features: list[str]
    label: LabelDrift | None
    row_count_change: RowCountChange
    thresholds: dict[str, float]
    min_values: int
