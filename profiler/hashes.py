"""Row hashes for duplicate rows and label conflicts, kept in buckets that spill to disk."""

from __future__ import annotations

import os
import shutil
import tempfile

import numpy as np

HASH_BUCKETS = 16
SPILL_BYTES = 128 * 1024 * 1024


class HashStore:
    """Per-row (feature hash, label hash, row id) triples for duplicates and label conflicts.

    24 bytes a row, kept in buckets by the top bits of the feature hash; past SPILL_BYTES the buckets
    go to files, so memory holds at most one bucket when they are finally counted. Before a bucket is
    written, if a sample of it repeats, the rows of one (feature, label) pair are folded into their
    first, and how many more there were is kept beside it (`surplus`: feature hash, further rows): a
    source of one line repeated millions of times, a gzip bomb, costs a few entries, not its rows.
    """

    COLUMNS = 3

    def __init__(self) -> None:
        self.chunks: list[list[np.ndarray]] = [[] for _ in range(HASH_BUCKETS)]
        self.surplus: list[list[np.ndarray]] = [[] for _ in range(HASH_BUCKETS)]
        self.in_memory = 0
        self.spill_dir: str | None = None
        self.spilled: list[list[str]] = [[] for _ in range(HASH_BUCKETS)]
        self.directories: list[str] = []  # every directory holding spilled files of this store

    def add(self, feature_hash: np.ndarray, label_hash: np.ndarray, row_ids: np.ndarray) -> None:
        bucket = (feature_hash >> np.uint64(60)).astype(np.uint8)
        # A stable sort of 8-bit keys is a radix sort; gathering column by column is five times
        # quicker than gathering rows of a 2-D array.
        order = np.argsort(bucket, kind="stable")
        ordered = np.empty((feature_hash.size, self.COLUMNS), dtype=np.uint64)
        ordered[:, 0] = feature_hash[order]
        ordered[:, 1] = label_hash[order]
        ordered[:, 2] = row_ids[order]
        bounds = np.cumsum(np.bincount(bucket, minlength=HASH_BUCKETS))
        for index in range(HASH_BUCKETS):
            part = ordered[(bounds[index - 1] if index else 0) : bounds[index]]
            if part.size:
                self.chunks[index].append(part)
        self.in_memory += ordered.nbytes
        if self.in_memory > SPILL_BYTES:
            self.spill()

    def spill(self) -> None:
        if self.spill_dir is None:
            self.spill_dir = tempfile.mkdtemp(prefix="catalog-profile-hashes-")
            self.directories.append(self.spill_dir)
        for index, chunks in enumerate(self.chunks):
            if chunks:
                block = np.concatenate(chunks)
                if _repeating(block):
                    block, surplus = folded(block)
                    self.surplus[index].append(surplus)
                path = os.path.join(self.spill_dir, f"{index:02d}-{len(self.spilled[index]):05d}.npy")
                np.save(path, block, allow_pickle=False)
                self.spilled[index].append(path)
        self.chunks = [[] for _ in range(HASH_BUCKETS)]
        self.in_memory = 0

    def bucket(self, index: int) -> np.ndarray:
        parts = [np.load(path, allow_pickle=False) for path in self.spilled[index]] + self.chunks[index]
        return np.concatenate(parts) if parts else np.empty((0, self.COLUMNS), dtype=np.uint64)

    def surplus_of(self, index: int) -> np.ndarray:
        """(feature hash, further rows) of the pairs folded in a bucket."""
        parts = self.surplus[index]
        return np.concatenate(parts) if parts else np.empty((0, 2), dtype=np.uint64)

    def merge(self, other: HashStore) -> None:
        """Take the other store's hashes; its spilled files become this store's, unread."""
        for index in range(HASH_BUCKETS):
            self.spilled[index].extend(other.spilled[index])
            self.chunks[index].extend(other.chunks[index])
            self.surplus[index].extend(other.surplus[index])
        self.directories.extend(other.directories)
        self.in_memory += other.in_memory
        other.release()
        if self.in_memory > SPILL_BYTES:
            self.spill()

    def release(self) -> None:
        """Forget the hashes without deleting their files (another store or process owns them now)."""
        self.chunks = [[] for _ in range(HASH_BUCKETS)]
        self.surplus = [[] for _ in range(HASH_BUCKETS)]
        self.spilled = [[] for _ in range(HASH_BUCKETS)]
        self.directories = []
        self.spill_dir = None
        self.in_memory = 0

    def discard(self) -> None:
        for paths in self.spilled:
            for path in paths:
                if os.path.exists(path):
                    os.unlink(path)
        for directory in self.directories:
            shutil.rmtree(directory, ignore_errors=True)
        self.release()


# Mixes a label hash into a feature hash: rows repeat one another when this pair key does.
PAIR_MIX = np.uint64(0x9E3779B97F4A7C15)


def pair_keys(block: np.ndarray) -> np.ndarray:
    return block[:, 0] ^ (block[:, 1] * PAIR_MIX)


# Folding costs a sort; it is done before a spill when a sample of the block repeats this much.
FOLD_SAMPLE = 4_096
FOLD_WHEN_REPEATED = 0.1


def _repeating(block: np.ndarray) -> bool:
    if len(block) <= FOLD_SAMPLE:
        return False
    sample = pair_keys(block[:: len(block) // FOLD_SAMPLE])
    return 1 - len(np.unique(sample)) / len(sample) >= FOLD_WHEN_REPEATED


def folded(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A hash block with each (feature, label) pair's rows folded into its first (the smallest row
    id), and (feature hash, further rows) of the pairs that had more than one."""
    keys = pair_keys(block)
    order = np.lexsort((block[:, 2], keys))  # by pair, then by row id: the first of each pair leads
    ordered = keys[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    rows = np.diff(np.r_[starts, len(block)]).astype(np.uint64)
    first = block[order[starts]]
    repeated = rows > 1
    surplus = np.empty((int(np.count_nonzero(repeated)), 2), dtype=np.uint64)
    surplus[:, 0] = first[repeated, 0]
    surplus[:, 1] = rows[repeated] - np.uint64(1)
    return first, surplus
