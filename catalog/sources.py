"""Where a version's bytes may come from: local paths confined to the storage roots, or public URLs.

Everything here treats the URI as untrusted input: it is checked when the version is registered
and again when a worker reads it, because the file system may have changed in between.
"""

from __future__ import annotations

import fnmatch
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from django.conf import settings

from catalog.choices import SOURCE_FORMATS
from catalog.objects import (
    ObjectURLInvalid,
    is_object_url,
    object_store_allowed,
    object_stores,
    object_url_parse,
    objects_opened,
)
from catalog.remote import fetch_url, is_public_address
from config import errors
from profiler.files import (
    SourceError,
    SourceFile,
    expand,
    format_from_name,
    glob_base,
    identify,
    is_glob,
)

# How many directory entries registration looks at to detect a format: registration must answer
# in constant time whatever the size of the dataset.
_FORMAT_SCAN_LIMIT = 1000
# A glob is looked at in the web request only to see that it matches something; past this budget
# it is refused as too broad rather than holding a web worker (the worker expands it later).
_GLOB_SCAN_SECONDS = 0.5
# Each `**` of a pattern multiplies the work of expanding it by the number of folders below it.
_MAX_RECURSIVE_WILDCARDS = 2


class SourceRejected(errors.Invalid):
    """The source cannot be registered; the message says why, for the person who sent it."""

    field = "uri"


class SourceForbidden(errors.Forbidden):
    """The source is well formed, but the caller may not register it (storage locations, or bytes
    another dataset registered that the caller may not read)."""


# Asked with an absolute path or glob pattern under a storage root: may the caller register it?
Permit = Callable[[str], bool]


@dataclass(frozen=True)
class ResolvedSource:
    uri: str
    format: str


def storage_roots() -> list[Path]:
    return list(settings.CATALOG_STORAGE_ROOTS)


def _roots_text() -> str:
    return os.pathsep.join(str(root) for root in storage_roots())


def source_resolve(uri: str, *, format: str | None = None, permit: Permit | None = None) -> ResolvedSource:
    """Check a source URI and put it in canonical form (`file:///abs/path` or the https URL).

    With `permit`, a local source must also be one the caller may register from: asked of the path
    as written before the file system is looked at (so a refusal tells nothing of what is there),
    and again of the resolved path (a symbolic link may lead into a location that does not grant it).
    """
    uri = uri.strip()
    if not uri:
        raise SourceRejected("The source URI is empty.")
    if "\x00" in uri:
        raise SourceRejected("The source URI contains a NUL character.")
    if is_object_url(uri):
        return _resolve_object(uri, format, permit)
    scheme = urlsplit(uri).scheme.lower()
    if scheme == "https":
        return _resolve_url(uri, format)
    if scheme in ("", "file"):
        return _resolve_local(uri, format, permit)
    if scheme == "http":
        raise SourceRejected("Plain http:// sources are not accepted; use https://.")
    raise SourceRejected(
        f"Sources with the scheme {scheme!r} are not supported: give a path under a storage root, "
        "a file:// URI, an https:// URL or an object-store URL (s3://, gs://, az://)."
    )


def _resolve_object(uri: str, format: str | None, permit: Permit | None) -> ResolvedSource:
    """An object-store URL, checked without contacting the store (the web process holds no
    credentials): allowed by CATALOG_OBJECT_STORES on whole segments, granted by the storage
    locations, its format given or told by its name. Whether the objects exist is the worker's to find."""
    try:
        url = object_url_parse(uri)
    except ObjectURLInvalid as exc:
        raise SourceRejected(str(exc)) from None
    canonical = str(url)
    if not object_store_allowed(canonical):
        stores = ", ".join(object_stores()) or "none are configured"
        raise SourceRejected(
            f"{canonical} is outside the object stores sources may come from (CATALOG_OBJECT_STORES: {stores})."
        )
    if permit is not None and not permit(canonical):
        raise _forbidden(canonical)
    detected = format or format_from_name(url.key.rstrip("/").rpartition("/")[2])
    if detected is None:
        raise SourceRejected(
            f"The format of {canonical} cannot be told from its name (the objects are not listed at registration); "
            "give source.format (csv, tsv, parquet, jsonl, images or text)."
        )
    return ResolvedSource(uri=canonical, format=detected)


