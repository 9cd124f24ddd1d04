"""The layout of a folder of media (class folders, split folders, a manifest, JSON Lines corpora), cut
into units of work."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any

from profiler.files import LabelColumnMissing, SourceError, SourceFile, read_bytes
from profiler.layout import (
    IMAGE_SUFFIXES,
    JSONL_SUFFIXES,
    LABEL_NAMES,
    MANIFEST_NAMES,
    SPLIT_FOLDERS,
    TEXT_SUFFIXES,
    split_of,
)
from profiler.media.documents import MAX_DOCUMENT_BYTES, decoded
from profiler.media.partition import Item, MediaPartition

PATH_FIELDS = ("file_name", "path", "filename", "file", "image", "image_path", "file_path")

# Items per unit of work: one worker's share of a large folder.
IMAGES_PER_PARTITION = 2_000
DOCUMENTS_PER_PARTITION = 5_000


def plan(
    files: Sequence[SourceFile], format: str, label_column: str | None, splits: Mapping[str, str] | None = None
) -> list[MediaPartition]:
    files = sorted(files, key=lambda file: file.relative_path)
    if format == "images":
        items, ignored, missing, declared, manifest = _image_items(files, label_column)
        size = IMAGES_PER_PARTITION
        if not items:
            raise SourceError(
                "The source holds no image files (.jpg, .jpeg, .png, .gif, .bmp, .webp, .tif, .tiff); "
                f"it holds {_shown(file.relative_path for file in files)}."
            )
    else:
        items, ignored, missing, declared = _text_items(files, label_column)
        manifest = None
        size = DOCUMENTS_PER_PARTITION
        if not items:
            raise SourceError(
                "The source holds no documents (.txt files, or JSON Lines files of documents); "
                f"it holds {_shown(file.relative_path for file in files)}."
            )
    items = _with_splits(items, splits)
    labelled = any(item.label is not None for item in items)
    has_splits = any(item.split is not None for item in items)
    label_field = label_column if format == "text" else None
    partitions: list[MediaPartition] = []
    plain: list[Item] = []
    corpora: list[Item] = []
    for item in items:
        jsonl = PurePosixPath(item.relative_path).suffix.lower() in JSONL_SUFFIXES
        (corpora if jsonl else plain).append(item)
    for start in range(0, len(plain), size):
        partitions.append(
            MediaPartition(format, tuple(plain[start : start + size]), labelled, has_splits, declared, label_field)
        )
    # A JSON Lines corpus is read a file at a time; its documents carry their own labels.
    partitions += [MediaPartition(format, (item,), True, has_splits, declared, label_field) for item in corpora]
    partitions.sort(key=lambda partition: partition.relative_path)
    partitions[0] = replace(partitions[0], ignored=tuple(ignored), missing=tuple(missing), manifest=manifest)
    return partitions


def _shown(names: Iterator[str] | Sequence[str], limit: int = 10) -> str:
    listed = list(names)
    text = ", ".join(listed[:limit])
    return text + (f" and {len(listed) - limit:,} more" if len(listed) > limit else "") if listed else "no files"


def _folder_label(relative_path: str) -> tuple[str | None, str | None]:
    """(split, label) from a path: an optional split folder, then the class folder."""
    parts = relative_path.split("/")[:-1]
    split = None
    if parts and parts[0].lower() in SPLIT_FOLDERS:
        split, parts = parts[0], parts[1:]
    return split, (parts[0] if parts else None)


def _image_items(
    files: Sequence[SourceFile], label_column: str | None
) -> tuple[list[Item], list[str], list[str], bool, str | None]:
    manifest = next((file for file in files if file.relative_path.lower() in MANIFEST_NAMES), None)
    labels: dict[str, str | None] | None = None
    declared = False
    missing: list[str] = []
    if manifest is not None:
        labels, declared = _manifest_labels(manifest, label_column)
    elif label_column:
        raise LabelColumnMissing(
            f"The label column {label_column!r} needs a manifest at the top of the source "
            f"({', '.join(sorted(MANIFEST_NAMES))}); without one, labels come from the class folders.",
            label_column,
        )
    items, ignored = [], []
    for file in files:
        if file is manifest:
            continue
        if PurePosixPath(file.relative_path).suffix.lower() not in IMAGE_SUFFIXES:
            ignored.append(file.relative_path)
            continue
        split, label = _folder_label(file.relative_path)
        if labels is not None:
            label = labels.get(file.relative_path)
        items.append(Item(file.relative_path, file, label, split))
    if labels is not None:
        present = {item.relative_path for item in items}
        missing = sorted(path for path in labels if path not in present)
    return items, ignored, missing, declared, manifest.relative_path if manifest is not None else None


def _manifest_labels(manifest: SourceFile, label_column: str | None) -> tuple[dict[str, str | None], bool]:
    """Path (relative to the source) -> label, from a CSV or JSON Lines manifest."""
    rows = list(_manifest_rows(manifest))
    names, path_field = _manifest_columns(manifest, rows)
    if label_column and label_column not in names:
        raise LabelColumnMissing(
            f"The label column {label_column!r} is not a column of {manifest.relative_path}: {', '.join(names[:20])}.",
            label_column,
        )
    label_field = label_column or next((name for name in names if name.strip().lower() in LABEL_NAMES), None)
    base = PurePosixPath(manifest.relative_path).parent
    labels: dict[str, str | None] = {}
    for row in rows:
        path = _manifest_path(base, row.get(path_field))
        if path is None:
            continue
        label = row.get(label_field) if label_field else None
        labels[path] = None if label is None or str(label).strip() == "" else str(label)
    return labels, bool(label_column)


def _manifest_columns(manifest: SourceFile, rows: Sequence[Mapping[str, Any]]) -> tuple[list[str], str]:
    """The manifest's column names (those of its first row) and its path column."""
    if not rows:
        raise SourceError(f"The manifest {manifest.relative_path} has no rows.")
    names = list(rows[0])
    path_field = next((name for name in names if name.strip().lower() in PATH_FIELDS), None)
    if path_field is None:
        raise SourceError(
            f"The manifest {manifest.relative_path} has no path column: name one of {', '.join(PATH_FIELDS)} "
            f"(its columns are {', '.join(names[:20])})."
        )
    return names, path_field


