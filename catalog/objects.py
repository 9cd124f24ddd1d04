"""Sources in object storage: `s3://bucket/key`, a prefix (`s3://bucket/prefix/`) or a glob, and the
same for `gs://` and `az://` / `abfs://`, read through fsspec (s3fs, gcsfs, adlfs).

Confinement: an object source must lie under one of the URL prefixes of `CATALOG_OBJECT_STORES`,
matched on whole path segments (`s3://training-data` allows `s3://training-data/…`, never
`s3://training-data-evil/…`); unset, none is allowed. Registration checks only the URL: the web
process holds no credentials and never contacts the store, so a missing object or a denied read
fails the version on the worker, with a message that says what to do.

Credentials come from the worker's environment in each provider's standard way (the AWS credential
chain and `AWS_ENDPOINT_URL` for S3-compatible stores, Google application default credentials,
Azure's environment variables); they never pass through the API or the database.

A worker lists the objects once, each with its size, ETag and (in a versioned bucket) version id: S3's
version id, GCS's generation, Azure's version id (where the storage account keeps blob versions).
A Parquet object is then read where it is (profiler.objects: hashed as a stream, profiled by range
requests, nothing on local disk); any other object is downloaded, its exact version, into a temporary
folder of the worker's own and read as a local file is. So every format, splits, manifests and the
fingerprint behave the same (the same bytes under the same names give the same fingerprint wherever
they live). Verification of a version whose objects all have version ids reads those exact versions
again: an overwritten key leaves the old version verifiable.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from profiler.files import GLOB_MAGIC, SourceError, SourceFile, format_from_name
from profiler.objects import RemoteObject, filesystem, shared_reads, store_faults

# The URL schemes of object stores and the fsspec protocol that reads each.
SCHEMES = {"s3": "s3", "gs": "gcs", "az": "abfs", "abfs": "abfs"}
# What the provider's package is called, for the message when it is not installed.
_PACKAGES = {"s3": "s3fs", "gcs": "gcsfs", "abfs": "adlfs"}
_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,254}$")
# The longest key S3, GCS and Azure accept, in bytes of UTF-8.
MAX_KEY_BYTES = 1024
# Characters that reorder the text around them when shown (a key that reads other than it is).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class ObjectURLInvalid(ValueError):
    """Text that is not an object-store URL the catalog accepts; the message says why."""


@dataclass(frozen=True)
class ObjectURL:
    scheme: str
    bucket: str
    # "" (the whole bucket), a key, a prefix ending in "/", or a glob pattern.
    key: str

    def __str__(self) -> str:
        return f"{self.scheme}://{self.bucket}/{self.key}"

    @property
    def protocol(self) -> str:
        return SCHEMES[self.scheme]

    @property
    def is_glob(self) -> bool:
        return any(char in GLOB_MAGIC for char in self.key)

    @property
    def is_prefix(self) -> bool:
        return self.key == "" or self.key.endswith("/")

    @property
    def base(self) -> str:
        """The key the relative paths of the source's files are taken from: the prefix, the glob's
        fixed leading folders, or a single object's folder."""
        segments = self.key.split("/")
        if self.is_glob:
            fixed: list[str] = []
            for segment in segments:
                if any(char in GLOB_MAGIC for char in segment):
                    break
                fixed.append(segment)
            return "/".join(fixed) + "/" if fixed else ""
        if self.is_prefix:
            return self.key
        return "/".join(segments[:-1]) + "/" if len(segments) > 1 else ""


def is_object_url(uri: str) -> bool:
    scheme, separator, _rest = uri.partition("://")
    return bool(separator) and scheme.lower() in SCHEMES


def object_url_parse(uri: str) -> ObjectURL:
    """The parts of an object URL, refused (ObjectURLInvalid) unless it is plainly a bucket and a key:
    no credentials, no query, no empty, `.` or `..` segments, no control characters."""
    scheme, _separator, rest = uri.partition("://")
    scheme = scheme.lower()
    if scheme not in SCHEMES:
        raise ObjectURLInvalid(f"{scheme!r} is not an object-store scheme ({', '.join(SCHEMES)}).")
    control = next((char for char in uri if unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS), None)
    if control is not None:
        raise ObjectURLInvalid(f"The URL contains a control character (U+{ord(control):04X}); object keys may not.")
    bucket, _slash, key = rest.partition("/")
    if "@" in bucket and scheme in ("s3", "gs"):
        raise ObjectURLInvalid(
            "URLs with credentials in them are not accepted: the workers take theirs from their environment."
        )
    if not bucket or not _BUCKET.match(bucket):
        raise ObjectURLInvalid(
            f"{uri} does not name a bucket: give {scheme}://bucket/key or {scheme}://bucket/prefix/."
        )
    segments = key.split("/")
    inner = segments[:-1] if key.endswith("/") else segments
    if key and any(segment in ("", ".", "..") for segment in inner):
        raise ObjectURLInvalid("Object keys may not have empty, '.' or '..' segments.")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise ObjectURLInvalid(
            f"The object key is {len(key.encode())} bytes long; object stores allow at most {MAX_KEY_BYTES} "
            "(UTF-8) bytes."
        )
    if sum(segment == "**" for segment in segments) > 2:
        raise ObjectURLInvalid("The pattern is too broad: at most 2 '**' parts are accepted.")
    return ObjectURL(scheme, bucket, key)


