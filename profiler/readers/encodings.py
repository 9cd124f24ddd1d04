"""The bytes DuckDB reads for a text file: the file itself, or a UTF-8 copy of text in another encoding."""

from __future__ import annotations

import codecs
import gzip
import io
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer

from profiler.files import SourceError
from profiler.readers.partition import Partition, _size

_HEAD_BYTES = 4 * 1024 * 1024
# Encodings of text that is not UTF-8 told apart by charset-normalizer, in order of preference when equally
# plausible. Latin-script code pages other than Windows-1252 are left out: on Western text they often score
# better (cp1257 for French) and garble its accents.
_LEGACY_ENCODINGS = ("cp1252", "cp1251", "koi8_r", "cp1253", "cp1255", "cp1256", "gb18030", "cp932", "big5", "cp949")


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
