"""Which files make up a source, and the manifest and fingerprint that identify their bytes.

The fingerprint is the identity of a version's content. It is sha256 over the manifest: for every
file, in order of its relative path (POSIX separators), the line

    <relative path> NUL <size in bytes, decimal> NUL <sha256 of the bytes, hex> LF

so it changes when any file's bytes, name or presence change, and only then. The relative path of
a single file is its name; of a directory's files, their path below it; of a glob's matches, their
path below the pattern's fixed leading directory.
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

GLOB_MAGIC = frozenset("*?[")

_FORMAT_BY_SUFFIX = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".txt": "text",
    ".jpg": "images",
    ".jpeg": "images",
    ".png": "images",
    ".gif": "images",
    ".bmp": "images",
    ".webp": "images",
    ".tif": "images",
    ".tiff": "images",
}


class SourceError(Exception):
    """A source that cannot be read; the message says what to do about it."""


@dataclass(frozen=True)
class SourceFile:
    relative_path: str
    path: Path


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    size: int
    sha256: str

    def as_dict(self) -> dict[str, str | int]:
        return asdict(self)


def is_glob(pattern: str) -> bool:
    return any(char in GLOB_MAGIC for char in pattern)


def glob_base(pattern: str) -> Path:
    """The directory a glob pattern starts from: its leading parts without wildcards."""
    parts: list[str] = []
    for part in Path(pattern).parts:
        if is_glob(part):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def format_from_name(name: str) -> str | None:
    """The format a file name announces (`train.csv.gz` is csv), or None."""
    suffixes = [suffix.lower() for suffix in PurePosixPath(name).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return _FORMAT_BY_SUFFIX.get(suffixes[-1]) if suffixes else None


def _is_within(path: Path, roots: Sequence[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def _walk(directory: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(directory, followlinks=False):
        dirnames.sort()
        for filename in sorted(filenames):
            yield Path(dirpath) / filename


def expand(source: str | os.PathLike[str], *, confine_to: Sequence[Path] | None = None) -> list[SourceFile]:
    """The regular files a source names (one file, a directory's files, or a glob's matches).

    With `confine_to`, every file must resolve (symlinks followed) inside one of those directories.
    """
    text = os.fspath(source)
    candidates: Iterable[Path]
    if is_glob(text):
        base = glob_base(text)
        candidates = (Path(match) for match in sorted(glob.glob(text, recursive=True)))
    else:
        base = Path(text)
        if base.is_dir():
            candidates = _walk(base)
        elif base.is_file():
            return [_confined(SourceFile(base.name, base), confine_to)]
        elif base.exists():
            raise SourceError(f"{text} is neither a regular file nor a directory.")
        else:
            raise SourceError(f"{text} does not exist.")

    walked = not is_glob(text)
    if walked and confine_to is not None and not _is_within(base.resolve(), confine_to):
        raise SourceError(f"{text} resolves to a location outside the allowed storage roots.")
    files = [
        # A walk never descends into a linked folder, so below a confined folder only a link to a
        # file can lead out; a glob may follow links anywhere, so each of its matches is resolved.
        SourceFile(candidate.relative_to(base).as_posix(), candidate)
        if walked and not candidate.is_symlink()
        else _confined(SourceFile(candidate.relative_to(base).as_posix(), candidate), confine_to)
        for candidate in candidates
        if candidate.is_file()
    ]
    if not files:
        raise SourceError(f"{text} contains no files.")
    return files


def _confined(file: SourceFile, roots: Sequence[Path] | None) -> SourceFile:
    if roots is not None and not _is_within(file.path.resolve(), roots):
        raise SourceError(f"{file.relative_path} resolves to a location outside the allowed storage roots.")
    return file


def hash_file(path: Path) -> tuple[int, str]:
    """(size, sha256 hex) of a file's bytes, read in bounded memory."""
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256")
        size = handle.tell()
    return size, digest.hexdigest()


def build_manifest(files: Sequence[SourceFile]) -> list[ManifestEntry]:
    entries = []
    for file in files:
        try:
            size, sha256 = hash_file(file.path)
        except OSError as exc:
            raise SourceError(f"{file.relative_path} cannot be read: {exc.strerror or exc}.") from exc
        entries.append(ManifestEntry(path=file.relative_path, size=size, sha256=sha256))
    return sorted(entries, key=lambda entry: entry.path)


def manifest_fingerprint(entries: Sequence[ManifestEntry]) -> str:
    digest = hashlib.sha256()
    for entry in sorted(entries, key=lambda item: item.path):
        digest.update(f"{entry.path}\0{entry.size}\0{entry.sha256}\n".encode())
    return "sha256:" + digest.hexdigest()
