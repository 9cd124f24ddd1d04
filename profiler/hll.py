"""HyperLogLog distinct counts whose registers are built from 64-bit hashes in bulk.

DataSketches' Python binding takes HLL updates one value at a time, which PROFILING.md measured as
the largest cost of a profile. The hashes come vectorised from DuckDB (`hash(col)`), the registers
are built with numpy, and registers of parts merge by element-wise maximum, so a partial profile
of any slice of the data merges exactly into the register set of the whole.

With p = 14 (16,384 one-byte registers) the standard error is 1.04 / sqrt(2^14) = 0.81%.
"""

from __future__ import annotations

import math

import numpy as np

P = 14
REGISTERS = 1 << P
STANDARD_ERROR = 1.04 / math.sqrt(REGISTERS)
_LOW_BITS = 64 - P
_MAX_RANK = _LOW_BITS + 1


def empty() -> np.ndarray:
    return np.zeros(REGISTERS, dtype=np.uint8)


def add_hashes(registers: np.ndarray, hashes: np.ndarray) -> None:
    """Fold uint64 hashes into the registers, in place."""
    if hashes.size == 0:
        return
    hashes = hashes.astype(np.uint64, copy=False)
    bucket = (hashes >> np.uint64(_LOW_BITS)).astype(np.intp)
    # Rank = 1 + trailing zeros of the low bits = the bits set in h ^ (h - 1). When the low bits are
    # all 0 that count passes the largest rank, and is capped at it.
    with np.errstate(over="ignore"):
        marker = hashes ^ (hashes - np.uint64(1))
    rank = np.minimum(np.bitwise_count(marker), np.uint8(_MAX_RANK))
    # numpy 2's ufunc.at is fast: three times quicker here than counting (bucket, rank) cells.
    np.maximum.at(registers, bucket, rank)


def merge(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return np.maximum(left, right)


def estimate(registers: np.ndarray) -> float:
    """The HyperLogLog estimate, with linear counting for small cardinalities."""
    m = float(REGISTERS)
    alpha = 0.7213 / (1 + 1.079 / m)
    raw = alpha * m * m / float(np.sum(np.ldexp(1.0, -registers.astype(np.int64))))
    zeros = int(np.count_nonzero(registers == 0))
    if raw <= 2.5 * m and zeros:
        return m * math.log(m / zeros)
    return raw
