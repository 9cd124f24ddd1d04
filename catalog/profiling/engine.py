"""Profile a source: plan its partitions, profile each (in parallel processes when there are
several), merge the partial profiles and build the report.

The same two steps, `profile_partition` and `merge_and_build`, are what the catalog's workers run
as a Celery chord, so a large source spreads over many machines.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow.parquet as pq

from catalog.profiling import compute, report
from catalog.profiling.files import SourceError, SourceFile
from catalog.profiling.readers import Partition, plan_partitions, read_partition, read_schema
from catalog.profiling.state import PartialProfile

TABULAR_FORMATS = ("csv", "tsv", "parquet", "jsonl")
# Column names taken as the label when none is declared (compared case-insensitively).
LABEL_NAMES = ("label", "labels", "target", "class", "y", "category", "outcome")


@dataclass(frozen=True)
class Options:
    label_column: str | None = None
    batch_rows: int = 500_000
    threads: int | None = None
    memory_limit: str = "1GB"
    seed: int = 0


def choose_label(names: Sequence[str], declared: str | None) -> tuple[str | None, bool]:
    if declared:
        if declared not in names:
            shown = ", ".join(repr(name) for name in list(names)[:20])
            raise SourceError(f"The label column {declared!r} is not among the columns: {shown}.")
        return declared, True
    for name in names:
        if name.strip().lower() in LABEL_NAMES:
            return name, False
    return None, False


def _first_row(partition: Partition) -> int:
    if partition.format != "parquet" or not partition.row_groups:
        return 0
    metadata = pq.ParquetFile(partition.path).metadata
    return sum(metadata.row_group(index).num_rows for index in range(min(partition.row_groups)))


def profile_partition(
    partition: Partition, *, file_index: int, label_column: str | None, declared: bool, options: Options
) -> PartialProfile:
    schema = read_schema(partition)
    batches = read_partition(
        partition, batch_rows=options.batch_rows, memory_limit=options.memory_limit, threads=options.threads
    )
    return compute.profile_batches(
        batches,
        schema,
        label_column=label_column,
        declared=declared,
        relative_path=partition.relative_path,
        file_index=file_index,
        first_row=_first_row(partition),
        threads=options.threads,
        seed=options.seed + file_index * 1_000_003 + (min(partition.row_groups) if partition.row_groups else 0) * 1_009,
    )


def _profile_to_bytes(
    partition: Partition, file_index: int, label_column: str | None, declared: bool, options: Options
) -> bytes:
    return profile_partition(
        partition, file_index=file_index, label_column=label_column, declared=declared, options=options
    ).to_bytes()


def merge_and_build(parts: Sequence[PartialProfile]) -> dict[str, Any]:
    if not parts:
        raise SourceError("The source has no files to profile.")
    merged = parts[0]
    for part in parts[1:]:
        merged.merge(part)
    if merged.rows == 0:
        raise SourceError("The source has no data rows (the files are empty or hold only a header).")
    return report.build(merged)


def plan(
    files: Sequence[SourceFile], format: str, label_column: str | None
) -> tuple[list[Partition], str | None, bool]:
    partitions = plan_partitions(files, format)
    if not partitions:
        raise SourceError("The source has no files to profile.")
    label, declared = choose_label(read_schema(partitions[0]).names, label_column)
    return partitions, label, declared


def profile_files(
    files: Sequence[SourceFile], format: str, *, options: Options | None = None, workers: int | None = None
) -> dict[str, Any]:
    """The profile of a source's files. With several partitions and workers > 1, they are
    profiled in that many processes (each DuckDB then gets an equal share of the cores)."""
    options = options or Options()
    partitions, label, declared = plan(files, format, options.label_column)
    order = {file.relative_path: index for index, file in enumerate(sorted(files, key=lambda f: f.relative_path))}
    workers = min(workers or os.cpu_count() or 1, len(partitions))
    if workers <= 1:
        parts = [
            profile_partition(
                partition,
                file_index=order[partition.relative_path],
                label_column=label,
                declared=declared,
                options=options,
            )
            for partition in partitions
        ]
        return merge_and_build(parts)
    shared = Options(
        label_column=options.label_column,
        batch_rows=options.batch_rows,
        threads=max(1, (os.cpu_count() or 1) // workers),
        memory_limit=options.memory_limit,
        seed=options.seed,
    )
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(_profile_to_bytes, partition, order[partition.relative_path], label, declared, shared)
            for partition in partitions
        ]
        parts = [PartialProfile.from_bytes(future.result()) for future in futures]
    return merge_and_build(parts)
