"""Items that are the same (a content hash) or nearly the same (a perceptual hash within a few bits, a
MinHash above a Jaccard similarity), in groups."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from profiler.media.documents import MINHASH_PERMUTATIONS, MINHASH_SCHEME, MINHASH_SEED

if TYPE_CHECKING:
    from datasketch import LeanMinHash

# Perceptual hashes (64-bit DCT hashes) this many bits apart or fewer are the same picture: resized,
# recompressed, lightly edited. Measured here: a resize with JPEG recompression moves 0 bits, a 20%
# brightening or a 2-pixel crop 2; of 2,000 different drawn pictures the closest two were 6 apart.
# Found exactly, with one band more than the distance (pigeonhole).
NEAR_IMAGE_BITS = 4
# Documents whose word 5-gram sets have an estimated Jaccard similarity of at least this are near-duplicates.
NEAR_TEXT_JACCARD = 0.8


def exact_groups(content: list[bytes | None]) -> list[list[int]]:
    """Items with the same content, in groups of two or more (by first path)."""
    by_content: dict[bytes, list[int]] = {}
    for index, value in enumerate(content):
        if value is not None:
            by_content.setdefault(value, []).append(index)
    return [members for members in by_content.values() if len(members) > 1]


def similar_groups(kind: str, records: pa.Table, exact: list[list[int]]) -> list[list[int]]:
    """Items that are the same or near-identical, as the connected groups of two or more."""
    size = records.num_rows
    if size < 2:
        return []
    first: list[int] = []
    second: list[int] = []
    for members in exact:
        first += members[:-1]
        second += members[1:]
    if kind == "images":
        column = records.column("near")
        present = np.flatnonzero(~column.is_null().to_numpy(zero_copy_only=False))
        # Filled before numpy sees it: a uint64 column with nulls would become float64, losing bits.
        hashes = pc.fill_null(column, 0).to_numpy(zero_copy_only=False).astype(np.uint64)[present]
        a, b = hamming_pairs(hashes, NEAR_IMAGE_BITS)
        first += present[a].tolist()
        second += present[b].tolist()
    else:
        pairs = _minhash_pairs(records)
        first += pairs[0]
        second += pairs[1]
    if not first:
        return []
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(first), dtype=np.int8), (first, second)), shape=(size, size))
    _, component = connected_components(graph, directed=False)
    counts = np.bincount(component)
    grouped: dict[int, list[int]] = {}
    for index in np.flatnonzero(counts[component] > 1).tolist():
        grouped.setdefault(int(component[index]), []).append(index)
    return sorted(grouped.values(), key=lambda members: (-len(members), members[0]))


# Within a band, runs longer than this are compared along their order rather than all pairs.
_BAND_RUN_PAIRS = 64


def _keep_close(
    hashes: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    distance: int,
    found_a: list[np.ndarray],
    found_b: list[np.ndarray],
) -> None:
    close = np.bitwise_count(hashes[a] ^ hashes[b]) <= distance
    found_a.append(np.minimum(a, b)[close])
    found_b.append(np.maximum(a, b)[close])


def hamming_pairs(hashes: np.ndarray, distance: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of 64-bit hashes at most `distance` bits apart.

    Split into distance + 1 bands, two hashes that close agree exactly on at least one band, so only
    hashes sharing a band value are compared: exact, and far from the n² of all pairs."""
    hashes = np.asarray(hashes, dtype=np.uint64)
    bands = distance + 1
    widths = [64 // bands + (1 if band < 64 % bands else 0) for band in range(bands)]
    found_a: list[np.ndarray] = []
    found_b: list[np.ndarray] = []
    shift = 0
    for width in widths:
        keys = (hashes >> np.uint64(shift)) & np.uint64((1 << width) - 1)
        shift += width
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        ends = np.r_[starts[1:], len(sorted_keys)]
        lengths = ends - starts
        # Runs up to _BAND_RUN_PAIRS long: every pair, as (position, position + step) for each step,
        # so the loop is over steps (a few), not runs (thousands).
        short = np.repeat(lengths <= _BAND_RUN_PAIRS, lengths)
        run_end = np.repeat(ends, lengths)
        positions = np.flatnonzero(short)
        for step in range(1, int(lengths[lengths <= _BAND_RUN_PAIRS].max(initial=1))):
            positions = positions[positions + step < run_end[positions]]
            if not positions.size:
                break
            _keep_close(hashes, order[positions], order[positions + step], distance, found_a, found_b)
        for start, end in zip(starts[lengths > _BAND_RUN_PAIRS], ends[lengths > _BAND_RUN_PAIRS], strict=True):
            # A long run (many near-identical pictures): each joined to its neighbours in hash order.
            run = order[start:end]
            run = run[np.argsort(hashes[run], kind="stable")]
            left = np.repeat(np.arange(len(run)), _BAND_RUN_PAIRS)
            right = left + np.tile(np.arange(1, _BAND_RUN_PAIRS + 1), len(run))
            keep = right < len(run)
            _keep_close(hashes, run[left[keep]], run[right[keep]], distance, found_a, found_b)
    if not found_a:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    pairs = np.unique(np.stack([np.concatenate(found_a), np.concatenate(found_b)], axis=1), axis=0)
    return pairs[:, 0], pairs[:, 1]


def _minhash_pairs(records: pa.Table) -> tuple[list[int], list[int]]:
    from datasketch import LeanMinHash, MinHashLSH

    signatures = records.column("signature").to_pylist()
    contents = records.column("content").to_pylist()
    index = MinHashLSH(threshold=NEAR_TEXT_JACCARD, num_perm=MINHASH_PERMUTATIONS)
    minhashes: dict[int, LeanMinHash] = {}
    seen: set[bytes] = set()
    for position, (signature, content) in enumerate(zip(signatures, contents, strict=True)):
        if signature is None or content in seen:
            continue  # exact copies are joined by their content; one of them stands for all
        seen.add(content)
        minhash = LeanMinHash(
            seed=MINHASH_SEED, hashvalues=np.frombuffer(signature, dtype=np.uint32), scheme=MINHASH_SCHEME
        )
        minhashes[position] = minhash
        index.insert(position, minhash)
    first, second = [], []
    for position, minhash in minhashes.items():
        for other in index.query(minhash):
            if other > position and minhash.jaccard(minhashes[other]) >= NEAR_TEXT_JACCARD:
                first.append(position)
                second.append(other)
    return first, second
