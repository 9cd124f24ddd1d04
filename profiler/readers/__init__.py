"""Source files as Arrow record batches, read in bounded memory.

CSV, TSV and JSON Lines are read by DuckDB, Parquet by pyarrow. Column names are kept exactly as the source
spells them; only duplicates change, because DuckDB renames them (`a`, `a_1`, and `A_2`, since it compares
names without case).

CSV and TSV:

* The delimiter, quoting, header and column types are detected by DuckDB's sniffer from a sample of rows (a
  TSV is always split on tabs). `NA`, `N/A`, `null`, `NULL`, `NaN`, `nan`, `None` and the empty field are
  nulls, so a numeric column with such gaps is still numeric. A CSV honours double quotes even when the
  sample has none, since a quoted field may come later. Gzip-compressed files are read as they are.
* A table separated by runs of spaces or tabs (statsmodels' data files, fixed-width tables) is one column to
  DuckDB's sniffer, which knows one-character delimiters only. When every line of the head splits on such
  runs into the same number of fields (of numbers, or with runs of two or more spaces between them), the file
  is copied as a CSV with commas into the temporary directory and read from there; a header one field short
  of the rows is a header over row names (R's write.table). Quotes, double or single, keep a field whole.
* Column types are the sniffer's, corrected where it reads text otherwise than pandas (`_TextScan._dates`,
  `_booleans`): a BOOLEAN column is one only when its sampled values are true and false (not yes/no, t/f);
  ambiguous dates (01/02/2000) are month first unless a sampled value is day first; dates with a month's
  name (Jan 1 2000) are sniffed again with their format. Timestamps with a UTC offset are instants in UTC.
* Read options (`ReadOptions`) override what is sniffed: the delimiter (or "whitespace"), the header, the
  quote, the encoding, the null tokens (which replace the ones above; the empty field stays null), and the
  lines skipped before the header. A given encoding is trusted: bytes it cannot decode fail the read with
  the reason, and so does a skip_rows that leaves no line.
* The header, or the first row of a file without one (its columns are then named column_1, column_2, ...),
  fixes the number of columns. A shorter row is padded with nulls; a longer row is an error naming its line,
  wherever it is in the file.
* A column typed from the sample whose later value does not convert is re-typed from a sniff of the whole
  file, and read as text if that does not convert either. This happens while no batch has been handed out
  yet, which covers at least the first `batch_rows` rows; after that the type cannot change without breaking
  the one schema of a partition's batches, so a later conversion failure is an error naming the line.
* Text is taken as UTF-8 (its byte order mark dropped) when its first 4 MiB are, as UTF-16 when it starts
  with a byte order mark for it. Other text is Windows-1252 (a superset of Latin-1's letters) unless
  charset-normalizer finds a non-Latin legacy encoding (Cyrillic, Greek, Hebrew, Arabic, Chinese, Japanese,
  Korean) more plausible; Central European code pages cannot be told from it reliably and are read as
  Windows-1252 too. DuckDB decodes only UTF-8, UTF-16LE and Latin-1, so such a file is first copied as UTF-8
  into the temporary directory. Invalid UTF-8 further on restarts the read past the rows already handed out:
  as Windows-1252 when the first 4 MiB were ASCII, otherwise with the invalid bytes replaced by U+FFFD.
* DuckDB 2.0 rounds a decimal value beyond the sample in a column sniffed as integer (duckdb/duckdb#25824)
  rather than failing; that value is not caught.

JSON Lines must be UTF-8; nested objects and arrays become STRUCT and LIST columns, a malformed line is an
error naming its line. Parquet partitions read only their row groups.

Every file is opened through `files.open_file` (no link followed below its storage root, still the file
its source was expanded to), and DuckDB and pyarrow are given the path of that open descriptor, so what
they read is the file that was checked whatever its name leads to by then.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from profiler.files import SourceError, SourceFile, format_from_name
from profiler.readers.encodings import legacy_encoding
from profiler.readers.options import (
    MAX_NULL_VALUE_LENGTH,
    MAX_NULL_VALUES,
    MAX_SKIP_ROWS,
    READ_OPTION_NAMES,
    WHITESPACE,
    ReadOptions,
    read_options_parse,
)
from profiler.readers.parquet import _parquet_batches, _parquet_file, _parquet_partitions, row_ranges, with_hive_schema
from profiler.readers.partition import Partition, opened
from profiler.readers.text import NULL_TOKENS, _duckdb, _duckdb_batches, _TextScan

__all__ = [
    "MAX_NULL_VALUES",
    "MAX_NULL_VALUE_LENGTH",
    "MAX_SKIP_ROWS",
    "NULL_TOKENS",
    "READ_OPTION_NAMES",
    "WHITESPACE",
    "Partition",
    "ReadOptions",
    "first_row",
    "legacy_encoding",
    "opened",
    "plan_partitions",
    "read_layout",
    "read_options_parse",
    "read_partition",
    "read_schema",
    "row_ranges",
]

# What a file's name may announce for each format: delimited text is often named .txt or .tsv for a .csv.
_NAMES_ACCEPTED: dict[str, frozenset[str | None]] = {
    "csv": frozenset({"csv", "tsv", "text", None}),
    "tsv": frozenset({"csv", "tsv", "text", None}),
    "jsonl": frozenset({"jsonl", "text", None}),
    "parquet": frozenset({"parquet", None}),
}


def plan_partitions(
    files: Sequence[SourceFile], format: str, *, target_rows: int = 1_000_000, read_options: ReadOptions | None = None
) -> list[Partition]:
    """Partitions of `files`, all read as `format`.

    A Parquet file's consecutive row groups are grouped up to `target_rows` rows (a larger row group is a
    partition of its own); any other file is one partition. `read_options` apply to CSV and TSV files only.
    """
    accepted = _NAMES_ACCEPTED.get(format)
    if accepted is None:
        raise SourceError(f"{format!r} is not a tabular format; profiling reads csv, tsv, jsonl and parquet.")
    if read_options is not None and format not in ("csv", "tsv"):
        raise SourceError(f"Read options apply to csv and tsv sources; this source is {format}.")
    partitions: list[Partition] = []
    for file in files:
        announced = format_from_name(file.relative_path)
        if announced not in accepted:
            raise SourceError(
                f"{file.relative_path} is named like a {announced} file, but the source is {format}: "
                f"remove it from the source or correct the source's format."
            )
        path = str(Path(file.path).absolute())
        if format == "parquet":
            partitions.extend(_parquet_partitions(path, file.relative_path, target_rows, file))
        else:
            partitions.append(
                Partition(
                    path=path, relative_path=file.relative_path, format=format, file=file, read_options=read_options
                )
            )
    return partitions


def read_partition(
    partition: Partition, *, batch_rows: int = 500_000, memory_limit: str = "1GB", threads: int | None = None
) -> Iterator[pa.RecordBatch]:
    """The partition's rows in batches of at most `batch_rows` rows, all with one schema.

    DuckDB's parallel CSV reader hands out batches of some tens of thousands of rows, Parquet batches end at
    row group boundaries. A file without rows (a header only) yields no batch. Closing the iterator early
    releases DuckDB's memory and temporary files at once.
    """
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1.")
    if partition.format == "parquet":
        return _parquet_batches(partition, batch_rows, threads)
    return _duckdb_batches(partition, batch_rows, memory_limit, threads)


def read_schema(partition: Partition) -> pa.Schema:
    """The column names and types of the partition's batches, from metadata or a sample of rows.

    For CSV the types are the sniffed ones: in the rare file where a value beyond the sample does not convert,
    read_partition's batches carry the re-detected type instead. A text file in a legacy encoding is copied as
    UTF-8 first, which reads all of it.
    """
    if partition.format == "parquet":
        with _parquet_file(partition) as parquet:
            return with_hive_schema(parquet.schema_arrow, partition.relative_path)
    return read_layout(partition)[0]


def read_layout(partition: Partition) -> tuple[pa.Schema, dict[str, Any] | None]:
    """The partition's schema (as read_schema) and, for delimited text, how it is read: its `delimiter` (a
    character, or "whitespace" for runs of spaces and tabs), `quote` ("" for none), `escape`, `header`,
    `encoding` (of the file, before any copy as UTF-8), `skip_rows` and `null_values`."""
    if partition.format == "parquet":
        return read_schema(partition), None
    # The sniff holds a sample of rows in memory: a file of 10,000 columns needs more than 256 MB.
    with opened(partition) as readable, _duckdb(memory_limit="1GB", threads=1) as (connection, scratch):
        scan = _TextScan(connection, scratch, readable)
        return scan.schema(), scan.dialect()


def first_row(partition: Partition) -> int:
    """The number, in its file, of the partition's first row."""
    if partition.rows is not None:
        return partition.rows[0]
    if partition.format != "parquet" or not partition.row_groups:
        return 0
    with _parquet_file(partition) as parquet:
        metadata = parquet.metadata
    return sum(metadata.row_group(index).num_rows for index in range(min(partition.row_groups)))
