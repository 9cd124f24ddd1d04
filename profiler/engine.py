"""Profile a source: plan its partitions, profile each (in parallel processes when there are
several), merge the partial profiles and build the report.

The same steps over one `Plan`, `profile_part` for each partition and `finish` for the merge (see
`profiler.api`), let a task queue spread a large source over many machines.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import replace
from typing import Any

import numpy as np

from profiler import compute, media, quality, report
from profiler.files import LabelColumnMissing, SourceError, SourceFile
from profiler.hashes import HASH_BUCKETS
from profiler.layout import LABEL_NAMES, split_of, split_order
from profiler.plan import Options, Plan
from profiler.readers import (
    Partition,
    ReadOptions,
    first_row,
    plan_partitions,
    read_layout,
    read_partition,
    read_schema,
    row_ranges,
)
from profiler.result import Profile, SplitSummary
from profiler.state import PartialProfile

# A Parquet source is shared among worker processes only in parts of at least this many rows.
MIN_SHARE_ROWS = 250_000


def split_names(partitions: Sequence[Partition | media.MediaPartition], splits: Mapping[str, str]) -> list[str | None]:
    """The split of each partition; every split must hold at least one file."""
    names = [split_of(partition.relative_path, splits) for partition in partitions]
    empty = [name for name in splits if name not in names]
    if empty:
        shown = ", ".join(f"{name!r} ({splits[name]})" for name in empty)
        files = ", ".join(sorted({partition.relative_path for partition in partitions})[:10])
        raise SourceError(f"No file of the source is in the split(s) {shown}; the source holds {files}.")
    return names


def choose_label(names: Sequence[str], declared: str | None) -> tuple[str | None, bool]:
    if declared:
        if declared not in names:
            shown = ", ".join(repr(name) for name in list(names)[:20])
            raise LabelColumnMissing(f"The label column {declared!r} is not among the columns: {shown}.", declared)
        return declared, True
    for name in names:
        if name.strip().lower() in LABEL_NAMES:
            return name, False
    return None, False


def profile_partition(
    partition: Partition | media.MediaPartition,
    *,
    file_index: int,
    label_column: str | None,
    declared: bool,
    options: Options,
) -> PartialProfile:
    if isinstance(partition, media.MediaPartition):
        return media.profile_partition(partition, file_index=file_index, seed=options.seed + file_index * 1_000_003)
    schema = read_schema(partition)
    batches = read_partition(
        partition, batch_rows=options.batch_rows, memory_limit=options.memory_limit, threads=options.threads
    )
    profile = compute.profile_batches(
        batches,
        schema,
        label_column=label_column,
        declared=declared,
        relative_path=partition.relative_path,
        file_index=file_index,
        first_row=first_row(partition),
        threads=options.threads,
        seed=options.seed
        + file_index * 1_000_003
        + (min(partition.row_groups) if partition.row_groups else 0) * 1_009
        + (partition.rows[0] if partition.rows else 0),
        patterns=options.patterns,
    )
    return _with_finding_inputs(profile, partition.relative_path, file_index, options)


def _with_finding_inputs(
    profile: PartialProfile, relative_path: str, file_index: int, options: Options
) -> PartialProfile:
    """What the findings read besides the data: the declared task type, and the index this file's
    row ids carry (so a row id names its file whatever order the parts were merged in)."""
    if options.task_type is not None and options.task_type not in quality.TASK_TYPES:
        raise SourceError(f"The task type {options.task_type!r} is not one of {', '.join(quality.TASK_TYPES)}.")
    profile.task_type = options.task_type
    profile.file_indexes[relative_path] = file_index
    return profile


def _profile_to_bytes(
    partition: Partition | media.MediaPartition,
    file_index: int,
    label_column: str | None,
    declared: bool,
    options: Options,
) -> bytes:
    return profile_partition(
        partition, file_index=file_index, label_column=label_column, declared=declared, options=options
    ).to_bytes()


def _profile_share_to_bytes(
    share: Sequence[Partition], order: Mapping[str, int], label_column: str | None, declared: bool, options: Options
) -> bytes:
    """One worker's share of a source's rows, its partitions merged where they were profiled."""
    merged: PartialProfile | None = None
    for partition in share:
        part = profile_partition(
            partition,
            file_index=order[partition.relative_path],
            label_column=label_column,
            declared=declared,
            options=options,
        )
        if merged is None:
            merged = part
        else:
            merged.merge(part)
    assert merged is not None
    return merged.to_bytes(hash_files=True)


def build_with_splits(parts: Sequence[bytes], names: Sequence[str | None], file_names: Sequence[str]) -> dict[str, Any]:
    """As `build_splits`, as a plain dict (see `_untyped`)."""
    return _untyped(build_splits(parts, names, file_names))


def build_splits(parts: Sequence[bytes], names: Sequence[str | None], file_names: Sequence[str]) -> Profile:
    """The profile of the whole source, with the statistics of each split and the rows (by their
    features) found in more than one split. `parts` are serialised partial profiles, `names` the
    split of each, `file_names` the source's files in the order their row ids number them."""
    declared = split_order({name for name in names if name is not None})
    summaries: dict[str, SplitSummary] = {}
    keys: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in declared:
        members = [PartialProfile.from_bytes(part) for part, owner in zip(parts, names, strict=True) if owner == name]
        merged = members[0]
        for member in members[1:]:
            merged.merge(member)
        keys[name] = _feature_keys(merged)  # read before the report discards the hashes
        summaries[name] = report.split_summary(merged, report.build(merged) if merged.rows else None)
    profile = build([PartialProfile.from_bytes(part) for part in parts])
    profile["splits"] = summaries
    leakage = report.split_leakage(keys, file_names)
    profile["quality"]["split_leakage"] = leakage
    if leakage["rows"]:
        profile["quality"]["findings"].insert(0, report.split_leakage_finding(leakage))
    return profile


