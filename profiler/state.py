"""The mergeable state of a profile: what one slice of the data contributes, and how slices combine.

Every field merges: counts add, minima and maxima compare, means and variances combine with Chan's
formulas, value tables add while they stay small, sketches (KLL, frequent items, HyperLogLog
registers) merge as their libraries define, and row hashes for duplicate and conflict detection
are kept in buckets that spill to disk. So a profile of parts merged equals the profile of the
whole: exact statistics exactly, approximate ones within their sketches' error.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import os
import re
import shutil
import struct
import tempfile
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from datasketches import frequent_items_error_type, frequent_strings_sketch

from profiler import hll
from profiler.rowsample import RowSample

# k = 4000: a rank error bound of 0.072% at 99% confidence (k = 1000 is 0.28%, which can exceed the
# 0.1% target); about 90 KB a column and 25% more update time than k = 1000, measured here.
KLL_K = 4000
EXACT_VALUES_LIMIT = 10_000  # distinct values kept exactly per column; above it, sketches
FREQUENT_LG_MAP = 12  # frequent-items sketch with 3,072 counters
SAMPLE_ROWS = 2_000  # rows kept for inspection and rank correlations (a uniform sample)
PII_SAMPLE = 10_000  # string values looked at for personal data, per column
HASH_BUCKETS = 16
SPILL_BYTES = 128 * 1024 * 1024


@dataclass
class Moments:
    """Count, mean and sum of squared deviations, merged with Chan's parallel formulas."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    @classmethod
    def of(cls, n: int, mean: float | None, variance_pop: float | None) -> Moments:
        if not n or mean is None:
            return cls()
        return cls(n, float(mean), float(variance_pop or 0.0) * n)

    def merge(self, other: Moments) -> Moments:
        if not other.n:
            return Moments(self.n, self.mean, self.m2)
        if not self.n:
            return Moments(other.n, other.mean, other.m2)
        n = self.n + other.n
        delta = other.mean - self.mean
        return Moments(n, self.mean + delta * other.n / n, self.m2 + other.m2 + delta * delta * self.n * other.n / n)

    def variance(self, sample: bool = True) -> float | None:
        if self.n < (2 if sample else 1):
            return None
        return self.m2 / (self.n - 1 if sample else self.n)

    def as_list(self) -> list[float]:
        return [self.n, self.mean, self.m2]


@dataclass
class CoMoments:
    """Pairwise-complete moments of two columns, for Pearson's r; merged like Moments."""

    n: int = 0
    mean_x: float = 0.0
    mean_y: float = 0.0
    m2_x: float = 0.0
    m2_y: float = 0.0
    c_xy: float = 0.0

    def merge(self, other: CoMoments) -> CoMoments:
        if not other.n:
            return CoMoments(**vars(self))
        if not self.n:
            return CoMoments(**vars(other))
        n = self.n + other.n
        dx = other.mean_x - self.mean_x
        dy = other.mean_y - self.mean_y
        weight = self.n * other.n / n
        return CoMoments(
            n,
            self.mean_x + dx * other.n / n,
            self.mean_y + dy * other.n / n,
            self.m2_x + other.m2_x + dx * dx * weight,
            self.m2_y + other.m2_y + dy * dy * weight,
            self.c_xy + other.c_xy + dx * dy * weight,
        )

    def pearson(self) -> float | None:
        if self.n < 2 or self.m2_x <= 0 or self.m2_y <= 0:
            return None
        return max(-1.0, min(1.0, self.c_xy / math.sqrt(self.m2_x * self.m2_y)))


def smaller(a: Any, b: Any) -> Any:
    """The smaller of two values, either of which may be missing (None)."""
    return b if a is None else a if b is None else min(a, b)


def larger(a: Any, b: Any) -> Any:
    """The larger of two values, either of which may be missing (None)."""
    return b if a is None else a if b is None else max(a, b)


def _number_of(value: Any) -> float:
    """A numeric column's counted value (infinities are counted as JSON spells them) as a float."""
    if value == "Infinity":
        return math.inf
    if value == "-Infinity":
        return -math.inf
    return float(value)


def _interpolated(items: np.ndarray, cumulative: np.ndarray, rank: float) -> float:
    """The `rank` quantile of the values `items` (sorted, distinct) held `cumulative` times in all,
    by linear interpolation between the two nearest ranks: pandas' default (`Series.quantile`) and
    numpy's `linear` method."""
    n = int(cumulative[-1])
    position = min(max(rank, 0.0), 1.0) * (n - 1)
    below = math.floor(position)
    fraction = position - below
    low = float(items[int(np.searchsorted(cumulative, below, side="right"))])
    if fraction == 0.0:
        return low
    high = float(items[int(np.searchsorted(cumulative, below + 1, side="right"))])
    if low == high:
        return low
    if math.isinf(low) or math.isinf(high):
        # Between a number and an infinity lies that infinity (numpy's arithmetic can give NaN).
        return low if math.isinf(low) and not math.isinf(high) else high if not math.isinf(low) else math.nan
    # numpy's form, exact at both ends.
    return low + (high - low) * fraction if fraction < 0.5 else high - (high - low) * (1.0 - fraction)


