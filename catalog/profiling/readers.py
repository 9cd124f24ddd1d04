"""Source files as Arrow record batches, read in bounded memory.

CSV, TSV and JSON Lines are read by DuckDB, Parquet by pyarrow. Column names are kept exactly as the source
spells them; only duplicates change, because DuckDB renames them (`a`, `a_1`, and `A_2`, since it compares
names without case).

CSV and TSV:

* The delimiter, quoting, header and column types are detected by DuckDB's sniffer from a sample of rows (a
  TSV is always split on tabs). `NA`, `N/A`, `null`, `NULL`, `NaN`, `nan`, `None` and the empty field are
  nulls, so a numeric column with such gaps is still numeric. A CSV honours double quotes even when the
  sample has none, since a quoted field may come later. Gzip-compressed files are read as they are.
* The header, or the first row of a file without one (its columns are then named column0, column1, ...),
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
import gzip
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import charset_normalizer
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from catalog.profiling.files import SourceError, SourceFile, format_from_name, opened_path

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

    @property
    def source(self) -> SourceFile:
        return self.file or SourceFile(self.relative_path, Path(self.path))


@contextlib.contextmanager
def opened(partition: Partition) -> Iterator[Partition]:
    """The partition with its path naming its file opened safely, for as long as the context lasts."""
    with opened_path(partition.source) as path:
        yield replace(partition, path=path)


def plan_partitions(files: Sequence[SourceFile], format: str, *, target_rows: int = 1_000_000) -> list[Partition]:
    """Partitions of `files`, all read as `format`.

    A Parquet file's consecutive row groups are grouped up to `target_rows` rows (a larger row group is a
    partition of its own); any other file is one partition.
    """
    accepted = _NAMES_ACCEPTED.get(format)
    if accepted is None:
        raise SourceError(f"{format!r} is not a tabular format; profiling reads csv, tsv, jsonl and parquet.")
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
            partitions.append(Partition(path=path, relative_path=file.relative_path, format=format, file=file))
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
    # The sniff holds a sample of rows in memory: a file of 10,000 columns needs more than 256 MB.
    with opened(partition) as readable, _duckdb(memory_limit="1GB", threads=1) as (connection, scratch):
        return _TextScan(connection, scratch, readable).schema()


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

    def _rows(self, *, limit: int | None = None, offset: int = 0) -> duckdb.DuckDBPyRelation:
        if self.text is None:
            self.text = _text_of(self.partition, self.scratch)
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
        base: dict[str, Any] = {
            "encoding": text.encoding,
            "compression": text.compression,
            "null_padding": True,
            "nullstr": list(NULL_TOKENS),
            # No BOOLEAN: DuckDB reads "yes"/"no" as true/false, and a label's values must stay as written.
            # The profile still calls a column of only true/false values boolean.
            "auto_type_candidates": ["BIGINT", "DOUBLE", "TIME", "DATE", "TIMESTAMP", "VARCHAR"],
        }
        if self.partition.format == "tsv":
            base["delim"] = "\t"
        sniffed = self.connection.sql(
            "SELECT Delimiter, Quote, Escape, NewLineDelimiter, Comment, SkipRows, HasHeader, Columns, DateFormat,"
            f" TimestampFormat FROM sniff_csv(?, {_options({**base, 'sample_size': -1 if self.full_sniff else None})})",
            params=[text.path],
        ).fetchall()
        delim, quote, escape, new_line, comment, skip, header, columns, date_format, timestamp_format = sniffed[0]
        if quote == "(empty)" and self.partition.format == "csv":
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
        first = self._first_row(text, dialect, len(columns))
        present = [index for index, value in enumerate(first) if value is not None]
        width = present[-1] + 1 if present else len(columns)
        names = [column["name"] for column in columns[:width]]
        if header:
            names = _header_names(names, first)
        return {
            **base,
            **dialect,
            "auto_detect": False,
            "header": header,
            "columns": {name: column["type"] for name, column in zip(names, columns, strict=False)},
            "dateformat": date_format,
            "timestampformat": timestamp_format,
        }

    def _first_row(self, text: _Text, dialect: dict[str, Any], widest: int) -> list[str | None]:
        """The first row's fields as written, None past its end."""
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
        rows = self.connection.sql(f"SELECT * FROM read_csv(?, {_options(options)}) LIMIT 1", params=[text.path])
        return [*next(iter(rows.fetchall()), [None] * widest)]

    def _recover(self, exc: Exception, delivered: int) -> None:
        """Change how the file is read so that the next attempt can succeed, or raise SourceError."""
        message = str(exc)
        self.attempts += 1
        if self.attempts > _MAX_ATTEMPTS + len((self.options or {}).get("columns", ())):
            raise _source_error(self.partition, self.text, exc)
        if "parallel scanner does not support null_padding" in message and not self.serial:
            # DuckDB's parallel reader cannot pad rows once a quoted field spans lines: read on one thread.
            self.serial = True
        elif "Invalid unicode" in message and self.text is not None and self.text.encoding == "utf-8":
            if self.text.copied:
                raise _source_error(self.partition, self.text, exc)
            self.text = _past_invalid_utf8(self.partition, self.text, self.scratch)
        elif "Conversion Error" in message or "JSON transform error" in message:
            if delivered:
                raise _source_error(self.partition, self.text, exc, typed_from_sample=True)
            if not self.full_sniff:
                self.full_sniff = True
                self.options = None
            else:
                self._read_as_text(exc)
        else:
            raise _source_error(self.partition, self.text, exc)

    def _read_as_text(self, exc: Exception) -> None:
        match = _CONVERTED_COLUMN.search(str(exc))
        columns = (self.options or {}).get("columns", {})
        name = match.group(1).replace('""', '"') if match else None
        if name not in columns or columns[name] == "VARCHAR":
            raise _source_error(self.partition, self.text, exc)
        columns[name] = "VARCHAR"


