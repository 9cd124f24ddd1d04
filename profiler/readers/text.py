"""Delimited text and JSON Lines read by DuckDB, recovering from what a sample of the file could not foresee."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from profiler.readers.encodings import _check_skip_rows, _past_invalid_utf8, _Text, _text_of
from profiler.readers.errors import _options, _source_error
from profiler.readers.options import WHITESPACE, ReadOptions
from profiler.readers.partition import Partition, opened
from profiler.readers.whitespace import _whitespace_copy, _whitespace_layout

NULL_TOKENS = ("", "NA", "N/A", "null", "NULL", "NaN", "nan", "None")

# A null string no text field holds, so that reading a row, an empty field is '' and only padding is NULL.
_NO_NULL = "\x00"

# Each recovery changes one thing (threads, encoding, a full sniff, one column read as text).
_MAX_ATTEMPTS = 4

# DuckDB raises its own errors while binding; those met while streaming reach us through Arrow, as OSError.
_READ_ERRORS = (duckdb.Error, pa.ArrowException, OSError)
_CONVERTED_COLUMN = re.compile(r'Error when converting column "((?:[^"]|"")*)"')

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
