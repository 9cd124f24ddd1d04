"""A deterministic sample of whole rows, collected during the one scan, for checks that need rows
rather than summaries (what one feature alone predicts of the label).

The rows kept are those with the smallest keys, a key being a hash of the row's id (its file's place
among the source's files and its line in that file). So the sample does not depend on how the
source was cut into partitions, two parts merge by keeping the smallest keys of both, and the same
bytes always give the same sample.

Each column is kept as numpy: a numeric one as float64 (NaN where missing), any other as the 64-bit
hash of its values (0 where missing), which is all a check for equal values needs.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field

import numpy as np

# At most this many rows; on wide tables fewer, so a sample holds about CELL_BUDGET values.
MAX_ROWS = 10_000
MIN_ROWS = 1_000
CELL_BUDGET = 2_000_000


def capacity(columns: int) -> int:
    """Rows kept for a table of `columns` columns (the same in every part of a source)."""
    return max(MIN_ROWS, min(MAX_ROWS, CELL_BUDGET // max(columns, 1)))


def row_keys(row_ids: np.ndarray) -> np.ndarray:
    """splitmix64 of the row ids: uniform keys that depend only on the row's place in the source."""
    with np.errstate(over="ignore"):
        z = row_ids.astype(np.uint64) + np.uint64(0x6A09E667F3BCC909)
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return z


def _empty_like(dtype: np.dtype, size: int) -> np.ndarray:
    if dtype == np.float64:
        return np.full(size, np.nan, dtype=np.float64)
    return np.zeros(size, dtype=np.uint64)


@dataclass
class RowSample:
    capacity: int
    keys: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    # Columns kept as numbers in one part and as hashes in another: not comparable, left out.
    dropped: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        return int(self.keys.size)

    def add(self, row_ids: np.ndarray, columns: dict[str, np.ndarray]) -> None:
        """Offer a batch's rows: `columns` holds each column's values for every row of the batch."""
        keys = row_keys(row_ids)
        if keys.size > self.capacity:
            positions = np.argpartition(keys, self.capacity - 1)[: self.capacity]
        else:
            positions = np.arange(keys.size)
        if len(self) >= self.capacity:
            positions = positions[keys[positions] < self.keys.max()]
        if positions.size == 0:
            return
        self._combine(keys[positions], {name: values[positions] for name, values in columns.items()})

    def merge(self, other: RowSample) -> None:
        if len(other):
            self._combine(other.keys, other.columns)
        self.dropped |= other.dropped
        for name in self.dropped:
            self.columns.pop(name, None)

    def _combine(self, keys: np.ndarray, columns: dict[str, np.ndarray]) -> None:
        mine, theirs = len(self), keys.size
        combined: dict[str, np.ndarray] = {}
        for name in self.columns.keys() | columns.keys():
            if name in self.dropped:
                continue
            a, b = self.columns.get(name), columns.get(name)
            if a is not None and b is not None and a.dtype != b.dtype:
                self.dropped.add(name)
                continue
            dtype = (a if a is not None else b).dtype  # type: ignore[union-attr]
            a = a if a is not None else _empty_like(dtype, mine)
            b = b if b is not None else _empty_like(dtype, theirs)
            combined[name] = np.concatenate([a, b])
        all_keys = np.concatenate([self.keys, keys])
        order = np.argsort(all_keys, kind="stable")[: self.capacity]
        self.keys = all_keys[order]
        self.columns = {name: values[order] for name, values in combined.items()}

    # --- Serialisation, inside a partial profile's archive -----------------------------------------

    def write(self, archive: zipfile.ZipFile) -> None:
        names = list(self.columns)
        header = {
            "capacity": self.capacity,
            "names": names,
            "kinds": ["f" if self.columns[name].dtype == np.float64 else "h" for name in names],
            "dropped": sorted(self.dropped),
        }
        archive.writestr("rowsample.json", json.dumps(header))
        archive.writestr("rowsample-keys.bin", self.keys.tobytes())
        for index, name in enumerate(names):
            archive.writestr(f"rowsample-{index}.bin", self.columns[name].tobytes())

    @classmethod
    def read(cls, archive: zipfile.ZipFile) -> RowSample | None:
        if "rowsample.json" not in archive.namelist():
            return None
        header = json.loads(archive.read("rowsample.json"))
        sample = cls(capacity=int(header["capacity"]), dropped=set(header["dropped"]))
        sample.keys = np.frombuffer(archive.read("rowsample-keys.bin"), dtype=np.uint64).copy()
        for index, (name, kind) in enumerate(zip(header["names"], header["kinds"], strict=True)):
            dtype = np.float64 if kind == "f" else np.uint64
            sample.columns[name] = np.frombuffer(archive.read(f"rowsample-{index}.bin"), dtype=dtype).copy()
        return sample
