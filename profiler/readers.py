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

import codecs
import contextlib
import csv
import gzip
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import charset_normalizer
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from profiler.files import SourceError, SourceFile, format_from_name, opened_path

NULL_TOKENS = ("", "NA", "N/A", "null", "NULL", "NaN", "nan", "None")

# What a file's name may announce for each format: delimited text is often named .txt or .tsv for a .csv.
_NAMES_ACCEPTED: dict[str, frozenset[str | None]] = {
    "csv": frozenset({"csv", "tsv", "text", None}),
    "tsv": frozenset({"csv", "tsv", "text", None}),
    "jsonl": frozenset({"jsonl", "text", None}),
    "parquet": frozenset({"parquet", None}),
}

_HEAD_BYTES = 4 * 1024 * 1024

# Encodings of text that is not UTF-8 told apart by charset-normalizer, in order of preference when equally
# plausible. Latin-script code pages other than Windows-1252 are left out: on Western text they often score
# better (cp1257 for French) and garble its accents.
_LEGACY_ENCODINGS = ("cp1252", "cp1251", "koi8_r", "cp1253", "cp1255", "cp1256", "gb18030", "cp932", "big5", "cp949")

# A null string no text field holds, so that reading a row, an empty field is '' and only padding is NULL.
_NO_NULL = "\x00"

# Each recovery changes one thing (threads, encoding, a full sniff, one column read as text).
_MAX_ATTEMPTS = 4

# DuckDB raises its own errors while binding; those met while streaming reach us through Arrow, as OSError.
_READ_ERRORS = (duckdb.Error, pa.ArrowException, OSError)

_LINE_NUMBER = re.compile(r"\bLine: (\d+)|\bin line (\d+)")
_TOO_MANY_FIELDS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_CONVERTED_COLUMN = re.compile(r'Error when converting column "((?:[^"]|"")*)"')
_ERROR_PREFIX = re.compile(r"^(?:[A-Z][A-Za-z]* )+Error: ")

# The delimiter that stands for runs of spaces and tabs (statsmodels' data files, fixed-width tables).
WHITESPACE = "whitespace"

READ_OPTION_NAMES = ("delimiter", "header", "quote", "encoding", "null_values", "skip_rows")
MAX_NULL_VALUES = 64
MAX_NULL_VALUE_LENGTH = 128
MAX_SKIP_ROWS = 1_000_000

# Rows of the head looked at to tell a table separated by runs of spaces from a one-column file.
_WHITESPACE_SAMPLE_LINES = 200

# The types DuckDB's sniffer may give a column. A BOOLEAN column is kept only when its values are true and
# false (`_TextScan._booleans`).
_TYPE_CANDIDATES = ("BOOLEAN", "BIGINT", "DOUBLE", "TIME", "DATE", "TIMESTAMP", "TIMESTAMPTZ", "VARCHAR")

# Rows DuckDB's sniffer samples by default, and rows of the head whose text is looked at for dates it does
# not know.
_SNIFF_ROWS = 20_480
_HEAD_ROWS = 20

# A date or timestamp format that reads the day first (%d/%m/%Y, %d.%m.%Y %H:%M).
_DAY_FIRST = re.compile(r"^%d(\W)%m\1")

_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_FULL_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
# Dates written with the month's name, which DuckDB's sniffer does not try, and their format.
_NAMED_DATES = tuple(
    (re.compile(pattern, re.IGNORECASE), format)
    for pattern, format in (
        (rf"(?:{_MONTHS}) \d{{1,2}} \d{{4}}", "%b %d %Y"),
        (rf"(?:{_MONTHS})-\d{{1,2}}-\d{{4}}", "%b-%d-%Y"),
        (rf"(?:{_MONTHS}) \d{{1,2}}, \d{{4}}", "%b %d, %Y"),
        (rf"(?:{_FULL_MONTHS}) \d{{1,2}} \d{{4}}", "%B %d %Y"),
        (rf"(?:{_FULL_MONTHS}) \d{{1,2}}, \d{{4}}", "%B %d, %Y"),
        (rf"\d{{1,2}} (?:{_MONTHS}) \d{{4}}", "%d %b %Y"),
        (rf"\d{{1,2}}-(?:{_MONTHS})-\d{{4}}", "%d-%b-%Y"),
        (rf"\d{{1,2}} (?:{_FULL_MONTHS}) \d{{4}}", "%d %B %Y"),
    )
)