def _segments(url: ObjectURL | str) -> tuple[str, ...]:
    parsed = url if isinstance(url, ObjectURL) else object_url_parse(url)
    return (parsed.scheme, parsed.bucket, *(segment for segment in parsed.key.split("/") if segment))


def object_covers(prefix: str, uri: str) -> bool:
    """Whether the location `prefix` takes in `uri` (or, for a glob, the folder it starts from), on
    whole path segments: `s3://data` covers `s3://data/a`, never `s3://data-evil/a`."""
    try:
        inner = object_url_parse(uri)
        outer = _segments(prefix)
    except ObjectURLInvalid:
        return False
    anchor = _segments(ObjectURL(inner.scheme, inner.bucket, inner.base)) if inner.is_glob else _segments(inner)
    return anchor[: len(outer)] == outer


def object_path(uri: str) -> Path:
    """An object URL as the absolute path `/scheme/bucket/key…`, for rules written for local paths
    (storage locations): its segments compare as a path's do."""
    return Path("/", *_segments(uri))


def object_stores() -> list[str]:
    """The prefixes of `CATALOG_OBJECT_STORES`, each as a canonical URL."""
    return [store for store in settings.CATALOG_OBJECT_STORES if store]


def object_store_allowed(uri: str) -> bool:
    return any(object_covers(store, uri) for store in object_stores())


def object_key_of(uri: str, path: str) -> str:
    """The full URL of a file of an object source, from the manifest's relative path."""
    url = object_url_parse(uri)
    if not url.is_prefix and not url.is_glob:
        return str(url)
    return f"{url.scheme}://{url.bucket}/{url.base}{path}"


# --- Reading, on a worker ------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedObject:
    relative_path: str
    key: str
    size: int
    etag: str | None
    version_id: str | None


def _filesystem(protocol: str) -> Any:
    return filesystem(protocol, retry_attempts=settings.CATALOG_OBJECT_RETRY_ATTEMPTS)


def _store_faults(where: str, protocol: str) -> contextlib.AbstractContextManager[None]:
    return store_faults(where, protocol=protocol, retry_attempts=settings.CATALOG_OBJECT_RETRY_ATTEMPTS)


def gcs_bucket_versioned(fs: Any, url: ObjectURL) -> bool:
    """Whether a GCS bucket keeps the generations its keys are overwritten with (Object Versioning).

    Every GCS object has a generation, versioned bucket or not; in an unversioned one an overwrite
    destroys the old generation (at most a soft-deleted copy that no read reaches), so a recorded
    generation would only turn a changed source into a missing one. The bucket's own setting says
    which, read once per listing, before any key is overwritten (trying to read an old generation
    cannot tell: at listing time there is none). Credentials that may read objects but not the
    bucket's metadata (storage.buckets.get) leave it unversioned: overwrites are then detected by
    the ETag, as in any unversioned bucket."""
    with _store_faults(f"{url.scheme}://{url.bucket}", url.protocol):
        try:
            bucket = fs.call("GET", "b/{}", url.bucket, json_out=True, fields="versioning")
        except OSError as exc:
            if not str(exc).startswith("Forbidden"):  # gcsfs's answer to a 403
                raise
            return False
    return bool((bucket.get("versioning") or {}).get("enabled"))


def _object(relative_path: str, key: str, info: Mapping[str, Any], *, generations: bool = False) -> ListedObject:
    etag = info.get("ETag") or info.get("etag")
    version_id = info.get("VersionId") or info.get("version_id") or (info.get("generation") if generations else None)
    return ListedObject(
        relative_path=relative_path,
        key=key,
        size=int(info.get("size") or info.get("Size") or 0),
        etag=str(etag).strip('"') if etag else None,
        # An unversioned bucket answers the version id "null".
        version_id=str(version_id) if version_id and version_id != "null" else None,
    )


