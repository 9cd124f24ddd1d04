"""How values are written in a profile: temporal ticks as ISO 8601 text and back, anything as JSON can carry it."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

_TEMPORAL_TYPE = re.compile(r"(date32|date64|time32|time64|timestamp)(?:\[([a-z]+)(, tz=[^\]]+)?\])?")
SECONDS_PER_TICK = {"D": 86_400.0, "day": 86_400.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def temporal_form(dtype: str) -> tuple[str, str]:
    """How a temporal column's values are written and the unit of its ticks, from its type:
    ("date", "D"), ("date", "ms"), ("time", unit), ("timestamp", unit) or ("timestamp_tz", unit)."""
    found = _TEMPORAL_TYPE.search(dtype)
    if found is None:
        return "timestamp", "us"
    name, unit, zone = found.groups()
    if name == "date32":
        return "date", "D"
    if name == "date64":
        return "date", "ms"
    if name.startswith("time") and name != "timestamp":
        return "time", unit or "us"
    return ("timestamp_tz" if zone else "timestamp"), unit or "us"


def _trimmed(text: str) -> str:
    """An ISO time's fraction of a second as Python and pandas write it: none when zero, else six
    digits, or nine when there are nanoseconds."""
    head, dot, fraction = text.partition(".")
    if not dot or not fraction.strip("0"):
        return head
    if len(fraction) > 6 and not fraction[6:].strip("0"):
        return f"{head}.{fraction[:6]}"
    return f"{head}.{fraction.ljust(6, '0')}" if len(fraction) < 6 else text


def iso_strings(ticks: np.ndarray, form: str, unit: str) -> list[str]:
    """ISO 8601 text of temporal values given as integer ticks of `unit` since the epoch (times of
    day: since midnight): dates as dates, times of day as times, timestamps with a time zone in UTC
    (`+00:00`), timestamps without one as they are."""
    ticks = np.asarray(ticks, dtype=np.int64)
    numpy_unit = "D" if unit in ("D", "day") else unit
    moments = ticks.astype(f"datetime64[{numpy_unit}]")
    if form == "date":
        return [str(text) for text in np.datetime_as_string(moments, unit="D")]
    texts = np.datetime_as_string(moments, unit="ns" if numpy_unit == "ns" else "us")
    if form == "time":
        return [_trimmed(str(text)[str(text).index("T") + 1 :]) for text in texts]
    suffix = "+00:00" if form == "timestamp_tz" else ""
    return [_trimmed(str(text)) + suffix for text in texts]


def seconds_from_iso(text: str) -> float:
    """Seconds since the epoch (times of day: since midnight) of a temporal value's ISO text as
    `iso_strings` writes it."""
    text = text.removesuffix("+00:00")
    if "T" not in text and ":" in text:
        text = f"1970-01-01T{text}"
    fraction = text.partition(".")[2]
    if len(fraction) > 6:
        return int(np.datetime64(text, "ns").astype(np.int64)) / 1e9
    return int(np.datetime64(text, "us").astype(np.int64)) / 1e6


def iso_from_seconds(dtype: str, seconds: float) -> str:
    """A point of a temporal column's distribution (seconds since the epoch, or since midnight for
    times of day) as ISO 8601 in the column's own form. As pandas does with an interpolated quantile,
    it is cut (toward zero) to a whole tick of the column's unit: seconds for dates and second
    timestamps, milliseconds, else microseconds (rounded there: a float of seconds holds no finer).
    A date column's points that fall inside a day are written as timestamps."""
    form, unit = temporal_form(dtype)
    per_second = {"ms": 1e3, "us": 1e6, "ns": 1e6}.get(unit, 1.0)
    ticks = seconds * per_second
    nearest = round(ticks)
    if per_second < 1e6 and abs(ticks - nearest) > 1e-3:
        nearest = math.trunc(ticks)
    microseconds = nearest * round(1e6 / per_second)
    if form == "date":
        if microseconds % 86_400_000_000 == 0:
            return iso_strings(np.array([microseconds // 86_400_000_000]), "date", "D")[0]
        form = "timestamp"
    return iso_strings(np.array([microseconds]), form, "us")[0]


def jsonable(value: Any) -> Any:
    """A value as JSON can carry it (dates and times as ISO 8601, bytes as hex, NaN as None)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return None if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return str(value)


def jsonable_list(values: list[Any]) -> list[Any]:
    return [jsonable(value) for value in values]