@dataclass(frozen=True)
class ReadOptions:
    """How a delimited text file is to be read, where a person knows better than the sniffer.

    None leaves the choice to the sniffer (for `null_values`: the default tokens).
    """

    delimiter: str | None = None  # one character, or WHITESPACE for runs of spaces and tabs
    header: bool | None = None
    quote: str | None = None  # one character; "" reads quotes as ordinary characters
    encoding: str | None = None  # a Python codec name
    null_values: tuple[str, ...] | None = None
    skip_rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The options that were given, as the API and the CLI spell them."""
        values: dict[str, Any] = {
            "delimiter": "\\t" if self.delimiter == "\t" else self.delimiter,
            "header": self.header,
            "quote": self.quote,
            "encoding": self.encoding,
            "null_values": list(self.null_values) if self.null_values is not None else None,
            "skip_rows": self.skip_rows or None,
        }
        return {name: value for name, value in values.items() if value is not None}


def read_options_parse(values: Mapping[str, Any] | None) -> ReadOptions | None:
    """Read options from what a person wrote (the API's `source.read_options`, the CLI's flags).

    Raises ValueError with a message naming what is wrong; None or {} give None.
    """
    if not values:
        return None
    if not isinstance(values, Mapping):
        raise ValueError("read_options must be an object.")
    unknown = sorted(str(name) for name in values if name not in READ_OPTION_NAMES)
    if unknown:
        raise ValueError(
            f"Unknown read option(s): {', '.join(unknown)}; the read options are {', '.join(READ_OPTION_NAMES)}."
        )
    delimiter = _delimiter(values.get("delimiter"))
    header = values.get("header")
    if header is not None and not isinstance(header, bool):
        raise ValueError("header must be true or false.")
    quote = values.get("quote")
    if quote is not None:
        if not isinstance(quote, str) or len(quote) > 1 or (quote and quote in "\r\n\x00"):
            raise ValueError('quote must be one character (such as \'"\'), or "" to read quotes as ordinary text.')
        if quote and quote == delimiter:
            raise ValueError("quote and delimiter must differ.")
    encoding = values.get("encoding")
    if encoding is not None:
        encoding = _encoding(encoding)
    null_values = values.get("null_values")
    if null_values is not None:
        if not isinstance(null_values, list | tuple) or not all(isinstance(item, str) for item in null_values):
            raise ValueError("null_values must be a list of strings.")
        if len(null_values) > MAX_NULL_VALUES:
            raise ValueError(f"null_values holds at most {MAX_NULL_VALUES} strings.")
        if any(len(item) > MAX_NULL_VALUE_LENGTH or "\n" in item or "\r" in item for item in null_values):
            raise ValueError(f"Each of null_values is one line of at most {MAX_NULL_VALUE_LENGTH} characters.")
        null_values = tuple(dict.fromkeys(null_values))
    skip_rows = values.get("skip_rows", 0)
    if skip_rows is None:
        skip_rows = 0
    if isinstance(skip_rows, bool) or not isinstance(skip_rows, int) or not 0 <= skip_rows <= MAX_SKIP_ROWS:
        raise ValueError(f"skip_rows must be a whole number from 0 to {MAX_SKIP_ROWS:,}.")
    options = ReadOptions(delimiter, header, quote, encoding, null_values, skip_rows)
    return options if options != ReadOptions() else None


def _delimiter(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError('delimiter must be a string: one character, "\\t" or "whitespace".')
    if value in ("\\t", "\t", "tab"):
        return "\t"
    if value.lower() == WHITESPACE:
        return WHITESPACE
    if len(value) != 1 or value in "\r\n\x00":
        raise ValueError(
            f"delimiter {value[:20]!r} is not one character; give one character (such as ';' or '|'), "
            '"\\t" for tabs, or "whitespace" for runs of spaces.'
        )
    return value


def _encoding(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > 64:
        raise ValueError("encoding must be the name of a text encoding, such as 'utf-8', 'latin-1' or 'cp1252'.")
    try:
        info = codecs.lookup(value)
    except LookupError:
        raise ValueError(
            f"encoding {value!r} is not an encoding Python knows; try 'utf-8', 'latin-1', 'cp1252' or 'utf-16'."
        ) from None
    if not getattr(info, "_is_text_encoding", True):
        raise ValueError(f"encoding {value!r} is not a text encoding.")
    return info.name


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
            return parquet.schema_arrow
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


def _held_back(batches: Iterable[pa.RecordBatch], size: int) -> Iterator[pa.RecordBatch]:
    """The batches cut to at most `size` rows, none handed out before `size` rows were read.

    DuckDB's parallel CSV reader hands out batches of some tens of thousands of rows, whatever the size asked
    for; holding the first ones back keeps a conversion error in the first `size` rows recoverable, since no
    batch of the old schema has gone out yet.
    """
    held: list[pa.RecordBatch] | None = []
    rows = 0
    for batch in batches:
        pieces = [batch.slice(start, size) for start in range(0, batch.num_rows, size)]
        if held is None:
            yield from pieces
            continue
        held.extend(pieces)
        rows += batch.num_rows
        if rows >= size:
            yield from held
            held = None
    yield from held or ()


def _size(path: str, relative_path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError as exc:
        raise SourceError(f"{relative_path} cannot be read: {exc.strerror or exc}.") from exc


@contextlib.contextmanager
def _duckdb(*, memory_limit: str, threads: int | None) -> Iterator[tuple[duckdb.DuckDBPyConnection, Path]]:
    """A private DuckDB with bounded memory, spilling to (and copying files into) a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="profiling-") as scratch:
        connection = duckdb.connect(
            config={"memory_limit": memory_limit, "threads": threads or os.cpu_count() or 1, "temp_directory": scratch}
        )
        # Timestamps with an offset are read as instants; in UTC, whatever the server's zone, so that one
        # without an offset in such a column means UTC too. The setting needs ICU, which DuckDB's wheels build
        # in; without it DuckDB keeps every zone in UTC anyway.
        with contextlib.suppress(duckdb.Error):
            connection.execute("SET TimeZone = 'UTC'")
        try:
            yield connection, Path(scratch)
        finally:
            connection.close()


