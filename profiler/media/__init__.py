"""Folders of images and corpora of documents: what their layout says, and what is in them.

A folder of media is profiled as the table it implies, one row per image or document, with the
columns a person would ask about (`path`, `label`, `split`, `width`, `height`, `characters`, ...),
so the tabular engine gives every feature its statistics (histograms, quantiles, class balance).
What a table cannot say is kept beside it, one record per item: a content hash for exact
duplicates and a similarity key for near ones (a perceptual hash of an image, a MinHash of a
document's word shingles). Items that are the same or nearly the same form groups; a group under
two labels is a label conflict, a group in two splits is leakage.

Layouts (DESIGN §4):

- one folder per class, `poodle/001.jpg`, as torchvision's ImageFolder and Keras read them: the
  first folder below the source (or below a split folder) is the label;
- split folders above the classes, `train/poodle/001.jpg`, `test/...` (the names in
  `layout.SPLIT_ORDER`), or splits declared with the version, as for tables;
- a manifest at the top of the source (`metadata.csv`, as Hugging Face's imagefolder names it,
  `manifest.csv`, `labels.csv`, or the same as `.jsonl`) with a path column (`file_name`, `path`,
  ...) relative to the source and a label column (declared, or one of `layout.LABEL_NAMES`);
- a text corpus of `.txt` files (one document each, labelled by folder as above), or of JSON Lines
  files with one document per line: the text is the field named `text` (or `content`, `document`,
  ...), the label the declared field or one of `layout.LABEL_NAMES`.

Unreadable items are listed and counted, never fatal; files that are neither items nor the manifest
(a README, `.DS_Store`) are counted as ignored. Every file, those included, is in the fingerprint.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import json
import os
import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from PIL import Image, ImageOps, UnidentifiedImageError

from profiler import compute, pii, report
from profiler.files import LabelColumnMissing, SourceError, SourceFile, open_file, read_bytes
from profiler.layout import (
    IMAGE_SUFFIXES,
    JSONL_SUFFIXES,
    LABEL_NAMES,
    MANIFEST_NAMES,
    SPLIT_FOLDERS,
    TEXT_SUFFIXES,
    split_of,
    split_order,
)
from profiler.readers import legacy_encoding
from profiler.state import MediaState, PartialProfile

if TYPE_CHECKING:
    from datasketch import LeanMinHash

# imagehash, datasketch and scipy are imported where they are used: loading them takes over half a
# second, which every profile of a table would otherwise pay at start.

MEDIA_FORMATS = ("images", "text")
PATH_FIELDS = ("file_name", "path", "filename", "file", "image", "image_path", "file_path")
TEXT_FIELDS = ("text", "content", "document", "body", "sentence", "review", "passage")

# Items per unit of work: one worker's share of a large folder.
IMAGES_PER_PARTITION = 2_000
DOCUMENTS_PER_PARTITION = 5_000
# Files larger than these are listed as unreadable rather than decoded.
MAX_IMAGE_BYTES = 128 * 1024 * 1024
MAX_DOCUMENT_BYTES = 32 * 1024 * 1024
# Pillow refuses images above its MAX_IMAGE_PIXELS (a decompression bomb); so do we, at this size.
MAX_IMAGE_PIXELS = 178_956_970

# Perceptual hashes (64-bit DCT hashes) this many bits apart or fewer are the same picture: resized,
# recompressed, lightly edited. Measured here: a resize with JPEG recompression moves 0 bits, a 20%
# brightening or a 2-pixel crop 2; of 2,000 different drawn pictures the closest two were 6 apart.
# Found exactly, with one band more than the distance (pigeonhole).
NEAR_IMAGE_BITS = 4
# Documents whose word 5-gram sets have an estimated Jaccard similarity of at least this are near-duplicates.
NEAR_TEXT_JACCARD = 0.8
MINHASH_PERMUTATIONS = 64
MINHASH_SEED = 1
MINHASH_SCHEME = "affine32"  # 32-bit hash values; named, so stored signatures read back the same
SHINGLE_WORDS = 5
# The characters of each document kept in the `text` column (sample rows, top values, PII suspicion).
TEXT_PREVIEW = 1_000
# Documents profiled at a time: memory holds at most this many, or this many characters of text.
TEXT_BATCH_DOCUMENTS = 2_000
TEXT_BATCH_CHARACTERS = 64 * 1024 * 1024
LANGUAGE_SAMPLE = 2_000
LANGUAGE_MIN_LETTERS = 20
LANGUAGE_MIN_PROBABILITY = 0.5
THUMBNAILS_PER_CLASS = 4
THUMBNAIL_CLASSES = 50
THUMBNAIL_SIDE = 128
EXAMPLES = 5
PII_NAMES = {
    "email": "e-mail addresses",
    "phone": "phone numbers",
    "ip_address": "IP addresses",
    "card_number": "card numbers",
}
# Columns that count things: their logical type is numeric whatever their values look like.
COUNT_COLUMNS = frozenset({"width", "height", "bytes", "channels", "frames", "characters", "tokens", "lines"})
KEPT_TABLE_FINDINGS = frozenset({"class_imbalance", "label_missing", "label_leakage", "mostly_missing"})

_WORDS = re.compile(r"\w+")


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


# --- Layout -----------------------------------------------------------------------------------------


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
    if not rows:
        raise SourceError(f"The manifest {manifest.relative_path} has no rows.")
    names = list(rows[0])
    path_field = next((name for name in names if name.strip().lower() in PATH_FIELDS), None)
    if path_field is None:
        raise SourceError(
            f"The manifest {manifest.relative_path} has no path column: name one of {', '.join(PATH_FIELDS)} "
            f"(its columns are {', '.join(names[:20])})."
        )
    if label_column and label_column not in names:
        raise LabelColumnMissing(
            f"The label column {label_column!r} is not a column of {manifest.relative_path}: {', '.join(names[:20])}.",
            label_column,
        )
    label_field = label_column or next((name for name in names if name.strip().lower() in LABEL_NAMES), None)
    base = PurePosixPath(manifest.relative_path).parent
    labels: dict[str, str | None] = {}
    for row in rows:
        path = str(row.get(path_field) or "").strip().removeprefix("./")
        if not path:
            continue
        label = row.get(label_field) if label_field else None
        labels[(base / path).as_posix() if str(base) != "." else path] = (
            None if label is None or str(label).strip() == "" else str(label)
        )
    return labels, bool(label_column)


def _manifest_rows(manifest: SourceFile) -> Iterator[dict[str, Any]]:
    data = read_bytes(manifest, MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise SourceError(f"The manifest {manifest.relative_path} is larger than {MAX_DOCUMENT_BYTES:,} bytes.")
    text = _decoded(data)
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


# --- Images -----------------------------------------------------------------------------------------

IMAGE_SCHEMA_BASE = [
    ("format", pa.string()),
    ("mode", pa.string()),
    ("channels", pa.int32()),
    ("width", pa.int64()),
    ("height", pa.int64()),
    ("aspect_ratio", pa.float64()),
    ("frames", pa.int32()),
    ("bytes", pa.int64()),
]
IMAGE_RECORDS = pa.schema(
    [
        ("path", pa.string()),
        ("label", pa.string()),
        ("split", pa.string()),
        ("content", pa.binary(32)),
        ("near", pa.uint64()),
    ]
)


def _implicit_schema(partition: MediaPartition, columns: list[tuple[str, pa.DataType]]) -> pa.Schema:
    fields = [("path", pa.string())]
    if partition.labelled:
        fields.append(("label", pa.string()))
    if partition.has_splits:
        fields.append(("split", pa.string()))
    return pa.schema(fields + columns)


def _profile_images(partition: MediaPartition, file_index: int, seed: int) -> PartialProfile:
    rows: dict[str, list[Any]] = {name: [] for name in _implicit_schema(partition, IMAGE_SCHEMA_BASE).names}
    records: dict[str, list[Any]] = {name: [] for name in IMAGE_RECORDS.names}
    state = MediaState(kind="images")
    for item in partition.items:
        described = _image(item, thumbnail=state.wants_thumbnail(item.label))
        rows["path"].append(item.relative_path)
        if partition.labelled:
            rows["label"].append(item.label)
        if partition.has_splits:
            rows["split"].append(item.split)
        for name, _ in IMAGE_SCHEMA_BASE:
            rows[name].append(described.get(name))
        records["path"].append(item.relative_path)
        records["label"].append(item.label)
        records["split"].append(item.split)
        records["content"].append(described.get("content"))
        records["near"].append(described.get("near"))
        if "error" in described:
            state.add_unreadable(item.relative_path, described["error"])
        elif "thumbnail" in described:
            state.add_thumbnail(item.label, item.relative_path, *described["thumbnail"])
    schema = _implicit_schema(partition, IMAGE_SCHEMA_BASE)
    state.records = pa.Table.from_pydict(records, schema=IMAGE_RECORDS)
    return _with_state(partition, [pa.RecordBatch.from_pydict(rows, schema=schema)], schema, state, file_index, seed)


def _image(item: Item, *, thumbnail: bool) -> dict[str, Any]:
    """What one image file is: its shape, its hashes and a thumbnail; or why it cannot be read."""
    try:
        data = read_bytes(item.file, MAX_IMAGE_BYTES + 1)
    except OSError as exc:
        return {"error": f"cannot be read: {exc.strerror or exc}"}
    described: dict[str, Any] = {"bytes": len(data)}
    if len(data) > MAX_IMAGE_BYTES:
        return {**described, "error": f"is larger than {MAX_IMAGE_BYTES:,} bytes"}
    described["content"] = hashlib.sha256(data).digest()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    return {**described, "error": f"has {width * height:,} pixels, more than {MAX_IMAGE_PIXELS:,}"}
                described.update(
                    format=image.format,
                    mode=image.mode,
                    channels=len(image.getbands()),
                    width=width,
                    height=height,
                    aspect_ratio=round(width / height, 6) if height else None,
                    frames=getattr(image, "n_frames", 1),
                )
                # A JPEG is decoded at a reduced scale (every byte of it still read, so a truncated
                # file still fails); the perceptual hash looks at 32x32 pixels.
                image.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))
                image.load()
                import imagehash

                described["near"] = int(str(imagehash.phash(image)), 16)
                if thumbnail:
                    # A picture that decodes is not corrupt for want of a thumbnail.
                    with contextlib.suppress(OSError, ValueError):
                        described["thumbnail"] = _thumbnail(image)
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError, Warning) as exc:
        # UnidentifiedImageError is an OSError: not an image Pillow knows, or a truncated/corrupt one.
        reason = "is not an image Pillow can read" if isinstance(exc, UnidentifiedImageError) else f"is corrupt: {exc}"
        for name in ("format", "mode", "channels", "width", "height", "aspect_ratio", "frames", "near"):
            described.pop(name, None)
        return {**described, "error": reason}
    return described


def _thumbnail(image: Image.Image) -> tuple[bytes, int, int]:
    """A small JPEG re-encoded from the decoded pixels: never the original bytes."""
    small = ImageOps.exif_transpose(image)  # a copy, turned upright
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    if small.mode not in ("RGB", "L"):
        small = small.convert("RGBA").convert("RGB")  # through RGBA, so palettes with transparency convert
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue(), small.width, small.height


# --- Documents --------------------------------------------------------------------------------------

TEXT_SCHEMA_BASE = [
    ("characters", pa.int64()),
    ("tokens", pa.int64()),
    ("lines", pa.int64()),
    ("language", pa.string()),
    ("text", pa.string()),
]
TEXT_RECORDS = pa.schema(
    [
        ("path", pa.string()),
        ("label", pa.string()),
        ("split", pa.string()),
        ("content", pa.binary(32)),
        ("signature", pa.binary(4 * MINHASH_PERMUTATIONS)),
        ("characters", pa.int64()),
    ]
)


@dataclass
class _Document:
    path: str
    label: str | None
    split: str | None
    text: str | None = None
    error: str | None = None


def _profile_text(partition: MediaPartition, file_index: int, seed: int) -> PartialProfile:
    schema = _implicit_schema(partition, TEXT_SCHEMA_BASE)
    records: dict[str, list[Any]] = {name: [] for name in TEXT_RECORDS.names}
    state = MediaState(kind="text")
    profile = _with_state(partition, _text_batches(partition, schema, records, state), schema, state, file_index, seed)
    state.records = pa.Table.from_pydict(records, schema=TEXT_RECORDS)
    return profile


def _text_batches(
    partition: MediaPartition, schema: pa.Schema, records: dict[str, list[Any]], state: MediaState
) -> Iterator[pa.RecordBatch]:
    """The implicit table of a partition's documents, a batch at a time, so memory holds at most a
    batch of texts (a JSON Lines corpus may hold millions); the records of every document are kept."""
    identifier = _language_identifier()
    rows: dict[str, list[Any]] = {name: [] for name in schema.names}
    texts: list[str] = []
    held = 0
    for document in _documents(partition):
        if document.error is not None:
            state.add_unreadable(document.path, document.error)
            continue
        text = document.text or ""
        words = _WORDS.findall(text.lower())
        language = None
        letters = sum(char.isalpha() for char in text[:LANGUAGE_SAMPLE])
        if letters >= LANGUAGE_MIN_LETTERS:
            code, probability = identifier.classify(text[:LANGUAGE_SAMPLE])
            language = code if probability >= LANGUAGE_MIN_PROBABILITY else None
        rows["path"].append(document.path)
        if partition.labelled:
            rows["label"].append(document.label)
        if partition.has_splits:
            rows["split"].append(document.split)
        rows["characters"].append(len(text))
        rows["tokens"].append(len(words))
        rows["lines"].append(text.count("\n") + (1 if text and not text.endswith("\n") else 0))
        rows["language"].append(language)
        rows["text"].append(text[:TEXT_PREVIEW])
        normalised = " ".join(text.split())
        records["path"].append(document.path)
        records["label"].append(document.label)
        records["split"].append(document.split)
        records["characters"].append(len(text))
        records["content"].append(hashlib.sha256(normalised.encode()).digest() if normalised else None)
        records["signature"].append(_signature(words) if words else None)
        if text:
            texts.append(text)
            held += len(text)
        if len(rows["path"]) >= TEXT_BATCH_DOCUMENTS or held >= TEXT_BATCH_CHARACTERS:
            yield _text_batch(rows, texts, schema, state)
            rows = {name: [] for name in schema.names}
            texts, held = [], 0
    if rows["path"]:
        yield _text_batch(rows, texts, schema, state)


def _text_batch(rows: dict[str, list[Any]], texts: list[str], schema: pa.Schema, state: MediaState) -> pa.RecordBatch:
    for kind, count in pii.scan_contained(texts).items():
        state.pii_documents[kind] = state.pii_documents.get(kind, 0) + count
    return pa.RecordBatch.from_pydict(rows, schema=schema)


def _signature(words: list[str]) -> bytes:
    shingles = (
        [" ".join(words[start : start + SHINGLE_WORDS]) for start in range(len(words) - SHINGLE_WORDS + 1)]
        if len(words) >= SHINGLE_WORDS
        else [" ".join(words)]
    )
    from datasketch import MinHash

    minhash = MinHash(num_perm=MINHASH_PERMUTATIONS, seed=MINHASH_SEED, scheme=MINHASH_SCHEME)
    minhash.update_batch([shingle.encode() for shingle in shingles])
    return np.asarray(minhash.hashvalues, dtype=np.uint32).tobytes()


@cache
def _language_identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _documents(partition: MediaPartition) -> Iterator[_Document]:
    for item in partition.items:
        if PurePosixPath(item.relative_path).suffix.lower() in JSONL_SUFFIXES:
            yield from _jsonl_documents(item, partition.label_field)
            continue
        data = _read_capped(item)
        if isinstance(data, str):
            yield _Document(item.relative_path, item.label, item.split, error=data)
            continue
        text = _decoded(data)
        if text is None:
            yield _Document(item.relative_path, item.label, item.split, error="is not text in a known encoding")
        else:
            yield _Document(item.relative_path, item.label, item.split, text=text)


def _read_capped(item: Item) -> bytes | str:
    try:
        data = read_bytes(item.file, MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if len(data) > MAX_DOCUMENT_BYTES:
        return f"is larger than {MAX_DOCUMENT_BYTES:,} bytes"
    return data


def _jsonl_documents(item: Item, label_field: str | None) -> Iterator[_Document]:
    text_field: str | None = None
    try:
        handle = os.fdopen(open_file(item.file), "rb")
    except OSError as exc:
        yield _Document(item.relative_path, item.label, item.split, error=f"cannot be read: {exc.strerror or exc}")
        return
    with handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{item.relative_path}:{number}"
            if len(raw) > MAX_DOCUMENT_BYTES:
                yield _Document(where, item.label, item.split, error=f"is longer than {MAX_DOCUMENT_BYTES:,} bytes")
                continue
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                yield _Document(where, item.label, item.split, error=f"is not JSON: {exc}")
                continue
            if not isinstance(row, dict):
                yield _Document(where, item.label, item.split, error="is not a JSON object")
                continue
            if text_field is None:
                text_field = _text_field(row)
                if text_field is None:
                    yield _Document(
                        where,
                        item.label,
                        item.split,
                        error=f"has no text field (one of {', '.join(TEXT_FIELDS)}, or a string)",
                    )
                    continue
            if label_field and label_field not in row:
                raise SourceError(f"Line {number} of {item.relative_path} has no field {label_field!r} (the label).")
            value = row.get(text_field)
            label = _label_of(row, label_field)
            yield _Document(
                where,
                label if label is not None else item.label,
                item.split,
                text=value if isinstance(value, str) else ("" if value is None else json.dumps(value)),
            )


def _text_field(row: dict[str, Any]) -> str | None:
    named = next((name for name in row if name.strip().lower() in TEXT_FIELDS), None)
    if named is not None:
        return named
    strings = [name for name, value in row.items() if isinstance(value, str)]
    return max(strings, key=lambda name: len(row[name]), default=None)


def _label_of(row: dict[str, Any], label_field: str | None) -> str | None:
    name = label_field or next((key for key in row if key.strip().lower() in LABEL_NAMES), None)
    value = row.get(name) if name else None
    return None if value is None or value == "" else str(value)


def _decoded(data: bytes) -> str | None:
    """The text of a file's bytes: UTF-8 (a BOM dropped), else the legacy encoding the tabular
    reader would choose for them."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return unicodedata.normalize("NFC", data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    try:
        return unicodedata.normalize("NFC", data.decode(legacy_encoding(data[:65536])))
    except UnicodeDecodeError:
        return None