class ExactDistribution:
    """Exact value counts read the way the quantile sketch is read (its methods), for a numeric
    column that has few enough distinct values to count them all. Quantiles interpolate linearly,
    as pandas' default does."""

    def __init__(self, values: dict[Any, int]) -> None:
        numbers = np.array([_number_of(value) for value in values], dtype=np.float64)
        counts = np.fromiter(values.values(), dtype=np.int64, count=len(values))
        order = np.argsort(numbers, kind="stable")
        self.items = numbers[order]
        self.cumulative = np.cumsum(counts[order])
        self.n = int(self.cumulative[-1]) if len(self.cumulative) else 0

    def is_empty(self) -> bool:
        return self.n == 0

    def is_estimation_mode(self) -> bool:
        return False

    def normalized_rank_error(self, pmf: bool) -> float:
        return 0.0

    def get_min_value(self) -> float:
        return float(self.items[0])

    def get_max_value(self) -> float:
        return float(self.items[-1])

    def get_finite_range(self) -> tuple[float, float] | None:
        """The smallest and largest finite values (None when there are none)."""
        finite = self.items[np.isfinite(self.items)]
        return (float(finite[0]), float(finite[-1])) if finite.size else None

    def get_quantile(self, rank: float) -> float:
        return _interpolated(self.items, self.cumulative, rank)

    def get_quantiles(self, ranks: list[float]) -> list[float]:
        return [self.get_quantile(rank) for rank in ranks]

    def get_cdf(self, points: list[float], inclusive: bool = False) -> list[float]:
        """The share of values below each point (at or below it when `inclusive`), then 1.0."""
        positions = np.searchsorted(self.items, points, side="right" if inclusive else "left")
        below = np.where(positions > 0, self.cumulative[np.maximum(positions - 1, 0)], 0)
        return [*(below / self.n).tolist(), 1.0]


