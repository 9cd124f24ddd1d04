"""Profile Arrow record batches into a PartialProfile.

DuckDB computes what is exact and vectorises well (aggregates, value counts, 64-bit hashes), on the
batch in place (zero copy); numpy turns hashes into HyperLogLog registers and duplicate-detection
keys; KLL sketches take whole numpy arrays. No Python loop runs per row.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from catalog.profiling import hll, pii
from catalog.profiling.state import (
    EXACT_VALUES_LIMIT,
    PII_SAMPLE,
    SAMPLE_ROWS,
    ColumnState,
    CoMoments,
    Moments,
    PartialProfile,
    jsonable,
    larger,
    smaller,
)

# Above this many distinct values in a batch, a string column's counts are kept only for its most
# frequent values (the rest feed the frequent-items error bound), and other columns' not at all.
BATCH_TOP_VALUES = 1_000
# Label values beyond this many are not a classification label; association is not computed.
LABEL_CLASSES_LIMIT = 1_000
# Categorical features with more values than this are left out of label association (Cramér's V).
ASSOCIATION_VALUES_LIMIT = 200
# Pairwise correlations are computed for at most this many numeric columns.
CORRELATION_COLUMNS = 20


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def kind_of(data_type: pa.DataType) -> str:
    if pa.types.is_dictionary(data_type):
        return kind_of(data_type.value_type)
    if pa.types.is_boolean(data_type):
        return "boolean"
    if pa.types.is_integer(data_type) or pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return "numeric"
    if pa.types.is_timestamp(data_type) or pa.types.is_date(data_type):
        return "temporal"
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return "string"
    return "other"


def new_profile(schema: pa.Schema, label_column: str | None, *, declared: bool) -> PartialProfile:
    columns = [
        ColumnState(name=column.name, position=index, dtype=str(column.type), kind=kind_of(column.type))
        for index, column in enumerate(schema)
    ]
    return PartialProfile(columns=columns, label_column=label_column, label_declared=declared)


class BatchProfiler:
    """Feeds the batches of one partition into a PartialProfile."""

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
    ) -> None:
        self.profile = profile
        self.file_index = file_index
        self.relative_path = relative_path
        self.next_row = first_row
        self.batch_distinct: dict[str, float] = {}
        self.random = np.random.default_rng(seed)
        self.connection = duckdb.connect(
            config={"threads": threads or os.cpu_count() or 1, "memory_limit": memory_limit}
        )
        if relative_path not in profile.files:
            profile.files.append(relative_path)

    def close(self) -> None:
        self.connection.close()

    def add(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        table = pa.Table.from_batches([self._normalised(batch)])
        self.connection.register("batch", table)
        try:
            self._aggregates(table)
            self._hashes(table)
            self._value_counts(table)
            self._sketches(table)
            self._label_association(table)
            self._correlations(table)
            self._sample(table)
            self._pii(table)
        finally:
            self.connection.unregister("batch")
        self.profile.rows += batch.num_rows
        self.next_row += batch.num_rows

    # --- pieces -------------------------------------------------------------------------------

    def _normalised(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """Dictionary-encoded columns are decoded and decimals made float, so SQL treats them plainly."""
        arrays = []
        changed = False
        for array in batch.columns:
            if pa.types.is_dictionary(array.type):
                array = array.dictionary_decode()
                changed = True
            if pa.types.is_decimal(array.type):
                array = pc.cast(array, pa.float64())
                changed = True
            arrays.append(array)
        return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names) if changed else batch

    def _column_states(self, table: pa.Table) -> list[tuple[int, ColumnState]]:
        states = []
        for index, name in enumerate(table.column_names):
            state = self.profile.column(name)
            if state is None:
                # A column first seen in this batch (JSON Lines, files with differing columns).
                state = ColumnState(
                    name=name,
                    position=len(self.profile.columns),
                    dtype=str(table.schema.field(index).type),
                    kind=kind_of(table.schema.field(index).type),
                    count=self.profile.rows,
                    null_count=self.profile.rows,
                )
                self.profile.columns.append(state)
            states.append((index, state))
        return states

    def _aggregates(self, table: pa.Table) -> None:
        expressions: list[str] = ["count(*)"]
        plan: list[tuple[ColumnState, list[str]]] = []
        for index, state in self._column_states(table):
            column = quote(table.column_names[index])
            data_type = table.schema.field(index).type
            is_float = pa.types.is_floating(data_type)
            valid = f"{column} IS NOT NULL" + (f" AND NOT isnan({column})" if is_float else "")
            fields = ["nulls", "nans"]
            parts = [f"count(*) - count({column})", f"count_if(isnan({column}))" if is_float else "0"]
            if state.kind == "numeric":
                value = f"{column}::DOUBLE"
                # Mean and variance of the finite values; infinities are counted on their own.
                finite = f"{valid} AND NOT isinf({value})" if is_float else valid
                parts += [
                    f"min({column}) FILTER (WHERE {valid})",
                    f"max({column}) FILTER (WHERE {valid})",
                    f"avg({value}) FILTER (WHERE {finite})",
                    f"var_pop({value}) FILTER (WHERE {finite})",
                    f"count_if({column} = 0)",
                    f"count_if({column} < 0)",
                    f"count_if(isinf({column}))" if is_float else "0",
                ]
                fields += ["min", "max", "mean", "var", "zeros", "negatives", "infinities"]
            elif state.kind == "boolean":
                parts += [f"count_if({column})"]
                fields += ["true"]
            elif state.kind == "temporal":
                parts += [f"min({column})", f"max({column})"]
                fields += ["min", "max"]
            elif state.kind == "string":
                parts += [
                    f"min({column})",
                    f"max({column})",
                    f"count_if({column} = '')",
                    f"min(length({column}))",
                    f"max(length({column}))",
                    f"sum(length({column}))",
                ]
                fields += ["min", "max", "empty", "len_min", "len_max", "len_sum"]
            expressions += parts
            plan.append((state, fields))
        # fetchall: DuckDB counts a result fetched with fetchone() as unfinished.
        [row] = self.connection.execute(f"SELECT {', '.join(expressions)} FROM batch").fetchall()
        cursor = 1
        for state, fields in plan:
            values = dict(zip(fields, row[cursor : cursor + len(fields)], strict=True))
            cursor += len(fields)
            state.count += table.num_rows
            state.null_count += _count(values["nulls"])
            state.nan_count += _count(values["nans"])
            if state.kind == "numeric":
                infinities = _count(values["infinities"])
                state.infinities += infinities
                non_null = table.num_rows - _count(values["nulls"]) - _count(values["nans"]) - infinities
                state.minimum = smaller(state.minimum, _number(values["min"]))
                state.maximum = larger(state.maximum, _number(values["max"]))
                state.moments = state.moments.merge(Moments.of(non_null, values["mean"], values["var"]))
                state.zeros += _count(values["zeros"])
                state.negatives += _count(values["negatives"])
            elif state.kind == "boolean":
                state.true_count += _count(values["true"])
            elif state.kind == "temporal":
                state.minimum = smaller(state.minimum, jsonable(values["min"]))
                state.maximum = larger(state.maximum, jsonable(values["max"]))
            elif state.kind == "string":
                state.minimum = smaller(state.minimum, values["min"])
                state.maximum = larger(state.maximum, values["max"])
                state.empty_strings += _count(values["empty"])
                state.length_min = smaller(state.length_min, values["len_min"])
                state.length_max = larger(state.length_max, values["len_max"])
                state.length_sum += _count(values["len_sum"])

    def _hashes(self, table: pa.Table) -> None:
        """Distinct-count registers per column, and the row keys for duplicates and conflicts.

        DuckDB hashes each column once (missing values as 0); numpy folds the feature columns'
        hashes into one key per row, so no value is hashed twice."""
        names = table.column_names
        label = self.profile.label_column if self.profile.label_column in names else None
        selects = []
        result: dict[str, np.ndarray] = {}
        for index, name in enumerate(names):
            data_type = table.schema.field(index).type
            if pa.types.is_integer(data_type) or pa.types.is_floating(data_type):
                result[f"h{index}"] = _number_hashes(table.column(index))
                continue
            column = quote(name)
            selects.append(f"CASE WHEN {column} IS NULL THEN 0::UBIGINT ELSE hash({column}) END AS h{index}")
        if selects:
            hashed = self.connection.execute(f"SELECT {', '.join(selects)} FROM batch").fetchnumpy()
            result.update({key: np.asarray(values) for key, values in hashed.items()})  # UBIGINT: plain arrays
        rows = table.num_rows
        feature_key = np.full(rows, 0x9E3779B97F4A7C15, dtype=np.uint64)
        label_key = np.zeros(rows, dtype=np.uint64)
        self.batch_distinct = {}
        for index, name in enumerate(names):
            state = self.profile.column(name)
            assert state is not None
            hashes = np.asarray(result[f"h{index}"], dtype=np.uint64)
            registers = hll.empty()
            hll.add_hashes(registers, hashes[hashes != 0])
            self.batch_distinct[name] = hll.estimate(registers)
            np.maximum(state.registers, registers, out=state.registers)
            if state.values is not None and hll.estimate(state.registers) > EXACT_VALUES_LIMIT * 1.1:
                # Well past the exact limit: counting every value would only be thrown away.
                state.overflow_values()
            if name == label:
                label_key = hashes
            else:
                # Order-dependent mixing (multiply-xor-rotate), so equal rows, and only they, share a key.
                feature_key ^= hashes
                feature_key *= np.uint64(0xBF58476D1CE4E5B9)
                feature_key ^= feature_key >> np.uint64(31)
        first = np.arange(self.next_row, self.next_row + rows, dtype=np.uint64)
        row_ids = (np.uint64(self.file_index) << np.uint64(40)) | first
        self.profile.hashes.add(feature_key, label_key, row_ids)

    def _value_counts(self, table: pa.Table) -> None:
        for index, name in enumerate(table.column_names):
            state = self.profile.column(name)
            assert state is not None
            if state.kind == "other":
                continue
            exact = state.values is not None
            if not exact and state.kind != "string":
                continue
            non_null = max(table.num_rows - table.column(index).null_count, 1)
            if not exact and self.batch_distinct.get(name, 0) > 0.5 * non_null:
                # Nearly every value is new (an identifier): there are no frequent values to find.
                continue
            column = quote(name)
            not_missing = f"{column} IS NOT NULL"
            if pa.types.is_floating(table.schema.field(index).type):
                not_missing += f" AND NOT isnan({column})"
            limit = "" if exact else f" LIMIT {BATCH_TOP_VALUES + 1}"
            rows = self.connection.execute(
                f"SELECT {column}, count(*) AS n FROM batch WHERE {not_missing} GROUP BY 1 ORDER BY n DESC{limit}"
            ).fetchall()
            if exact:
                state.add_values([(jsonable(value), int(count)) for value, count in rows])
            if state.values is None and state.kind == "string":
                if exact:
                    continue  # add_values overflowed: the sketch already holds this batch's counts
                kept = rows[:BATCH_TOP_VALUES]
                if len(rows) > BATCH_TOP_VALUES:
                    # Values below the kept ones each occur at most this often in the batch.
                    state.frequent_error += int(rows[BATCH_TOP_VALUES][1])
                for value, count in kept:
                    state.frequent.update(str(value), int(count))

    def _sketches(self, table: pa.Table) -> None:
        for index, name in enumerate(table.column_names):
            state = self.profile.column(name)
            assert state is not None
            if state.kind == "numeric":
                values = pc.cast(table.column(index), pa.float64()).drop_null().to_numpy()
                values = values[~np.isnan(values)]
            elif state.kind == "temporal":
                seconds = self.connection.execute(
                    f"SELECT epoch({quote(name)})::DOUBLE AS s FROM batch WHERE {quote(name)} IS NOT NULL"
                ).fetchnumpy()["s"]
                values = np.asarray(seconds, dtype=np.float64)
            else:
                continue
            if values.size:
                # The sketch's binding takes only a writable, contiguous float64 array.
                state.kll.update(np.array(values, dtype=np.float64, copy=True))

    def _label_association(self, table: pa.Table) -> None:
        """Per label value: moments of each numeric feature, value counts of each categorical one.

        Computed from dictionary codes with numpy bincounts: one pass per feature, no SQL grouping."""
        label = self.profile.label_column
        if label is None or label not in table.column_names:
            return
        label_state = self.profile.column(label)
        if label_state is None or label_state.values is None or len(label_state.values) > LABEL_CLASSES_LIMIT:
            return
        encoded = pc.dictionary_encode(table.column(label).combine_chunks())
        label_values = [jsonable(value) for value in encoded.dictionary.to_pylist()]
        if not label_values:
            return
        labelled = ~encoded.indices.is_null().to_numpy(zero_copy_only=False)
        codes = pc.fill_null(encoded.indices, 0).to_numpy(zero_copy_only=False).astype(np.intp)
        classes = len(label_values)
        for index, name in enumerate(table.column_names):
            state = self.profile.column(name)
            if name == label or state is None:
                continue
            if state.kind == "numeric":
                values = pc.fill_null(pc.cast(table.column(index), pa.float64()), np.nan).to_numpy(zero_copy_only=False)
                present = labelled & np.isfinite(values)
                group = codes[present]
                x = values[present]
                n = np.bincount(group, minlength=classes)
                sums = np.bincount(group, weights=x, minlength=classes)
                means = sums / np.maximum(n, 1)
                m2 = np.bincount(group, weights=(x - means[group]) ** 2, minlength=classes)
                for code in np.flatnonzero(n):
                    key = label_values[code]
                    previous = state.by_label.get(key, Moments())
                    if isinstance(previous, Moments):
                        state.by_label[key] = previous.merge(Moments(int(n[code]), float(means[code]), float(m2[code])))
            elif (
                state.kind in ("string", "boolean")
                and state.values is not None
                and len(state.values) <= ASSOCIATION_VALUES_LIMIT
            ):
                feature = pc.dictionary_encode(table.column(index).combine_chunks())
                feature_values = [jsonable(value) for value in feature.dictionary.to_pylist()]
                if not feature_values:
                    continue
                present = labelled & ~feature.indices.is_null().to_numpy(zero_copy_only=False)
                feature_codes = pc.fill_null(feature.indices, 0).to_numpy(zero_copy_only=False).astype(np.intp)
                width = len(feature_values)
                cells = np.bincount(codes[present] * width + feature_codes[present], minlength=classes * width).reshape(
                    classes, width
                )
                for code in np.flatnonzero(cells.any(axis=1)):
                    counts = state.by_label.setdefault(label_values[code], {})
                    if isinstance(counts, dict):
                        for value_code in np.flatnonzero(cells[code]):
                            value = feature_values[value_code]
                            counts[value] = counts.get(value, 0) + int(cells[code, value_code])

    def _correlations(self, table: pa.Table) -> None:
        """Pairwise-complete co-moments of the numeric columns, from a few matrix products."""
        numeric = [
            (index, name)
            for index, name in enumerate(table.column_names)
            if (state := self.profile.column(name)) is not None
            and state.kind == "numeric"
            and name != self.profile.label_column
        ][:CORRELATION_COLUMNS]
        if len(numeric) < 2:
            return
        values = np.empty((table.num_rows, len(numeric)), dtype=np.float64)
        for k, (index, _) in enumerate(numeric):
            column = pc.fill_null(pc.cast(table.column(index), pa.float64()), np.nan)
            values[:, k] = column.to_numpy(zero_copy_only=False)
        valid = np.isfinite(values)  # nulls became NaN; infinities have no moments
        weights = valid.astype(np.float64)
        values[~valid] = 0.0
        # Centre each column on its batch mean first: raw sums of heavy-tailed values lose precision.
        present = weights.sum(axis=0)
        centre = np.divide(values.sum(axis=0), present, out=np.zeros(len(numeric)), where=present > 0)
        values -= centre
        values *= weights
        n = weights.T @ weights  # n[i, j]: rows where both are present
        sums = values.T @ weights  # sums[i, j]: sum of column i over rows where j is present too
        squares = (values * values).T @ weights
        products = values.T @ values
        for a in range(len(numeric)):
            for b in range(a + 1, len(numeric)):
                count = n[a, b]
                if not count:
                    continue
                mean_x, mean_y = sums[a, b] / count, sums[b, a] / count
                part = CoMoments(
                    int(count),
                    mean_x + centre[a],
                    mean_y + centre[b],
                    max(squares[a, b] - count * mean_x * mean_x, 0.0),
                    max(squares[b, a] - count * mean_y * mean_y, 0.0),
                    products[a, b] - count * mean_x * mean_y,
                )
                pair = (numeric[a][1], numeric[b][1])
                self.profile.pairs[pair] = self.profile.pairs.get(pair, CoMoments()).merge(part)

    def _sample(self, table: pa.Table) -> None:
        """Keep the rows with the smallest random keys: a uniform sample that merges exactly."""
        keys = self.random.random(table.num_rows)
        if table.num_rows > SAMPLE_ROWS:
            positions = np.argpartition(keys, SAMPLE_ROWS)[:SAMPLE_ROWS]
        else:
            positions = np.arange(table.num_rows)
        worst_kept = self.profile.sample[-1][0] if len(self.profile.sample) >= SAMPLE_ROWS else 2.0
        positions = positions[keys[positions] < worst_kept]
        if positions.size == 0:
            return
        rows = table.take(pa.array(positions, type=pa.int64())).to_pylist()
        for position, row in zip(positions.tolist(), rows, strict=True):
            row_id = f"{self.relative_path}:{self.next_row + position + 1}"
            values = [jsonable(row[name]) for name in table.column_names]
            self.profile.sample.append((float(keys[position]), row_id, values))
        self.profile.sample.sort(key=lambda entry: entry[0])
        del self.profile.sample[SAMPLE_ROWS:]

    def _pii(self, table: pa.Table) -> None:
        for index, name in enumerate(table.column_names):
            state = self.profile.column(name)
            if state is None or state.kind != "string" or state.pii_sampled >= PII_SAMPLE:
                continue
            values = table.column(index).drop_null().slice(0, PII_SAMPLE - state.pii_sampled)
            scan = pii.scan_values(values)
            state.pii_sampled += scan.sampled
            for kind, matches in scan.matches.items():
                state.pii_matches[kind] = state.pii_matches.get(kind, 0) + matches


def _number_hashes(column: pa.ChunkedArray) -> np.ndarray:
    """64-bit hashes of a numeric column's values (splitmix64 over their bits), 0 where missing.

    numpy does in milliseconds what a SQL hash() per value costs tenths of a second for."""
    if pa.types.is_floating(column.type):
        values = pc.fill_null(pc.cast(column, pa.float64()), np.nan).to_numpy(zero_copy_only=False)
        missing = np.isnan(values)
        bits = (values + 0.0).view(np.uint64)  # + 0.0 turns -0.0 into 0.0: equal values, equal hashes
    else:
        missing = column.is_null().to_numpy(zero_copy_only=False)
        # Unchecked: a uint64 above 2**63 keeps its bits, which is all a hash needs.
        bits = pc.fill_null(pc.cast(column, pa.int64(), safe=False), 0).to_numpy(zero_copy_only=False).view(np.uint64)
    with np.errstate(over="ignore"):
        z = bits + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    z[z == 0] = 1  # 0 marks a missing value
    z[missing] = 0
    return z


def _count(value: Any) -> int:
    # DuckDB's count_if over only NULLs is NULL, not 0.
    return int(value or 0)


def _number(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float):
        return value if not math.isnan(value) else None
    if isinstance(value, int | bool):
        return value
    return float(value)


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
) -> PartialProfile:
    profile = new_profile(schema, label_column, declared=declared)
    profiler = BatchProfiler(
        profile, file_index=file_index, relative_path=relative_path, first_row=first_row, threads=threads, seed=seed
    )
    try:
        for batch in batches:
            profiler.add(batch)
    finally:
        profiler.close()
    return profile
