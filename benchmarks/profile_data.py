"""The table of the profiling benchmark (benchmarks/profile_bench.py), generated: 15 columns of sales-like data with
planted duplicate rows, label conflicts and class shares, written as Parquet and CSV by `write_dataset` (run in a
child of its own by the benchmark) with the metadata the engine's output is checked against."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa


GENERATOR_VERSION = 1
SEED = 20_240_611
CHUNK_ROWS = 1_000_000  # one Parquet row group per chunk
LABEL = "label"
LABEL_CLASSES = ("ok", "review", "fraud", "chargeback", "bot")
LABEL_SHARES = (0.9, 0.06, 0.03, 0.009, 0.001)
CHANNELS = ("web", "app", "store", "phone")
CHANNEL_SHARES = (0.55, 0.3, 0.1, 0.05)
REGIONS = ("north", "south", "east", "west", "central", "coast", "mountain", "valley", "island", "metro", "rural", "x")
CATEGORY_COUNT = 60
SKU_COUNT = 200_000
DUPLICATE_SHARE = 100  # one row in 100 is an exact copy of another
CONFLICT_SHARE = 500  # one row in 500 copies another's features with a different label


def dataset_stem(rows: int, seed: int) -> str:
    return f"profile-bench-v{GENERATOR_VERSION}-{rows}rows-seed{seed}"


class TableGenerator:
    """Yields the table chunk by chunk (CHUNK_ROWS rows each), so memory stays bounded by one chunk.

    Base rows carry a unique customer id, so they are all distinct. On top of them, rows // DUPLICATE_SHARE exact
    copies and rows // CONFLICT_SHARE copies with a different label are planted, each of a different base row,
    taken from the same or an earlier chunk (most copies land in another row group than their source): the table
    has exactly that many duplicate rows (copies beyond the first) and that many label-conflict groups of 2 rows.
    """

    def __init__(self, rows: int, seed: int) -> None:
        import numpy as np

        self.rows = rows
        self.seed = seed
        self.duplicates = rows // DUPLICATE_SHARE
        self.conflicts = rows // CONFLICT_SHARE
        bounds = [(start, min(start + CHUNK_ROWS, rows)) for start in range(0, rows, CHUNK_ROWS)]
        self.sizes = [end - start for start, end in bounds]
        # Copies spread over the chunks in proportion to their rows.
        self.dup_per_chunk = [self.duplicates * end // rows - self.duplicates * start // rows for start, end in bounds]
        self.conf_per_chunk = [self.conflicts * end // rows - self.conflicts * start // rows for start, end in bounds]
        self.base_sizes = [
            size - dup - conf
            for size, dup, conf in zip(self.sizes, self.dup_per_chunk, self.conf_per_chunk, strict=True)
        ]
        self.base_starts = [sum(self.base_sizes[:index]) for index in range(len(self.sizes))]
        # Every copy: the chunk it lands in, whether it conflicts, and the chunk its source row comes from.
        plan = np.random.default_rng([seed, 1])
        per_chunk = list(zip(self.dup_per_chunk, self.conf_per_chunk, strict=True))
        self.copy_target = np.repeat(np.arange(len(self.sizes)), [dup + conf for dup, conf in per_chunk])
        self.copy_conflicts = np.concatenate([np.repeat([False, True], [dup, conf]) for dup, conf in per_chunk])
        self.copy_source = plan.integers(0, self.copy_target + 1)
        self.pending: list[list[pa.Table]] = [[] for _ in self.sizes]
        sku_weights = 1.0 / np.arange(1, SKU_COUNT + 1)
        self.sku_p = sku_weights / sku_weights.sum()
        category_weights = 1.0 / np.arange(1, CATEGORY_COUNT + 1) ** 0.7
        self.category_p = category_weights / category_weights.sum()

    def chunks(self) -> Iterator[pa.Table]:
        for index in range(len(self.sizes)):
            yield self._chunk(index)

    def _chunk(self, index: int) -> pa.Table:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        rng = np.random.default_rng([self.seed, 2, index])
        table, label_codes = self._base_rows(rng, self.base_starts[index], self.base_sizes[index])
        # Rows of this chunk that later (or this) chunks copy, without replacement so each source is used once.
        from_here = np.flatnonzero(self.copy_source == index)
        positions = rng.choice(len(table), size=len(from_here), replace=False)
        label_at = table.schema.get_field_index(LABEL)
        for target in map(int, np.unique(self.copy_target[from_here])):
            in_target = self.copy_target[from_here] == target
            conflicting = self.copy_conflicts[from_here]
            self.pending[target].append(table.take(positions[in_target & ~conflicting]))
            sources = positions[in_target & conflicting]
            flipped = (label_codes[sources] + rng.integers(1, len(LABEL_CLASSES), len(sources))) % len(LABEL_CLASSES)
            copies = table.take(sources)
            labels = pc.take(pa.array(LABEL_CLASSES), pa.array(flipped))
            self.pending[target].append(copies.set_column(label_at, LABEL, labels))
        chunk = pa.concat_tables([table, *self.pending[index]])
        self.pending[index] = []
        return chunk.take(rng.permutation(len(chunk)))

    def _base_rows(self, rng: np.random.Generator, start: int, count: int) -> tuple[pa.Table, np.ndarray]:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        def nullable(values: np.ndarray, share: float, type_: pa.DataType | None = None) -> pa.Array:
            return pa.array(values, mask=rng.random(count) < share, type=type_)

        def pick(dictionary: Sequence[str], codes: pa.Array) -> pa.Array:
            return pc.take(pa.array(dictionary), codes)

        index = np.arange(start, start + count, dtype=np.int64)
        # A bijection of the row index onto 12-digit numbers: unique, in no visible order.
        ids = (index * 2_654_435_761 + self.seed) % 900_000_000_000 + 100_000_000_000
        year_start = np.datetime64("2024-01-01T00:00:00", "s").astype(np.int64)
        label_codes = rng.choice(len(LABEL_CLASSES), size=count, p=LABEL_SHARES)
        returned = np.where(rng.random(count) < 0.7, 0, rng.poisson(3.0, count) + 1)
        columns = {
            "customer_id": pc.binary_join_element_wise("C", pa.array(ids).cast(pa.string()), ""),
            "event_time": pa.array(year_start + rng.integers(0, 366 * 86_400, count), type=pa.timestamp("s")),
            "channel": pick(CHANNELS, pa.array(rng.choice(len(CHANNELS), size=count, p=CHANNEL_SHARES))),
            "region": pick(REGIONS, nullable(rng.integers(0, len(REGIONS), count), 0.01)),
            "category": pick(
                [f"cat-{code:02d}" for code in range(CATEGORY_COUNT)],
                pa.array(rng.choice(CATEGORY_COUNT, size=count, p=self.category_p)),
            ),
            "sku": pick(
                [f"SKU-{code:06d}" for code in range(SKU_COUNT)],
                pa.array(rng.choice(SKU_COUNT, size=count, p=self.sku_p)),
            ),
            "amount": nullable(np.round(rng.lognormal(3.0, 1.0, count), 2), 0.02),
            "price": nullable(np.round(rng.normal(50.0, 15.0, count), 2), 0.01),
            "session_seconds": nullable(np.round((rng.pareto(1.5, count) + 1.0) * 10.0, 3), 0.005),
            "items_returned": pa.array(returned, type=pa.int64()),
            "balance_delta": nullable(np.round(rng.normal(0.0, 100.0, count), 2), 0.003),
            "age": nullable(rng.integers(18, 91, count), 0.015, pa.int64()),
            "score": pa.array(np.round(rng.random(count), 4)),
            "is_member": pa.array(rng.random(count) < 0.35),
            LABEL: pick(LABEL_CLASSES, pa.array(label_codes)),
        }
        return pa.table(columns), label_codes


def write_dataset(rows: str, seed: str, workdir: str, formats: str) -> None:
    """Write the table in each of `formats` (comma-separated: parquet, csv) and, last, its metadata JSON:
    what the table holds by construction, which the benchmark checks the engine against."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    directory = Path(workdir)
    stem = dataset_stem(int(rows), int(seed))
    paths = {fmt: directory / f"{stem}.{fmt}" for fmt in formats.split(",")}
    partial = {fmt: path.with_name(path.name + ".partial") for fmt, path in paths.items()}
    generator = TableGenerator(int(rows), int(seed))
    writers: dict[str, Any] = {}
    class_counts: dict[str, int] = dict.fromkeys(LABEL_CLASSES, 0)
    null_counts: dict[str, int] = {}
    written = 0
    for chunk in generator.chunks():
        if not writers:
            if "parquet" in paths:
                writers["parquet"] = pq.ParquetWriter(partial["parquet"], chunk.schema, compression="snappy")
            if "csv" in paths:
                writers["csv"] = pa_csv.CSVWriter(partial["csv"], chunk.schema)
            null_counts = dict.fromkeys(chunk.column_names, 0)
        if "parquet" in writers:
            writers["parquet"].write_table(chunk, row_group_size=CHUNK_ROWS)
        if "csv" in writers:
            writers["csv"].write_table(chunk)
        for item in pc.value_counts(chunk.column(LABEL)).to_pylist():
            class_counts[item["values"]] += item["counts"]
        for name in chunk.column_names:
            null_counts[name] += chunk.column(name).null_count
        written += len(chunk)
        del chunk
    for writer in writers.values():
        writer.close()
    assert written == generator.rows, (written, generator.rows)
    for fmt, path in paths.items():
        os.replace(partial[fmt], path)
    meta = {
        "generator_version": GENERATOR_VERSION,
        "rows": generator.rows,
        "seed": generator.seed,
        "columns": len(null_counts),
        "duplicate_rows": generator.duplicates,
        "label_conflicts": {"groups": generator.conflicts, "rows": 2 * generator.conflicts},
        "class_counts": class_counts,
        "null_counts": null_counts,
        "files": {fmt: {"name": path.name, "bytes": path.stat().st_size} for fmt, path in paths.items()},
        "pyarrow": pa.__version__,
    }
    meta_path = directory / f"{stem}.json"
    meta_path.with_suffix(".json.partial").write_text(json.dumps(meta, indent=1))
    os.replace(meta_path.with_suffix(".json.partial"), meta_path)


def csv_bytes_per_row(seed: int) -> float:
    """Bytes per CSV row of the generated table, from a 20,000-row sample (same for every run with one seed)."""
    import pyarrow.csv as pa_csv

    sample = next(TableGenerator(20_000, seed).chunks())
    with tempfile.TemporaryFile() as handle:
        pa_csv.write_csv(sample, handle, pa_csv.WriteOptions(include_header=False))
        return handle.tell() / len(sample)
