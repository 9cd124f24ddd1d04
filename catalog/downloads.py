"""One file of a version as the catalog serves it: the registered bytes, checked against the manifest,
or a delimited table re-written as the comma-separated values with a header row that Croissant readers
take (for a delimiter, a missing header or an encoding Croissant cannot state).

A file is opened the way a worker opens it (catalog.sources.source_opened): confined to the storage
roots, every folder below its root opened without following links; and its size and sha256 must still
be the manifest's, so what is served is what was profiled.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.conf import settings

from catalog.choices import DELIMITED_FORMATS
from catalog.models import DatasetVersion
from catalog.objects import is_object_url
from catalog.sources import local_path, storage_roots
from config import errors
from profiler.files import (
    FileIdentity,
    SourceError,
    SourceFile,
    format_from_name,
    glob_base,
    is_glob,
    open_file,
)
from profiler.readers import WHITESPACE

CHUNK_BYTES = 1024 * 1024
# How much of a table's start tells its delimiter, header and encoding.
HEAD_BYTES = 64 * 1024
# The delimiters tried, in this order of preference when several split the first row alike (WHITESPACE: runs of
# spaces and tabs, split as the profiler splits them).
DELIMITERS = (",", "\t", ";", "|", WHITESPACE)
# Croissant states only these two; the reader then takes a header row, UTF-8 and double quotes.
CROISSANT_DELIMITERS = {",": "text/csv", "\t": "text/tab-separated-values"}
# What the files of a csv or tsv source may be named: the profiler reads a .txt or a name without a suffix as a
# table of the source's format too.
_TABLE_NAMES = (*DELIMITED_FORMATS, "text", None)


class FileUnavailable(errors.NotFound):
    """The file is not one this version serves (not in its manifest, or the source is remote)."""


class SourceChanged(errors.Conflict):
    """The file's bytes are no longer those of the manifest (or it is gone); the message says which."""

    code = "source_changed"


class TableUnreadable(errors.Conflict):
    """No delimiter splits the table's first row into the columns profiled."""

    code = "table_unreadable"


@dataclass(frozen=True)
class Dialect:
    """How a delimited table is written: as the version's read options say, or as its first row shows."""

    delimiter: str
    header: bool
    encoding: str
    quote: str = '"'
    skip_rows: int = 0
    # Tokens read as missing beyond those every CSV reader takes (pandas' own, the catalog's): blank in a copy.
    null_values: tuple[str, ...] = ()
    # The header row names the columns otherwise than the profile does (a blank or repeated name, which the
    # profiler and a Croissant reader would each name their own way).
    renamed: bool = False

    @property
    def croissant_format(self) -> str | None:
        """The encoding format Croissant readers take the file as it is in, or None when it needs re-writing."""
        plain = self.encoding in ("utf-8", "utf-8-sig") and self.quote == '"' and not self.skip_rows
        plain = plain and not self.null_values and not self.renamed
        return CROISSANT_DELIMITERS.get(self.delimiter) if plain and self.header else None

    def describe(self) -> str:
        shown = {"\t": "tabs", WHITESPACE: "runs of spaces"}.get(self.delimiter, repr(self.delimiter))
        return (
            f"separated by {shown}, {'with' if self.header else 'without'} a header row, {self.encoding}"
            + (f", {self.skip_rows} line(s) skipped first" if self.skip_rows else "")
            + (", with columns the header leaves nameless or names twice" if self.renamed else "")
        )


def is_table(path: str, format: str) -> bool:
    """Whether a file of a version in `format` is a delimited table (every file of a csv or tsv source is)."""
    return format in DELIMITED_FORMATS and format_from_name(path) in _TABLE_NAMES


def manifest_entry(version: DatasetVersion, path: str) -> dict[str, Any]:
    """The manifest entry of a local source's file, or FileUnavailable."""
    if version.uri[:8].lower() == "https://" or is_object_url(version.uri):
        # An object source's files are read by workers with credentials the web process does not hold.
        raise FileUnavailable(f"Version {version.number} is read from {version.uri}; download its files from there.")
    entry = next((entry for entry in version.manifest or [] if entry["path"] == path), None)
    if entry is None:
        raise FileUnavailable(f"Version {version.number} has no file {path!r}; its manifest lists its files.")
    return entry


def _source_file(version: DatasetVersion, relative_path: str) -> SourceFile:
    """Where a manifest path of a local source is now, confined to the storage roots as a worker finds it."""
    source = local_path(version.uri)
    if is_glob(source):
        base = glob_base(source)
    elif Path(source).is_dir():
        base = Path(source)
    else:
        base = Path(source).parent
    parts = PurePosixPath(relative_path).parts
    if not parts or ".." in parts or PurePosixPath(relative_path).is_absolute():
        raise SourceChanged(f"{relative_path} is not a path inside the source.")
    path = base.joinpath(*parts).resolve()
    roots = [root for root in storage_roots() if path == root or path.is_relative_to(root)]
    if not roots:
        raise SourceChanged(f"{relative_path} no longer leads to a file inside the storage roots.")
    return SourceFile(
        relative_path,
        path,
        root=max(roots, key=lambda root: len(root.parts)),
        hard_links_allowed=settings.CATALOG_ALLOW_HARD_LINKS,
    )


