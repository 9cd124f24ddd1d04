"""Parquet files: partitions of row groups, their batches, and rows recut into equal shares."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from profiler.files import SourceError, SourceFile
from profiler.objects import remote_opened
from profiler.readers.partition import Partition, _size, opened

# A folder named `key=value` (hive-style partitioning: `year=2026/month=01/part-0.parquet`) gives
# every row of the files below it the column `key`, typed from its value: whole numbers as int64,
# other numbers as float64, anything else as text. A column of the file itself wins over a folder's.
_HIVE_FOLDER = re.compile(r"^([^=/]+)=([^/]*)$")


def hive_values(relative_path: str) -> list[tuple[str, pa.Scalar]]:
    """The partition keys of a file from the `key=value` folders of its relative path, in order."""
    values: list[tuple[str, pa.Scalar]] = []
    for folder in relative_path.split("/")[:-1]:
        match = _HIVE_FOLDER.match(folder)
        if match is None or match.group(1) in {key for key, _ in values}:
            continue
        key, text = match.group(1), match.group(2)
        if re.fullmatch(r"-?\d{1,18}", text):
            values.append((key, pa.scalar(int(text), pa.int64())))
        elif re.fullmatch(r"-?\d+\.\d+", text):
            values.append((key, pa.scalar(float(text), pa.float64())))
        else:
            values.append((key, pa.scalar(text, pa.string())))
    return values


def with_hive_schema(schema: pa.Schema, relative_path: str) -> pa.Schema:
    for key, value in hive_values(relative_path):
        if schema.get_field_index(key) < 0:
            schema = schema.append(pa.field(key, value.type))
    return schema


def _with_hive_columns(batch: pa.RecordBatch, values: list[tuple[str, pa.Scalar]]) -> pa.RecordBatch:
    for key, value in values:
        if batch.schema.get_field_index(key) < 0:
            batch = batch.append_column(key, pa.array([value.as_py()] * batch.num_rows, type=value.type))
    return batch


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
    values = hive_values(partition.relative_path)
    batches = _parquet_file_batches(partition, batch_rows, threads)
    if not values:
        yield from batches
        return
    for batch in batches:
        yield _with_hive_columns(batch, values)


def _parquet_file_batches(partition: Partition, batch_rows: int, threads: int | None) -> Iterator[pa.RecordBatch]:
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