def local_path(uri: str) -> str:
    """The local path (or glob pattern) a `file://` URI or a plain path names."""
    if uri[:7].lower() != "file://":
        return uri
    # Not urlsplit: a glob's "?" and "#" belong to the path, not to a query or fragment.
    rest = uri[7:]
    host, slash, path = rest.partition("/")
    if host not in ("", "localhost"):
        raise SourceRejected(f"file:// URIs must name a local path, not the host {host!r}.")
    return unquote(slash + path)


def _within_roots(path: Path, roots: list[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def _forbidden(path_text: str) -> SourceForbidden:
    return SourceForbidden(
        f"You may not register sources from {path_text}: no storage location there grants you (or a group "
        "of yours) registration, or the path takes in a narrower location that does not. Ask staff to add "
        "you to the storage location, or name a path inside a location that grants you."
    )


def _resolve_local(uri: str, format: str | None, permit: Permit | None = None) -> ResolvedSource:
    path_text = local_path(uri)
    if path_text.startswith("~"):
        raise SourceRejected("Home-directory paths (~) are not accepted; give a path under a storage root.")
    if ".." in Path(path_text).parts:
        raise SourceRejected("Paths may not contain '..'.")
    if sum(part == "**" for part in Path(path_text).parts) > _MAX_RECURSIVE_WILDCARDS:
        raise SourceRejected(
            f"The pattern is too broad: at most {_MAX_RECURSIVE_WILDCARDS} '**' parts are accepted; "
            "name the folders the files are in."
        )

    roots = storage_roots()
    outside = SourceRejected(
        f"{path_text} is outside the allowed storage roots ({_roots_text()}); "
        "symbolic links may not lead out of them either."
    )
    if Path(path_text).is_absolute():
        # Refused before looking at the file system, so answers reveal nothing about other paths.
        if not _within_roots(Path(path_text), roots):
            raise outside
        candidates = [Path(path_text)]
    else:
        candidates = [root / path_text for root in roots]

    refused = False
    for candidate in candidates:
        if permit is not None and not permit(str(candidate)):
            refused = True
            continue
        pattern = is_glob(str(candidate))
        anchor = glob_base(str(candidate)) if pattern else candidate
        if not os.path.lexists(anchor):
            continue
        resolved = anchor.resolve()
        if not _within_roots(resolved, roots):
            raise outside
        # The stored URI names the resolved location, never a symbolic link of the caller's choosing.
        canonical = str(resolved / candidate.relative_to(anchor)) if pattern else str(resolved)
        if permit is not None and canonical != str(candidate) and not permit(canonical):
            raise _forbidden(path_text)
        if pattern and not _glob_matches_something(canonical):
            raise SourceRejected(f"{path_text} matches no files.")
        detected = format or _detect_local_format(canonical)
        return ResolvedSource(uri="file://" + quote(canonical), format=detected)

    if refused:
        raise _forbidden(path_text)
    if Path(path_text).is_absolute():
        raise SourceRejected(f"{path_text} does not exist.")
    raise SourceRejected(f"{path_text} was not found under any storage root ({_roots_text()}).")


# --- Glob patterns, matched a path segment at a time -------------------------------------------------
#
# A pattern is matched like glob.glob(recursive=True): `**` as a whole segment is any number of
# folders, other wildcards stay within one segment, and wildcards do not match names starting with
# ".". Matching keeps the set of pattern positions reachable so far (never backtracks), so a pattern
# costs its length per segment, however many `**` it has.


def _segment_matches(name: str, segment: str) -> bool:
    if name.startswith(".") and not segment.startswith("."):
        return False
    return fnmatch.fnmatchcase(name, segment)


def _closure(states: set[int], segments: Sequence[str]) -> set[int]:
    # `**` may match no folder at all: being before it is also being after it.
    result = set(states)
    for index in sorted(states):
        while index < len(segments) and segments[index] == "**":
            index += 1
            result.add(index)
    return result


def _step(states: set[int], segments: Sequence[str], name: str) -> set[int]:
    following: set[int] = set()
    for index in states:
        if index >= len(segments):
            continue
        segment = segments[index]
        if segment == "**":
            if not name.startswith("."):
                following.add(index)
        elif _segment_matches(name, segment):
            following.add(index + 1)
    return _closure(following, segments)


def pattern_segments(pattern: str) -> tuple[Path, tuple[str, ...]]:
    """A glob pattern as the folder it starts from and the segments after it."""
    base = glob_base(pattern)
    return base, Path(pattern).relative_to(base).parts


def pattern_states(segments: Sequence[str], names: Sequence[str]) -> set[int]:
    """Where in the pattern one can be after matching `names`: empty when no match goes through
    them; holding len(segments) when they are a match themselves."""
    states = _closure({0}, segments)
    for name in names:
        states = _step(states, segments, name)
        if not states:
            break
    return states


def pattern_reaches(pattern: str, path: Path) -> bool:
    """Whether `path`, or something below it, may match the glob `pattern` (both absolute)."""
    base, segments = pattern_segments(pattern)
    if path == base or base.is_relative_to(path):
        return True
    if not path.is_relative_to(base):
        return False
    return bool(pattern_states(segments, path.relative_to(base).parts))


def _glob_matches_something(pattern: str) -> bool:
    """Whether the pattern matches at least one file, found by walking from its base within a budget
    of folders and time: a pattern that would take longer is refused as too broad."""
    base, segments = pattern_segments(pattern)
    budget = settings.CATALOG_GLOB_MAX_DIRECTORIES
    deadline = time.monotonic() + _GLOB_SCAN_SECONDS
    pending: list[tuple[Path, set[int]]] = [(base, _closure({0}, segments))]
    while pending:
        directory, states = pending.pop()
        budget -= 1
        if budget < 0:
            raise _too_broad()
        try:
            with os.scandir(directory) as entries:
                # Entries in the order the file system gives them: sorting would read a huge
                # folder whole before the clock is looked at.
                for seen, entry in enumerate(entries):
                    if seen % 256 == 0 and time.monotonic() > deadline:
                        raise _too_broad()
                    following = _step(states, segments, entry.name)
                    if not following:
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        if min(following) < len(segments):  # something of the pattern is left for below
                            pending.append((Path(entry.path), following))
                    elif len(segments) in following and entry.is_file():
                        return True
        except OSError:
            continue
    return False


def _too_broad() -> SourceRejected:
    return SourceRejected(
        "The pattern is too broad: finding its files would look through too many folders. "
        "Name the folders the files are in, with fewer wildcards, or register a folder."
    )


def _detect_local_format(path_text: str) -> str:
    if is_glob(path_text):
        detected = format_from_name(path_text)
        if detected:
            return detected
        base = glob_base(path_text)
        return _detect_in_directory(base, path_text)
    path = Path(path_text)
    if path.is_dir():
        return _detect_in_directory(path, path_text)
    detected = format_from_name(path.name)
    if detected is None:
        raise SourceRejected(
            f"The format of {path.name} cannot be told from its name; give source.format "
            "(csv, tsv, parquet, jsonl, images or text)."
        )
    return detected


def _detect_in_directory(directory: Path, shown: str) -> str:
    """The format of a folder from the names of its first files: a folder holding images is an
    image dataset (a CSV beside them is its manifest), else the first table, else documents."""
    seen = 0
    found: set[str] = set()
    for _dirpath, dirnames, filenames in os.walk(directory, followlinks=False):
        dirnames.sort()
        for filename in sorted(filenames):
            detected = format_from_name(filename)
            if detected == "images":
                return detected
            if detected is not None:
                found.add(detected)
            seen += 1
            if seen >= _FORMAT_SCAN_LIMIT:
                break
        if seen >= _FORMAT_SCAN_LIMIT:
            break
    for format in SOURCE_FORMATS:  # in this order of preference (a folder with images returned above)
        if format in found:
            return format
    raise SourceRejected(
        f"No file in {shown} has a name that tells its format; give source.format "
        "(csv, tsv, parquet, jsonl, images or text)."
    )


def _resolve_url(uri: str, format: str | None) -> ResolvedSource:
    parts = urlsplit(uri)
    if not parts.hostname:
        raise SourceRejected("The URL has no host.")
    if parts.username or parts.password:
        raise SourceRejected("URLs with credentials in them are not accepted.")
    try:
        port = parts.port
    except ValueError:
        raise SourceRejected("The URL's port is not a number between 0 and 65535.") from None
    check_public_host(parts.hostname, port or 443)
    detected = format or format_from_name(unquote(parts.path))
    if detected is None:
        raise SourceRejected(
            "The format cannot be told from the URL; give source.format (csv, tsv, parquet, jsonl, images or text)."
        )
    return ResolvedSource(uri=uri, format=detected)


def check_public_host(hostname: str, port: int) -> list[str]:
    """Resolve a host and refuse it unless every address is public (or private ones are allowed)."""
    try:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise SourceRejected(f"The host {hostname!r} cannot be resolved.") from None
    addresses = sorted({str(info[4][0]) for info in infos})
    if not settings.CATALOG_ALLOW_PRIVATE_URLS:
        for address in addresses:
            if not is_public_address(address):
                # The address itself is not told: it would map the internal network for the caller.
                raise SourceRejected(
                    f"The host {hostname!r} resolves to a private, loopback or reserved address; "
                    "such URLs are refused unless CATALOG_ALLOW_PRIVATE_URLS is set."
                )
    return addresses


@contextmanager
def source_opened(uri: str, *, manifest: Sequence[Mapping[str, Any]] | None = None) -> Iterator[list[SourceFile]]:
    """The files of a registered source, readable locally while the context lasts.

    A local source is confined again to the storage roots, each of its files identified and later
    opened from its root without following links (see profiler.files); an https:// source is
    downloaded (under the size and time limits, to a vetted public address) into a temporary directory;
    an object source is confined again to CATALOG_OBJECT_STORES and its objects downloaded, each its
    exact version (those `manifest` records, where they all have version ids; see catalog.objects).
    """
    if is_object_url(uri):
        with objects_opened(uri, manifest=manifest, download_dir=settings.CATALOG_DOWNLOAD_DIR) as files:
            yield files
        return
    if uri[:8].lower() != "https://":
        try:
            yield expand(
                local_path(uri), confine_to=storage_roots(), allow_hard_links=settings.CATALOG_ALLOW_HARD_LINKS
            )
        except (SourceRejected, SourceForbidden) as exc:
            raise SourceError(str(exc)) from exc
        return
    with tempfile.TemporaryDirectory(prefix="catalog-download-", dir=settings.CATALOG_DOWNLOAD_DIR) as workdir:
        name = PurePosixPath(unquote(urlsplit(uri).path)).name or "download"
        destination = Path(workdir) / name
        fetch_url(
            uri,
            destination,
            max_bytes=settings.CATALOG_MAX_DOWNLOAD_BYTES,
            timeout=settings.CATALOG_DOWNLOAD_TIMEOUT,
            total_timeout=settings.CATALOG_DOWNLOAD_TOTAL_TIMEOUT,
            allow_private=settings.CATALOG_ALLOW_PRIVATE_URLS,
            ca_certs=settings.CATALOG_URL_CA_BUNDLE,
        )
        # A directory of our own, which no one else writes to; identified so that the bytes hashed are
        # the bytes profiled all the same.
        yield [identify(SourceFile(name, destination))]