@contextmanager
def file_opened(version: DatasetVersion, entry: dict[str, Any], *, checked: bool = True) -> Iterator[IO[bytes]]:
    """The manifest file open for reading, at its start; with `checked`, its size and sha256 are first
    found to be the manifest's (SourceChanged otherwise), and it must be the same file when closed."""
    try:
        descriptor = open_file(_source_file(version, entry["path"]))
    except (SourceError, OSError) as exc:
        raise SourceChanged(f"{entry['path']} cannot be opened any more: {exc}") from None
    with os.fdopen(descriptor, "rb") as handle:
        opened = FileIdentity.of(os.fstat(handle.fileno()))
        if checked:
            digest = hashlib.file_digest(handle, "sha256")
            if handle.tell() != entry["size"] or digest.hexdigest() != entry["sha256"]:
                raise SourceChanged(
                    f"{entry['path']} no longer holds the bytes registered with version {version.number} (its size "
                    "or sha256 differs from the manifest); verify the version or register a new one."
                )
            handle.seek(0)
        yield handle
        if FileIdentity.of(os.fstat(handle.fileno())) != opened:
            raise SourceChanged(f"{entry['path']} was modified while it was being read.")


def file_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    while chunk := handle.read(CHUNK_BYTES):
        yield chunk


def _text_stream(handle: IO[bytes]) -> IO[bytes]:
    start = handle.read(2)
    handle.seek(0)
    return gzip.GzipFile(fileobj=handle, mode="rb") if start == b"\x1f\x8b" else handle  # type: ignore[return-value]


def table_dialect(head: bytes, *, path: str, names: list[str], read_options: dict[str, Any] | None) -> Dialect | None:
    """The dialect of a delimited table from its first bytes (decompressed): the version's read options
    where they say, otherwise the delimiter that splits the first row into the profile's columns, with a
    header when that row is their names, or when the profile did not have to name them itself
    (`column_1`, `column_2`... are the reader's names for a file without one). None when nothing fits."""
    options = read_options or {}
    encoding = _known_codec(options.get("encoding")) or _encoding_of(head)
    text = head.decode(encoding, errors="replace")
    if encoding == "utf-8" and text.startswith("\ufeff"):
        encoding, text = "utf-8-sig", text[1:]
    quote = options.get("quote") or '"'
    skip_rows = int(options.get("skip_rows") or 0)
    lines = text.splitlines(keepends=True)[skip_rows:]
    if format_from_name(path) == "tsv":
        candidates: tuple[str, ...] = ("\t",)
    elif options.get("delimiter"):
        candidates = (options["delimiter"],)
    else:
        candidates = DELIMITERS
    generic = bool(names) and all(re.fullmatch(r"column_?\d+", name.lower()) for name in names)
    fitting: list[tuple[bool, str]] = []
    for delimiter in candidates:
        first = next(_rows(lines, delimiter, quote), None)
        if first is None:
            continue
        if [field.strip() for field in first] == [name.strip() for name in names]:
            fitting.append((True, delimiter))
        elif len(first) == len(names) or options.get("delimiter"):
            fitting.append((False, delimiter))
    if not fitting:
        return None
    named, delimiter = next((item for item in fitting if item[0]), fitting[0])
    header = options["header"] if isinstance(options.get("header"), bool) else (named or not generic)
    return Dialect(
        delimiter=delimiter,
        header=header,
        encoding=encoding,
        quote=quote,
        skip_rows=skip_rows,
        null_values=_unusual_nulls(options.get("null_values")),
        renamed=header and not named,
    )


# What pandas reads as missing without being told (and so Croissant readers, which read with pandas).
_PANDAS_NULLS = frozenset(
    ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A",
     "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
)  # fmt: skip


def _unusual_nulls(values: Any) -> tuple[str, ...]:
    if not isinstance(values, list | tuple):
        return ()
    return tuple(sorted({str(value) for value in values} - _PANDAS_NULLS))


def _known_codec(name: Any) -> str | None:
    if not isinstance(name, str) or not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _encoding_of(head: bytes) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp1252"  # as the reader takes text that is not UTF-8 (see profiler.readers)
    return "utf-8"


def _rows(lines: Any, delimiter: str, quote: str) -> Iterator[list[str]]:
    quoting = {"quotechar": quote, "quoting": csv.QUOTE_MINIMAL} if quote else {"quoting": csv.QUOTE_NONE}
    if delimiter == WHITESPACE:
        # Runs of spaces and tabs, as the profiler splits them: a line's margins (its line break too) are not
        # fields, and a blank line is no row.
        stripped = (line.strip(" \t\r\n").replace("\t", " ") for line in lines)
        rows = csv.reader(stripped, delimiter=" ", skipinitialspace=True, **quoting)
        return (row for row in rows if row)
    return csv.reader(lines, delimiter=delimiter, **quoting)