def _feature_keys(profile: PartialProfile) -> tuple[np.ndarray, np.ndarray]:
    """A split's distinct feature keys, sorted, and the row id of each one's first row."""
    keys, rows = [], []
    for index in range(HASH_BUCKETS):
        block = profile.hashes.bucket(index)
        if block.size:
            unique, first = np.unique(block[:, 0], return_index=True)
            keys.append(unique)
            rows.append(block[first, 2])
    if not keys:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.uint64)
    key_array, row_array = np.concatenate(keys), np.concatenate(rows)
    order = np.argsort(key_array, kind="stable")
    return key_array[order], row_array[order]


def merge_and_build(parts: Sequence[PartialProfile]) -> dict[str, Any]:
    """As `build`, as a plain dict (see `_untyped`)."""
    return _untyped(build(parts))


def _untyped(profile: Profile) -> dict[str, Any]:
    """The profile as a plain dict, for callers that add keys of their own to it (the catalog's services,
    until they read `profiler.api`)."""
    return {**profile}


def build(parts: Sequence[PartialProfile]) -> Profile:
    """The profile of a source from its partial profiles (merged into the first)."""
    if not parts:
        raise SourceError("The source has no files to profile.")
    merged = parts[0]
    for part in parts[1:]:
        merged.merge(part)
    if merged.media is not None:
        kind = merged.media.kind
        if merged.rows == 0 or (kind == "images" and merged.media.unreadable_count >= merged.rows):
            shown = "; ".join(f"{path} {reason}" for path, reason in merged.media.unreadable[:3])
            raise SourceError(f"No {'image' if kind == 'images' else 'document'} of the source can be read ({shown}).")
        return media.build(merged)
    if merged.rows == 0:
        raise SourceError("The source has no data rows (the files are empty or hold only a header).")
    return report.build(merged)


# Per-column work (aggregates, sketches, correlations) grows past what a worker finishes in its time
# limit well before 10,000 columns; such a table is refused with the reason instead.
MAX_COLUMNS = 2_000


def plan(
    files: Sequence[SourceFile],
    format: str,
    label_column: str | None,
    splits: Mapping[str, str] | None = None,
    *,
    read_options: ReadOptions | None = None,
) -> tuple[Sequence[Partition | media.MediaPartition], str | None, bool]:
    """The units of work of a source, its label column and whether the label was declared. A folder
    of media is split into groups of items (each knowing its split, so `splits` are applied here); a
    table into files or row groups (its splits are matched to partitions by `split_names`)."""
    planned = plan_source(files, format, label_column, splits, read_options=read_options)
    return planned.partitions, planned.label, planned.declared


def plan_source(
    files: Sequence[SourceFile],
    format: str,
    label_column: str | None,
    splits: Mapping[str, str] | None = None,
    *,
    read_options: ReadOptions | None = None,
) -> Plan:
    """As `plan`, with the dialect of delimited text, read by the same sniff that found the columns."""
    return plan_with(files, format, Options(label_column=label_column, splits=splits, read_options=read_options))


def plan_with(files: Sequence[SourceFile], format: str, options: Options) -> Plan:
    """The plan of a source: its units of work, its label column and whether the label was declared,
    the dialect of delimited text (read by the same sniff that found the columns), and what the
    parts are to be profiled with."""
    label_column, splits, read_options = options.label_column, options.splits, options.read_options
    if format in media.MEDIA_FORMATS:
        if read_options is not None:
            raise SourceError(f"Read options apply to csv and tsv sources; this source is {format}.")
        items = media.plan(files, format, label_column, splits)
        labelled = items[0].labelled
        return Plan(
            items, ("label" if labelled else None), items[0].label_declared, None, format, tuple(files), options
        )
    partitions = plan_partitions(files, format, read_options=read_options)
    if not partitions:
        raise SourceError("The source has no files to profile.")
    schema, dialect = read_layout(partitions[0])
    names = schema.names
    if len(names) > MAX_COLUMNS:
        raise SourceError(
            f"{partitions[0].relative_path} has {len(names):,} columns; the profiler reads at most {MAX_COLUMNS:,}. "
            "Register the columns a model uses (a narrower export), or split the table into several datasets."
        )
    label, declared = choose_label(names, label_column)
    return Plan(partitions, label, declared, dialect, format, tuple(files), options)


