"""DuckDB's errors while reading text, said as what is wrong with the file and where."""

from __future__ import annotations

import csv
import json
import re
from typing import Any

from profiler.files import SourceError
from profiler.readers.encodings import _open_bytes, _Text
from profiler.readers.partition import Partition

_LINE_NUMBER = re.compile(r"\bLine: (\d+)|\bin line (\d+)")
_TOO_MANY_FIELDS = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
_ERROR_PREFIX = re.compile(r"^(?:[A-Z][A-Za-z]* )+Error: ")


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
