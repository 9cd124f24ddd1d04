"""Where a version's bytes may come from: local paths confined to the storage roots, or public URLs.

Everything here treats the URI as untrusted input: it is checked when the version is registered
and again when a worker reads it, because the file system may have changed in between.
"""

from __future__ import annotations

import glob
import os
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote, urlsplit

from django.conf import settings

from catalog.profiling.files import (
    SourceError,
    SourceFile,
    expand,
    format_from_name,
    glob_base,
    is_glob,
)
from catalog.remote import fetch_url, is_public_address

# How many directory entries registration looks at to detect a format: registration must answer
# in constant time whatever the size of the dataset.
_FORMAT_SCAN_LIMIT = 1000


class SourceRejected(ValueError):
    """The source cannot be registered; the message says why, for the person who sent it."""


@dataclass(frozen=True)
class ResolvedSource:
    uri: str
    format: str


def storage_roots() -> list[Path]:
    return list(settings.CATALOG_STORAGE_ROOTS)


def _roots_text() -> str:
    return os.pathsep.join(str(root) for root in storage_roots())


def source_resolve(uri: str, *, format: str | None = None) -> ResolvedSource:
    """Check a source URI and put it in canonical form (`file:///abs/path` or the https URL)."""
    uri = uri.strip()
    if not uri:
        raise SourceRejected("The source URI is empty.")
    if "\x00" in uri:
        raise SourceRejected("The source URI contains a NUL character.")
    scheme = urlsplit(uri).scheme.lower()
    if scheme == "https":
        return _resolve_url(uri, format)
    if scheme in ("", "file"):
        return _resolve_local(uri, format)
    if scheme == "http":
        raise SourceRejected("Plain http:// sources are not accepted; use https://.")
    raise SourceRejected(
        f"Sources with the scheme {scheme!r} are not supported: give a path under a storage root, "
        "a file:// URI or an https:// URL."
    )


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


def _resolve_local(uri: str, format: str | None) -> ResolvedSource:
    path_text = local_path(uri)
    if path_text.startswith("~"):
        raise SourceRejected("Home-directory paths (~) are not accepted; give a path under a storage root.")
    if ".." in Path(path_text).parts:
        raise SourceRejected("Paths may not contain '..'.")

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

    for candidate in candidates:
        pattern = is_glob(str(candidate))
        anchor = glob_base(str(candidate)) if pattern else candidate
        if not os.path.lexists(anchor):
            continue
        resolved = anchor.resolve()
        if not _within_roots(resolved, roots):
            raise outside
        # The stored URI names the resolved location, never a symbolic link of the caller's choosing.
        canonical = str(resolved / candidate.relative_to(anchor)) if pattern else str(resolved)
        if pattern and next(glob.iglob(canonical, recursive=True), None) is None:
            raise SourceRejected(f"{path_text} matches no files.")
        detected = format or _detect_local_format(canonical)
        return ResolvedSource(uri="file://" + quote(canonical), format=detected)

    if Path(path_text).is_absolute():
        raise SourceRejected(f"{path_text} does not exist.")
    raise SourceRejected(f"{path_text} was not found under any storage root ({_roots_text()}).")


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
    for format in ("csv", "tsv", "parquet", "jsonl", "text"):
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
def source_opened(uri: str) -> Iterator[list[SourceFile]]:
    """The files of a registered source, readable locally while the context lasts.

    A local source is confined again to the storage roots; an https:// source is downloaded (under
    the size and time limits, to a vetted public address) into a temporary directory.
    """
    if uri[:8].lower() != "https://":
        try:
            yield expand(local_path(uri), confine_to=storage_roots())
        except SourceRejected as exc:
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
        yield [SourceFile(name, destination)]