def profile_files(
    files: Sequence[SourceFile], format: str, *, options: Options | None = None, workers: int | None = None
) -> dict[str, Any]:
    """As `profile_source`, as a plain dict (see `_untyped`)."""
    return _untyped(profile_source(files, format, options=options, workers=workers))


def profile_source(
    files: Sequence[SourceFile], format: str, *, options: Options | None = None, workers: int | None = None
) -> Profile:
    """The profile of a source's files. With several partitions and workers > 1, they are
    profiled in that many processes (each DuckDB then gets an equal share of the cores)."""
    return profile_plan(plan_with(files, format, options or Options()), workers=workers)


def profile_plan(planned: Plan, *, workers: int | None = None) -> Profile:
    """The profile of a planned source, its partitions profiled in this process or, with workers > 1,
    in that many processes."""
    profile = _profile_planned(planned, workers=workers)
    if planned.dialect is not None:
        profile["dialect"] = planned.dialect
    return profile


def profile_part(planned: Plan, index: int) -> bytes:
    """The partial profile of one partition of a planned source, serialised for `finish`."""
    return _partial(planned, index).to_bytes()


def _partial(planned: Plan, index: int) -> PartialProfile:
    return profile_partition(
        planned.partitions[index],
        file_index=planned.file_index(index),
        label_column=planned.label,
        declared=planned.declared,
        options=planned.options,
    )


def finish(planned: Plan, parts: Sequence[bytes]) -> Profile:
    """The profile of a planned source from the serialised partial profiles of its partitions, in
    their order: with the statistics of each split and the rows found in more than one when the
    source declares splits, and the dialect of delimited text."""
    if len(parts) != len(planned.partitions):
        raise SourceError(
            f"Only {len(parts)} of {len(planned.partitions)} parts of the source were profiled; profile it again."
        )
    names = split_names_of(planned)
    if names is not None:
        profile = build_splits(parts, names, planned.file_names)
    else:
        profile = build([PartialProfile.from_bytes(part) for part in parts])
    if planned.dialect is not None:
        profile["dialect"] = planned.dialect
    return profile


def split_names_of(planned: Plan) -> list[str | None] | None:
    """The split of each partition of a table with declared splits (a folder of media knows the
    split of each item), or None."""
    splits = planned.options.splits
    if not splits or planned.format in media.MEDIA_FORMATS:
        return None
    return split_names(planned.partitions, splits)


def _profile_planned(planned: Plan, *, workers: int | None) -> Profile:
    partitions, label, declared, options = planned.partitions, planned.label, planned.declared, planned.options
    file_names = planned.file_names
    order = {name: index for index, name in enumerate(file_names)}
    names = split_names_of(planned)
    workers = workers or os.cpu_count() or 1
    if planned.format == "parquet" and names is None and workers > 1:
        # Row groups rarely divide evenly among the workers (5 among 2 leaves one idle for a third of
        # the time): each worker gets an equal share of the rows instead, cut inside row groups.
        tables = [partition for partition in partitions if isinstance(partition, Partition)]
        rows = sum(partition.rows_hint or 0 for partition in tables)
        shares = row_ranges(tables, min(workers, max(1, rows // MIN_SHARE_ROWS)))
        if len(shares) > 1:
            shared = replace(options, threads=max(1, (os.cpu_count() or 1) // len(shares)))
            with ProcessPoolExecutor(max_workers=len(shares)) as pool:
                futures = [
                    pool.submit(_profile_share_to_bytes, share, order, label, declared, shared) for share in shares
                ]
                wait(futures)
            failed = [error for future in futures if (error := future.exception()) is not None]
            # The shares' row hashes are files now: whatever happens next, they are deleted.
            parts = [PartialProfile.from_bytes(future.result()) for future in futures if future.exception() is None]
            try:
                if failed:
                    raise failed[0]
                return build(parts)
            finally:
                for part in parts:
                    part.hashes.discard()
    workers = min(workers, len(partitions))
    if workers <= 1:
        parts = [
            profile_partition(
                partition,
                file_index=order[partition.relative_path],
                label_column=label,
                declared=declared,
                options=options,
            )
            for partition in partitions
        ]
        if names is not None:
            return build_splits([part.to_bytes() for part in parts], names, file_names)
        return build(parts)
    shared = replace(options, threads=max(1, (os.cpu_count() or 1) // workers))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(_profile_to_bytes, partition, order[partition.relative_path], label, declared, shared)
            for partition in partitions
        ]
        serialised = [future.result() for future in futures]
    if names is not None:
        return build_splits(serialised, names, file_names)
    return build([PartialProfile.from_bytes(part) for part in serialised])