def _duckdb_batches(
    partition: Partition, batch_rows: int, memory_limit: str, threads: int | None
) -> Iterator[pa.RecordBatch]:
    with opened(partition) as readable, _duckdb(memory_limit=memory_limit, threads=threads) as (connection, scratch):
        yield from _TextScan(connection, scratch, readable).batches(batch_rows)


@dataclass
class _Text:
    """The bytes DuckDB reads for a text file: the file itself or a UTF-8 copy, and how they are encoded."""

    path: str
    encoding: str
    compression: str
    ascii_head: bool
    copied: bool = False
    # The file's own encoding, whatever the copy is in.
    source_encoding: str = "utf-8"
    # A copy of a table separated by runs of spaces, rewritten with commas, and the quote of the file's fields.
    whitespace: bool = False
    quote: str = '"'


@dataclass
class _TextScan:
    """One text file read by DuckDB, recovering from what a sample of it could not foresee."""

    connection: duckdb.DuckDBPyConnection
    scratch: Path
    partition: Partition
    text: _Text | None = None
    options: dict[str, Any] | None = None
    full_sniff: bool = False
    serial: bool = False
    attempts: int = field(default=0, init=False)

    def schema(self) -> pa.Schema:
        while True:
            try:
                with self._rows(limit=0).to_arrow_reader() as reader:
                    return reader.schema
            except _READ_ERRORS as exc:
                self._recover(exc, delivered=0)

    def batches(self, batch_rows: int) -> Iterator[pa.RecordBatch]:
        delivered = 0
        while True:
            try:
                # After a recovery that keeps the schema the read resumes past the rows already handed out.
                with self._rows(offset=delivered).to_arrow_reader(batch_rows) as reader:
                    for batch in _held_back(reader, batch_rows):
                        yield batch
                        delivered += batch.num_rows
                return
            except _READ_ERRORS as exc:
                self._recover(exc, delivered)

    @property
    def read_options(self) -> ReadOptions:
        return self.partition.read_options or ReadOptions()

    def dialect(self) -> dict[str, Any] | None:
        """How the file was read, once its schema is known; None for JSON Lines."""
        if self.partition.format == "jsonl" or self.options is None or self.text is None:
            return None
        whitespace = self.text.whitespace
        return {
            "delimiter": WHITESPACE if whitespace else self.options["delim"],
            "quote": self.text.quote if whitespace else self.options["quote"],
            "escape": self.text.quote if whitespace else self.options["escape"],
            "header": bool(self.options["header"]),
            "encoding": self.text.source_encoding,
            "skip_rows": self.options["skip"],
            "null_values": [token for token in self.options["nullstr"] if token],
        }

    def _rows(self, *, limit: int | None = None, offset: int = 0) -> duckdb.DuckDBPyRelation:
        if self.text is None:
            self.text = _text_of(self.partition, self.scratch, self.read_options.encoding)
        if self.options is None:
            self.options = self._plan(self.text)
        options = {**self.options, "compression": self.text.compression}
        if self.partition.format == "jsonl":
            function = "read_json"
        else:
            function = "read_csv"
            options.update(encoding=self.text.encoding, parallel=False if self.serial else None)
        query = f"SELECT * FROM {function}(?, {_options(options)})"
        if limit is not None:
            query += f" LIMIT {limit}"
        if offset:
            query += f" OFFSET {offset}"
        return self.connection.sql(query, params=[self.text.path])

    def _plan(self, text: _Text) -> dict[str, Any]:
        if self.partition.format == "jsonl":
            return {"format": "newline_delimited", **({"sample_size": -1} if self.full_sniff else {})}
        given = self.read_options
        if given.delimiter == WHITESPACE and not text.whitespace:
            row_names = _whitespace_layout(text, given) == "row_names"
            text = self.text = _whitespace_copy(self.partition, text, self.scratch, given, row_names=row_names)
        if given.skip_rows:
            _check_skip_rows(self.partition, text, given.skip_rows)
        base: dict[str, Any] = {
            "encoding": text.encoding,
            "compression": text.compression,
            "null_padding": True,
            # Given null values replace the usual tokens; the empty field stays null either way.
            "nullstr": list(dict.fromkeys(("", *given.null_values))) if given.null_values else list(NULL_TOKENS),
            "auto_type_candidates": list(_TYPE_CANDIDATES),
        }
        if text.whitespace:
            base.update(delim=",", quote='"', escape='"')
        elif given.delimiter is not None:
            base["delim"] = given.delimiter
        elif self.partition.format == "tsv":
            base["delim"] = "\t"
        if given.quote is not None and not text.whitespace:
            base["quote"] = given.quote
        if given.header is not None:
            base["header"] = given.header
        if given.skip_rows:
            base["skip"] = given.skip_rows
        delim, quote, escape, new_line, comment, skip, header, columns, date_format, timestamp_format = self._sniff(
            text, base
        )
        layout = (
            _whitespace_layout(text, given)
            if len(columns) == 1 and given.delimiter is None and self.partition.format == "csv" and not text.whitespace
            else None
        )
        if layout is not None:
            # The sniffer knows one-character delimiters only: a table separated by runs of spaces is
            # one text column to it. Rewritten with commas, it is an ordinary CSV.
            self.text = _whitespace_copy(self.partition, text, self.scratch, given, row_names=layout == "row_names")
            return self._plan(self.text)
        if quote == "(empty)" and self.partition.format == "csv" and given.quote is None:
            # A sample without quotes does not mean a file without them: a quoted field spanning lines further
            # on would be split. Quotes inside an unquoted field stay literal, so quoting costs nothing.
            quote = escape = '"'
        # The sniffer's "(empty)" means the option is off; the reader says that with an empty string.
        dialect: dict[str, Any] = {
            "delim": delim,
            "quote": "" if quote == "(empty)" else quote,
            "escape": "" if escape == "(empty)" else escape,
            "comment": "" if comment == "(empty)" else comment,
            "skip": skip,
            "new_line": new_line if new_line in ("\\n", "\\r", "\\r\\n") else None,
        }
        # Padding lets the sniffer count the widest sampled row as columns; the first row decides instead.
        head = self._head(text, dialect, len(columns))
        first: list[str | None] = head[0] if head else [None] * len(columns)
        present = [index for index, value in enumerate(first) if value is not None]
        width = present[-1] + 1 if present else len(columns)
        names = [column["name"] for column in columns[:width]]
        # A file without a header gets its columns numbered from 1, as people count them.
        names = _header_names(names, first) if header else [f"column_{index}" for index in range(1, len(names) + 1)]
        known = {**base, **dialect, "header": header}
        types = [column["type"] for column in columns]
        types, date_format, timestamp_format = self._dates(
            text, known, types, date_format, timestamp_format, head[1:] if header else head
        )
        types = self._booleans(text, known, types)
        return {
            **base,
            **dialect,
            "auto_detect": False,
            "header": header,
            "columns": dict(zip(names, types, strict=False)),
            "dateformat": date_format,
            "timestampformat": timestamp_format,
        }

    def _sniff(self, text: _Text, options: dict[str, Any]) -> tuple[Any, ...]:
        """DuckDB's sniff: delimiter, quote, escape, new line, comment, skipped rows, header, columns (names and
        types), date format and timestamp format."""
        return self.connection.sql(
            "SELECT Delimiter, Quote, Escape, NewLineDelimiter, Comment, SkipRows, HasHeader, Columns, DateFormat,"
            f" TimestampFormat FROM sniff_csv(?, {_options({**options, 'sample_size': -1 if self.full_sniff else None})})",
            params=[text.path],
        ).fetchall()[0]

    def _dates(
        self,
        text: _Text,
        known: dict[str, Any],
        types: list[str],
        date_format: str | None,
        timestamp_format: str | None,
        rows: list[list[str | None]],
    ) -> tuple[list[str], str | None, str | None]:
        """The column types and formats with the dates the sniffer reads day first or not at all.

        DuckDB applies one date format and one timestamp format to a file. Where the sampled values are all
        ambiguous (01/02/2000), its sniffer reads them day first; they are read month first, as pandas does,
        unless a value proves them day first (its first part above 12): the month-first format then fails to
        type the same columns. Dates with a month's name (Jan 1 2000, Jan-1-1995, 1 January 2000) are not
        among the sniffer's formats: a text column whose first value looks like one is sniffed again with that
        format, kept when that makes text columns dates and changes nothing else."""
        formats = {"dateformat": date_format, "timestampformat": timestamp_format}
        for option, value in formats.items():
            if value and _DAY_FIRST.match(value):
                month_first = _month_first(value)
                if [column["type"] for column in self._sniff(text, {**known, option: month_first})[7]] == types:
                    formats[option] = month_first
        named = _named_date_format(rows, types, known["nullstr"])
        if named is not None:
            again = self._sniff(text, {**known, "dateformat": named})
            retyped = [column["type"] for column in again[7]]
            changed = {(old, new) for old, new in zip(types, retyped, strict=False) if old != new}
            if len(retyped) == len(types) and changed == {("VARCHAR", "DATE")}:
                types, formats["dateformat"] = retyped, named
        return types, formats["dateformat"], formats["timestampformat"]

    def _booleans(self, text: _Text, known: dict[str, Any], types: list[str]) -> list[str]:
        """The column types with those sniffed BOOLEAN kept so only when their sampled values are true and
        false (in any case). DuckDB's BOOLEAN also takes yes/no and t/f, which pandas keeps as text, and a
        label's classes as written."""
        candidates = [index for index, kind in enumerate(types) if kind == "BOOLEAN"]
        if not candidates:
            return types
        options = {
            **{name: value for name, value in known.items() if name != "auto_type_candidates"},
            "auto_detect": False,
            "columns": {f"c{index}": "VARCHAR" for index in range(len(types))},
            "parallel": False,
        }
        checks = ", ".join(f"coalesce(bool_and(lower(c{index}) IN ('true', 'false')), true)" for index in candidates)
        limit = "" if self.full_sniff else f" LIMIT {_SNIFF_ROWS}"
        verdicts = self.connection.sql(
            f"SELECT {checks} FROM (SELECT * FROM read_csv(?, {_options(options)}){limit})", params=[text.path]
        ).fetchall()[0]
        kept = dict(zip(candidates, verdicts, strict=True))
        return [kind if kept.get(index, True) else "VARCHAR" for index, kind in enumerate(types)]

    def _head(self, text: _Text, dialect: dict[str, Any], widest: int) -> list[list[str | None]]:
        """The first rows' fields as written (the header among them), None past a row's end."""
        options = {
            **dialect,
            "encoding": text.encoding,
            "compression": text.compression,
            "auto_detect": False,
            "header": False,
            "columns": {f"c{index}": "VARCHAR" for index in range(widest)},
            "null_padding": True,
            "nullstr": [_NO_NULL],
            "parallel": False,
        }
        rows = self.connection.sql(
            f"SELECT * FROM read_csv(?, {_options(options)}) LIMIT {_HEAD_ROWS}", params=[text.path]
        )
        return [[*row] for row in rows.fetchall()]

    def _recover(self, exc: Exception, delivered: int) -> None:
        """Change how the file is read so that the next attempt can succeed, or raise SourceError."""
        message = str(exc)
        self.attempts += 1
        if self.attempts > _MAX_ATTEMPTS + len((self.options or {}).get("columns", ())):
            raise _source_error(self.partition, self.text, exc, options=self.options)
        if "parallel scanner does not support null_padding" in message and not self.serial:
            # DuckDB's parallel reader cannot pad rows once a quoted field spans lines: read on one thread.
            self.serial = True
        elif "Invalid unicode" in message and self.text is not None and self.text.encoding == "utf-8":
            if self.text.copied or self.read_options.encoding is not None:
                raise _source_error(self.partition, self.text, exc, options=self.options)
            self.text = _past_invalid_utf8(self.partition, self.text, self.scratch)
        elif "Conversion Error" in message or "JSON transform error" in message:
            if delivered:
                raise _source_error(self.partition, self.text, exc, typed_from_sample=True, options=self.options)
            if not self.full_sniff:
                self.full_sniff = True
                self.options = None
            else:
                self._read_as_text(exc)
        else:
            raise _source_error(self.partition, self.text, exc, options=self.options)

    def _read_as_text(self, exc: Exception) -> None:
        match = _CONVERTED_COLUMN.search(str(exc))
        columns = (self.options or {}).get("columns", {})
        name = match.group(1).replace('""', '"') if match else None
        if name not in columns or columns[name] == "VARCHAR":
            raise _source_error(self.partition, self.text, exc, options=self.options)
        columns[name] = "VARCHAR"


