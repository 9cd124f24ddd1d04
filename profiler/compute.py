"""Profile Arrow record batches into a PartialProfile.

Each column of a batch is converted once: a number to a float64 array, a categorical string or
boolean to Arrow dictionary codes (its distinct values once, a code per row). Arrow and numpy
compute the exact parts from those (extremes, moments, lengths, value counts by bincount, label
association, correlations over cache-sized blocks); numbers and times are hashed by numpy over
their bits, categories through their dictionary, identifiers and nested values by DuckDB; numpy
turns hashes into HyperLogLog registers and duplicate-detection keys; KLL sketches take whole
numpy arrays. No Python loop runs per row. Measured on the benchmark's 5M-row table, this is half
the time of computing the same with one DuckDB query per piece over the batch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from profiler import across, hll, patterns
from profiler.columns import (
    counted_values,
    float_bits,
    is_binary_view,
    is_string_view,
    is_time,
    kind_of,
    mix,
    ticks,
)
from profiler.sketches import Moments, larger, smaller
from profiler.state import EXACT_VALUES_LIMIT, ColumnState, PartialProfile
from profiler.values import SECONDS_PER_TICK, iso_strings, jsonable, temporal_form

# Above this many distinct values in a batch, a string column's counts are kept only for its most
# frequent values (the rest feed the frequent-items error bound), and other columns' not at all.
BATCH_TOP_VALUES = 1_000


def new_profile(schema: pa.Schema, label_column: str | None, *, declared: bool) -> PartialProfile:
    columns = [
        ColumnState(name=column.name, position=index, dtype=str(column.type), kind=kind_of(column.type))
        for index, column in enumerate(schema)
    ]
    return PartialProfile(columns=columns, label_column=label_column, label_declared=declared)


@dataclass
class _Encoded:
    """A column of a batch as dictionary codes: each distinct value once, each row its code."""

    dictionary: pa.Array  # the distinct values present, nulls excepted
    codes: np.ndarray  # intp per row; -1 where the value is missing
    counts: np.ndarray  # rows per dictionary entry
    _values: list[Any] | None = None

    def values(self) -> list[Any]:
        """The dictionary as JSON values."""
        if self._values is None:
            self._values = [jsonable(value) for value in self.dictionary.to_pylist()]
        return self._values


# A string column whose sample of this many values is more than half distinct is taken for an
# identifier: it is hashed value by value instead of dictionary-encoded, and has no frequent values.
IDENTIFIER_SAMPLE = 20_000
IDENTIFIER_SHARE = 0.5


class BatchProfiler:
    """Feeds the batches of one partition into a PartialProfile.

    Each batch's columns are converted once (numbers to float64 arrays, categorical columns to
    dictionary codes) and every piece of the profile reads those: aggregates, hashes, value counts,
    sketches, label association and correlations.
    """

    def __init__(
        self,
        profile: PartialProfile,
        *,
        file_index: int,
        relative_path: str,
        first_row: int = 0,
        threads: int | None = None,
        memory_limit: str = "1GB",
        seed: int | None = None,
        languages: bool = True,
        patterns: Mapping[str, str] | None = None,
    ) -> None:
        self.profile = profile
        # Column name -> the regular expression every value of it is checked with.
        self.patterns = dict(patterns or {})
        # Whether string columns keep values to identify the language of (not the implicit table of a
        # corpus, whose documents each have theirs).
        self.languages = languages
        self.file_index = file_index
        self.relative_path = relative_path
        self.next_row = first_row
        self.random = np.random.default_rng(seed)
        self.connection = duckdb.connect(
            config={"threads": threads or os.cpu_count() or 1, "memory_limit": memory_limit}
        )
        # Per column name: whether its last batch looked like an identifier (mostly distinct values).
        self.identifiers: dict[str, bool] = {}
        self._reset()
        if relative_path not in profile.files:
            profile.files.append(relative_path)

    def _reset(self) -> None:
        self.batch: pa.RecordBatch | None = None
        self.states: list[tuple[int, ColumnState]] = []
        self.floats: dict[int, np.ndarray] = {}  # numeric columns: float64, NaN where missing
        self.present: dict[int, np.ndarray] = {}  # numeric columns: the values that are not NaN
        self.means: dict[int, float] = {}  # numeric columns: the mean of the finite values
        self.encoded: dict[int, _Encoded | None] = {}
        self.ticks: dict[int, np.ndarray] = {}  # temporal columns: int64 ticks, 0 where missing
        self.sorted: dict[int, np.ndarray] = {}  # numeric columns past exact counting: present values, sorted
        self.column_hashes: dict[int, np.ndarray] = {}  # each column's value hashes, for the row sample

    def close(self) -> None:
        self.connection.close()

    def add(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        self.batch = self._normalised(batch)
        self.states = self._column_states(self.batch)
        try:
            self._aggregates()
            self._hashes()
            self._value_counts()
            self._sketches()
            across.label_association(self)
            across.correlations(self)
            across.sample(self)
            across.row_sample(self)
            across.pii_matches(self)
            across.language_sample(self)
            self._patterns()
        finally:
            self._reset()
        self.profile.rows += batch.num_rows
        self.next_row += batch.num_rows

    # --- the batch's columns, converted once -----------------------------------------------------

    def _normalised(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Dictionary- and run-end-encoded columns are decoded, decimals made float, durations their
        count of ticks and views strings or binary, so they are treated plainly."""
        arrays = []
        changed = False
        for array in batch.columns:
            if pa.types.is_run_end_encoded(array.type):
                array = pc.run_end_decode(array)
                changed = True
            if pa.types.is_dictionary(array.type):
                array = array.dictionary_decode()
                changed = True
            if pa.types.is_decimal(array.type):
                # Through text: Arrow's direct cast can miss the nearest float by one unit in the last
                # place (1.55 is not float("1.55")), and values on a bin edge then fall in the next bin.
                array = pc.cast(pc.cast(array, pa.string()), pa.float64())
                changed = True
            elif pa.types.is_duration(array.type):
                array = array.view(pa.int64())
                changed = True
            elif is_string_view(array.type):
                array = pc.cast(array, pa.large_string())
                changed = True
            elif is_binary_view(array.type):
                array = pc.cast(array, pa.large_binary())
                changed = True
            arrays.append(array)
        return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names) if changed else batch

    def _column_states(self, batch: pa.RecordBatch) -> list[tuple[int, ColumnState]]:
        states = []
        for index, name in enumerate(batch.schema.names):
            state = self.profile.column(name)
            if state is None:
                # A column first seen in this batch (JSON Lines, files with differing columns).
                state = ColumnState(
                    name=name,
                    position=len(self.profile.columns),
                    dtype=str(batch.schema.field(index).type),
                    kind=kind_of(batch.schema.field(index).type),
                    count=self.profile.rows,
                    null_count=self.profile.rows,
                )
                self.profile.columns.append(state)
            states.append((index, state))
        return states

    def column_of(self, index: int) -> pa.Array:
        assert self.batch is not None
        return self.batch.column(index)

    def _ticks(self, index: int) -> np.ndarray:
        """A temporal column's values as int64 ticks of its unit (days for date32), 0 where missing."""
        values = self.ticks.get(index)
        if values is None:
            values = ticks(self.column_of(index))
            self.ticks[index] = values
        return values

    def _present_ticks(self, index: int) -> np.ndarray:
        array = self.column_of(index)
        ticks = self._ticks(index)
        if array.null_count:
            return ticks[array.is_valid().to_numpy(zero_copy_only=False)]
        return ticks

    def floats_of(self, index: int) -> np.ndarray:
        """A numeric column as float64, NaN where it is missing (read-only when it is Arrow's buffer)."""
        values = self.floats.get(index)
        if values is None:
            array = self.column_of(index)
            if array.type != pa.float64() or array.null_count:
                # Unchecked: an integer beyond 2**53 becomes the nearest float, which is what moments,
                # sketches and correlations use; its exact minimum and maximum come from the integers.
                array = pc.fill_null(pc.cast(array, pa.float64(), safe=False), np.nan)
            values = array.to_numpy(zero_copy_only=False)
            self.floats[index] = values
        return values

    def encoding_of(self, index: int, state: ColumnState, *, force: bool = False) -> _Encoded | None:
        """The column as dictionary codes: string and boolean columns that are not identifiers, the
        label, and (when `force`) any column a piece of the profile needs codes of."""
        if index in self.encoded and (self.encoded[index] is not None or not force):
            return self.encoded[index]
        array = self.column_of(index)
        wanted = force or state.name == self.profile.label_column
        if not wanted and state.kind == "boolean":
            wanted = True
        elif not wanted and state.kind == "string":
            wanted = not self._looks_like_identifier(state.name, array)
        encoded = None
        if wanted and state.kind != "other":
            dictionary_array = pc.dictionary_encode(array)
            codes = pc.fill_null(dictionary_array.indices, -1).to_numpy(zero_copy_only=False).astype(np.intp)
            dictionary = dictionary_array.dictionary
            counts = np.bincount(codes[codes >= 0], minlength=len(dictionary))
            encoded = _Encoded(dictionary=dictionary, codes=codes, counts=counts)
        self.encoded[index] = encoded
        return encoded

    def _looks_like_identifier(self, name: str, array: pa.Array) -> bool:
        known = self.identifiers.get(name)
        if known is not None:
            return known
        sample = array.slice(0, IDENTIFIER_SAMPLE)
        present = len(sample) - sample.null_count
        if present < 1_000:
            return False
        return int(pc.count_distinct(sample).as_py()) > IDENTIFIER_SHARE * present

    # --- pieces -------------------------------------------------------------------------------

    def _aggregates(self) -> None:
        rows = self.batch.num_rows if self.batch is not None else 0
        for index, state in self.states:
            array = self.column_of(index)
            state.count += rows
            state.null_count += array.null_count
            if state.kind == "numeric":
                self._numeric_aggregates(index, state, array)
            elif state.kind == "boolean":
                state.true_count += int(pc.sum(array).as_py() or 0)
            elif state.kind == "temporal":
                # As ISO text that sorts as the values do: dates, times, timestamps (a zone's in UTC).
                present = self._present_ticks(index)
                if present.size:
                    form, unit = temporal_form(str(array.type))
                    low, high = iso_strings(np.array([present.min(), present.max()]), form, unit)
                    state.minimum = smaller(state.minimum, low)
                    state.maximum = larger(state.maximum, high)
            elif state.kind == "string":
                self._string_aggregates(index, state, array)

    def _numeric_aggregates(self, index: int, state: ColumnState, array: pa.Array) -> None:
        values = self.floats_of(index)
        if pa.types.is_floating(array.type):
            missing = np.isnan(values)
            missing_count = int(np.count_nonzero(missing))
            present = values[~missing] if missing_count else values
            state.nan_count += missing_count - array.null_count
            infinite = int(np.count_nonzero(np.isinf(present)))
            finite = present[np.isfinite(present)] if infinite else present
            state.infinities += infinite
            if present.size:
                state.minimum = smaller(state.minimum, float(np.min(present)))
                state.maximum = larger(state.maximum, float(np.max(present)))
        else:
            present = values[~np.isnan(values)] if array.null_count else values
            finite = present
            extremes = pc.min_max(array).as_py()  # exact, even beyond 2**53
            state.minimum = smaller(state.minimum, extremes["min"])
            state.maximum = larger(state.maximum, extremes["max"])
        self.present[index] = present
        if finite.size:
            # Mean and variance of the finite values; infinities are counted on their own.
            mean = float(finite.mean())
            self.means[index] = mean
            state.moments = state.moments.merge(Moments.of(int(finite.size), mean, float(finite.var())))
        state.zeros += int(np.count_nonzero(present == 0))
        state.negatives += int(np.count_nonzero(present < 0))

    def _string_aggregates(self, index: int, state: ColumnState, array: pa.Array) -> None:
        encoded = self.encoding_of(index, state)
        # Lengths in characters (code points), as len() counts them.
        if encoded is not None:
            if not len(encoded.dictionary):
                return
            extremes = pc.min_max(encoded.dictionary).as_py()
            lengths = pc.utf8_length(encoded.dictionary).to_numpy(zero_copy_only=False).astype(np.int64)
            empty = int(encoded.counts[lengths == 0].sum())
            length_min, length_max = int(lengths.min()), int(lengths.max())
            length_sum = int(lengths @ encoded.counts)
        else:
            if array.null_count == len(array):
                return
            extremes = pc.min_max(array).as_py()
            lengths = pc.utf8_length(array.drop_null()).to_numpy(zero_copy_only=False)
            empty = int(np.count_nonzero(lengths == 0))
            length_min, length_max, length_sum = int(lengths.min()), int(lengths.max()), int(lengths.sum())
        state.minimum = smaller(state.minimum, extremes["min"])
        state.maximum = larger(state.maximum, extremes["max"])
        state.empty_strings += empty
        state.length_min = smaller(state.length_min, length_min)
        state.length_max = larger(state.length_max, length_max)
        state.length_sum += length_sum

    def _hashes(self) -> None:
        """Distinct-count registers per column, and the row keys for duplicates and conflicts.

        Each column is hashed once (missing values as 0): numbers and times by numpy over their bits,
        dictionary-encoded columns through their dictionary, the rest by DuckDB. The feature columns'
        hashes fold into one key per row, so no value is hashed twice."""
        assert self.batch is not None
        rows = self.batch.num_rows
        label = self.profile.label_column
        feature_key = np.full(rows, 0x9E3779B97F4A7C15, dtype=np.uint64)
        label_key = np.zeros(rows, dtype=np.uint64)
        for index, state in self.states:
            hashes, distinct = self._column_hashes(index, state)
            self.column_hashes[index] = hashes
            registers = hll.empty()
            hll.add_hashes(registers, distinct)
            np.maximum(state.registers, registers, out=state.registers)
            if state.kind == "string":
                present = rows - self.column_of(index).null_count
                encoded = self.encoded.get(index)
                batch_distinct = len(encoded.dictionary) if encoded is not None else hll.estimate(registers)
                self.identifiers[state.name] = present >= 1_000 and batch_distinct > IDENTIFIER_SHARE * present
            if state.values is not None and hll.estimate(state.registers) > EXACT_VALUES_LIMIT * 1.1:
                # Well past the exact limit: counting every value would only be thrown away.
                state.overflow_values()
            if state.name == label:
                label_key = hashes
            else:
                # Order-dependent mixing (multiply-xor-rotate), so equal rows, and only they, share a key.
                feature_key ^= hashes
                feature_key *= np.uint64(0xBF58476D1CE4E5B9)
                feature_key ^= feature_key >> np.uint64(31)
        first = np.arange(self.next_row, self.next_row + rows, dtype=np.uint64)
        row_ids = (np.uint64(self.file_index) << np.uint64(40)) | first
        self.profile.hashes.add(feature_key, label_key, row_ids)

    def _column_hashes(self, index: int, state: ColumnState) -> tuple[np.ndarray, np.ndarray]:
        """64-bit hashes of a column's values, 0 where missing, and the hashes of its distinct (or
        all) present values, for the distinct-count registers. Which way a column is hashed depends
        only on its type, so every batch and partition hashes a value alike."""
        array = self.column_of(index)
        data_type = array.type
        if state.kind in ("string", "boolean"):
            encoded = self.encoding_of(index, state)
            if encoded is not None:
                distinct = self._duckdb_hashes(encoded.dictionary)
                # Code -1 (missing) takes the 0 appended at the end.
                return np.append(distinct, np.uint64(0))[encoded.codes], distinct
            hashes = self._duckdb_hashes(array)
        elif pa.types.is_floating(data_type):
            values = self.floats_of(index)
            hashes = mix(float_bits(values))
            hashes[np.isnan(values)] = 0
        elif pa.types.is_integer(data_type) or is_time(data_type):
            if is_time(data_type):
                bits = self._ticks(index).view(np.uint64)
            else:
                # Unchecked: a uint64 above 2**63 keeps its bits, which is all a hash needs.
                cast = array if pa.types.is_int64(data_type) else pc.cast(array, pa.int64(), safe=False)
                bits = pc.fill_null(cast, 0).to_numpy(zero_copy_only=False).view(np.uint64)
            hashes = mix(bits)
            if array.null_count:
                hashes[array.is_null().to_numpy(zero_copy_only=False)] = 0
        else:
            hashes = self._duckdb_hashes(array)
        return hashes, hashes[hashes != 0]

    def _duckdb_hashes(self, array: pa.Array) -> np.ndarray:
        self.connection.register("hashed", pa.table({"v": array}))
        try:
            result = self.connection.execute(
                # 0 marks a missing value; DuckDB hashes false (and 0) to 0, so a present value
                # that hashes to 0 takes 1, else a missing boolean would count as false in duplicate rows.
                "SELECT CASE WHEN v IS NULL THEN 0::UBIGINT ELSE greatest(hash(v), 1::UBIGINT) END AS h FROM hashed"
            ).fetchnumpy()["h"]
        finally:
            self.connection.unregister("hashed")
        return np.asarray(result, dtype=np.uint64)  # UBIGINT: a plain array

    def _value_counts(self) -> None:
        for index, state in self.states:
            if state.kind == "other":
                continue
            exact = state.values is not None
            if not exact and state.kind == "numeric":
                self._frequent_numbers(index, state)
                continue
            if not exact and state.kind != "string":
                continue
            encoded = self.encoded.get(index)
            if encoded is None and state.kind == "string" and not exact:
                continue  # an identifier: nearly every value is new, there are no frequent values to find
            if encoded is None:
                pairs = counted_values(self.column_of(index), temporal=state.kind == "temporal")
                if not state.add_values(pairs):
                    if state.kind == "numeric":
                        self._frequent_numbers(index, state)
                    elif state.kind == "string" and state.frequent is not None:
                        for value, count in pairs:
                            state.frequent.update(str(value), count)
                continue
            if exact:
                if len(encoded.dictionary) > EXACT_VALUES_LIMIT:
                    state.overflow_values()
                elif state.add_values(list(zip(encoded.values(), encoded.counts.tolist(), strict=True))):
                    continue
                if state.kind == "numeric":
                    self._frequent_numbers(index, state)
                if state.kind != "string":
                    continue
            self._frequent(state, encoded)

    def _frequent(self, state: ColumnState, encoded: _Encoded) -> None:
        """A batch's most frequent values into the column's frequent-items sketch."""
        if state.frequent is None:
            return
        counts = encoded.counts
        if len(counts) > BATCH_TOP_VALUES:
            order = np.argpartition(-counts, BATCH_TOP_VALUES)
            kept = order[:BATCH_TOP_VALUES]
            # Values below the kept ones each occur at most this often in the batch.
            state.frequent_error += int(counts[order[BATCH_TOP_VALUES]])
        else:
            kept = np.arange(len(counts))
        values = encoded.dictionary.take(pa.array(kept, type=pa.int64())).to_pylist()
        for value, count in zip(values, counts[kept].tolist(), strict=True):
            state.frequent.update(str(value), int(count))

    def _frequent_numbers(self, index: int, state: ColumnState) -> None:
        """A batch's most frequent numbers into the column's frequent-items sketch, counted from the
        sorted values (which the quantile sketch takes sorted too)."""
        if state.frequent is None:
            return
        values = self._sorted_present(index)
        if not values.size:
            return
        starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
        counts = np.diff(np.append(starts, values.size))
        if len(counts) > BATCH_TOP_VALUES:
            order = np.argpartition(-counts, BATCH_TOP_VALUES)
            kept = order[:BATCH_TOP_VALUES]
            state.frequent_error += int(counts[order[BATCH_TOP_VALUES]])
        else:
            kept = np.arange(len(counts))
        integral = pa.types.is_integer(self.column_of(index).type)
        for value, count in zip(values[starts[kept]].tolist(), counts[kept].tolist(), strict=True):
            if integral:
                value = int(value)
            elif not math.isfinite(value):
                value = jsonable(value)
            state.frequent.update(value, int(count))

    def _sorted_present(self, index: int) -> np.ndarray:
        """A numeric column's present values, sorted (once a batch)."""
        values = self.sorted.get(index)
        if values is None:
            values = np.sort(self.present[index])
            self.sorted[index] = values
        return values

    def _patterns(self) -> None:
        """Check the values of each column the caller gave an expression for: each distinct value of
        the batch once (through the column's dictionary when it has one)."""
        for index, state in self.states:
            regex = self.patterns.get(state.name)
            if regex is None:
                continue
            if state.pattern is None:
                state.pattern = patterns.pattern_count(regex)
            if state.pattern.error is not None:
                continue
            encoded = self.encoded.get(index)
            if encoded is not None:
                values, counts = encoded.dictionary.to_pylist(), encoded.counts.tolist()
            else:
                values, counts = patterns.distinct_counts(self.column_of(index))
            state.pattern.add(values, counts)

    def _sketches(self) -> None:
        for index, state in self.states:
            if state.kind == "numeric":
                if state.values is not None:
                    continue  # its exact value counts hold its distribution
                values, is_sorted = self._sorted_present(index), True
            elif state.kind == "temporal":
                _, unit = temporal_form(str(self.column_of(index).type))
                values, is_sorted = self._present_ticks(index) * SECONDS_PER_TICK[unit], False
            else:
                continue
            if values.size and state.kll is not None:
                state.kll.update(values, is_sorted=is_sorted)


def profile_batches(
    batches: Iterable[pa.RecordBatch],
    schema: pa.Schema,
    *,
    label_column: str | None,
    declared: bool,
    relative_path: str,
    file_index: int = 0,
    first_row: int = 0,
    threads: int | None = None,
    seed: int | None = None,
    languages: bool = True,
    patterns: Mapping[str, str] | None = None,
) -> PartialProfile:
    profile = new_profile(schema, label_column, declared=declared)
    profiler = BatchProfiler(
        profile,
        file_index=file_index,
        relative_path=relative_path,
        first_row=first_row,
        threads=threads,
        seed=seed,
        languages=languages,
        patterns=patterns,
    )
    try:
        for batch in batches:
            profiler.add(batch)
    finally:
        profiler.close()
    return profile