# --- Profiling a partition --------------------------------------------------------------------------


def profile_partition(partition: MediaPartition, *, file_index: int, seed: int = 0) -> PartialProfile:
    if partition.format == "images":
        profile = _profile_images(partition, file_index, seed)
    else:
        profile = _profile_text(partition, file_index, seed)
    assert profile.media is not None
    profile.media.ignored_count = len(partition.ignored)
    profile.media.ignored = list(partition.ignored[: MediaState.EXAMPLES_KEPT])
    profile.media.missing_count = len(partition.missing)
    profile.media.missing = list(partition.missing[: MediaState.EXAMPLES_KEPT])
    profile.media.file_count = len(partition.items) + len(partition.ignored) + (1 if partition.manifest else 0)
    return profile


def _with_state(
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
    )
    profile.media = state
    return profile


# --- The profile of the whole folder ----------------------------------------------------------------


def build(profile: PartialProfile) -> dict[str, Any]:
    """The profile of a folder of media: its implicit table's profile, with duplicates, near
    duplicates, label conflicts and leakage found among its items, and its unreadable files."""
    media = profile.media
    assert media is not None
    built = report.build(profile)
    records = media.records
    assert records is not None
    content = records.column("content").to_pylist()
    exact = _exact_groups(content)
    groups = _similar_groups(media.kind, records, exact)
    quality = built["quality"]
    noun = "images" if media.kind == "images" else "documents"
    # Of the implicit table's findings, those about the labels and what predicts them; its columns
    # are facts about files (a constant mode or correlated width and height says nothing about the data).
    findings = [
        entry
        for entry in quality["findings"]
        if entry["code"] in KEPT_TABLE_FINDINGS and entry.get("feature") != "path" and "'path'" not in entry["message"]
    ]
    paths = records.column("path").to_pylist()
    labels = records.column("label").to_pylist()
    splits = records.column("split").to_pylist()

    duplicates = sum(len(members) - 1 for members in exact)
    near = [members for members in groups if len({content[index] for index in members}) > 1]
    conflicts = [members for members in groups if len({labels[index] for index in members} - {None}) > 1]
    leaking = [members for members in groups if len({splits[index] for index in members} - {None}) > 1]

    quality["duplicate_rows"] = duplicates
    quality["duplicates"] = {
        "exact": {"groups": len(exact), "items": sum(map(len, exact)), "examples": _examples(exact, paths)},
        "near": {"groups": len(near), "items": sum(map(len, near)), "examples": _examples(near, paths)},
        "method": (
            f"exact: sha256 of the bytes; near: perceptual hash (64-bit DCT) within {NEAR_IMAGE_BITS} bits"
            if media.kind == "images"
            else f"exact: sha256 of the text with whitespace collapsed; near: MinHash ({MINHASH_PERMUTATIONS} "
            f"permutations) of word {SHINGLE_WORDS}-grams, estimated Jaccard similarity at least {NEAR_TEXT_JACCARD}"
        ),
    }
    quality["label_conflicts"] = {
        "groups": len(conflicts),
        "rows": sum(map(len, conflicts)),
        "examples": [
            [f"{paths[index]} ({labels[index]})" for index in sorted(members, key=lambda i: paths[i])[:4]]
            for members in conflicts[:EXAMPLES]
        ],
    }
    quality["split_leakage"] = _leakage(leaking, paths, splits)
    quality["unreadable"] = {"count": media.unreadable_count, "examples": media.unreadable[:EXAMPLES]}
    quality["ignored_files"] = {"count": media.ignored_count, "examples": media.ignored[:EXAMPLES]}

    if media.unreadable_count:
        shown = "; ".join(f"{path} {reason}" for path, reason in media.unreadable[:3])
        findings.append(
            report.finding(
                "error",
                "unreadable_files",
                None,
                f"Unreadable: {media.unreadable_count:,} of "
                f"{profile.rows + (media.unreadable_count if media.kind == 'text' else 0):,} {noun} ({shown}); "
                "the statistics that need their content leave them out.",
            )
        )
    if duplicates:
        findings.append(
            report.finding(
                "warning",
                f"duplicate_{noun}",
                None,
                f"Exact copies of another of the {noun}: {duplicates:,} (in {_many(len(exact), 'group')}), e.g. "
                f"{' and '.join(sorted(paths[index] for index in exact[0])[:3])}.",
            )
        )
    if near:
        findings.append(
            report.finding(
                "warning",
                f"near_duplicate_{noun}",
                None,
                f"Near-identical {noun}: {_many(len(near), 'group')} of {sum(map(len, near)):,}, e.g. "
                f"{' and '.join(sorted(paths[index] for index in near[0])[:3])}.",
            )
        )
    if conflicts:
        shown = " and ".join(quality["label_conflicts"]["examples"][0])
        findings.append(
            report.finding(
                "error",
                "label_conflicts",
                "label",
                f"Identical or near-identical {noun} under different labels: {_many(len(conflicts), 'group')} "
                f"of {sum(map(len, conflicts)):,}, e.g. {shown}.",
            )
        )
    if leaking:
        leakage = quality["split_leakage"]
        pairs = ", ".join(f"{pair.replace('/', ' and ')}: {count:,}" for pair, count in leakage["between"].items())
        example = " and ".join(leakage["examples"][0]["rows"])
        findings.append(
            report.finding(
                "error",
                "split_leakage",
                None,
                f"The same or near-identical {noun} in more than one split: {len(leaking):,} ({pairs}), "
                f"e.g. {example}; a model would be evaluated on {noun} it was trained on.",
            )
        )
    if media.missing_count:
        findings.append(
            report.finding(
                "warning",
                "manifest_missing_files",
                None,
                f"Rows of the manifest naming files the source does not hold: {media.missing_count:,}, e.g. "
                f"{', '.join(media.missing[:3])}.",
            )
        )
    if media.ignored_count:
        findings.append(
            report.finding(
                "info",
                "ignored_files",
                None,
                f"Files that are not {noun}, so not profiled (the fingerprint covers them): {media.ignored_count:,}, "
                f"e.g. {', '.join(media.ignored[:3])}.",
            )
        )
    if media.kind == "text":
        findings += _text_findings(built, media, profile.rows)
    for feature in built["features"]:
        if feature["name"] in COUNT_COLUMNS and feature["logical_type"] in ("identifier", "categorical"):
            feature["logical_type"], feature["role"] = "numeric", "feature"
    quality["findings"] = report.sort_findings(findings)
    built["label_association"] = [entry for entry in built["label_association"] if entry["feature"] != "path"]
    built["splits"] = _split_summaries(labels, splits, exact_duplicates=_duplicates_by_split(exact, splits))
    built["file_count"] = media.file_count
    built["media"] = {"kind": media.kind, "items": profile.rows, "files": media.file_count}
    built["thumbnails"] = _chosen_thumbnails(media, quality.get("class_counts") or {})
    return built


