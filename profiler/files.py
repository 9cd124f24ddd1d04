"""Which files make up a source, and the manifest and fingerprint that identify their bytes.

The fingerprint is the identity of a version's content. It is sha256 over the manifest: for every
file, in order of its relative path (POSIX separators), the line

    <relative path> NUL <size in bytes, decimal> NUL <sha256 of the bytes, hex> LF

so it changes when any file's bytes, name or presence change, and only then. The relative path of
a single file is its name; of a directory's files, their path below it; of a glob's matches, their
path below the pattern's fixed leading directory.

A file is opened without following symbolic links: below its storage root, every folder on its path
is opened relative to the one before it with O_NOFOLLOW, then the file itself, so a name swapped for
a link after the source was expanded leads nowhere. Each file's identity (device, inode, size,
modification and change times) is taken when the source is expanded, and every later opening, for
hashing and for profiling alike, must find the same file: so the bytes hashed are the bytes
profiled, and a name pointed at other bytes in between fails the read with the file's name. A file
with several hard links is refused unless allowed: its other names may be anywhere on the same file
system, and nothing tells where.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import os
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path, PurePosixPath

# Where every reader of sources finds it; defined apart so that profiler.objects raises it too.
from profiler.faults import SourceError as SourceError
from profiler.objects import RemoteObject, remote_descriptor, remote_hash, remote_head

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


class LabelColumnMissing(SourceError):
    """The label column the source was declared with is not in it: a typo when the column is new,
    a changed schema when it is the column the dataset's previous version was labelled by."""

    def __init__(self, message: str, column: str) -> None:
        super().__init__(message)
        self.column = column


@dataclass(frozen=True)
class FileIdentity:
    """Which file a name led to when the source was expanded, and its state then. The change time is
    kept beside the modification time because no one can set it back: bytes rewritten in place with
    the old modification time restored still show."""

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, status: os.stat_result) -> FileIdentity:
        return cls(status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)

    def as_list(self) -> list[int]:
        return [self.device, self.inode, self.size, self.mtime_ns, self.ctime_ns]


@dataclass(frozen=True)
class SourceFile:
    relative_path: str
    path: Path
    # The storage root the file is opened from (every folder below it without following links);
    # None for a file the caller chose directly (the command line, a download of our own).
    root: Path | None = None
    identity: FileIdentity | None = None
    hard_links_allowed: bool = True
    # An object of an object store: its ETag and, in a versioned bucket, its version id; `remote` when
    # it is read where it is (see profiler.objects) rather than from `path`, a local copy.
    etag: str | None = None
    version_id: str | None = None
    remote: RemoteObject | None = None


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    size: int
    sha256: str
    # Objects only (absent from a local file's entry, and never part of the fingerprint).
    etag: str | None = None
    version_id: str | None = None

    def as_dict(self) -> dict[str, str | int]:
        return {key: value for key, value in asdict(self).items() if value is not None}


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


def expand(
    source: str | os.PathLike[str],
    *,
    confine_to: Sequence[Path] | None = None,
    allow_hard_links: bool = False,
) -> list[SourceFile]:
    """The regular files a source names (one file, a directory's files, or a glob's matches), each
    opened once to record its identity.

    With `confine_to`, every file must resolve (symlinks followed) inside one of those directories, is
    opened from there without following links, and is refused if it has other hard links unless
    `allow_hard_links`.
    """
    text = os.fspath(source)
    candidates: Iterable[Path]
    if is_glob(text):
        base = glob_base(text)
        candidates = (Path(match) for match in sorted(glob.glob(text, recursive=True)))
    else:
        base = Path(text)
        if base.is_dir():
            if confine_to is not None:
                # Walked from where it leads now, so that each file's path lies below its storage root.
                if not _is_within(base.resolve(), confine_to):
                    raise SourceError(f"{text} resolves to a location outside the allowed storage roots.")
                base = base.resolve()
            candidates = _walk(base)
        elif base.is_file():
            return [identify(_confined(base.name, base, confine_to, allow_hard_links))]
        elif base.exists():
            raise SourceError(f"{text} is neither a regular file nor a directory.")
        else:
            raise SourceError(f"{text} does not exist.")

    walked = not is_glob(text)
    files = [
        identify(
            _confined(candidate.relative_to(base).as_posix(), candidate, confine_to, allow_hard_links, walked=walked)
        )
        for candidate in candidates
        if candidate.is_file()
    ]
    if not files:
        raise SourceError(f"{text} contains no files.")
    return files


