"""The rows label quality flagged, as a review keeps them: each with its values and a hash of its
content, so that what people decided about a row follows it into the next version of the dataset
wherever the row moved. No Django.

A row's content hash is the sha256 of its values (the label and every column the analysis read,
by column name, as canonical JSON: missing values null, whole floats as integers, times in ISO 8601).
Two rows with the same values and the same label have the same hash, wherever they are in the source;
a row whose label was corrected has another hash, so a decision about its old label does not follow
it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

# At most this many flagged rows of a version are kept for review, the most likely mislabelled first.
MAX_STORED = 10_000
# A text value is kept up to this many characters for review (its hash is of the whole value).
MAX_VALUE_CHARS = 2_000


def plain(value: Any) -> Any:
    """A cell as JSON: None for any missing value, whole floats as integers, times as ISO 8601."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        if not math.isfinite(number):
            return None
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if isinstance(value, str):
        return value
    try:
        import pandas as pd

        if pd.isna(value):  # NaT and NA among them
            return None
    except (TypeError, ValueError):  # a list or an array: not one missing value
        pass
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return str(isoformat())
    return str(value)


def row_hash(values: Mapping[str, Any]) -> str:
    """The content hash of a row's values (already `plain`)."""
    canonical = json.dumps(dict(values), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _shortened(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return value[:MAX_VALUE_CHARS] + "…"
    return value


def flagged_rows(
    frame: pd.DataFrame, flagged: Sequence[Mapping[str, Any]], *, limit: int = MAX_STORED
) -> list[dict[str, Any]]:
    """The first `limit` of `flagged` (`profiler.labels.analyse`'s flagged rows, `index` a position
    in `frame`) with `row_hash` and `values` (every column of `frame`), in their order."""
    kept = list(flagged[:limit])
    if not kept:
        return []
    columns = [str(name) for name in frame.columns]
    records = frame.iloc[[int(item["index"]) for item in kept]].to_numpy(dtype=object)
    rows = []
    for item, record in zip(kept, records, strict=True):
        values = {name: plain(value) for name, value in zip(columns, record, strict=True)}
        rows.append(
            {
                "row": str(item["row"]),
                "given": str(item["given"]),
                "suggested": str(item["suggested"]),
                "confidence": float(item["confidence"]),
                "row_hash": row_hash(values),
                "values": {name: _shortened(value) for name, value in values.items()},
            }
        )
    return rows