def _header_names(sniffed: list[str], written: list[str | None]) -> list[str]:
    """The header's names as written: DuckDB trims their spaces. Its names for duplicates and blanks stay."""
    names = [
        field if field is not None and field.strip() == name else name
        for name, field in zip(sniffed, written, strict=False)
    ]
    # DuckDB compares names without case; a clash would make it rename again.
    return names if len({name.lower() for name in names}) == len(names) else sniffed


def _text_of(partition: Partition, scratch: Path) -> _Text:
    """How DuckDB can read the file: as it is, or copied as UTF-8 when DuckDB does not know its encoding."""
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
    if partition.format == "jsonl" or _is_utf8(head, complete=len(head) < _HEAD_BYTES):
        return text
    if head.startswith(codecs.BOM_UTF16_LE):
        text.encoding = "utf-16"
        return text
    encoding = "utf-16" if head.startswith(codecs.BOM_UTF16_BE) else legacy_encoding(head)
    return _utf8_copy(partition, text, encoding, scratch)


def _past_invalid_utf8(partition: Partition, text: _Text, scratch: Path) -> _Text:
    """The file re-read after DuckDB met invalid UTF-8 beyond the head that looked like UTF-8."""
    return _utf8_copy(partition, text, "cp1252" if text.ascii_head else "utf-8-sig", scratch)


def _utf8_copy(partition: Partition, text: _Text, encoding: str, scratch: Path) -> _Text:
    descriptor, target = tempfile.mkstemp(suffix=".txt", dir=scratch)
    try:
        with (
            os.fdopen(descriptor, "w", encoding="utf-8", newline="") as copy,
            _open_bytes(text.path, text.compression) as raw,
            io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="") as source,
        ):
            shutil.copyfileobj(source, copy, 1024 * 1024)
    except (OSError, EOFError) as exc:
        raise SourceError(f"{partition.relative_path} cannot be read: {exc}.") from exc
    return _Text(target, "utf-8", "none", text.ascii_head, copied=True)


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
    partition: Partition, text: _Text | None, exc: Exception, *, typed_from_sample: bool = False
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
        reason = (
            f"the row has {too_many.group(2)} fields, more than the {too_many.group(1)} columns of the header "
            f"(or of the first row); fix or remove that row"
        )
    elif "Invalid unicode" in message or "invalid UTF-8" in message:
        reason = "the text is not valid UTF-8; save the file as UTF-8"
    elif typed_from_sample:
        reason += "; the column's type was detected from the rows before it, already read: correct the value"
    where = f"{partition.relative_path}, line {line}" if line is not None else partition.relative_path
    return SourceError(f"{where}: {reason}.")


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
