"""Units of work over a folder of media, and the table each one implies: one row per item."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa

from profiler import compute
from profiler.files import SourceFile
from profiler.state import MediaState, PartialProfile


@dataclass(frozen=True)
class Item:
    relative_path: str
    file: SourceFile
    label: str | None
    split: str | None


@dataclass(frozen=True)
class MediaPartition:
    """One unit of work: some of a folder's images or documents (or one JSON Lines file of documents)."""

    format: str
    items: tuple[Item, ...]
    labelled: bool
    has_splits: bool
    label_declared: bool = False
    label_field: str | None = None
    # Said once, by the first partition: files that are not items, and manifest rows naming no file.
    ignored: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    manifest: str | None = None

    @property
    def relative_path(self) -> str:
        return self.items[0].relative_path


def implicit_schema(partition: MediaPartition, columns: list[tuple[str, pa.DataType]]) -> pa.Schema:
    fields = [("path", pa.string())]
    if partition.labelled:
        fields.append(("label", pa.string()))
    if partition.has_splits:
        fields.append(("split", pa.string()))
    return pa.schema(fields + columns)


def with_state(
    partition: MediaPartition,
    batches: Iterable[pa.RecordBatch],
    schema: pa.Schema,
    state: MediaState,
    file_index: int,
    seed: int,
) -> PartialProfile:
    label = "label" if partition.labelled else None
    profile = compute.profile_batches(
        batches,
        schema,
        label_column=label,
        declared=partition.label_declared,
        relative_path=partition.relative_path,
        file_index=file_index,
        threads=1,
        seed=seed,
        languages=False,
    )
    profile.media = state
    return profile