def _header_names(sniffed: list[str], written: list[str | None]) -> list[str]:
    """The header's names as written: DuckDB trims their spaces. Its names for duplicates and blanks stay."""
    names = [
        field if field is not None and field.strip() == name else name
        for name, field in zip(sniffed, written, strict=False)
    ]
    # DuckDB compares names without case; a clash would make it rename again.
    return names if len({name.lower() for name in names}) == len(names) else sniffed


def _text_of(partition: Partition, scratch: Path, encoding: str | None = None) -> _Text:
    """How DuckDB can read the file: as it is, or copied as UTF-8 when DuckDB does not know its encoding.

    A given `encoding` is trusted rather than detected, and bytes it cannot decode fail the read."""
    relative_path = partition.relative_path
    if _size(partition.path, relative_path) == 0:
        raise SourceError(f"{relative_path} is empty.")
    try:
        compression = "gzip" if _is_gzip(partition.path) else "none"
        with _open_bytes(partition.path, compression) as handle:
            head = handle.read(_HEAD_BYTES)
    except (OSError, EOFError) as exc:
        raise SourceError(f"{relative_path} cannot be read: {exc}.") from exc
    if not head:
        raise SourceError(f"{relative_path} is empty.")
    text = _Text(partition.path, "utf-8", compression, ascii_head=head.isascii())
    if encoding in ("utf-8", "utf-8-sig"):
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=len(head) < _HEAD_BYTES)
        except UnicodeDecodeError as exc:
            raise _undecodable(partition, encoding, exc) from exc
        text.source_encoding = encoding
        return text
    if encoding is not None:
        text.source_encoding = encoding
        return _utf8_copy(partition, text, encoding, scratch, strict=True)
    if partition.format == "jsonl" or _is_utf8(head, complete=len(head) < _HEAD_BYTES):
        return text
    if head.startswith(codecs.BOM_UTF16_LE):
        text.encoding = text.source_encoding = "utf-16"
        return text
    text.source_encoding = "utf-16" if head.startswith(codecs.BOM_UTF16_BE) else legacy_encoding(head)
    return _utf8_copy(partition, text, text.source_encoding, scratch)


