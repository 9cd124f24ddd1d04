"""Documents (.txt files, JSON Lines corpora): each one's length, language, content hash and MinHash
signature, and the personal data their text holds."""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pyarrow as pa

from profiler import pii
from profiler.files import SourceError, open_file, read_bytes
from profiler.languages import language_of
from profiler.layout import (
    JSONL_SUFFIXES,
    LABEL_NAMES,
)
from profiler.media.partition import Item, MediaPartition, implicit_schema, with_state
from profiler.readers import legacy_encoding
from profiler.state import MediaState, PartialProfile

TEXT_FIELDS = ("text", "content", "document", "body", "sentence", "review", "passage")
# Larger documents (and manifests) are listed as unreadable rather than decoded.
MAX_DOCUMENT_BYTES = 32 * 1024 * 1024
MINHASH_PERMUTATIONS = 64
MINHASH_SEED = 1
MINHASH_SCHEME = "affine32"  # 32-bit hash values; named, so stored signatures read back the same
SHINGLE_WORDS = 5
# The characters of each document kept in the `text` column (sample rows, top values, PII suspicion).
TEXT_PREVIEW = 1_000
# Documents profiled at a time: memory holds at most this many, or this many characters of text.
TEXT_BATCH_DOCUMENTS = 2_000
TEXT_BATCH_CHARACTERS = 64 * 1024 * 1024

_WORDS = re.compile(r"\w+")


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
    # The whole record of a document of a JSON Lines corpus (its other fields name its groups).
    fields: dict[str, Any] | None = None


def profile_text(partition: MediaPartition, file_index: int, seed: int) -> PartialProfile:
    schema = implicit_schema(partition, TEXT_SCHEMA_BASE)
    records: dict[str, list[Any]] = {name: [] for name in TEXT_RECORDS.names}
    state = MediaState(kind="text")
    profile = with_state(partition, _text_batches(partition, schema, records, state), schema, state, file_index, seed)
    state.records = pa.Table.from_pydict(records, schema=TEXT_RECORDS)
    return profile


def _text_batches(
    partition: MediaPartition, schema: pa.Schema, records: dict[str, list[Any]], state: MediaState
) -> Iterator[pa.RecordBatch]:
    """The implicit table of a partition's documents, a batch at a time, so memory holds at most a
    batch of texts (a JSON Lines corpus may hold millions); the records of every document are kept."""
    rows: dict[str, list[Any]] = {name: [] for name in schema.names}
    texts: list[str] = []
    held = 0
    for document in _documents(partition):
        if document.error is not None:
            state.add_unreadable(document.path, document.error)
            continue
        text = document.text or ""
        words = _WORDS.findall(text.lower())
        language = language_of(text)
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


def documents_of(partition: MediaPartition) -> Iterator[_Document]:
    """Every document of a partition in order: `path` (`file:line` in a JSON Lines corpus), `label`,
    `split`, `text` (None and an `error` when unreadable) and, from a JSON Lines corpus, its record."""
    return _documents(partition)


def _documents(partition: MediaPartition) -> Iterator[_Document]:
    for item in partition.items:
        if PurePosixPath(item.relative_path).suffix.lower() in JSONL_SUFFIXES:
            yield from _jsonl_documents(item, partition.label_field)
            continue
        data = _read_capped(item)
        if isinstance(data, str):
            yield _Document(item.relative_path, item.label, item.split, error=data)
            continue
        text = decoded(data)
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
                fields=row,
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


def decoded(data: bytes) -> str | None:
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