def _safe_relative(path: str) -> bool:
    segments = path.split("/")
    return bool(path) and all(segment not in ("", ".", "..") for segment in segments)


def objects_list(fs: Any, url: ObjectURL) -> list[ListedObject]:
    """The objects a source names, in order of their relative path."""
    where = str(url)
    root = f"{url.bucket}/{url.base}"
    with _store_faults(where, url.protocol):
        if url.is_glob:
            found = fs.glob(f"{url.bucket}/{url.key}", detail=True)
        elif url.is_prefix:
            found = fs.find(f"{url.bucket}/{url.key}", detail=True)
        else:
            info = fs.info(f"{url.bucket}/{url.key}")
            if info.get("type") == "directory":
                # A key written without its slash that names a prefix: its objects, named below it.
                url = ObjectURL(url.scheme, url.bucket, url.key + "/")
                return objects_list(fs, url)
            found = {f"{url.bucket}/{url.key}": info}
    listed: list[tuple[str, str, Mapping[str, Any]]] = []
    for name, info in sorted(found.items()):
        if info.get("type") == "directory" or name.endswith("/"):
            continue
        relative = name[len(root) :] if name.startswith(root) else name.rpartition("/")[2]
        if not _safe_relative(relative):
            raise SourceError(
                f"The object {name} has a key with empty, '.' or '..' segments, which cannot name a file; "
                "rename it or leave it out of the source."
            )
        listed.append((relative, name, info))
    if not listed:
        raise SourceError(f"{where} contains no objects (check the bucket, the prefix and the pattern).")
    generations = url.protocol == "gcs" and gcs_bucket_versioned(fs, url)
    return [_object(relative, name, info, generations=generations) for relative, name, info in listed]


def _pinned(url: ObjectURL, manifest: Sequence[Mapping[str, Any]]) -> list[ListedObject] | None:
    """The objects of a recorded manifest, when each one names its exact version."""
    if not manifest or any(not entry.get("version_id") for entry in manifest):
        return None
    objects = []
    for entry in manifest:
        path = str(entry["path"])
        key = f"{url.bucket}/{url.key}" if not (url.is_prefix or url.is_glob) else f"{url.bucket}/{url.base}{path}"
        objects.append(
            ListedObject(
                relative_path=path,
                key=key,
                size=int(entry["size"]),
                etag=entry.get("etag"),
                version_id=str(entry["version_id"]),
            )
        )
    return objects


@contextlib.contextmanager
def objects_opened(
    uri: str, *, manifest: Sequence[Mapping[str, Any]] | None = None, download_dir: str | None = None
) -> Iterator[list[SourceFile]]:
    """The objects of a source, while the context lasts, each read where it is at its listed version
    (profiler.objects): Parquet objects by the ranges their reader asks for, the others copied into
    `download_dir` one at a time when a reader needs a file. With `manifest` (a version's recorded
    entries) whose objects all have version ids, those exact versions are read instead of listing
    the source again."""
    try:
        url = object_url_parse(uri)
    except ObjectURLInvalid as exc:
        raise SourceError(str(exc)) from exc
    if not object_store_allowed(uri):
        raise SourceError(
            f"{uri} is not under an object store the catalog may read (CATALOG_OBJECT_STORES); ask the operator."
        )
    fs = _filesystem(url.protocol)
    listed = _pinned(url, manifest or []) or objects_list(fs, url)
    total = sum(item.size for item in listed if format_from_name(item.relative_path) != "parquet")
    if total > settings.CATALOG_MAX_DOWNLOAD_BYTES:
        raise SourceError(
            f"{uri} holds {total} bytes to download, more than CATALOG_MAX_DOWNLOAD_BYTES "
            f"({settings.CATALOG_MAX_DOWNLOAD_BYTES})."
        )
    files = [
        SourceFile(
            item.relative_path,
            Path(f"{url.scheme}://{item.key}"),
            etag=item.etag,
            version_id=item.version_id,
            remote=RemoteObject(
                protocol=url.protocol,
                key=item.key,
                size=item.size,
                etag=item.etag,
                version_id=item.version_id,
                retry_attempts=settings.CATALOG_OBJECT_RETRY_ATTEMPTS,
            ),
        )
        for item in listed
    ]
    # Every opening of an object shares one reader, which hashes what the profile reads; a reader that
    # reads files gets a local copy of one object at a time, in `download_dir`.
    with shared_reads(hashing=True, download_dir=download_dir):
        yield files