def _past_invalid_utf8(partition: Partition, text: _Text, scratch: Path) -> _Text:
    """The file re-read after DuckDB met invalid UTF-8 beyond the head that looked like UTF-8."""
    text.source_encoding = "cp1252" if text.ascii_head else "utf-8"
    return _utf8_copy(partition, text, "cp1252" if text.ascii_head else "utf-8-sig", scratch)


def _utf8_copy(partition: Partition, text: _Text, encoding: str, scratch: Path, *, strict: bool = False) -> _Text:
    descriptor, target = tempfile.mkstemp(suffix=".txt", dir=scratch)
    try:
        with (
            os.fdopen(descriptor, "w", encoding="utf-8", newline="") as copy,
            _open_bytes(text.path, text.compression) as raw,
            io.TextIOWrapper(raw, encoding=encoding, errors="strict" if strict else "replace", newline="") as source,
        ):
            shutil.copyfileobj(source, copy, 1024 * 1024)
    except UnicodeError as exc:
        raise _undecodable(partition, encoding, exc) from exc
    except (OSError, EOFError) as exc:
        raise SourceError(f"{partition.relative_path} cannot be read: {exc}.") from exc
    return _Text(target, "utf-8", "none", text.ascii_head, copied=True, source_encoding=text.source_encoding)