def _merged(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Two ascending arrays as one. NumPy's stable sort of float64 is a Timsort, which finds the two
    runs and merges them in linear time, where sorting the whole again would cost n log n."""
    if not first.size:
        return second.copy()
    if not second.size:
        return first
    return np.sort(np.concatenate([first, second]), kind="stable")


def _coin(level: int, compactions: int) -> int:
    """0 or 1, from splitmix64 of the level and how often it was compacted: KLL's coin, made a
    function of the input so that the same values in the same order give the same sketch."""
    mask = (1 << 64) - 1
    z = ((level << 40) ^ compactions) + 0x9E3779B97F4A7C15 & mask
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 & mask
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB & mask
    return (z ^ (z >> 31)) & 1


class QuantileSketch:
    """A KLL quantile sketch (Karnin, Lang and Liberty) of float64 values, deterministic.

    Level h holds values that stand for 2**h each; a level past its capacity (k at the top level,
    two thirds of the level above's below it, at least 8) is sorted and every other value, from an
    offset of 0 or 1, moves up a level. DataSketches draws that offset from a generator seeded by
    the clock, so identical bytes gave different quantiles run to run; here it is a hash of the
    level and its compaction count, so the same values in the same order (and parts merged in the
    same order) give the same sketch, and the offsets still vary as the error bound needs. Whole
    arrays are taken at once: numpy sorts them faster than the library inserts value by value.
    While nothing was compacted the sketch holds every value and its quantiles are exact, read
    with linear interpolation like ExactDistribution.
    """

    MIN_CAPACITY = 8

    def __init__(self, k: int = 0) -> None:
        self.k = k or KLL_K
        self.n = 0
        self.min_value = math.inf
        self.max_value = -math.inf
        # The finite extremes, which histogram bins span when there are infinite values.
        self.finite_min = math.inf
        self.finite_max = -math.inf
        self.levels: list[np.ndarray] = [np.empty(0)]
        self.compactions: list[int] = [0]
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None

    # --- building

    def update(self, values: np.ndarray, *, is_sorted: bool = False) -> None:
        """Add values; `is_sorted` says they are in ascending order already (it saves a sort)."""
        values = np.asarray(values, dtype=np.float64)
        values = values[~np.isnan(values)] if np.isnan(values).any() else values
        if not values.size:
            return
        self.n += int(values.size)
        self.min_value = min(self.min_value, float(values.min()))
        self.max_value = max(self.max_value, float(values.max()))
        finite = values if math.isfinite(self.min_value) and math.isfinite(self.max_value) else None
        if finite is None:
            finite = values[np.isfinite(values)]
        if finite.size:
            self.finite_min = min(self.finite_min, float(finite.min()))
            self.finite_max = max(self.finite_max, float(finite.max()))
        self.levels[0] = _merged(self.levels[0], values if is_sorted else np.sort(values))
        self._compress()

    def merge(self, other: QuantileSketch) -> None:
        if not other.n:
            return
        self.n += other.n
        self.min_value = min(self.min_value, other.min_value)
        self.max_value = max(self.max_value, other.max_value)
        self.finite_min = min(self.finite_min, other.finite_min)
        self.finite_max = max(self.finite_max, other.finite_max)
        for height, level in enumerate(other.levels):
            if height == len(self.levels):
                self.levels.append(np.empty(0))
                self.compactions.append(0)
            self.levels[height] = _merged(self.levels[height], level)
            self.compactions[height] += other.compactions[height]
        self._compress()

    def _capacity(self, height: int) -> int:
        depth = len(self.levels) - 1 - height
        return max(self.MIN_CAPACITY, math.ceil(self.k * (2.0 / 3.0) ** depth))

    def _compress(self) -> None:
        self._sorted = None
        while True:
            over = [height for height, level in enumerate(self.levels) if level.size > self._capacity(height)]
            if not over:
                return
            height = over[0]
            if height + 1 == len(self.levels):
                self.levels.append(np.empty(0))
                self.compactions.append(0)
            level = self.levels[height]  # sorted: every level is kept in ascending order
            odd = level.size % 2  # an odd value out stays where it is
            offset = _coin(height, self.compactions[height])
            self.compactions[height] += 1
            self.levels[height] = level[:odd].copy()
            self.levels[height + 1] = _merged(self.levels[height + 1], level[odd + offset :: 2])

    # --- reading (the methods and conventions of DataSketches' KLL)

    def is_empty(self) -> bool:
        return self.n == 0

    def is_estimation_mode(self) -> bool:
        return len(self.levels) > 1

    def normalized_rank_error(self, pmf: bool) -> float:
        # DataSketches' empirical bound for KLL at 99% confidence.
        return 2.446 / self.k**0.9433 if pmf else 2.296 / self.k**0.9723

    def get_min_value(self) -> float:
        return self.min_value

    def get_max_value(self) -> float:
        return self.max_value

    def get_finite_range(self) -> tuple[float, float] | None:
        """The smallest and largest finite values (None when there are none)."""
        return (self.finite_min, self.finite_max) if self.finite_min <= self.finite_max else None

    def _weighted(self) -> tuple[np.ndarray, np.ndarray]:
        if self._sorted is None:
            items = np.concatenate(self.levels)
            weights = np.concatenate(
                [np.full(level.size, 1 << height, dtype=np.int64) for height, level in enumerate(self.levels)]
            )
            order = np.argsort(items, kind="stable")
            self._sorted = (items[order], np.cumsum(weights[order]))
        return self._sorted

    def get_quantile(self, rank: float) -> float:
        items, cumulative = self._weighted()
        if not self.is_estimation_mode():
            return _interpolated(items, cumulative, rank)
        if rank <= 0.0:
            return self.min_value
        if rank >= 1.0:
            return self.max_value
        # The smallest retained value with more than `rank` of the weight at or below it.
        index = int(np.searchsorted(cumulative, rank * self.n, side="right"))
        return float(items[min(index, len(items) - 1)])

    def get_quantiles(self, ranks: list[float]) -> list[float]:
        return [self.get_quantile(rank) for rank in ranks]

    def get_cdf(self, points: list[float], inclusive: bool = False) -> list[float]:
        """The share of the weight below each point (at or below it when `inclusive`), then 1.0."""
        items, cumulative = self._weighted()
        positions = np.searchsorted(items, points, side="right" if inclusive else "left")
        below = np.where(positions > 0, cumulative[np.maximum(positions - 1, 0)], 0)
        return [*(below / self.n).tolist(), 1.0]

    # --- bytes

    def serialize(self) -> bytes:
        sizes = [level.size for level in self.levels]
        meta = np.array([self.k, self.n, len(self.levels), *sizes, *self.compactions], dtype=np.int64)
        extremes = np.array([self.min_value, self.max_value, self.finite_min, self.finite_max])
        body = np.concatenate([extremes, *self.levels])
        return struct.pack("<I", meta.nbytes) + meta.tobytes() + body.tobytes()

    @classmethod
    def deserialize(cls, data: bytes) -> QuantileSketch:
        (meta_bytes,) = struct.unpack_from("<I", data)
        meta = np.frombuffer(data, dtype=np.int64, count=meta_bytes // 8, offset=4)
        body = np.frombuffer(data, dtype=np.float64, offset=4 + meta_bytes)
        k, n, count = int(meta[0]), int(meta[1]), int(meta[2])
        sketch = cls(k)
        sketch.n = n
        sketch.min_value, sketch.max_value, sketch.finite_min, sketch.finite_max = (float(v) for v in body[:4])
        sizes = meta[3 : 3 + count].tolist()
        sketch.compactions = [int(value) for value in meta[3 + count : 3 + 2 * count]]
        bounds = np.cumsum([4, *sizes])
        # Sorted on the way in: a sketch written before levels were kept in order may hold them unsorted.
        sketch.levels = [np.sort(body[start:stop]) for start, stop in itertools.pairwise(bounds)]
        return sketch


class FrequentValues:
    """A column's most frequent values (a frequent-items sketch), once it has too many to count.

    The sketch keys values by text: strings as they are, numbers as JSON, so that they come back as
    the numbers they were."""

    def __init__(self, kind: str, sketch: Any = None) -> None:
        self.numeric = kind == "numeric"
        self.sketch = sketch if sketch is not None else frequent_strings_sketch(FREQUENT_LG_MAP)

    def update(self, value: Any, count: int) -> None:
        self.sketch.update(json.dumps(value) if self.numeric else str(value), count)

    def merge(self, other: FrequentValues) -> None:
        self.sketch.merge(other.sketch)

    @property
    def total_weight(self) -> int:
        return int(self.sketch.total_weight)

    def get_epsilon_for_lg_size(self, lg_size: int) -> float:
        return float(self.sketch.get_epsilon_for_lg_size(lg_size))

    def get_frequent_items(self, error_type: Any = frequent_items_error_type.NO_FALSE_NEGATIVES) -> list[Any]:
        items = self.sketch.get_frequent_items(error_type)
        if not self.numeric:
            return list(items)
        return [(json.loads(item), *rest) for item, *rest in items]

    def serialize(self) -> bytes:
        return bytes(self.sketch.serialize())

    @classmethod
    def deserialize(cls, kind: str, data: bytes) -> FrequentValues:
        return cls(kind, frequent_strings_sketch.deserialize(data))


@dataclass
class ColumnState:
    name: str
    position: int
    dtype: str
    kind: str  # numeric, boolean, temporal, string, other
    count: int = 0
    null_count: int = 0
    nan_count: int = 0
    infinities: int = 0
    minimum: Any = None
    maximum: Any = None
    moments: Moments = field(default_factory=Moments)
    zeros: int = 0
    negatives: int = 0
    true_count: int = 0
    empty_strings: int = 0
    length_min: int | None = None
    length_max: int | None = None
    length_sum: int = 0
    # Exact value -> count while the column has at most EXACT_VALUES_LIMIT distinct values.
    values: dict[Any, int] | None = field(default_factory=dict)
    frequent: FrequentValues | None = None  # once `values` overflowed (string and numeric columns)
    frequent_error: int = 0  # counts left out of `frequent` by per-batch truncation, summed
    registers: np.ndarray = field(default_factory=hll.empty)
    kll: QuantileSketch | None = None  # numeric and temporal columns
    pii_sampled: int = 0
    pii_matches: dict[str, int] = field(default_factory=dict)
    pii_examples: list[str] = field(default_factory=list)
    # Per label value: Moments of this (numeric) column, or value counts of this (categorical) one.
    by_label: dict[Any, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kll is None and self.kind in ("numeric", "temporal"):
            self.kll = QuantileSketch(KLL_K)

    @property
    def non_null(self) -> int:
        return self.count - self.null_count - self.nan_count

    def add_values(self, pairs: list[tuple[Any, int]]) -> bool:
        """Count (value, rows) pairs exactly. When that would pass EXACT_VALUES_LIMIT distinct values
        the column overflows instead and the pairs are not counted (False): the caller puts them
        in the sketches."""
        values = self.values
        if values is None:
            return False
        if len(values) + sum(1 for value, _ in pairs if value not in values) > EXACT_VALUES_LIMIT:
            self.overflow_values()
            return False
        for value, count in pairs:
            values[value] = values.get(value, 0) + count
        return True

    def overflow_values(self) -> None:
        """Give up exact value counts for sketches: string and numeric columns keep their heavy
        hitters in a frequent-items sketch; a numeric column's quantile sketch, fed nothing while its
        values were counted, takes them now."""
        if self.values is None:
            return
        if self.kind in ("string", "numeric"):
            self.frequent = FrequentValues(self.kind)
            for value, count in self.values.items():
                self.frequent.update(value, count)
        if self.kind == "numeric" and self.kll is not None and self.values:
            numbers = np.array([_number_of(value) for value in self.values], dtype=np.float64)
            self.kll.update(np.repeat(numbers, np.fromiter(self.values.values(), dtype=np.int64)))
        self.values = None

    def distribution(self) -> Any:
        """What quantiles, histograms and CDFs are read from: a numeric or temporal column's exact
        value counts while it has them, else its KLL sketch (None for columns without one)."""
        if self.kind == "numeric" and self.values is not None:
            return ExactDistribution(self.values)
        if self.kind == "temporal" and self.values:
            return ExactDistribution({seconds_from_iso(value): count for value, count in self.values.items()})
        return self.kll

    def merge(self, other: ColumnState) -> None:
        if other.dtype != self.dtype:
            # Files of one source that disagree on a column's type: keep the wider description.
            self.dtype = f"{self.dtype} | {other.dtype}" if other.dtype not in self.dtype else self.dtype
        self.count += other.count
        self.null_count += other.null_count
        self.nan_count += other.nan_count
        self.infinities += other.infinities
        self.minimum = smaller(self.minimum, other.minimum)
        self.maximum = larger(self.maximum, other.maximum)
        self.moments = self.moments.merge(other.moments)
        self.zeros += other.zeros
        self.negatives += other.negatives
        self.true_count += other.true_count
        self.empty_strings += other.empty_strings
        self.length_min = smaller(self.length_min, other.length_min)
        self.length_max = larger(self.length_max, other.length_max)
        self.length_sum += other.length_sum
        if (
            self.values is not None
            and other.values is not None
            and len(self.values.keys() | other.values.keys()) <= EXACT_VALUES_LIMIT
        ):
            for value, count in other.values.items():
                self.values[value] = self.values.get(value, 0) + count
        else:
            # Either side past exact counting: both turn to sketches, which merge.
            self.overflow_values()
            other.overflow_values()
            if self.frequent is None:
                self.frequent = other.frequent
            elif other.frequent is not None:
                self.frequent.merge(other.frequent)
        self.frequent_error += other.frequent_error
        self.registers = hll.merge(self.registers, other.registers)
        if self.kll is not None and other.kll is not None:
            self.kll.merge(other.kll)
        self.pii_sampled += other.pii_sampled
        for kind, matches in other.pii_matches.items():
            self.pii_matches[kind] = self.pii_matches.get(kind, 0) + matches
        self.pii_examples = (self.pii_examples + other.pii_examples)[:5]
        for label, part in other.by_label.items():
            mine = self.by_label.get(label)
            if isinstance(part, Moments):
                self.by_label[label] = part if mine is None else mine.merge(part)
            elif isinstance(part, dict):
                merged = dict(mine or {})
                for value, count in part.items():
                    merged[value] = merged.get(value, 0) + count
                self.by_label[label] = merged


class HashStore:
    """Per-row (feature hash, label hash, row id) triples for duplicates and label conflicts.

    24 bytes a row, kept in buckets by the top bits of the feature hash; past SPILL_BYTES the buckets
    go to files, so memory holds at most one bucket when they are finally counted. Before a bucket is
    written, if a sample of it repeats, the rows of one (feature, label) pair are folded into their
    first, and how many more there were is kept beside it (`surplus`: feature hash, further rows): a
    source of one line repeated millions of times, a gzip bomb, costs a few entries, not its rows.
    """

    COLUMNS = 3

    def __init__(self) -> None:
        self.chunks: list[list[np.ndarray]] = [[] for _ in range(HASH_BUCKETS)]
        self.surplus: list[list[np.ndarray]] = [[] for _ in range(HASH_BUCKETS)]
        self.in_memory = 0
        self.spill_dir: str | None = None
        self.spilled: list[list[str]] = [[] for _ in range(HASH_BUCKETS)]
        self.directories: list[str] = []  # every directory holding spilled files of this store

    def add(self, feature_hash: np.ndarray, label_hash: np.ndarray, row_ids: np.ndarray) -> None:
        bucket = (feature_hash >> np.uint64(60)).astype(np.uint8)
        # A stable sort of 8-bit keys is a radix sort; gathering column by column is five times
        # quicker than gathering rows of a 2-D array.
        order = np.argsort(bucket, kind="stable")
        ordered = np.empty((feature_hash.size, self.COLUMNS), dtype=np.uint64)
        ordered[:, 0] = feature_hash[order]
        ordered[:, 1] = label_hash[order]
        ordered[:, 2] = row_ids[order]
        bounds = np.cumsum(np.bincount(bucket, minlength=HASH_BUCKETS))
        for index in range(HASH_BUCKETS):
            part = ordered[(bounds[index - 1] if index else 0) : bounds[index]]
            if part.size:
                self.chunks[index].append(part)
        self.in_memory += ordered.nbytes
        if self.in_memory > SPILL_BYTES:
            self.spill()

    def spill(self) -> None:
        if self.spill_dir is None:
            self.spill_dir = tempfile.mkdtemp(prefix="catalog-profile-hashes-")
            self.directories.append(self.spill_dir)
        for index, chunks in enumerate(self.chunks):
            if chunks:
                block = np.concatenate(chunks)
                if _repeating(block):
                    block, surplus = folded(block)
                    self.surplus[index].append(surplus)
                path = os.path.join(self.spill_dir, f"{index:02d}-{len(self.spilled[index]):05d}.npy")
                np.save(path, block, allow_pickle=False)
                self.spilled[index].append(path)
        self.chunks = [[] for _ in range(HASH_BUCKETS)]
        self.in_memory = 0

    def bucket(self, index: int) -> np.ndarray:
        parts = [np.load(path, allow_pickle=False) for path in self.spilled[index]] + self.chunks[index]
        return np.concatenate(parts) if parts else np.empty((0, self.COLUMNS), dtype=np.uint64)

    def surplus_of(self, index: int) -> np.ndarray:
        """(feature hash, further rows) of the pairs folded in a bucket."""
        parts = self.surplus[index]
        return np.concatenate(parts) if parts else np.empty((0, 2), dtype=np.uint64)

    def merge(self, other: HashStore) -> None:
        """Take the other store's hashes; its spilled files become this store's, unread."""
        for index in range(HASH_BUCKETS):
            self.spilled[index].extend(other.spilled[index])
            self.chunks[index].extend(other.chunks[index])
            self.surplus[index].extend(other.surplus[index])
        self.directories.extend(other.directories)
        self.in_memory += other.in_memory
        other.release()
        if self.in_memory > SPILL_BYTES:
            self.spill()

    def release(self) -> None:
        """Forget the hashes without deleting their files (another store or process owns them now)."""
        self.chunks = [[] for _ in range(HASH_BUCKETS)]
        self.surplus = [[] for _ in range(HASH_BUCKETS)]
        self.spilled = [[] for _ in range(HASH_BUCKETS)]
        self.directories = []
        self.spill_dir = None
        self.in_memory = 0

    def discard(self) -> None:
        for paths in self.spilled:
            for path in paths:
                if os.path.exists(path):
                    os.unlink(path)
        for directory in self.directories:
            shutil.rmtree(directory, ignore_errors=True)
        self.release()


# Mixes a label hash into a feature hash: rows repeat one another when this pair key does.
PAIR_MIX = np.uint64(0x9E3779B97F4A7C15)


def pair_keys(block: np.ndarray) -> np.ndarray:
    return block[:, 0] ^ (block[:, 1] * PAIR_MIX)


# Folding costs a sort; it is done before a spill when a sample of the block repeats this much.
FOLD_SAMPLE = 4_096
FOLD_WHEN_REPEATED = 0.1


def _repeating(block: np.ndarray) -> bool:
    if len(block) <= FOLD_SAMPLE:
        return False
    sample = pair_keys(block[:: len(block) // FOLD_SAMPLE])
    return 1 - len(np.unique(sample)) / len(sample) >= FOLD_WHEN_REPEATED


def folded(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A hash block with each (feature, label) pair's rows folded into its first (the smallest row
    id), and (feature hash, further rows) of the pairs that had more than one."""
    keys = pair_keys(block)
    order = np.lexsort((block[:, 2], keys))  # by pair, then by row id: the first of each pair leads
    ordered = keys[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    rows = np.diff(np.r_[starts, len(block)]).astype(np.uint64)
    first = block[order[starts]]
    repeated = rows > 1
    surplus = np.empty((int(np.count_nonzero(repeated)), 2), dtype=np.uint64)
    surplus[:, 0] = first[repeated, 0]
    surplus[:, 1] = rows[repeated] - np.uint64(1)
    return first, surplus


@dataclass
class MediaState:
    """What a folder of images or documents adds to the profile of the table it implies: one record
    per item (for duplicates, conflicts and leakage), the unreadable items, a few thumbnails per
    class, and how many documents hold what looks like personal data."""

    EXAMPLES_KEPT = 100

    kind: str
    records: pa.Table | None = None
    file_count: int = 0
    unreadable_count: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    ignored_count: int = 0
    ignored: list[str] = field(default_factory=list)
    missing_count: int = 0
    missing: list[str] = field(default_factory=list)
    # Label ("" for none) -> (path, JPEG bytes, width, height), the first paths of each class.
    thumbnails: dict[str, list[tuple[str, bytes, int, int]]] = field(default_factory=dict)
    pii_documents: dict[str, int] = field(default_factory=dict)

    THUMBNAILS_KEPT = 4
    THUMBNAIL_LABELS_KEPT = 200

    def add_unreadable(self, path: str, reason: str) -> None:
        self.unreadable_count += 1
        if len(self.unreadable) < self.EXAMPLES_KEPT:
            self.unreadable.append((path, reason))

    def wants_thumbnail(self, label: str | None) -> bool:
        """Whether the next image of `label` (in path order) would be kept as a thumbnail."""
        kept = self.thumbnails.get(label or "")
        if kept is None:
            return len(self.thumbnails) < self.THUMBNAIL_LABELS_KEPT
        return len(kept) < self.THUMBNAILS_KEPT

    def add_thumbnail(self, label: str | None, path: str, content: bytes, width: int, height: int) -> None:
        key = label or ""
        kept = self.thumbnails.get(key)
        if kept is None:
            if len(self.thumbnails) >= self.THUMBNAIL_LABELS_KEPT:
                return
            kept = self.thumbnails[key] = []
        if len(kept) < self.THUMBNAILS_KEPT:
            kept.append((path, content, width, height))

    def merge(self, other: MediaState) -> None:
        if self.records is None:
            self.records = other.records
        elif other.records is not None:
            self.records = pa.concat_tables([self.records, other.records])
        self.file_count += other.file_count
        self.unreadable_count += other.unreadable_count
        self.unreadable = sorted(self.unreadable + other.unreadable)[: self.EXAMPLES_KEPT]
        self.ignored_count += other.ignored_count
        self.ignored = sorted(self.ignored + other.ignored)[: self.EXAMPLES_KEPT]
        self.missing_count += other.missing_count
        self.missing = sorted(self.missing + other.missing)[: self.EXAMPLES_KEPT]
        for label, theirs in other.thumbnails.items():
            mine = self.thumbnails.get(label, [])
            self.thumbnails[label] = sorted(mine + theirs)[: self.THUMBNAILS_KEPT]
        for kind, count in other.pii_documents.items():
            self.pii_documents[kind] = self.pii_documents.get(kind, 0) + count

    def write(self, archive: zipfile.ZipFile) -> None:
        header = {
            "kind": self.kind,
            "file_count": self.file_count,
            "unreadable_count": self.unreadable_count,
            "unreadable": self.unreadable,
            "ignored_count": self.ignored_count,
            "ignored": self.ignored,
            "missing_count": self.missing_count,
            "missing": self.missing,
            "pii_documents": self.pii_documents,
            "thumbnails": [
                [label, path, width, height]
                for label, kept in self.thumbnails.items()
                for path, _, width, height in kept
            ],
        }
        archive.writestr("media.json", json.dumps(header))
        if self.records is not None:
            sink = pa.BufferOutputStream()
            with pa.ipc.new_file(sink, self.records.schema) as writer:
                writer.write_table(self.records)
            archive.writestr("media.arrow", sink.getvalue().to_pybytes())
        index = 0
        for kept in self.thumbnails.values():
            for _, content, _, _ in kept:
                archive.writestr(f"thumb{index:05d}.jpg", content)
                index += 1

    @classmethod
    def read(cls, archive: zipfile.ZipFile) -> MediaState:
        header = json.loads(archive.read("media.json"))
        state = cls(
            kind=header["kind"],
            file_count=header["file_count"],
            unreadable_count=header["unreadable_count"],
            unreadable=[(path, reason) for path, reason in header["unreadable"]],
            ignored_count=header["ignored_count"],
            ignored=header["ignored"],
            missing_count=header["missing_count"],
            missing=header["missing"],
            pii_documents=header["pii_documents"],
        )
        if "media.arrow" in archive.namelist():
            state.records = pa.ipc.open_file(pa.py_buffer(archive.read("media.arrow"))).read_all()
        for index, (label, path, width, height) in enumerate(header["thumbnails"]):
            state.thumbnails.setdefault(label, []).append((path, archive.read(f"thumb{index:05d}.jpg"), width, height))
        return state


@dataclass
class PartialProfile:
    """What a slice of a source contributes to its profile."""

    columns: list[ColumnState]
    label_column: str | None = None
    label_declared: bool = False
    rows: int = 0
    files: list[str] = field(default_factory=list)
    hashes: HashStore = field(default_factory=HashStore)
    # Uniform sample: the SAMPLE_ROWS rows with the smallest random keys, as (key, row id, values).
    sample: list[tuple[float, str, list[Any]]] = field(default_factory=list)
    pairs: dict[tuple[str, str], CoMoments] = field(default_factory=dict)
    # Set for folders of images or documents.
    media: MediaState | None = None
    # What findings read beyond the statistics: a sample of whole rows (label leakage), the task
    # type the source declares, and the index each file's row ids carry (file name -> index).
    row_sample: RowSample | None = None
    task_type: str | None = None
    file_indexes: dict[str, int] = field(default_factory=dict)

    def column(self, name: str) -> ColumnState | None:
        return next((column for column in self.columns if column.name == name), None)

    def merge(self, other: PartialProfile) -> PartialProfile:
        names = [column.name for column in self.columns]
        for theirs in other.columns:
            mine = self.column(theirs.name)
            if mine is None:
                theirs.position = len(names)
                names.append(theirs.name)
                # A column this part never saw: its rows there were all missing.
                theirs.count += self.rows
                theirs.null_count += self.rows
                self.columns.append(theirs)
            else:
                mine.merge(theirs)
        for mine in self.columns:
            if other.column(mine.name) is None:
                mine.count += other.rows
                mine.null_count += other.rows
        self.rows += other.rows
        self.files.extend(file for file in other.files if file not in self.files)
        self.hashes.merge(other.hashes)
        self.sample = sorted(self.sample + other.sample, key=lambda entry: entry[0])[:SAMPLE_ROWS]
        for pair, moments in other.pairs.items():
            self.pairs[pair] = self.pairs.get(pair, CoMoments()).merge(moments)
        if other.media is not None:
            if self.media is None:
                self.media = other.media
            else:
                self.media.merge(other.media)
        self._merge_finding_inputs(other)
        return self

    def _merge_finding_inputs(self, other: PartialProfile) -> None:
        if other.row_sample is not None:
            if self.row_sample is None:
                self.row_sample = other.row_sample
            else:
                self.row_sample.merge(other.row_sample)
        self.task_type = self.task_type or other.task_type
        self.file_indexes.update(other.file_indexes)

    # --- Serialisation: JSON for the plain parts, sketches' own bytes, numpy for the arrays; no pickle.

    def to_bytes(self, *, hash_files: bool = False) -> bytes:
        """The partial profile serialised. With `hash_files`, the row hashes stay in files (spilled
        now if they were not) that the serialised form names: a process on the same machine takes
        them over without copying them through a pipe."""
        if hash_files:
            self.hashes.spill()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
            header = {
                "label_column": self.label_column,
                "label_declared": self.label_declared,
                "rows": self.rows,
                "files": self.files,
                "sample": [[key, row_id, _jsonable_list(values)] for key, row_id, values in self.sample],
                "pairs": [[a, b, vars(moments)] for (a, b), moments in self.pairs.items()],
                "columns": [_column_header(column) for column in self.columns],
                "task_type": self.task_type,
                "file_indexes": self.file_indexes,
            }
            archive.writestr("header.json", json.dumps(header))
            if hash_files:
                files = {"directories": self.hashes.directories, "spilled": self.hashes.spilled}
                archive.writestr("hash-files.json", json.dumps(files))
            for index, column in enumerate(self.columns):
                archive.writestr(f"c{index}.hll", column.registers.tobytes())
                if column.kll is not None:
                    archive.writestr(f"c{index}.kll", column.kll.serialize())
                if column.frequent is not None:
                    archive.writestr(f"c{index}.freq", column.frequent.serialize())
            for index in range(HASH_BUCKETS):
                bucket = self.hashes.bucket(index) if not hash_files else None
                if bucket is not None and bucket.size:
                    archive.writestr(f"h{index:02d}.bin", bucket.tobytes())
                surplus = self.hashes.surplus_of(index)
                if surplus.size:
                    archive.writestr(f"s{index:02d}.bin", surplus.tobytes())
            if self.media is not None:
                self.media.write(archive)
            if self.row_sample is not None:
                self.row_sample.write(archive)
        if hash_files:
            self.hashes.release()
        else:
            self.hashes.discard()
        return buffer.getvalue()

    @staticmethod
    def files_of(data: bytes) -> list[str]:
        """The files a serialised partial profile covers, without loading the rest of it."""
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return list(json.loads(archive.read("header.json"))["files"])

    @classmethod
    def from_bytes(cls, data: bytes) -> PartialProfile:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            header = json.loads(archive.read("header.json"))
            columns = []
            for index, spec in enumerate(header["columns"]):
                column = _column_from_header(spec)
                column.registers = np.frombuffer(archive.read(f"c{index}.hll"), dtype=np.uint8).copy()
                if f"c{index}.kll" in names:
                    column.kll = QuantileSketch.deserialize(archive.read(f"c{index}.kll"))
                if f"c{index}.freq" in names:
                    column.frequent = FrequentValues.deserialize(column.kind, archive.read(f"c{index}.freq"))
                columns.append(column)
            profile = cls(
                columns=columns,
                label_column=header["label_column"],
                label_declared=header["label_declared"],
                rows=header["rows"],
                files=header["files"],
                sample=[(key, row_id, values) for key, row_id, values in header["sample"]],
                pairs={(a, b): CoMoments(**moments) for a, b, moments in header["pairs"]},
            )
            if "hash-files.json" in names:
                files = json.loads(archive.read("hash-files.json"))
                profile.hashes.directories = list(files["directories"])
                profile.hashes.spilled = [list(paths) for paths in files["spilled"]]
            for index in range(HASH_BUCKETS):
                if f"h{index:02d}.bin" in names:
                    block = np.frombuffer(archive.read(f"h{index:02d}.bin"), dtype=np.uint64).reshape(
                        -1, HashStore.COLUMNS
                    )
                    profile.hashes.chunks[index].append(block.copy())
                    profile.hashes.in_memory += block.nbytes
                if f"s{index:02d}.bin" in names:
                    surplus = np.frombuffer(archive.read(f"s{index:02d}.bin"), dtype=np.uint64).reshape(-1, 2)
                    profile.hashes.surplus[index].append(surplus.copy())
            if "media.json" in names:
                profile.media = MediaState.read(archive)
            profile.row_sample = RowSample.read(archive)
            profile.task_type = header.get("task_type")
            profile.file_indexes = {name: int(index) for name, index in (header.get("file_indexes") or {}).items()}
        return profile


_TEMPORAL_TYPE = re.compile(r"(date32|date64|time32|time64|timestamp)(?:\[([a-z]+)(, tz=[^\]]+)?\])?")
SECONDS_PER_TICK = {"D": 86_400.0, "day": 86_400.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def temporal_form(dtype: str) -> tuple[str, str]:
    """How a temporal column's values are written and the unit of its ticks, from its type:
    ("date", "D"), ("date", "ms"), ("time", unit), ("timestamp", unit) or ("timestamp_tz", unit)."""
    found = _TEMPORAL_TYPE.search(dtype)
    if found is None:
        return "timestamp", "us"
    name, unit, zone = found.groups()
    if name == "date32":
        return "date", "D"
    if name == "date64":
        return "date", "ms"
    if name.startswith("time") and name != "timestamp":
        return "time", unit or "us"
    return ("timestamp_tz" if zone else "timestamp"), unit or "us"


def _trimmed(text: str) -> str:
    """An ISO time's fraction of a second as Python and pandas write it: none when zero, else six
    digits, or nine when there are nanoseconds."""
    head, dot, fraction = text.partition(".")
    if not dot or not fraction.strip("0"):
        return head
    if len(fraction) > 6 and not fraction[6:].strip("0"):
        return f"{head}.{fraction[:6]}"
    return f"{head}.{fraction.ljust(6, '0')}" if len(fraction) < 6 else text


def iso_strings(ticks: np.ndarray, form: str, unit: str) -> list[str]:
    """ISO 8601 text of temporal values given as integer ticks of `unit` since the epoch (times of
    day: since midnight): dates as dates, times of day as times, timestamps with a time zone in UTC
    (`+00:00`), timestamps without one as they are."""
    ticks = np.asarray(ticks, dtype=np.int64)
    numpy_unit = "D" if unit in ("D", "day") else unit
    moments = ticks.astype(f"datetime64[{numpy_unit}]")
    if form == "date":
        return [str(text) for text in np.datetime_as_string(moments, unit="D")]
    texts = np.datetime_as_string(moments, unit="ns" if numpy_unit == "ns" else "us")
    if form == "time":
        return [_trimmed(str(text)[str(text).index("T") + 1 :]) for text in texts]
    suffix = "+00:00" if form == "timestamp_tz" else ""
    return [_trimmed(str(text)) + suffix for text in texts]


def seconds_from_iso(text: str) -> float:
    """Seconds since the epoch (times of day: since midnight) of a temporal value's ISO text as
    `iso_strings` writes it."""
    text = text.removesuffix("+00:00")
    if "T" not in text and ":" in text:
        text = f"1970-01-01T{text}"
    fraction = text.partition(".")[2]
    if len(fraction) > 6:
        return int(np.datetime64(text, "ns").astype(np.int64)) / 1e9
    return int(np.datetime64(text, "us").astype(np.int64)) / 1e6


def iso_from_seconds(dtype: str, seconds: float) -> str:
    """A point of a temporal column's distribution (seconds since the epoch, or since midnight for
    times of day) as ISO 8601 in the column's own form. As pandas does with an interpolated quantile,
    it is cut (toward zero) to a whole tick of the column's unit: seconds for dates and second
    timestamps, milliseconds, else microseconds (rounded there: a float of seconds holds no finer).
    A date column's points that fall inside a day are written as timestamps."""
    form, unit = temporal_form(dtype)
    per_second = {"ms": 1e3, "us": 1e6, "ns": 1e6}.get(unit, 1.0)
    ticks = seconds * per_second
    nearest = round(ticks)
    if per_second < 1e6 and abs(ticks - nearest) > 1e-3:
        nearest = math.trunc(ticks)
    microseconds = nearest * round(1e6 / per_second)
    if form == "date":
        if microseconds % 86_400_000_000 == 0:
            return iso_strings(np.array([microseconds // 86_400_000_000]), "date", "D")[0]
        form = "timestamp"
    return iso_strings(np.array([microseconds]), form, "us")[0]


def jsonable(value: Any) -> Any:
    """A value as JSON can carry it (dates and times as ISO 8601, bytes as hex, NaN as None)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return None if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return str(value)


def _jsonable_list(values: list[Any]) -> list[Any]:
    return [jsonable(value) for value in values]


def _column_header(column: ColumnState) -> dict[str, Any]:
    return {
        "name": column.name,
        "position": column.position,
        "dtype": column.dtype,
        "kind": column.kind,
        "count": column.count,
        "null_count": column.null_count,
        "nan_count": column.nan_count,
        "infinities": column.infinities,
        # Numbers stay numbers (json writes and reads inf); other extremes are already JSON values.
        "minimum": column.minimum if column.kind == "numeric" else jsonable(column.minimum),
        "maximum": column.maximum if column.kind == "numeric" else jsonable(column.maximum),
        "moments": column.moments.as_list(),
        "zeros": column.zeros,
        "negatives": column.negatives,
        "true_count": column.true_count,
        "empty_strings": column.empty_strings,
        "length_min": column.length_min,
        "length_max": column.length_max,
        "length_sum": column.length_sum,
        # Keys keep their JSON type (int, float, str, bool) as the first item of each pair.
        "values": None if column.values is None else [[jsonable(k), v] for k, v in column.values.items()],
        "frequent_error": column.frequent_error,
        "pii_sampled": column.pii_sampled,
        "pii_matches": column.pii_matches,
        "pii_examples": column.pii_examples,
        "by_label": [
            [jsonable(label), "moments", part.as_list()]
            if isinstance(part, Moments)
            else [jsonable(label), "counts", [[jsonable(k), v] for k, v in part.items()]]
            for label, part in column.by_label.items()
        ],
    }


def _column_from_header(spec: dict[str, Any]) -> ColumnState:
    n, mean, m2 = spec["moments"]
    column = ColumnState(
        name=spec["name"],
        position=spec["position"],
        dtype=spec["dtype"],
        kind=spec["kind"],
        count=spec["count"],
        null_count=spec["null_count"],
        nan_count=spec["nan_count"],
        infinities=spec["infinities"],
        minimum=spec["minimum"],
        maximum=spec["maximum"],
        moments=Moments(int(n), mean, m2),
        zeros=spec["zeros"],
        negatives=spec["negatives"],
        true_count=spec["true_count"],
        empty_strings=spec["empty_strings"],
        length_min=spec["length_min"],
        length_max=spec["length_max"],
        length_sum=spec["length_sum"],
        values=None if spec["values"] is None else {_key(k): v for k, v in spec["values"]},
        frequent_error=spec["frequent_error"],
        pii_sampled=spec["pii_sampled"],
        pii_matches=spec["pii_matches"],
        pii_examples=spec["pii_examples"],
    )
    for label, form, part in spec["by_label"]:
        if form == "moments":
            column.by_label[_key(label)] = Moments(int(part[0]), part[1], part[2])
        else:
            column.by_label[_key(label)] = {_key(k): v for k, v in part}
    return column


def _key(value: Any) -> Any:
    # JSON lists (from tuple keys) are not hashable; nothing else needs converting.
    return tuple(value) if isinstance(value, list) else value