def _confined(
    relative_path: str, candidate: Path, roots: Sequence[Path] | None, allow_hard_links: bool, *, walked: bool = False
) -> SourceFile:
    # A link is replaced by the file it leads to, so that no later opening follows a link again; the
    # name the source shows stays the link's. A walk never descends into a linked folder, so below a
    # confined folder only a link to a file can lead out; a glob may follow links anywhere, so each of
    # its matches is resolved.
    path = candidate if walked and not candidate.is_symlink() else candidate.resolve()
    if roots is None:
        return SourceFile(relative_path, path)
    root = _root_of(path, roots)
    if root is None:
        raise SourceError(f"{relative_path} resolves to a location outside the allowed storage roots.")
    return SourceFile(relative_path, path, root=root, hard_links_allowed=allow_hard_links)


def _root_of(path: Path, roots: Sequence[Path]) -> Path | None:
    within = [root for root in roots if path == root or path.is_relative_to(root)]
    return max(within, key=lambda root: len(root.parts)) if within else None


def identify(file: SourceFile) -> SourceFile:
    """The file with its identity recorded, from one safe opening (see `open_file`). An object read
    where it is keeps the identity its listing gave it (its ETag and version id)."""
    if file.remote is not None:
        return file
    descriptor = open_file(file)
    try:
        return replace(file, identity=FileIdentity.of(os.fstat(descriptor)))
    finally:
        os.close(descriptor)


_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_FOLDER_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)


def open_file(file: SourceFile) -> int:
    """A read-only descriptor of the file, opened without following any link below its root, checked to
    be a regular file with no other hard link (unless allowed) and, once identified, still the same file.
    The caller closes it."""
    if file.remote is not None:
        # An object of an object store, for a reader that reads files: a local copy of it, one at a time.
        return remote_descriptor(file.remote, file.relative_path)
    descriptor = _open_beneath(file)
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise SourceError(f"{file.relative_path} is not a regular file.")
        if status.st_nlink > 1 and not file.hard_links_allowed:
            others = status.st_nlink - 1
            raise SourceError(
                f"{file.relative_path} has other hard links ({others} other name{'s' if others > 1 else ''} for "
                "the same bytes, possibly outside the storage roots, and nothing tells where); it is refused "
                "unless CATALOG_ALLOW_HARD_LINKS is set. Copy the file instead of linking it."
            )
        if file.identity is not None and FileIdentity.of(status) != file.identity:
            recorded = file.identity
            what = (
                "was replaced by another file"
                if (status.st_dev, status.st_ino) != (recorded.device, recorded.inode)
                else "was modified"
            )
            raise SourceError(f"{file.relative_path} {what} while it was being read; profile the version again.")
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _open_beneath(file: SourceFile) -> int:
    def refused(exc: OSError, *, folder: bool, name: str = "", within: int | None = None) -> SourceError:
        # Opening a link as a folder without following it fails with ENOTDIR, like opening a file as one.
        if folder and exc.errno == errno.ENOTDIR and within is not None and _is_link(name, within):
            exc = OSError(errno.ELOOP, os.strerror(errno.ELOOP))
        if exc.errno == errno.ELOOP:
            where = "a folder on its path" if folder else "it"
            return SourceError(
                f"{file.relative_path} was replaced by a symbolic link while it was being read "
                f"({where} is now a link); links are not followed."
            )
        if folder and exc.errno == errno.ENOTDIR:
            return SourceError(
                f"{file.relative_path} was moved while it was being read (a folder on its path is no longer a folder)."
            )
        if exc.errno == errno.ENOENT:
            return SourceError(f"{file.relative_path} was removed while it was being read.")
        return SourceError(f"{file.relative_path} cannot be read: {exc.strerror or exc}.")

    if file.root is None:
        try:
            return os.open(file.path, _FILE_FLAGS)
        except OSError as exc:
            raise refused(exc, folder=False) from exc
    parts = file.path.relative_to(file.root).parts
    if not parts:
        raise SourceError(f"{file.relative_path} is a storage root, not a file.")
    try:
        # The root itself is the operator's configuration, trusted as it is.
        folder = os.open(file.root, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise SourceError(f"The storage root of {file.relative_path} cannot be opened: {exc.strerror or exc}.") from exc
    try:
        for part in parts[:-1]:
            try:
                inner = os.open(part, _FOLDER_FLAGS, dir_fd=folder)
            except OSError as exc:
                raise refused(exc, folder=True, name=part, within=folder) from exc
            os.close(folder)
            folder = inner
        try:
            return os.open(parts[-1], _FILE_FLAGS, dir_fd=folder)
        except OSError as exc:
            raise refused(exc, folder=False) from exc
    finally:
        os.close(folder)


def _is_link(name: str, folder: int) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(name, dir_fd=folder).st_mode)
    except OSError:
        return False