def _undecodable(partition: Partition, encoding: str, exc: UnicodeError) -> SourceError:
    if isinstance(exc, UnicodeDecodeError):
        shown = exc.object[exc.start : exc.end][:8].hex(" ")
        why = f"bytes {shown} are not {encoding} ({exc.reason})"
    else:
        why = str(exc)
    return SourceError(
        f"{partition.relative_path} cannot be decoded as {encoding}, the encoding given: {why}. "
        "Give the encoding the file was saved in (such as utf-8, cp1252, latin-1 or utf-16)."
    )


def _text_lines(text: _Text, *, errors: str = "replace") -> io.TextIOWrapper:
    """The text (a UTF-8 copy, or the file itself in UTF-8 or UTF-16) as lines."""
    encoding = "utf-16" if text.encoding == "utf-16" else "utf-8-sig"
    return io.TextIOWrapper(_open_bytes(text.path, text.compression), encoding=encoding, errors=errors, newline="")


def _check_skip_rows(partition: Partition, text: _Text, skip_rows: int) -> None:
    """A skip_rows that leaves no line is an error, rather than an empty table."""
    lines = 0
    try:
        with _text_lines(text) as handle:
            for _ in handle:
                lines += 1
                if lines > skip_rows:
                    return
    except (OSError, EOFError) as exc:
        raise SourceError(f"{partition.relative_path} cannot be read: {exc}.") from exc
    raise SourceError(
        f"{partition.relative_path}: skip_rows is {skip_rows:,}, but the file has only {lines:,} line(s); "
        "give a smaller skip_rows."
    )