def _many(count: int, noun: str) -> str:
    """'1 image', '2 images'; `noun` is given in the plural or singular, and a trailing "s" decides."""
    singular = noun[:-1] if noun.endswith("s") else noun
    return f"{count:,} {singular if count == 1 else singular + 's'}"


def _text_findings(built: dict[str, Any], media: MediaState, rows: int) -> list[dict[str, Any]]:
    findings = []
    characters = next(feature for feature in built["features"] if feature["name"] == "characters")
    empty = int(characters["statistics"].get("zeros") or 0)
    built["quality"]["empty_documents"] = empty
    if empty:
        findings.append(
            report.finding(
                "warning",
                "empty_documents",
                "text",
                f"Empty documents: {empty:,} ({empty / rows:.1%}).",
            )
        )
    built["quality"]["pii_documents"] = dict(media.pii_documents)
    found = {kind: count for kind, count in media.pii_documents.items() if count}
    if found:
        text = next(feature for feature in built["features"] if feature["name"] == "text")
        text["pii"] = True
        text["pii_kinds"] = sorted(found)
        text["statistics"]["pii_kinds"] = sorted(found)
        shown = "; ".join(f"{PII_NAMES[kind]} in {count:,}" for kind, count in sorted(found.items()))
        findings.append(
            report.finding(
                "warning",
                "personal_data_in_text",
                "text",
                f"Documents holding what looks like personal data: {shown}; review them before training.",
            )
        )
    return findings


