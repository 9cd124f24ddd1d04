"""Tables separated by runs of spaces or tabs, which DuckDB's sniffer reads as one column: told apart
from a one-column file by their head, and copied as CSV."""

from __future__ import annotations

import csv
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from profiler.files import SourceError
from profiler.readers.encodings import _Text, _text_lines
from profiler.readers.options import ReadOptions
from profiler.readers.partition import Partition

# Rows of the head looked at to tell a table separated by runs of spaces from a one-column file.
_WHITESPACE_SAMPLE_LINES = 200


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