def _whitespace_rows(lines: Iterable[str], quote: str) -> Iterator[list[str]]:
    """Fields of lines separated by runs of spaces and tabs, quoted fields kept whole."""
    stripped = (line.strip(" \t\r\n").replace("\t", " ") for line in lines)
    if quote:
        return csv.reader(stripped, delimiter=" ", quotechar=quote, skipinitialspace=True)
    return csv.reader(stripped, delimiter=" ", quoting=csv.QUOTE_NONE, skipinitialspace=True)


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _whitespace_sample(text: _Text, skip_rows: int) -> list[str]:
    if text.whitespace:
        return []
    try:
        with _text_lines(text) as handle:
            head = handle.read(64 * 1024)
    except (OSError, EOFError, UnicodeError):
        return []
    lines = head.splitlines()
    if len(head) == 64 * 1024:
        lines = lines[:-1]  # the last may be cut short
    return [line for line in lines[skip_rows : skip_rows + _WHITESPACE_SAMPLE_LINES] if line.strip()]


def _whitespace_quote(lines: Sequence[str]) -> str:
    """Double quotes, unless the fields are quoted with single ones (as statsmodels' headers are)."""
    words = [word for line in lines for word in line.split()]
    single = sum(len(word) > 1 and word[0] == word[-1] == "'" for word in words)
    double = sum(len(word) > 1 and word[0] == word[-1] == '"' for word in words)
    return "'" if single > double else '"'


def _whitespace_layout(text: _Text, given: ReadOptions) -> str | None:
    """ "table" when the head reads as a table of at least two columns separated by spaces: every sampled line
    splits into the same number of fields, and the separators are runs (or tabs), or the fields numbers.
    One-column text of a few words a line would split unevenly, or into words rather than numbers.
    "row_names" when only the first line has one field fewer: a header over rows led by their names (R's
    write.table). None otherwise."""
    lines = _whitespace_sample(text, given.skip_rows)
    if len(lines) < 2:
        return None
    rows = list(_whitespace_rows(lines, given.quote if given.quote is not None else _whitespace_quote(lines)))
    widths = {len(row) for row in rows[1:]}
    if len(widths) != 1 or (width := widths.pop()) < 2 or len(rows[0]) not in (width, width - 1):
        return None
    layout = "table" if len(rows[0]) == width or given.header is False else "row_names"
    if any(re.search(r"\S(?: {2,}|\t)\S", line) for line in lines):
        return layout
    fields = [field for row in rows[1:] for field in row]
    return layout if sum(bool(_NUMBER.fullmatch(field)) for field in fields) * 2 >= len(fields) else None


def _whitespace_copy(
    partition: Partition, text: _Text, scratch: Path, given: ReadOptions, *, row_names: bool = False
) -> _Text:
    """The text rewritten as a CSV with commas, its fields split on runs of spaces and tabs. Line for line,
    so skip_rows and line numbers mean the same lines. With `row_names`, the header gets an empty first field
    over the rows' names."""
    quote = given.quote if given.quote is not None else _whitespace_quote(_whitespace_sample(text, 0))
    descriptor, target = tempfile.mkstemp(suffix=".csv", dir=scratch)

    def rows(source: Iterable[str]) -> Iterator[list[str]]:
        named = not row_names
        for number, row in enumerate(_whitespace_rows(source, quote)):
            if not named and number >= given.skip_rows and row:
                named = True
                row = ["", *row]
            yield row

    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as copy, _text_lines(text) as source:
            csv.writer(copy, lineterminator="\n").writerows(rows(source))
    except (OSError, EOFError, csv.Error) as exc:
        raise SourceError(f"{partition.relative_path} cannot be read: {exc}.") from exc
    return _Text(
        target,
        "utf-8",
        "none",
        text.ascii_head,
        copied=True,
        source_encoding=text.source_encoding,
        whitespace=True,
        quote=quote,
    )


def _month_first(format: str) -> str:
    """The format with its day and month swapped: %d/%m/%Y becomes %m/%d/%Y."""
    return format.replace("%d", "\x00").replace("%m", "%d").replace("\x00", "%m")


