"""What profiling a source is told (`Options`) and what it decided before reading any row (`Plan`).

A plan is made once per profile, by the process that expanded and hashed the source, and handed to
every part: `Plan.as_data()` is JSON, so a task queue can carry it (or a table keep it) to workers on
other machines, and `Plan.from_data` gives the same plan back. Each of the source's files is written
once, with the identity it had when the source was expanded; partitions and items name their file
by its relative path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from profiler.files import FileIdentity, SourceError, SourceFile
from profiler.media.partition import Item, MediaPartition
from profiler.objects import RemoteObject
from profiler.readers import Partition, ReadOptions

# The version of `Plan.as_data`'s layout: a plan written by another version of the engine is refused.
PLAN_LAYOUT = 1


@dataclass(frozen=True)
class Options:
    label_column: str | None = None
    batch_rows: int = 500_000
    threads: int | None = None
    memory_limit: str = "1GB"
    seed: int = 0
    # Split name -> the files of the source it holds: a relative path, a glob (`*` also crosses
    # folders), or a folder ending in "/".
    splits: Mapping[str, str] | None = None
    # How delimited text is read where the sniffer should not guess (CSV and TSV sources only).
    read_options: ReadOptions | None = None
    # "classification" or "regression"; None: inferred from the label's values (see report.task_type).
    task_type: str | None = None
    # Column name -> a regular expression every value of the column is checked with (`patterns`);
    # the counts are in the column's statistics as `pattern`.
    patterns: Mapping[str, str] | None = None

    def as_data(self) -> dict[str, Any]:
        return {
            "label_column": self.label_column,
            "batch_rows": self.batch_rows,
            "threads": self.threads,
            "memory_limit": self.memory_limit,
            "seed": self.seed,
            "splits": dict(self.splits) if self.splits is not None else None,
            "read_options": _read_options_data(self.read_options),
            "task_type": self.task_type,
            "patterns": dict(self.patterns) if self.patterns is not None else None,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Options:
        return cls(
            label_column=data["label_column"],
            batch_rows=data["batch_rows"],
            threads=data["threads"],
            memory_limit=data["memory_limit"],
            seed=data["seed"],
            splits=data["splits"],
            read_options=_read_options(data["read_options"]),
            task_type=data["task_type"],
            patterns=data.get("patterns"),
        )


@dataclass(frozen=True)
class Plan:
    """A source's units of work (`partitions`: files, row groups, groups of media items), its label
    column and whether it was declared, and, for delimited text, how its first file is read."""

    partitions: Sequence[Partition | MediaPartition]
    label: str | None
    declared: bool
    # How the first file of delimited text is read (readers.read_layout); None for other formats.
    dialect: dict[str, Any] | None = None
    format: str = ""
    # Every file of the source, in the order the source was expanded in.
    files: Sequence[SourceFile] = ()
    options: Options = field(default_factory=Options)

    @property
    def file_names(self) -> list[str]:
        """The source's files in the order their row ids number them."""
        return sorted(file.relative_path for file in self.files)

    def file_index(self, index: int) -> int:
        """The index the rows of partition `index` carry in their row ids: its file's among the source's."""
        return self.file_names.index(self.partitions[index].relative_path)

    def bound_to(self, files: Sequence[SourceFile]) -> Plan:
        """The plan reading `files` (matched by relative path) instead of the files it was made with: the
        same files as opened where a part runs, whose identities another machine numbers its own way
        (see `files.check_identities`). A file of the plan missing from `files` is a SourceError."""
        given = {file.relative_path: file for file in files}
        missing = sorted(file.relative_path for file in self.files if file.relative_path not in given)
        if missing:
            raise SourceError(f"{missing[0]} was removed while the source was being read; profile it again.")
        data = self.as_data()
        data["files"] = [_file_data(given[file.relative_path]) for file in self.files]
        for partition in data["partitions"]:
            if (
                partition["kind"] == "table"
                and partition["file"] is not None
                and given[partition["file"]].remote is None
            ):
                partition["path"] = str(Path(given[partition["file"]].path).absolute())
        return Plan.from_data(data)

    def as_data(self) -> dict[str, Any]:
        return {
            "layout": PLAN_LAYOUT,
            "format": self.format,
            "files": [_file_data(file) for file in self.files],
            "options": self.options.as_data(),
            "partitions": [_partition_data(partition) for partition in self.partitions],
            "label": self.label,
            "declared": self.declared,
            "dialect": self.dialect,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Plan:
        if data.get("layout") != PLAN_LAYOUT:
            raise ValueError(f"The plan's layout is {data.get('layout')!r}; this engine reads layout {PLAN_LAYOUT}.")
        files = tuple(_file(entry) for entry in data["files"])
        by_name = {file.relative_path: file for file in files}
        return cls(
            format=data["format"],
            files=files,
            options=Options.from_data(data["options"]),
            partitions=[_partition(entry, by_name) for entry in data["partitions"]],
            label=data["label"],
            declared=data["declared"],
            dialect=data["dialect"],
        )


def _file_data(file: SourceFile) -> dict[str, Any]:
    data: dict[str, Any] = {
        "relative_path": file.relative_path,
        "path": str(file.path),
        "root": str(file.root) if file.root is not None else None,
        "identity": file.identity.as_list() if file.identity is not None else None,
        "hard_links_allowed": file.hard_links_allowed,
    }
    if file.remote is not None:
        # An object read where it is: the exact bytes every part reads (its version id, or its ETag).
        remote = file.remote
        data["remote"] = {
            "protocol": remote.protocol,
            "key": remote.key,
            "size": remote.size,
            "etag": remote.etag,
            "version_id": remote.version_id,
            "retry_attempts": remote.retry_attempts,
        }
    return data


def _file(data: Mapping[str, Any]) -> SourceFile:
    remote = RemoteObject(**data["remote"]) if data.get("remote") is not None else None
    return SourceFile(
        relative_path=data["relative_path"],
        path=Path(data["path"]),
        root=Path(data["root"]) if data["root"] is not None else None,
        identity=FileIdentity(*data["identity"]) if data["identity"] is not None else None,
        hard_links_allowed=data["hard_links_allowed"],
        etag=remote.etag if remote is not None else None,
        version_id=remote.version_id if remote is not None else None,
        remote=remote,
    )


def _read_options_data(options: ReadOptions | None) -> dict[str, Any] | None:
    if options is None:
        return None
    # The fields as they are (not ReadOptions.as_dict, which spells a tab as people write it).
    return {
        "delimiter": options.delimiter,
        "header": options.header,
        "quote": options.quote,
        "encoding": options.encoding,
        "null_values": list(options.null_values) if options.null_values is not None else None,
        "skip_rows": options.skip_rows,
    }


def _read_options(data: Mapping[str, Any] | None) -> ReadOptions | None:
    if data is None:
        return None
    null_values = data["null_values"]
    return ReadOptions(
        delimiter=data["delimiter"],
        header=data["header"],
        quote=data["quote"],
        encoding=data["encoding"],
        null_values=tuple(null_values) if null_values is not None else None,
        skip_rows=data["skip_rows"],
    )


def _partition_data(partition: Partition | MediaPartition) -> dict[str, Any]:
    if isinstance(partition, MediaPartition):
        return {
            "kind": "media",
            "format": partition.format,
            "items": [
                [item.relative_path, item.file.relative_path, item.label, item.split] for item in partition.items
            ],
            "labelled": partition.labelled,
            "has_splits": partition.has_splits,
            "label_declared": partition.label_declared,
            "label_field": partition.label_field,
            "ignored": list(partition.ignored),
            "missing": list(partition.missing),
            "manifest": partition.manifest,
        }
    return {
        "kind": "table",
        "path": partition.path,
        "relative_path": partition.relative_path,
        "format": partition.format,
        "row_groups": list(partition.row_groups) if partition.row_groups is not None else None,
        "rows_hint": partition.rows_hint,
        "rows": list(partition.rows) if partition.rows is not None else None,
        "file": partition.file.relative_path if partition.file is not None else None,
        "read_options": _read_options_data(partition.read_options),
    }


def _partition(data: Mapping[str, Any], files: Mapping[str, SourceFile]) -> Partition | MediaPartition:
    if data["kind"] == "media":
        return MediaPartition(
            format=data["format"],
            items=tuple(
                Item(relative_path=relative_path, file=files[file], label=label, split=split)
                for relative_path, file, label, split in data["items"]
            ),
            labelled=data["labelled"],
            has_splits=data["has_splits"],
            label_declared=data["label_declared"],
            label_field=data["label_field"],
            ignored=tuple(data["ignored"]),
            missing=tuple(data["missing"]),
            manifest=data["manifest"],
        )
    row_groups, rows = data["row_groups"], data["rows"]
    return Partition(
        path=data["path"],
        relative_path=data["relative_path"],
        format=data["format"],
        row_groups=tuple(row_groups) if row_groups is not None else None,
        rows_hint=data["rows_hint"],
        rows=(rows[0], rows[1]) if rows is not None else None,
        file=files[data["file"]] if data["file"] is not None else None,
        read_options=_read_options(data["read_options"]),
    )
