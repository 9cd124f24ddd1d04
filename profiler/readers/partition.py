"""Units of reading work: one file, or some row groups (or rows) of one Parquet file."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from profiler.files import SourceError, SourceFile, opened_path
from profiler.readers.options import ReadOptions


@dataclass(frozen=True)
class Partition:
    """A unit of profiling work: one file, or some row groups of one Parquet file."""

    path: str
    relative_path: str
    format: str
    row_groups: tuple[int, ...] | None = None
    rows_hint: int | None = None
    # Rows [start, stop) of a Parquet file, when a partition ends inside a row group; `row_groups`
    # are then the groups those rows are in.
    rows: tuple[int, int] | None = None
    # The file as its source was expanded (its root and identity); None for a bare path.
    file: SourceFile | None = None
    # How a delimited text file is read, when its source says so.
    read_options: ReadOptions | None = None

    @property
    def source(self) -> SourceFile:
        return self.file or SourceFile(self.relative_path, Path(self.path))


@contextlib.contextmanager
def opened(partition: Partition) -> Iterator[Partition]:
    """The partition with its path naming its file opened safely, for as long as the context lasts."""
    with opened_path(partition.source) as path:
        yield replace(partition, path=path)


def _size(path: str, relative_path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError as exc:
        raise SourceError(f"{relative_path} cannot be read: {exc.strerror or exc}.") from exc
