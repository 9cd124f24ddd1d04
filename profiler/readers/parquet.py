"""Parquet files: partitions of row groups, their batches, and rows recut into equal shares."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from profiler.files import SourceError, SourceFile
from profiler.objects import remote_opened
from profiler.readers.partition import Partition, _size, opened


def _parquet_partitions(path: str, relative_path: str, target_rows: int, file: SourceFile) -> list[Partition]:
    with _parquet_file(Partition(path, relative_path, "parquet", file=file)) as parquet:
        metadata = parquet.metadata
        sizes = [metadata.row_group(index).num_rows for index in range(metadata.num_row_groups)]
    groups: list[list[int]] = []
    rows: list[int] = []
    for index, size in enumerate(sizes):
        if groups and rows[-1] + size <= target_rows:
            groups[-1].append(index)
            rows[-1] += size
        else:
            groups.append([index])
            rows.append(size)
    if len(groups) <= 1:
        return [Partition(path, relative_path, "parquet", rows_hint=sum(sizes), file=file)]
    return [
        Partition(path, relative_path, "parquet", row_groups=tuple(group), rows_hint=count, file=file)
        for group, count in zip(groups, rows, strict=True)
    ]


@contextlib.contextmanager
def _parquet_file(partition: Partition) -> Iterator[pq.ParquetFile]:
    relative_path = partition.relative_path
    remote = partition.source.remote
    if remote is not None:
        # An object read where it is: the footer, then the column chunks of the row groups asked for,
        # each by a range request; nothing of it is written to local disk.
        if remote.size == 0:
            raise SourceError(f"{relative_path} is empty.")
        with remote_opened(remote, relative_path) as handle:
            try:
                parquet = pq.ParquetFile(handle, pre_buffer=True)
            except (OSError, pa.ArrowException) as exc:
                raise SourceError(f"{relative_path} is not a readable Parquet file ({exc}).") from exc
            with parquet:
                yield parquet
        return
    with opened(partition) as readable:
        if _size(readable.path, relative_path) == 0:
            raise SourceError(f"{relative_path} is empty.")
        try:
            parquet = pq.ParquetFile(readable.path)
        except (OSError, pa.ArrowException) as exc:
            raise SourceError(f"{relative_path} is not a readable Parquet file ({exc}).") from exc
        with parquet:
            yield parquet


def _parquet_batches(partition: Partition, batch_rows: int, threads: int | None) -> Iterator[pa.RecordBatch]:
    row_groups = None if partition.row_groups is None else list(partition.row_groups)
    with _parquet_file(partition) as parquet:
        try:
            batches = parquet.iter_batches(batch_size=batch_rows, row_groups=row_groups, use_threads=threads != 1)
            if partition.rows is None:
                yield from batches
                return
            start, stop = partition.rows
            metadata = parquet.metadata
            position = sum(metadata.row_group(index).num_rows for index in range(min(row_groups or [0])))
            for batch in batches:
                end = position + batch.num_rows
                if end > start:
                    yield batch.slice(max(start - position, 0), min(stop, end) - max(start, position))
                position = end
                if position >= stop:
                    break
        except (OSError, pa.ArrowException) as exc:
            raise SourceError(f"{partition.relative_path} is not a readable Parquet file ({exc}).") from exc


def row_ranges(partitions: Sequence[Partition], parts: int) -> list[list[Partition]]:
    """Parquet partitions recut into `parts` shares of (nearly) equal rows, a share's rows being
    whole row groups or ranges within them. A row group cut in two is decoded by both shares that
    hold part of it, which costs less than one worker waiting for another."""
    files: dict[str, tuple[Partition, int]] = {}
    for partition in partitions:
        if partition.format != "parquet" or partition.rows is not None:
            raise ValueError("only whole Parquet row groups are recut")
        first, rows = files.get(partition.path, (partition, 0))
        files[partition.path] = (first, rows + (partition.rows_hint or 0))
    total = sum(rows for _, rows in files.values())
    parts = max(1, min(parts, total))
    shares: list[list[Partition]] = [[] for _ in range(parts)]
    cursor = 0  # rows handed out so far, over all files
    for path, (first, rows) in files.items():
        if rows == 0:
            shares[-1].append(first)  # no rows to share, but still a file of the source
            continue
        with _parquet_file(first) as parquet:
            metadata = parquet.metadata
            bounds = [0]
            for index in range(metadata.num_row_groups):
                bounds.append(bounds[-1] + metadata.row_group(index).num_rows)
        start = 0
        while start < rows:
            share = min(cursor * parts // total, parts - 1)
            share_end = -(-(share + 1) * total // parts)  # the first row, over all files, of the next share
            stop = min(rows, start + share_end - cursor)
            groups = tuple(
                index for index in range(metadata.num_row_groups) if bounds[index] < stop and bounds[index + 1] > start
            )
            shares[share].append(
                Partition(
                    path,
                    first.relative_path,
                    "parquet",
                    row_groups=groups,
                    rows_hint=stop - start,
                    rows=(start, stop),
                    file=first.file,
                )
            )
            cursor += stop - start
            start = stop
    return [share for share in shares if share]