def table_head(handle: IO[bytes]) -> bytes:
    stream = _text_stream(handle)
    head = stream.read(HEAD_BYTES)
    handle.seek(0)
    return head


def csv_rendition(handle: IO[bytes], dialect: Dialect, names: list[str]) -> Iterator[bytes]:
    """The table as UTF-8 comma-separated values under a header row of the profile's column names."""
    stream = io.TextIOWrapper(_text_stream(handle), encoding=dialect.encoding, errors="replace", newline="")
    try:
        lines: Any = stream
        for _ in range(dialect.skip_rows):
            next(lines, None)
        rows = _rows(lines, dialect.delimiter, dialect.quote)
        if dialect.header:
            next(rows, None)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(names)
        nulls = set(dialect.null_values)
        for row in rows:
            writer.writerow(["" if field in nulls else field for field in row] if nulls else row)
            if buffer.tell() >= CHUNK_BYTES:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue().encode()
    finally:
        stream.detach()  # the file is its opener's to close


def rendition_sha256(version: DatasetVersion, entry: dict[str, Any], dialect: Dialect, names: list[str]) -> str:
    """The sha256 of a table's rendition as the download endpoint serves it (the file checked first)."""
    digest = hashlib.sha256()
    with file_opened(version, entry) as handle:
        for chunk in csv_rendition(handle, dialect, names):
            digest.update(chunk)
    return digest.hexdigest()


# A rendition's sha256 is computed when the Croissant document is asked for: past this many bytes of
# tables to re-write, the document says so instead of holding the request.
RENDITION_BUDGET_BYTES = 64 * 1024 * 1024


@dataclass
class Tables:
    """How a Croissant reader gets the records of a version's delimited tables."""

    dialect: Dialect | None = None
    # path -> sha256 of its rendition, for tables Croissant cannot read as they are
    renditions: dict[str, str] | None = None
    problem: str = ""


def how_read(version: DatasetVersion) -> dict[str, Any]:
    """The read options people gave, completed by the dialect the profiler read the first file with
    (whether it had a header, its encoding, rows skipped, its delimiter and quote)."""
    options = dict(version.read_options or {})
    recorded = (version.profile or {}).get("dialect") or {}
    for key in ("header", "encoding", "skip_rows"):
        if options.get(key) is None and recorded.get(key) is not None:
            options[key] = recorded[key]
    if options.get("delimiter") in ("\\t", "tab"):
        options["delimiter"] = "\t"  # as the API spells a tab
    delimiter = recorded.get("delimiter")
    if not options.get("delimiter") and isinstance(delimiter, str) and (len(delimiter) == 1 or delimiter == WHITESPACE):
        options["delimiter"] = delimiter
    quote = recorded.get("quote")
    if options.get("quote") is None and isinstance(quote, str) and len(quote) == 1:
        options["quote"] = quote
    return options


def version_tables(version: DatasetVersion, names: list[str]) -> Tables:
    """The dialect of a version's delimited tables (told from the first; they are read alike), and the
    renditions Croissant readers need when it is not one Croissant states."""
    tables = [entry for entry in version.manifest or [] if is_table(entry["path"], version.format)]
    read_options = how_read(version)
    if not tables:
        return Tables()
    if version.uri[:8].lower() == "https://":
        # Not fetched to answer a document: the read options, or the file's name, say how it is written.
        options = read_options or {}
        default = "\t" if format_from_name(tables[0]["path"]) == "tsv" else ","
        dialect = Dialect(
            delimiter=options.get("delimiter") or default,
            header=options.get("header", True) is not False,
            encoding=_known_codec(options.get("encoding")) or "utf-8",
            quote=options.get("quote") or '"',
            skip_rows=int(options.get("skip_rows") or 0),
            null_values=_unusual_nulls(options.get("null_values")),
        )
        problem = (
            "" if dialect.croissant_format else f"{version.uri} is {dialect.describe()}, which Croissant cannot state."
        )
        return Tables(dialect=dialect, problem=problem)
    try:
        with file_opened(version, tables[0], checked=False) as handle:
            head = table_head(handle)
    except SourceChanged as exc:
        return Tables(problem=str(exc))
    sniffed = table_dialect(head, path=tables[0]["path"], names=names, read_options=read_options)
    if sniffed is None:
        return Tables(
            problem=f"no delimiter splits the first row of {tables[0]['path']} into the {len(names)} columns "
            "profiled; give the version's read options."
        )
    dialect = sniffed
    if dialect.croissant_format:
        return Tables(dialect=dialect)
    if sum(entry["size"] for entry in tables) > RENDITION_BUDGET_BYTES:
        return Tables(
            dialect=dialect,
            problem=f"the tables are {dialect.describe()}, which Croissant cannot state, and larger than the "
            f"{RENDITION_BUDGET_BYTES // (1024 * 1024)} MiB the catalog re-writes as CSV for it.",
        )
    try:
        renditions = {entry["path"]: rendition_sha256(version, entry, dialect, names) for entry in tables}
    except SourceChanged as exc:
        return Tables(dialect=dialect, problem=str(exc))
    return Tables(dialect=dialect, renditions=renditions)