def _named_date_format(rows: list[list[str | None]], types: list[str], nulls: list[str]) -> str | None:
    """The format of dates with a month's name that a text column's first value in `rows` is written in."""
    for index, kind in enumerate(types):
        if kind != "VARCHAR":
            continue
        value = next((row[index] for row in rows if index < len(row) and row[index] not in (None, *nulls)), None)
        if value is None:
            continue
        for pattern, format in _NAMED_DATES:
            if pattern.fullmatch(value.strip()):
                return format
    return None


def _is_gzip(path: str) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def _open_bytes(path: str, compression: str) -> gzip.GzipFile | io.BufferedReader:
    return gzip.open(path, "rb") if compression == "gzip" else open(path, "rb")


def _is_utf8(head: bytes, *, complete: bool) -> bool:
    try:
        # The head may end inside a character unless it is the whole file.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def legacy_encoding(head: bytes) -> str:
    # Its default threshold of chaos rejects every candidate for some plain Western text.
    matches = charset_normalizer.from_bytes(head, cp_isolation=list(_LEGACY_ENCODINGS), threshold=0.6)
    least = min((match.chaos for match in matches), default=0.0)
    plausible = {name for match in matches if match.chaos == least for name in match.could_be_from_charset}
    return next((name for name in _LEGACY_ENCODINGS if name in plausible), "cp1252")


def _options(options: dict[str, Any]) -> str:
    return ", ".join(f"{name}={_literal(value)}" for name, value in options.items() if value is not None)


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(key)}: {_literal(item)}" for key, item in value.items()) + "}"
    raise TypeError(f"no SQL literal for {value!r}")


def _source_error(
    partition: Partition,
    text: _Text | None,
    exc: Exception,
    *,
    typed_from_sample: bool = False,
    options: dict[str, Any] | None = None,
) -> SourceError:
    """DuckDB's error said for a person: the file, the line when known, what is wrong there."""
    message = str(exc)
    lines = [_ERROR_PREFIX.sub("", line.strip()) for line in message.splitlines()]
    reason = next(
        (line for line in lines if line and not line.startswith(("CSV Error on Line", "Original Line"))), message
    )
    # The file is named by its relative path, the line apart.
    reason = re.sub(r' in file "[^"]*",?|,? (?:at byte \d+ )?in line \d+', "", reason).rstrip(". ")
    found = _LINE_NUMBER.search(message)
    line = int(found.group(1) or found.group(2)) if found else None
    if line is not None and text is not None and "Malformed JSON" in message:
        line = _malformed_json_line(text, line)
    too_many = _TOO_MANY_FIELDS.search(message)
    if too_many:
        fields = _fields_of_original_line(message, options) or int(too_many.group(2))
        reason = (
            f"the row has {fields} fields, more than the {too_many.group(1)} columns of the header "
            f"(or of the first row); fix or remove that row"
        )
    elif (
        ("Invalid unicode" in message or "invalid UTF-8" in message)
        and partition.read_options
        and (partition.read_options.encoding)
    ):
        reason = f"the text is not valid {partition.read_options.encoding}, the encoding given; give the file's own"
    elif "Invalid unicode" in message or "invalid UTF-8" in message:
        reason = "the text is not valid UTF-8; save the file as UTF-8"
    elif typed_from_sample:
        reason += "; the column's type was detected from the rows before it, already read: correct the value"
    where = f"{partition.relative_path}, line {line}" if line is not None else partition.relative_path
    return SourceError(f"{where}: {reason}.")


def _fields_of_original_line(message: str, options: dict[str, Any] | None) -> int | None:
    """The number of fields of the row DuckDB quotes in its error: it stops counting one past the header's."""
    found = re.search(r"^Original Line: (.*)$", message, re.MULTILINE)
    delimiter = (options or {}).get("delim")
    if found is None or not isinstance(delimiter, str) or len(delimiter) != 1:
        return None
    quote = (options or {}).get("quote") or ""
    try:
        if len(quote) == 1:
            reader = csv.reader([found.group(1)], delimiter=delimiter, quotechar=quote)
        else:
            reader = csv.reader([found.group(1)], delimiter=delimiter, quoting=csv.QUOTE_NONE)
        return len(next(reader))
    except (csv.Error, StopIteration):
        return None


def _malformed_json_line(text: _Text, reported: int) -> int | None:
    """The malformed line DuckDB's error means, or None: DuckDB 2.0 counts one line too many there."""
    with _open_bytes(text.path, text.compression) as handle:
        for number, line in enumerate(handle, start=1):
            if number >= reported - 1 and line.strip():
                try:
                    json.loads(line)
                except ValueError:
                    return number
            if number >= reported:
                break
    return None