def descriptor_path(descriptor: int) -> str:
    """A path naming an open file itself, whatever its name is now, for readers that take a path:
    opening it opens the same file again. Valid in this process while the descriptor is open."""
    return f"{_DESCRIPTORS}/{descriptor}"


_DESCRIPTORS = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"


@contextlib.contextmanager
def opened_path(file: SourceFile) -> Iterator[str]:
    """The file opened safely (see `open_file`), named by a path only that opened file answers to."""
    descriptor = open_file(file)
    try:
        yield descriptor_path(descriptor)
    finally:
        os.close(descriptor)


def read_bytes(file: SourceFile, limit: int) -> bytes:
    """At most `limit` bytes from the start of the file, opened safely (an object's, from the store)."""
    if file.remote is not None:
        return remote_head(file.remote, file.relative_path, limit)
    with os.fdopen(open_file(file), "rb") as handle:
        return handle.read(limit)


def hash_file(file: SourceFile | Path) -> tuple[int, str]:
    """(size, sha256 hex) of a file's bytes, read in bounded memory from a safely opened descriptor."""
    if isinstance(file, Path):
        file = SourceFile(file.name, file)
    if file.remote is not None:
        return remote_hash(file.remote, file.relative_path)
    with os.fdopen(open_file(file), "rb") as handle:
        digest = hashlib.file_digest(handle, "sha256")
        size = handle.tell()
        # The identity was checked at opening; a file written to while it was hashed is caught here.
        if file.identity is not None and FileIdentity.of(os.fstat(handle.fileno())) != file.identity:
            raise SourceError(f"{file.relative_path} was modified while it was being read; profile the version again.")
    return size, digest.hexdigest()


def build_manifest(files: Sequence[SourceFile]) -> list[ManifestEntry]:
    entries = []
    for file in files:
        try:
            size, sha256 = hash_file(file)
        except OSError as exc:
            raise SourceError(f"{file.relative_path} cannot be read: {exc.strerror or exc}.") from exc
        entries.append(
            ManifestEntry(path=file.relative_path, size=size, sha256=sha256, etag=file.etag, version_id=file.version_id)
        )
    return sorted(entries, key=lambda entry: entry.path)


def check_identities(
    files: Sequence[SourceFile], recorded: Mapping[str, Sequence[int]], *, same_device_numbers: bool = True
) -> list[SourceFile]:
    """The files, each bound to the identity recorded when the source was first expanded (by another
    process), or a SourceError naming the first file that is not the one recorded. Device numbers are
    compared only on the machine that recorded them (another machine numbers a shared mount its own way)."""
    bound = []
    for file in files:
        identity = recorded.get(file.relative_path)
        if identity is None:
            raise SourceError(
                f"{file.relative_path} was added to the source while it was being read; profile it again."
            )
        expected = FileIdentity(*identity)
        if file.identity is not None:
            if not same_device_numbers:
                expected = replace(expected, device=file.identity.device)
            if file.identity != expected:
                same = (file.identity.device, file.identity.inode) == (expected.device, expected.inode)
                what = "was modified" if same else "was replaced by another file"
                raise SourceError(f"{file.relative_path} {what} while it was being read; profile the version again.")
        bound.append(replace(file, identity=expected))
    missing = sorted(recorded.keys() - {file.relative_path for file in files})
    if missing:
        raise SourceError(f"{missing[0]} was removed while the source was being read; profile it again.")
    return bound


def manifest_fingerprint(entries: Sequence[ManifestEntry]) -> str:
    digest = hashlib.sha256()
    for entry in sorted(entries, key=lambda item: item.path):
        digest.update(f"{entry.path}\0{entry.size}\0{entry.sha256}\n".encode())
    return "sha256:" + digest.hexdigest()