def _manifest_path(base: PurePosixPath, value: Any) -> str | None:
    path = str(value or "").strip().removeprefix("./")
    if not path:
        return None
    return (base / path).as_posix() if str(base) != "." else path


def manifest_attributes(manifest: SourceFile) -> dict[str, dict[str, Any]]:
    """Path (relative to the source) -> the other fields of its manifest row (the label's among them),
    read as `plan` reads the manifest; empty values (an empty CSV cell, a JSON null) are None."""
    rows = list(_manifest_rows(manifest))
    _, path_field = _manifest_columns(manifest, rows)
    base = PurePosixPath(manifest.relative_path).parent
    attributes: dict[str, dict[str, Any]] = {}
    for row in rows:
        path = _manifest_path(base, row.get(path_field))
        if path is None:
            continue
        attributes[path] = {
            str(name): None if value is None or (isinstance(value, str) and not value.strip()) else value
            for name, value in row.items()
            if name != path_field and name is not None
        }
    return attributes


def _manifest_rows(manifest: SourceFile) -> Iterator[dict[str, Any]]:
    data = read_bytes(manifest, MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise SourceError(f"The manifest {manifest.relative_path} is larger than {MAX_DOCUMENT_BYTES:,} bytes.")
    text = decoded(data)
    if text is None:
        raise SourceError(f"The manifest {manifest.relative_path} is not text in a known encoding.")
    if manifest.relative_path.lower().endswith(".csv"):
        try:
            yield from csv.DictReader(io.StringIO(text))
        except csv.Error as exc:
            raise SourceError(f"The manifest {manifest.relative_path} is not valid CSV: {exc}.") from exc
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SourceError(f"Line {number} of the manifest {manifest.relative_path} is not JSON: {exc}.") from exc
        if not isinstance(row, dict):
            raise SourceError(f"Line {number} of the manifest {manifest.relative_path} is not a JSON object.")
        yield row


def _text_items(files: Sequence[SourceFile], label_column: str | None) -> tuple[list[Item], list[str], list[str], bool]:
    items, ignored = [], []
    for file in files:
        suffix = PurePosixPath(file.relative_path).suffix.lower()
        if suffix in TEXT_SUFFIXES or suffix in JSONL_SUFFIXES:
            split, label = _folder_label(file.relative_path)
            items.append(Item(file.relative_path, file, label, split))
        else:
            ignored.append(file.relative_path)
    return items, ignored, [], bool(label_column)


def _with_splits(items: list[Item], splits: Mapping[str, str] | None) -> list[Item]:
    """Declared splits replace split folders; every declared split must hold items."""
    if not splits:
        return items
    placed = [Item(item.relative_path, item.file, item.label, split_of(item.relative_path, splits)) for item in items]
    empty = [name for name in splits if not any(item.split == name for item in placed)]
    if empty:
        shown = ", ".join(f"{name!r} ({splits[name]})" for name in empty)
        raise SourceError(f"No file of the source is in the split(s) {shown}.")
    return placed
