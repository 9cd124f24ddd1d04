"""Read options: how a delimited text file is to be read, where a person knows better than the sniffer."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The delimiter that stands for runs of spaces and tabs (statsmodels' data files, fixed-width tables).
WHITESPACE = "whitespace"
READ_OPTION_NAMES = ("delimiter", "header", "quote", "encoding", "null_values", "skip_rows")
MAX_NULL_VALUES = 64
MAX_NULL_VALUE_LENGTH = 128
MAX_SKIP_ROWS = 1_000_000


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
