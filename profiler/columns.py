"""Arrow columns as numpy values: kinds, ticks, float bits and their hashes, value counts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from profiler.values import iso_strings, jsonable, temporal_form


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def kind_of(data_type: pa.DataType) -> str:
    """numeric (integers, floats, decimals, durations in their unit), temporal (dates, times of day,
    timestamps), boolean, string; anything else (binary, lists, structs, maps, intervals, the null
    type) is "other": counted, hashed for distinct values and duplicates, not summarised."""
    if pa.types.is_dictionary(data_type):
        return kind_of(data_type.value_type)
    if pa.types.is_run_end_encoded(data_type):
        return kind_of(data_type.value_type)
    if pa.types.is_boolean(data_type):
        return "boolean"
    if (
        pa.types.is_integer(data_type)
        or pa.types.is_floating(data_type)
        or pa.types.is_decimal(data_type)
        or pa.types.is_duration(data_type)
    ):
        return "numeric"
    if is_time(data_type):
        return "temporal"
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type) or is_string_view(data_type):
        return "string"
    return "other"


def counted_values(array: pa.Array, *, temporal: bool = False) -> list[tuple[Any, int]]:
    """(value, rows) of each value of a column present in it, missing values and NaN left out;
    the values of a temporal column as ISO text."""
    counted = pc.value_counts(array)
    values, counts = counted.field("values"), counted.field("counts")
    present = pc.is_valid(values)
    if pa.types.is_floating(values.type):
        present = pc.and_(present, pc.invert(pc.is_nan(values)))
    values, counts = pc.filter(values, present), pc.filter(counts, present)
    if temporal:
        form, unit = temporal_form(str(values.type))
        return list(zip(iso_strings(ticks(values), form, unit), counts.to_pylist(), strict=True))
    plain = values.to_pylist()
    if not (
        pa.types.is_integer(values.type) or pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
    ):
        plain = [jsonable(value) for value in plain]  # floats (infinities), times, nested values
    return list(zip(plain, counts.to_pylist(), strict=True))


def is_time(data_type: pa.DataType) -> bool:
    return pa.types.is_timestamp(data_type) or pa.types.is_date(data_type) or pa.types.is_time(data_type)


def is_string_view(data_type: pa.DataType) -> bool:
    is_view = getattr(pa.types, "is_string_view", None)  # pyarrow 16 and later
    return bool(is_view and is_view(data_type))


def is_binary_view(data_type: pa.DataType) -> bool:
    is_view = getattr(pa.types, "is_binary_view", None)  # pyarrow 16 and later
    return bool(is_view and is_view(data_type))


def ticks(array: pa.Array) -> np.ndarray:
    """A temporal array's values as int64 ticks of its unit since the epoch (days for date32;
    since midnight for times of day), 0 where missing. Its buffer is reinterpreted, not cast:
    Arrow casts no date to an integer."""
    width = pa.int32() if array.type.bit_width == 32 else pa.int64()
    integers = array.view(width)
    if integers.null_count:
        integers = pc.fill_null(integers, 0)
    return integers.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)


def float_bits(values: np.ndarray) -> np.ndarray:
    """The bits of float64 values, -0.0 as 0.0 (equal values, equal hashes)."""
    return (values + 0.0).view(np.uint64)


def mix(bits: np.ndarray) -> np.ndarray:
    """splitmix64 of 64-bit words, in place where numpy allows; 0 (which marks a missing value) never results."""
    with np.errstate(over="ignore"):
        z = bits + np.uint64(0x9E3779B97F4A7C15)
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    z[z == 0] = 1
    return z
