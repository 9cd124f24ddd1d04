"""The mergeable state of a profile: what one slice of the data contributes, and how slices combine.

Every field merges: counts add, minima and maxima compare, means and variances combine with Chan's
formulas, value tables add while they stay small, sketches (KLL, frequent items, HyperLogLog
registers) merge as their libraries define, and row hashes for duplicate and conflict detection
are kept in buckets that spill to disk. So a profile of parts merged equals the profile of the
whole: exact statistics exactly, approximate ones within their sketches' error.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from profiler import hll
from profiler.hashes import HASH_BUCKETS, HashStore
from profiler.languages import LanguageSample
from profiler.patterns import PatternCount
from profiler.rowsample import RowSample
from profiler.sketches import (
    KLL_K,
    CoMoments,
    ExactDistribution,
    FrequentValues,
    Moments,
    QuantileSketch,
    larger,
    number_of,
    smaller,
)
from profiler.values import jsonable, jsonable_list, seconds_from_iso

EXACT_VALUES_LIMIT = 10_000  # distinct values kept exactly per column; above it, sketches
SAMPLE_ROWS = 2_000  # rows kept for inspection and rank correlations (a uniform sample)
PII_SAMPLE = 10_000  # string values looked at for personal data, per column


@dataclass
class ColumnState:
    name: str
    position: int
    dtype: str
    kind: str  # numeric, boolean, temporal, string, other
    count: int = 0
    null_count: int = 0
    nan_count: int = 0
    infinities: int = 0
    minimum: Any = None
    maximum: Any = None
    moments: Moments = field(default_factory=Moments)
    zeros: int = 0
    negatives: int = 0
    true_count: int = 0
    empty_strings: int = 0
    length_min: int | None = None
    length_max: int | None = None
    length_sum: int = 0
    # Exact value -> count while the column has at most EXACT_VALUES_LIMIT distinct values.
    values: dict[Any, int] | None = field(default_factory=dict)
    frequent: FrequentValues | None = None  # once `values` overflowed (string and numeric columns)
    frequent_error: int = 0  # counts left out of `frequent` by per-batch truncation, summed
    registers: np.ndarray = field(default_factory=hll.empty)
    kll: QuantileSketch | None = None  # numeric and temporal columns
    pii_sampled: int = 0
    pii_matches: dict[str, int] = field(default_factory=dict)
    pii_examples: list[str] = field(default_factory=list)
    # String columns of tables: the values whose language is identified if the column is text.
    languages: LanguageSample | None = None
    # Per label value: Moments of this (numeric) column, or value counts of this (categorical) one.
    by_label: dict[Any, Any] = field(default_factory=dict)
    # The values checked against the expression the caller gave for this column (Options.patterns).
    pattern: PatternCount | None = None

    def __post_init__(self) -> None:
        if self.kll is None and self.kind in ("numeric", "temporal"):
            self.kll = QuantileSketch(KLL_K)

    @property
    def non_null(self) -> int:
        return self.count - self.null_count - self.nan_count

    def add_values(self, pairs: list[tuple[Any, int]]) -> bool:
        """Count (value, rows) pairs exactly. When that would pass EXACT_VALUES_LIMIT distinct values
        the column overflows instead and the pairs are not counted (False): the caller puts them
        in the sketches."""
        values = self.values
        if values is None:
            return False
        if len(values) + sum(1 for value, _ in pairs if value not in values) > EXACT_VALUES_LIMIT:
            self.overflow_values()
            return False
        for value, count in pairs:
            values[value] = values.get(value, 0) + count
        return True

    def overflow_values(self) -> None:
        """Give up exact value counts for sketches: string and numeric columns keep their heavy
        hitters in a frequent-items sketch; a numeric column's quantile sketch, fed nothing while its
        values were counted, takes them now."""
        if self.values is None:
            return
        if self.kind in ("string", "numeric"):
            self.frequent = FrequentValues(self.kind)
            for value, count in self.values.items():
                self.frequent.update(value, count)
        if self.kind == "numeric" and self.kll is not None and self.values:
            numbers = np.array([number_of(value) for value in self.values], dtype=np.float64)
            self.kll.update(np.repeat(numbers, np.fromiter(self.values.values(), dtype=np.int64)))
        self.values = None

    def distribution(self) -> Any:
        """What quantiles, histograms and CDFs are read from: a numeric or temporal column's exact
        value counts while it has them, else its KLL sketch (None for columns without one)."""
        if self.kind == "numeric" and self.values is not None:
            return ExactDistribution(self.values)
        if self.kind == "temporal" and self.values:
            return ExactDistribution({seconds_from_iso(value): count for value, count in self.values.items()})
        return self.kll

    def merge(self, other: ColumnState) -> None:
        if other.dtype != self.dtype:
            # Files of one source that disagree on a column's type: keep the wider description.
            self.dtype = f"{self.dtype} | {other.dtype}" if other.dtype not in self.dtype else self.dtype
        self.count += other.count
        self.null_count += other.null_count
        self.nan_count += other.nan_count
        self.infinities += other.infinities
        self.minimum = smaller(self.minimum, other.minimum)
        self.maximum = larger(self.maximum, other.maximum)
        self.moments = self.moments.merge(other.moments)
        self.zeros += other.zeros
        self.negatives += other.negatives
        self.true_count += other.true_count
        self.empty_strings += other.empty_strings
        self.length_min = smaller(self.length_min, other.length_min)
        self.length_max = larger(self.length_max, other.length_max)
        self.length_sum += other.length_sum
        if (
            self.values is not None
            and other.values is not None
            and len(self.values.keys() | other.values.keys()) <= EXACT_VALUES_LIMIT
        ):
            for value, count in other.values.items():
                self.values[value] = self.values.get(value, 0) + count
        else:
            # Either side past exact counting: both turn to sketches, which merge.
            self.overflow_values()
            other.overflow_values()
            if self.frequent is None:
                self.frequent = other.frequent
            elif other.frequent is not None:
                self.frequent.merge(other.frequent)
        self.frequent_error += other.frequent_error
        self.registers = hll.merge(self.registers, other.registers)
        if self.kll is not None and other.kll is not None:
            self.kll.merge(other.kll)
        self.pii_sampled += other.pii_sampled
        for kind, matches in other.pii_matches.items():
            self.pii_matches[kind] = self.pii_matches.get(kind, 0) + matches
        self.pii_examples = (self.pii_examples + other.pii_examples)[:5]
        if self.languages is None:
            self.languages = other.languages
        elif other.languages is not None:
            self.languages.merge(other.languages)
        if self.pattern is None:
            self.pattern = other.pattern
        elif other.pattern is not None:
            self.pattern.merge(other.pattern)
        for label, part in other.by_label.items():
            mine = self.by_label.get(label)
            if isinstance(part, Moments):
                self.by_label[label] = part if mine is None else mine.merge(part)
            elif isinstance(part, dict):
                merged = dict(mine or {})
                for value, count in part.items():
                    merged[value] = merged.get(value, 0) + count
                self.by_label[label] = merged


@dataclass
class MediaState:
    """What a folder of images or documents adds to the profile of the table it implies: one record
    per item (for duplicates, conflicts and leakage), the unreadable items, a few thumbnails per
    class, and how many documents hold what looks like personal data."""

    EXAMPLES_KEPT = 100

    kind: str
    records: pa.Table | None = None
    file_count: int = 0
    unreadable_count: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    ignored_count: int = 0
    ignored: list[str] = field(default_factory=list)
    missing_count: int = 0
    missing: list[str] = field(default_factory=list)
    # Label ("" for none) -> (path, JPEG bytes, width, height), the first paths of each class.
    thumbnails: dict[str, list[tuple[str, bytes, int, int]]] = field(default_factory=dict)
    pii_documents: dict[str, int] = field(default_factory=dict)

    THUMBNAILS_KEPT = 4
    THUMBNAIL_LABELS_KEPT = 200

    def add_unreadable(self, path: str, reason: str) -> None:
        self.unreadable_count += 1
        if len(self.unreadable) < self.EXAMPLES_KEPT:
            self.unreadable.append((path, reason))

    def wants_thumbnail(self, label: str | None) -> bool:
        """Whether the next image of `label` (in path order) would be kept as a thumbnail."""
        kept = self.thumbnails.get(label or "")
        if kept is None:
            return len(self.thumbnails) < self.THUMBNAIL_LABELS_KEPT
        return len(kept) < self.THUMBNAILS_KEPT

    def add_thumbnail(self, label: str | None, path: str, content: bytes, width: int, height: int) -> None:
        key = label or ""
        kept = self.thumbnails.get(key)
        if kept is None:
            if len(self.thumbnails) >= self.THUMBNAIL_LABELS_KEPT:
                return
            kept = self.thumbnails[key] = []
        if len(kept) < self.THUMBNAILS_KEPT:
            kept.append((path, content, width, height))

    def merge(self, other: MediaState) -> None:
        if self.records is None:
            self.records = other.records
        elif other.records is not None:
            self.records = pa.concat_tables([self.records, other.records])
        self.file_count += other.file_count
        self.unreadable_count += other.unreadable_count
        self.unreadable = sorted(self.unreadable + other.unreadable)[: self.EXAMPLES_KEPT]
        self.ignored_count += other.ignored_count
        self.ignored = sorted(self.ignored + other.ignored)[: self.EXAMPLES_KEPT]
        self.missing_count += other.missing_count
        self.missing = sorted(self.missing + other.missing)[: self.EXAMPLES_KEPT]
        for label, theirs in other.thumbnails.items():
            mine = self.thumbnails.get(label, [])
            self.thumbnails[label] = sorted(mine + theirs)[: self.THUMBNAILS_KEPT]
        for kind, count in other.pii_documents.items():
            self.pii_documents[kind] = self.pii_documents.get(kind, 0) + count

    def write(self, archive: zipfile.ZipFile) -> None:
        header = {
            "kind": self.kind,
            "file_count": self.file_count,
            "unreadable_count": self.unreadable_count,
            "unreadable": self.unreadable,
            "ignored_count": self.ignored_count,
            "ignored": self.ignored,
            "missing_count": self.missing_count,
            "missing": self.missing,
            "pii_documents": self.pii_documents,
            "thumbnails": [
                [label, path, width, height]
                for label, kept in self.thumbnails.items()
                for path, _, width, height in kept
            ],
        }
        archive.writestr("media.json", json.dumps(header))
        if self.records is not None:
            sink = pa.BufferOutputStream()
            with pa.ipc.new_file(sink, self.records.schema) as writer:
                writer.write_table(self.records)
            archive.writestr("media.arrow", sink.getvalue().to_pybytes())
        index = 0
        for kept in self.thumbnails.values():
            for _, content, _, _ in kept:
                archive.writestr(f"thumb{index:05d}.jpg", content)
                index += 1

    @classmethod
    def read(cls, archive: zipfile.ZipFile) -> MediaState:
        header = json.loads(archive.read("media.json"))
        state = cls(
            kind=header["kind"],
            file_count=header["file_count"],
            unreadable_count=header["unreadable_count"],
            unreadable=[(path, reason) for path, reason in header["unreadable"]],
            ignored_count=header["ignored_count"],
            ignored=header["ignored"],
            missing_count=header["missing_count"],
            missing=header["missing"],
            pii_documents=header["pii_documents"],
        )
        if "media.arrow" in archive.namelist():
            state.records = pa.ipc.open_file(pa.py_buffer(archive.read("media.arrow"))).read_all()
        for index, (label, path, width, height) in enumerate(header["thumbnails"]):
            state.thumbnails.setdefault(label, []).append((path, archive.read(f"thumb{index:05d}.jpg"), width, height))
        return state


@dataclass
class PartialProfile:
    """What a slice of a source contributes to its profile."""

    columns: list[ColumnState]
    label_column: str | None = None
    label_declared: bool = False
    rows: int = 0
    files: list[str] = field(default_factory=list)
    hashes: HashStore = field(default_factory=HashStore)
    # Uniform sample: the SAMPLE_ROWS rows with the smallest random keys, as (key, row id, values).
    sample: list[tuple[float, str, list[Any]]] = field(default_factory=list)
    pairs: dict[tuple[str, str], CoMoments] = field(default_factory=dict)
    # Set for folders of images or documents.
    media: MediaState | None = None
    # What findings read beyond the statistics: a sample of whole rows (label leakage), the task
    # type the source declares, and the index each file's row ids carry (file name -> index).
    row_sample: RowSample | None = None
    task_type: str | None = None
    file_indexes: dict[str, int] = field(default_factory=dict)

    def column(self, name: str) -> ColumnState | None:
        return next((column for column in self.columns if column.name == name), None)

    def merge(self, other: PartialProfile) -> PartialProfile:
        names = [column.name for column in self.columns]
        for theirs in other.columns:
            mine = self.column(theirs.name)
            if mine is None:
                theirs.position = len(names)
                names.append(theirs.name)
                # A column this part never saw: its rows there were all missing.
                theirs.count += self.rows
                theirs.null_count += self.rows
                self.columns.append(theirs)
            else:
                mine.merge(theirs)
        for mine in self.columns:
            if other.column(mine.name) is None:
                mine.count += other.rows
                mine.null_count += other.rows
        self.rows += other.rows
        self.files.extend(file for file in other.files if file not in self.files)
        self.hashes.merge(other.hashes)
        self.sample = sorted(self.sample + other.sample, key=lambda entry: entry[0])[:SAMPLE_ROWS]
        for pair, moments in other.pairs.items():
            self.pairs[pair] = self.pairs.get(pair, CoMoments()).merge(moments)
        if other.media is not None:
            if self.media is None:
                self.media = other.media
            else:
                self.media.merge(other.media)
        self._merge_finding_inputs(other)
        return self

    def _merge_finding_inputs(self, other: PartialProfile) -> None:
        if other.row_sample is not None:
            if self.row_sample is None:
                self.row_sample = other.row_sample
            else:
                self.row_sample.merge(other.row_sample)
        self.task_type = self.task_type or other.task_type
        self.file_indexes.update(other.file_indexes)

    # --- Serialisation: JSON for the plain parts, sketches' own bytes, numpy for the arrays; no pickle.

    def to_bytes(self, *, hash_files: bool = False) -> bytes:
        """The partial profile serialised. With `hash_files`, the row hashes stay in files (spilled
        now if they were not) that the serialised form names: a process on the same machine takes
        them over without copying them through a pipe."""
        if hash_files:
            self.hashes.spill()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
            header = {
                "label_column": self.label_column,
                "label_declared": self.label_declared,
                "rows": self.rows,
                "files": self.files,
                "sample": [[key, row_id, jsonable_list(values)] for key, row_id, values in self.sample],
                "pairs": [[a, b, vars(moments)] for (a, b), moments in self.pairs.items()],
                "columns": [_column_header(column) for column in self.columns],
                "task_type": self.task_type,
                "file_indexes": self.file_indexes,
            }
            archive.writestr("header.json", json.dumps(header))
            if hash_files:
                files = {"directories": self.hashes.directories, "spilled": self.hashes.spilled}
                archive.writestr("hash-files.json", json.dumps(files))
            for index, column in enumerate(self.columns):
                archive.writestr(f"c{index}.hll", column.registers.tobytes())
                if column.kll is not None:
                    archive.writestr(f"c{index}.kll", column.kll.serialize())
                if column.frequent is not None:
                    archive.writestr(f"c{index}.freq", column.frequent.serialize())
            for index in range(HASH_BUCKETS):
                bucket = self.hashes.bucket(index) if not hash_files else None
                if bucket is not None and bucket.size:
                    archive.writestr(f"h{index:02d}.bin", bucket.tobytes())
                surplus = self.hashes.surplus_of(index)
                if surplus.size:
                    archive.writestr(f"s{index:02d}.bin", surplus.tobytes())
            if self.media is not None:
                self.media.write(archive)
            if self.row_sample is not None:
                self.row_sample.write(archive)
        if hash_files:
            self.hashes.release()
        else:
            self.hashes.discard()
        return buffer.getvalue()

    @staticmethod
    def files_of(data: bytes) -> list[str]:
        """The files a serialised partial profile covers, without loading the rest of it."""
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return list(json.loads(archive.read("header.json"))["files"])

    @classmethod
    def from_bytes(cls, data: bytes) -> PartialProfile:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            header = json.loads(archive.read("header.json"))
            columns = []
            for index, spec in enumerate(header["columns"]):
                column = _column_from_header(spec)
                column.registers = np.frombuffer(archive.read(f"c{index}.hll"), dtype=np.uint8).copy()
                if f"c{index}.kll" in names:
                    column.kll = QuantileSketch.deserialize(archive.read(f"c{index}.kll"))
                if f"c{index}.freq" in names:
                    column.frequent = FrequentValues.deserialize(column.kind, archive.read(f"c{index}.freq"))
                columns.append(column)
            profile = cls(
                columns=columns,
                label_column=header["label_column"],
                label_declared=header["label_declared"],
                rows=header["rows"],
                files=header["files"],
                sample=[(key, row_id, values) for key, row_id, values in header["sample"]],
                pairs={(a, b): CoMoments(**moments) for a, b, moments in header["pairs"]},
            )
            if "hash-files.json" in names:
                files = json.loads(archive.read("hash-files.json"))
                profile.hashes.directories = list(files["directories"])
                profile.hashes.spilled = [list(paths) for paths in files["spilled"]]
            for index in range(HASH_BUCKETS):
                if f"h{index:02d}.bin" in names:
                    block = np.frombuffer(archive.read(f"h{index:02d}.bin"), dtype=np.uint64).reshape(
                        -1, HashStore.COLUMNS
                    )
                    profile.hashes.chunks[index].append(block.copy())
                    profile.hashes.in_memory += block.nbytes
                if f"s{index:02d}.bin" in names:
                    surplus = np.frombuffer(archive.read(f"s{index:02d}.bin"), dtype=np.uint64).reshape(-1, 2)
                    profile.hashes.surplus[index].append(surplus.copy())
            if "media.json" in names:
                profile.media = MediaState.read(archive)
            profile.row_sample = RowSample.read(archive)
            profile.task_type = header.get("task_type")
            profile.file_indexes = {name: int(index) for name, index in (header.get("file_indexes") or {}).items()}
        return profile


def _column_header(column: ColumnState) -> dict[str, Any]:
    return {
        "name": column.name,
        "position": column.position,
        "dtype": column.dtype,
        "kind": column.kind,
        "count": column.count,
        "null_count": column.null_count,
        "nan_count": column.nan_count,
        "infinities": column.infinities,
        # Numbers stay numbers (json writes and reads inf); other extremes are already JSON values.
        "minimum": column.minimum if column.kind == "numeric" else jsonable(column.minimum),
        "maximum": column.maximum if column.kind == "numeric" else jsonable(column.maximum),
        "moments": column.moments.as_list(),
        "zeros": column.zeros,
        "negatives": column.negatives,
        "true_count": column.true_count,
        "empty_strings": column.empty_strings,
        "length_min": column.length_min,
        "length_max": column.length_max,
        "length_sum": column.length_sum,
        # Keys keep their JSON type (int, float, str, bool) as the first item of each pair.
        "values": None if column.values is None else [[jsonable(k), v] for k, v in column.values.items()],
        "frequent_error": column.frequent_error,
        "pii_sampled": column.pii_sampled,
        "pii_matches": column.pii_matches,
        "pii_examples": column.pii_examples,
        "languages": None
        if column.languages is None
        else {"capacity": column.languages.capacity, "sample": column.languages.as_data()},
        "pattern": None if column.pattern is None else column.pattern.as_data(),
        "by_label": [
            [jsonable(label), "moments", part.as_list()]
            if isinstance(part, Moments)
            else [jsonable(label), "counts", [[jsonable(k), v] for k, v in part.items()]]
            for label, part in column.by_label.items()
        ],
    }


def _column_from_header(spec: dict[str, Any]) -> ColumnState:
    n, mean, m2 = spec["moments"]
    column = ColumnState(
        name=spec["name"],
        position=spec["position"],
        dtype=spec["dtype"],
        kind=spec["kind"],
        count=spec["count"],
        null_count=spec["null_count"],
        nan_count=spec["nan_count"],
        infinities=spec["infinities"],
        minimum=spec["minimum"],
        maximum=spec["maximum"],
        moments=Moments(int(n), mean, m2),
        zeros=spec["zeros"],
        negatives=spec["negatives"],
        true_count=spec["true_count"],
        empty_strings=spec["empty_strings"],
        length_min=spec["length_min"],
        length_max=spec["length_max"],
        length_sum=spec["length_sum"],
        values=None if spec["values"] is None else {_key(k): v for k, v in spec["values"]},
        frequent_error=spec["frequent_error"],
        pii_sampled=spec["pii_sampled"],
        pii_matches=spec["pii_matches"],
        pii_examples=spec["pii_examples"],
    )
    if spec.get("pattern") is not None:
        column.pattern = PatternCount.from_data(spec["pattern"])
    languages = spec.get("languages")
    if languages is not None:
        column.languages = LanguageSample.from_data(languages["sample"], capacity=languages["capacity"])
    for label, form, part in spec["by_label"]:
        if form == "moments":
            column.by_label[_key(label)] = Moments(int(part[0]), part[1], part[2])
        else:
            column.by_label[_key(label)] = {_key(k): v for k, v in part}
    return column


def _key(value: Any) -> Any:
    # JSON lists (from tuple keys) are not hashable; nothing else needs converting.
    return tuple(value) if isinstance(value, list) else value