def _exact_groups(content: list[bytes | None]) -> list[list[int]]:
    """Items with the same content, in groups of two or more (by first path)."""
    by_content: dict[bytes, list[int]] = {}
    for index, value in enumerate(content):
        if value is not None:
            by_content.setdefault(value, []).append(index)
    return [members for members in by_content.values() if len(members) > 1]


def _similar_groups(kind: str, records: pa.Table, exact: list[list[int]]) -> list[list[int]]:
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


def _examples(groups: list[list[int]], paths: list[str]) -> list[list[str]]:
    return [sorted(paths[index] for index in members)[:4] for members in groups[:EXAMPLES]]


def _leakage(groups: list[list[int]], paths: list[str], splits: list[str | None]) -> dict[str, Any]:
    between: Counter[str] = Counter()
    examples: list[dict[str, Any]] = []
    for members in groups:
        by_split: dict[str, str] = {}
        for index in sorted(members, key=lambda i: paths[i]):
            if splits[index] is not None:
                by_split.setdefault(str(splits[index]), paths[index])
        names = split_order(by_split)
        for position, first in enumerate(names):
            for second in names[position + 1 :]:
                between[f"{first}/{second}"] += 1
                if len(examples) < EXAMPLES:
                    examples.append({"splits": [first, second], "rows": [by_split[first], by_split[second]]})
    return {"rows": len(groups), "between": dict(between), "examples": examples}


