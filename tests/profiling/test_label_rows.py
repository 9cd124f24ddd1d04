"""The flagged rows a review keeps: their values as JSON and a content hash that depends on the values
alone, not on where the row is, how its columns are ordered, or how a reader typed its numbers."""

import math

import numpy as np
import pandas as pd

from profiler.label_rows import MAX_VALUE_CHARS, flagged_rows, plain, row_hash


def test_plain_values_are_json_and_a_whole_float_is_an_integer():
    assert plain(np.float64(2007.0)) == 2007
    assert isinstance(plain(np.float64(2007.0)), int)
    assert plain(39.1) == 39.1
    assert plain(np.int64(3)) == 3
    assert plain(np.bool_(True)) is True
    for missing in (None, float("nan"), np.nan, pd.NaT, pd.NA, math.inf):
        assert plain(missing) is None
    assert plain(pd.Timestamp("2024-03-01T12:00:00")) == "2024-03-01T12:00:00"


def test_the_hash_is_of_the_values_whatever_the_row_s_place_and_column_order():
    first = pd.DataFrame({"species": ["Adelie", "Gentoo"], "bill": [39.0, 47.5], "year": [2007, 2008]})
    # The same rows, the other way round, with columns in another order and the year read as floats.
    second = pd.DataFrame({"year": [2008.0, 2007.0], "bill": [47.5, 39], "species": ["Gentoo", "Adelie"]})
    flagged = [{"index": 0, "row": "a.csv:1", "given": "Adelie", "suggested": "Gentoo", "confidence": 0.9}]
    moved = [{"index": 1, "row": "b.csv:2", "given": "Adelie", "suggested": "Gentoo", "confidence": 0.8}]

    [one] = flagged_rows(first, flagged)
    [other] = flagged_rows(second, moved)

    assert one["row_hash"] == other["row_hash"]
    assert one["values"] == {"species": "Adelie", "bill": 39, "year": 2007}
    assert one["row"] == "a.csv:1"
    assert other["row"] == "b.csv:2"


def test_another_label_is_another_hash():
    assert row_hash({"species": "Adelie", "bill": 39}) != row_hash({"species": "Gentoo", "bill": 39})


def test_a_long_text_is_shortened_for_review_but_hashed_whole():
    frame = pd.DataFrame({"text": ["x" * (MAX_VALUE_CHARS + 10), "x" * (MAX_VALUE_CHARS + 20)], "label": ["a", "a"]})
    flagged = [
        {"index": index, "row": str(index), "given": "a", "suggested": "b", "confidence": 0.5} for index in (0, 1)
    ]

    one, other = flagged_rows(frame, flagged)

    assert one["values"]["text"] == other["values"]["text"]
    assert len(one["values"]["text"]) == MAX_VALUE_CHARS + 1
    assert one["row_hash"] != other["row_hash"]


def test_it_keeps_at_most_the_limit_in_their_order():
    frame = pd.DataFrame({"v": range(10), "label": ["a"] * 10})
    flagged = [
        {"index": index, "row": str(index), "given": "a", "suggested": "b", "confidence": 0.5} for index in (7, 2, 5)
    ]

    assert [row["row"] for row in flagged_rows(frame, flagged, limit=2)] == ["7", "2"]
    assert flagged_rows(frame, []) == []