def _duplicates_by_split(exact: list[list[int]], splits: list[str | None]) -> Counter[str | None]:
    counted: Counter[str | None] = Counter()
    for members in exact:
        for split, count in Counter(splits[index] for index in members).items():
            counted[split] += count - 1
    return counted


def _split_summaries(
    labels: list[str | None], splits: list[str | None], *, exact_duplicates: Counter[str | None]
) -> dict[str, Any]:
    names = split_order({split for split in splits if split is not None})
    summaries = {}
    for name in names:
        counts = Counter(
            label for label, split in zip(labels, splits, strict=True) if split == name and label is not None
        )
        class_counts = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
        summaries[name] = {
            "row_count": sum(1 for split in splits if split == name),
            "quality": {
                "duplicate_rows": exact_duplicates.get(name, 0),
                "class_counts": class_counts,
                "imbalance_ratio": round(max(counts.values()) / min(counts.values()), 4) if counts else None,
            },
        }
    return summaries


def _chosen_thumbnails(media: MediaState, class_counts: Mapping[str, int]) -> list[dict[str, Any]]:
    """A few thumbnails of each class, the largest classes first (unlabelled images as one group)."""
    order = list(class_counts) + sorted(label for label in media.thumbnails if label not in class_counts)
    chosen = []
    for label in order[:THUMBNAIL_CLASSES]:
        for path, content, width, height in media.thumbnails.get(label, [])[:THUMBNAILS_PER_CLASS]:
            chosen.append({"label": label or None, "path": path, "content": content, "width": width, "height": height})
    return chosen
