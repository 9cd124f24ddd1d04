"""Objects of an object store read where they are, through fsspec (s3fs for s3://, gcsfs for gs://,
adlfs for az:// and abfs://): hashed as a stream and, for Parquet, read as the reader asks (the footer, then the
column chunks of the row groups a partition needs), so that nothing of them is written to local disk.

An object is read as a stream (ObjectReader): one request from a position onwards, read forwards,
rather than a request for each range; while a source is profiled its openings share one reader, which
hashes what the profile reads, so a Parquet object is read once for both (see `shared_reads`).

Each object is read at the exact version recorded when the source was listed: its version id in a
versioned bucket (S3's version id, GCS's generation, Azure's version id); elsewhere every request is
conditional on its ETag (S3's `If-Match`; GCS and Azure: the ETag is checked when a stream opens), so
bytes overwritten since fail the read with the object's name instead of being profiled."""

from __future__ import annotations

import collections
import contextlib
import contextvars
import hashlib
import io
import os
import tempfile
import threading
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from profiler.faults import SourceError

# Bytes a request of a store without streamed reads (gcs, abfs) asks for at once (`_BlockStream`).
BLOCK_SIZE = 8 * 1024 * 1024
# Times s3fs makes a call whose tries botocore gave up on, or whose answer broke off while read.
S3_CALLS = 2


@dataclass(frozen=True)
class RemoteObject:
    """An object as it was listed: where it is, and which bytes it held then."""

    protocol: str
    key: str
    size: int
    etag: str | None = None
    version_id: str | None = None
    # Attempts of each request (throttling, dropped connections and 5xx answers are retried with
    # exponential backoff and jitter).
    retry_attempts: int = 6


def filesystem(protocol: str, *, retry_attempts: int) -> Any:
    """A new fsspec filesystem for the protocol, its credentials and endpoint from the environment."""
    import fsspec

    options: dict[str, Any] = {"skip_instance_cache": True}
    if protocol == "abfs":
        # Version-aware, adlfs lists each blob's version id (where the account keeps versions) and reads
        # the version a path names (`key?versionid=…`); otherwise it drops every version id it is given.
        # gcsfs stays as it is: version-aware, it would read a key ending in `#123` or holding
        # `?generation=` as a generation; a generation is given to its reads by keyword (`_located`).
        options["version_aware"] = True
    if protocol == "s3":
        # botocore's `max_attempts` counts the retries after the first try; `total_max_attempts` counts
        # every try, as CATALOG_OBJECT_RETRY_ATTEMPTS does. The standard mode retries throttling
        # (SlowDown, 503), 5xx answers and dropped connections, with `rand(0, 1) * 2**try` s of backoff.
        options.update(
            version_aware=True,
            config_kwargs={"retries": {"total_max_attempts": retry_attempts, "mode": "standard"}},
        )
    packages = {"s3": "s3fs", "gcs": "gcsfs", "abfs": "adlfs"}
    try:
        if protocol == "gcs" and os.environ.get("STORAGE_EMULATOR_HOST"):
            # A GCS emulator (its address in STORAGE_EMULATOR_HOST, which gcsfs reads) takes no
            # credentials, and speaks only the JSON API: gcsfs's own filesystem for it, anonymous, not
            # the one that first asks the gRPC storage-control API for the bucket's type (a minute's
            # timeout against an emulator). Elsewhere gcsfs finds Google's application default credentials.
            from gcsfs.core import GCSFileSystem

            fs = GCSFileSystem(token="anon", **options)  # noqa: S106 (anonymous access, no secret)
            return _gcs_tries(fs, retry_attempts)
        fs = fsspec.filesystem(protocol, **options)
    except ImportError as exc:
        raise SourceError(
            f"Reading {protocol}:// sources needs the package {packages.get(protocol, protocol)}."
        ) from exc
    if protocol == "gcs":
        return _gcs_tries(fs, retry_attempts)
    if protocol == "s3":
        # s3fs makes each call up to `retries` times (5 by default) around botocore's own tries: five
        # times the attempts a throttling store was meant to get. Once more is kept, for an answer
        # whose body broke off while it was read (which botocore does not retry).
        fs.retries = S3_CALLS
    return fs


def _gcs_tries(fs: Any, retry_attempts: int) -> Any:
    """The filesystem with each of its requests tried `retry_attempts` times. gcsfs tries each six times
    whatever it is told (its retry decorator is bound when its class is made, and sleeps 1, 2, 4, 8 and
    16 s between the tries): its own request, under the same retry decorator with the attempts asked for,
    keeps gcsfs's choice of what to retry and its backoff."""
    from gcsfs.core import GCSFileSystem
    from gcsfs.retry import retry_request

    request = getattr(GCSFileSystem._request, "__wrapped__", None)
    if isinstance(fs, GCSFileSystem) and request is not None:
        fs._request = types.MethodType(retry_request(retries=retry_attempts)(request), fs)
    return fs


def _etag(details: dict[str, Any]) -> str | None:
    etag = details.get("ETag") or details.get("etag")
    return str(etag).strip('"') if etag else None


# The store's error codes for a client asked to slow down (and the bare HTTP statuses: the answer to a
# HEAD has no body), for credentials it does not know, and for credentials that may not do what they asked.
THROTTLED = {"SlowDown", "Throttling", "ThrottlingException", "TooManyRequests", "TooManyRequestsException",
             "RequestLimitExceeded", "ServiceUnavailable", "ServerBusy", "503", "429"}  # fmt: skip
UNKNOWN_CREDENTIALS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "TokenRefreshRequired",
    # Azure's; GCS answers 401 to a token it does not know.
    "AuthenticationFailed",
    "InvalidAuthenticationInfo",
    "401",
}
# Azure's AuthorizationFailure also answers a key that is not the account's (Azurite's answer to one).
DENIED = {"AccessDenied", "AllAccessDisabled", "AccountProblem", "AuthorizationFailure",
          "AuthorizationPermissionMismatch", "InsufficientAccountPermissions"}  # fmt: skip
# A store's own answer that a bucket, key or version does not exist (not a bare 404).
MISSING = {"NoSuchKey", "NoSuchBucket", "NoSuchVersion", "BlobNotFound", "ContainerNotFound"}


@dataclass(frozen=True)
class ProviderSettings:
    """What an operator sets for the workers to reach and read a provider's store: each fault's message
    names the settings of the store that failed."""

    credentials: str
    endpoint: str
    grant: str


PROVIDER_SETTINGS = {
    "s3": ProviderSettings(
        credentials="AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
        endpoint="AWS_ENDPOINT_URL",
        grant="s3:ListBucket and s3:GetObject (s3:GetObjectVersion in a versioned bucket)",
    ),
    "gcs": ProviderSettings(
        credentials="GOOGLE_APPLICATION_CREDENTIALS (a service account's key file; unset, the workers' "
        "application default credentials)",
        endpoint="STORAGE_EMULATOR_HOST (set only for a GCS emulator; unset, Google's own endpoint is used)",
        grant="storage.objects.list and storage.objects.get (the Storage Object Viewer role), and "
        "storage.buckets.get for a versioned bucket's generations to be recorded",
    ),
    "abfs": ProviderSettings(
        credentials="AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_NAME with "
        "AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_SAS_TOKEN or AZURE_STORAGE_CLIENT_ID / "
        "AZURE_STORAGE_CLIENT_SECRET / AZURE_STORAGE_TENANT_ID",
        endpoint="the BlobEndpoint of AZURE_STORAGE_CONNECTION_STRING (or AZURE_STORAGE_ACCOUNT_NAME)",
        grant="the Storage Blob Data Reader role (blobs/read)",
    ),
}


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and those it was raised from (s3fs turns the store's answer into an OSError
    whose cause holds the error code)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _codes(chain: list[BaseException]) -> set[str]:
    codes = set()
    for fault in chain:
        response = getattr(fault, "response", None)
        if isinstance(response, dict):  # botocore's
            error = response.get("Error") or {}
            if error.get("Code"):
                codes.add(str(error["Code"]))
            status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            if status:
                codes.add(str(status))
        code = getattr(fault, "error_code", None)  # azure-core's (a StorageErrorCode, or text)
        if code:
            codes.add(str(getattr(code, "value", code)))
        for name in ("status_code", "code"):  # azure-core's status, gcsfs's HttpError
            status = getattr(fault, name, None)
            if isinstance(status, int) and not isinstance(status, bool):
                codes.add(str(status))
    return codes


def explained(exc: BaseException, where: str, *, protocol: str, retry_attempts: int = 6) -> SourceError:
    """A fault of the store as a message a person can act on, naming the settings of its provider."""
    chain = _chain(exc)
    codes = _codes(chain)
    settings = PROVIDER_SETTINGS.get(protocol, PROVIDER_SETTINGS["s3"])
    text = str(exc) or exc.__class__.__name__
    names = " ".join(fault.__class__.__name__ for fault in chain)
    texts = " ".join(str(fault) for fault in chain)
    if codes & THROTTLED or any(marker in texts for marker in ("SlowDown", "Throttl", "TooManyRequests")):
        return SourceError(
            f"{where}: the object store kept throttling the reads (it answered 'slow down', HTTP 503 or 429, "
            f"to {retry_attempts} attempts in a row, retried with backoff: {text}). Profile the version again "
            "later, when the store is less busy, or raise CATALOG_OBJECT_RETRY_ATTEMPTS."
        )
    if codes & UNKNOWN_CREDENTIALS:
        return SourceError(
            f"{where}: the object store does not accept the workers' credentials "
            f"({', '.join(sorted(codes & UNKNOWN_CREDENTIALS))}: {text}). Check {settings.credentials} in the "
            f"workers' environment, and that they belong to this store ({settings.endpoint})."
        )
    if codes & DENIED:
        return SourceError(
            f"{where}: the object store refused access ({text}). The workers' credentials "
            f"({settings.credentials}) may not list or read it: grant them {settings.grant} on it."
        )
    if isinstance(exc, FileNotFoundError):
        # A store's own answer names what is missing; a bare 404 (a HEAD's, or a server that is not
        # an object store at all) may also come from the wrong endpoint.
        hint = (
            ""
            if codes & MISSING
            else f" If it does exist, check that {settings.endpoint} in the workers' environment names the "
            "store that holds it."
        )
        return SourceError(
            f"{where} does not exist in the object store (no such bucket, key or version): {text}.{hint}"
        )
    if isinstance(exc, PermissionError) or any(
        marker in texts for marker in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden")
    ):
        return SourceError(
            f"{where}: the object store refused access ({text}). Check the credentials in the workers' "
            f"environment ({settings.credentials}) and that they may read this bucket."
        )
    if any(marker in names for marker in ("NoCredentials", "DefaultCredentialsError", "ClientAuthenticationError")) or (
        "Unable to locate credentials" in texts
    ):
        return SourceError(
            f"{where}: the workers have no credentials for the object store. Set {settings.credentials} in the "
            "workers' environment."
        )
    if any(
        marker in names
        for marker in ("EndpointConnection", "ConnectTimeout", "ConnectionRefused", "ClientConnector", "ServiceRequest")
    ) or any(marker in texts for marker in ("Could not connect", "Cannot connect")):
        return SourceError(
            f"{where}: the object store's endpoint cannot be reached ({text}). Check {settings.endpoint} in the "
            "workers' environment, and the network."
        )
    return SourceError(f"{where} cannot be read from the object store: {text}")


@contextlib.contextmanager
def store_faults(where: str, *, protocol: str, retry_attempts: int = 6) -> Iterator[None]:
    """Every fault of the store's client inside as a SourceError (never a crash of the task)."""
    try:
        yield
    except SourceError:
        raise
    except Exception as exc:
        raise explained(exc, where, protocol=protocol, retry_attempts=retry_attempts) from exc


def _where(remote: RemoteObject) -> str:
    if not remote.version_id:
        return f"{remote.protocol}://{remote.key}"
    label = "generation" if remote.protocol == "gcs" else "version"
    return f"{remote.protocol}://{remote.key} ({label} {remote.version_id})"


class _BlockStream:
    """A stream of an object of a store whose client reads no response bodies as streams (gcs, abfs):
    a request a block from a position onwards, each by `fetch(start, end)`."""

    def __init__(self, fetch: Callable[[int, int], bytes], start: int, size: int) -> None:
        self._fetch = fetch
        self._next = start  # the first byte of the next block asked for
        self._size = size
        self._block = b""
        self._offset = 0

    def read(self, length: int) -> bytes:
        if self._offset >= len(self._block):
            if self._next >= self._size:
                return b""
            self._block = self._fetch(self._next, min(self._next + BLOCK_SIZE, self._size))
            self._offset = 0
            self._next += len(self._block)
        piece = self._block[self._offset : self._offset + length]
        self._offset += len(piece)
        return piece

    def close(self) -> None:
        self._block = b""


# Bytes asked of a response's body at once: larger reads are slower through the S3 client's HTTP
# library (a 32 MiB read runs at a third of the speed of 1 MiB ones).
PIECE = 1024 * 1024
# Bytes of a stream kept behind its position, for reads that come back a little way (pyarrow reads
# the column chunks of a row group from several threads, in any order).
WINDOW = 64 * 1024 * 1024
# A read starting further ahead of a stream than this is not read through to: it is a range request
# of its own (a hashing stream) or the stream starts again there (any other).
SKIP = 4 * 1024 * 1024
# Reads ending at most this far from the end of an object are kept (a Parquet file's footer, read at
# every opening), up to this many bytes of them.
TAIL = 1024 * 1024
TAIL_KEPT = 8 * 1024 * 1024


class ObjectReader:
    """One object, at its recorded version, read as a stream: one request from a position onwards,
    read forwards in pieces, instead of a request for every range a reader asks for (a request costs
    a round trip and, on some S3-compatible servers, a copy of the whole object). Ranges a little
    behind the stream come from the bytes it keeps; the object's tail is asked for once and kept.

    A hashing reader streams from the first byte and never skips one, so that the sha256 of the whole
    object comes with the reads a profile makes: `digest` then reads only what the profile left.

    Every request names the recorded version: its version id (a GCS generation), or else `If-Match`
    its ETag (S3; GCS and Azure streams check the ETag when they open), so bytes overwritten since the
    listing fail the read with the object's name instead of being read."""

    def __init__(self, remote: RemoteObject, relative_path: str, *, hashing: bool, window: int = WINDOW) -> None:
        self.remote = remote
        self.relative_path = relative_path
        self.size = remote.size
        self._where = _where(remote)
        self._fs = filesystem(remote.protocol, retry_attempts=remote.retry_attempts)
        self._lock = threading.Lock()
        self._window = window
        self._body: Any = None
        self._position = 0  # the next byte the stream gives
        self._kept: collections.deque[tuple[int, bytes]] = collections.deque()
        self._kept_bytes = 0
        self._tail: dict[int, bytes] = {}
        self._digest = hashlib.sha256() if hashing else None
        self.requests = 0

    # --- the store ---------------------------------------------------------------------------------

    def _faults(self) -> contextlib.AbstractContextManager[None]:
        return store_faults(self._where, protocol=self.remote.protocol, retry_attempts=self.remote.retry_attempts)

    def _located(self) -> tuple[str, dict[str, Any]]:
        """The path and keywords that name the recorded version to the filesystem's reads (gcs, abfs)."""
        version = self.remote.version_id
        if version is None:
            return self.remote.key, {}
        if self.remote.protocol == "gcs":
            # gcsfs puts a `generation` given to `cat_file` on the URL of its request; its files (`open`)
            # take one for their metadata only, and read whatever the key holds now.
            return self.remote.key, {"generation": version}
        # adlfs's `cat_file` takes a version in the path only (of a version-aware filesystem).
        return f"{self.remote.key}?versionid={version}", {}

    def _fetch(self, start: int, end: int) -> bytes:
        """Bytes [start, end) of the recorded version by one request (gcs, abfs)."""
        path, options = self._located()
        self.requests += 1
        with self._faults():
            return bytes(self._fs.cat_file(path, start=start, end=end, **options))

    def _check_etag(self) -> None:
        """An object without a version id whose ETag is no longer the listed one was overwritten (gcs,
        abfs: their reads take no `If-Match`, so the ETag is asked for when a stream opens)."""
        with self._faults():
            details = self._fs.info(self.remote.key)
        if _etag(details) not in (None, self.remote.etag):
            raise SourceError(f"{self.relative_path} was overwritten since it was listed; profile the version again.")

    def _overwritten(self, exc: BaseException) -> SourceError | None:
        text = f"{exc.__class__.__name__} {exc}"
        if any(marker in text for marker in ("PreconditionFailed", "pre-conditions", " 412")):
            return SourceError(f"{self.relative_path} was overwritten since it was listed; profile the version again.")
        return None

    def _get(self, start: int, end: int | None) -> Any:
        """The S3 response to a GET of bytes [start, end) (to the end when `end` is None)."""
        from fsspec.asyn import sync

        bucket, key, _version = self._fs.split_path(self.remote.key)
        options: dict[str, Any] = {"Range": f"bytes={start}-{'' if end is None else end - 1}"}
        if self.remote.version_id:
            options["VersionId"] = self.remote.version_id
        elif self.remote.etag:
            options["IfMatch"] = f'"{self.remote.etag}"'
        self.requests += 1
        try:
            with self._faults():
                response = sync(self._fs.loop, self._fs._call_s3, "get_object", Bucket=bucket, Key=key, **options)
        except SourceError as exc:
            overwritten = self._overwritten(exc.__cause__ or exc)
            if overwritten is None:
                raise
            raise overwritten from exc
        total = str(response.get("ContentRange", "")).rpartition("/")[2]
        if total.isdigit() and int(total) != self.size:
            response["Body"].close()
            raise SourceError(f"{self.relative_path} changed size since it was listed; profile the version again.")
        return response["Body"]

    def _body_read(self, body: Any, size: int) -> bytes:
        from fsspec.asyn import sync

        with self._faults():
            data: bytes = sync(self._fs.loop, body.read, size)
        return data

    def _open_stream(self, start: int) -> None:
        self._close_stream()
        if self.remote.protocol == "s3":
            self._body = self._get(start, None)
        else:  # gcs, abfs: a block a request
            if self.remote.version_id is None and self.remote.etag is not None:
                self._check_etag()
            self._body = _BlockStream(self._fetch, start, self.size)
        self._position = start
        self._kept.clear()
        self._kept_bytes = 0

    def _close_stream(self) -> None:
        if self._body is not None:
            with contextlib.suppress(Exception):
                self._body.close()
            self._body = None

    def _range(self, start: int, end: int) -> bytes:
        """Bytes [start, end) by a request of their own."""
        if self.remote.protocol == "s3":
            body = self._get(start, end)
            try:
                # A read gives what has arrived, up to the size asked for: read until the range is whole.
                pieces = []
                wanted = end - start
                while wanted > 0 and (piece := self._body_read(body, min(wanted, PIECE))):
                    pieces.append(piece)
                    wanted -= len(piece)
                data = b"".join(pieces)
            finally:
                with contextlib.suppress(Exception):
                    body.close()
        else:
            data = self._fetch(start, end)
        if len(data) != end - start:
            raise SourceError(f"{self.relative_path} changed while it was being read; profile the version again.")
        return bytes(data)

    def _advance(self, end: int) -> None:
        """Read the stream on up to `end`, keeping (and hashing) what it gives."""
        while self._position < end:
            assert self._body is not None
            piece = self._body_read(self._body, PIECE) if self.remote.protocol == "s3" else self._body.read(PIECE)
            if not piece:
                raise SourceError(f"{self.relative_path} changed while it was being read; profile the version again.")
            if self._digest is not None:
                self._digest.update(piece)
            self._kept.append((self._position, piece))
            self._kept_bytes += len(piece)
            self._position += len(piece)

    def _trim(self, keep_from: int) -> None:
        while self._kept and self._kept_bytes > self._window:
            start, piece = self._kept[0]
            if start + len(piece) > keep_from:
                break
            self._kept.popleft()
            self._kept_bytes -= len(piece)

    def _from_kept(self, start: int, end: int) -> bytes | None:
        if not self._kept or start < self._kept[0][0] or end > self._position:
            return None
        parts = []
        for offset, piece in self._kept:
            if offset + len(piece) <= start:
                continue
            if offset >= end:
                break
            parts.append(piece[max(start - offset, 0) : end - offset])
        return b"".join(parts)

    def _from_tail(self, start: int, end: int) -> bytes | None:
        for offset, data in self._tail.items():
            if offset <= start and end <= offset + len(data):
                return data[start - offset : end - offset]
        return None

    # --- reading ----------------------------------------------------------------------------------

    @property
    def hashing(self) -> bool:
        return self._digest is not None

    def read_at(self, start: int, length: int) -> bytes:
        end = min(start + max(length, 0), self.size)
        if start >= end:
            return b""
        with self._lock:
            found = self._from_kept(start, end)
            if found is None:
                found = self._from_tail(start, end)
            if found is not None:
                return found
            hashing = self._digest is not None
            kept_from = self._kept[0][0] if self._kept else self._position
            # A hashing stream goes on from where it stopped (opened again there after a `release`);
            # any other is read on only while it is open.
            near = (hashing or self._body is not None) and kept_from <= start and start - self._position <= SKIP
            if not near and (hashing or self.size - end <= TAIL):
                # Not the stream's to read: the tail (kept) or a range out of its way.
                data = self._range(start, end)
                if self.size - end <= TAIL and sum(map(len, self._tail.values())) + len(data) <= TAIL_KEPT:
                    self._tail[start] = data
                return data
            if not near:
                self._open_stream(start)
            elif self._body is None:
                self._open_stream(self._position)
            self._advance(end)
            streamed = self._from_kept(start, end)
            assert streamed is not None
            self._trim(start)
            return streamed

    def digest(self) -> tuple[int, str]:
        """(size, sha256 hex) of the object: the stream read on to its end (a hashing reader)."""
        if self._digest is None:
            raise ValueError("This reader does not hash what it reads.")
        with self._lock:
            if self._position < self.size:
                if self._body is None:
                    self._open_stream(self._position)
                self._advance(self.size)
                self._trim(self.size)
            if self.remote.protocol == "s3" and self._body is not None and self._body_read(self._body, 1):
                raise SourceError(f"{self.relative_path} changed while it was being read; profile the version again.")
            return self._position, self._digest.hexdigest()

    def release(self) -> None:
        """Let go of what the reader holds (its stream and the bytes it keeps) while another object is
        read; a hashing reader close to the end of its object reads it now, else goes on from where it
        stopped when it is read again. Memory then holds the bytes of one object of a source at a time."""
        with self._lock:
            if self._digest is not None and self._body is not None and self.size - self._position <= SKIP:
                self._advance(self.size)
            self._close_stream()
            self._kept.clear()
            self._kept_bytes = 0
            self._tail.clear()

    def close(self) -> None:
        with self._lock:
            self._close_stream()
            self._kept.clear()
            self._tail.clear()


class ObjectFile(io.RawIOBase):
    """A file opened on an ObjectReader: its own position, the reader's bytes."""

    def __init__(self, reader: ObjectReader) -> None:
        super().__init__()
        self._reader = reader
        self._offset = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._offset

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._offset, io.SEEK_END: self._reader.size}[whence]
        self._offset = max(base + offset, 0)
        return self._offset

    def read(self, size: int | None = -1) -> bytes:
        wanted = self._reader.size - self._offset if size is None or size < 0 else size
        data = self._reader.read_at(self._offset, wanted)
        self._offset += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        memoryview(buffer)[: len(data)] = data
        return len(data)


class _Shared:
    """The readers of the objects of a source while it is being read (see `shared_reads`), and the
    one local copy of an object it holds at a time."""

    def __init__(self, *, hashing: bool, download_dir: str | None) -> None:
        self.hashing = hashing
        self.download_dir = download_dir
        self.readers: dict[RemoteObject, ObjectReader] = {}
        self.copy: tuple[RemoteObject, str] | None = None
        # The object read last: the only one whose reader holds a stream and kept bytes.
        self.current: RemoteObject | None = None

    def reader(self, remote: RemoteObject, relative_path: str) -> ObjectReader:
        if self.current is not None and self.current != remote:
            self.readers[self.current].release()
        self.current = remote
        if remote not in self.readers:
            self.readers[remote] = ObjectReader(remote, relative_path, hashing=self.hashing)
        return self.readers[remote]

    def drop_copy(self) -> None:
        if self.copy is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.copy[1])
            self.copy = None


_SHARED: contextvars.ContextVar[_Shared | None] = contextvars.ContextVar("shared_object_readers", default=None)


@contextlib.contextmanager
def shared_reads(*, hashing: bool, download_dir: str | None = None) -> Iterator[None]:
    """While the context lasts, every opening of one object shares one reader (one stream, its kept
    bytes and tail): planning a Parquet file and profiling it read its bytes once. With `hashing`,
    the readers hash as they go, and `remote_hash` takes what they read instead of reading again.

    An object a reader needs as a local file (delimited text, JSON lines, documents) is copied into
    `download_dir` (the system's temporary folder when None), and only one such copy is kept at a
    time: the next object copied replaces it, so local disk holds at most one object of the source."""
    shared = _Shared(hashing=hashing, download_dir=download_dir)
    token = _SHARED.set(shared)
    try:
        yield
    finally:
        _SHARED.reset(token)
        shared.drop_copy()
        for reader in shared.readers.values():
            reader.close()


def _shared_reader(remote: RemoteObject, relative_path: str) -> ObjectReader | None:
    shared = _SHARED.get()
    return None if shared is None else shared.reader(remote, relative_path)


def _copy(reader: ObjectReader, folder: str | None) -> str:
    """A local copy of the object, streamed into a new temporary file of `folder`; its path."""
    descriptor, path = tempfile.mkstemp(prefix="catalog-object-", dir=folder)
    try:
        with os.fdopen(descriptor, "wb") as copy:
            position = 0
            while position < reader.size:
                data = reader.read_at(position, BLOCK_SIZE)
                copy.write(data)
                position += len(data)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    return path


def remote_descriptor(remote: RemoteObject, relative_path: str) -> int:
    """A read-only descriptor of a local copy of the object (for readers that read files by path).
    Within `shared_reads` the copy is the source's one copy (kept while no other object is copied);
    otherwise it is removed as soon as it is open, and its bytes go when the descriptor is closed."""
    shared = _SHARED.get()
    if shared is None:
        reader = ObjectReader(remote, relative_path, hashing=False, window=0)
        try:
            path = _copy(reader, None)
        finally:
            reader.close()
        try:
            return os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        finally:
            os.unlink(path)
    if shared.copy is None or shared.copy[0] != remote:
        shared.drop_copy()
        shared.copy = (remote, _copy(shared.reader(remote, relative_path), shared.download_dir))
    return os.open(shared.copy[1], os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))


def remote_head(remote: RemoteObject, relative_path: str, limit: int) -> bytes:
    """At most `limit` bytes from the start of the object, read into memory (nothing on disk)."""
    shared = _shared_reader(remote, relative_path)
    reader = shared or ObjectReader(remote, relative_path, hashing=False, window=0)
    try:
        return reader.read_at(0, limit)
    finally:
        if shared is None:
            reader.close()


@contextlib.contextmanager
def remote_opened(remote: RemoteObject, relative_path: str) -> Iterator[IO[bytes]]:
    """The object open for reading (random access), at its recorded version."""
    shared = _shared_reader(remote, relative_path)
    reader = shared or ObjectReader(remote, relative_path, hashing=False)
    handle = ObjectFile(reader)
    try:
        with store_faults(reader._where, protocol=remote.protocol, retry_attempts=remote.retry_attempts):
            yield handle  # type: ignore[misc]
    finally:
        handle.close()
        if shared is None:
            reader.close()


def remote_hash(remote: RemoteObject, relative_path: str) -> tuple[int, str]:
    """(size, sha256 hex) of the object's bytes, streamed in bounded memory, nothing written to disk:
    by one request, or from the reads a profile made of it already (see `shared_reads`)."""
    shared = _shared_reader(remote, relative_path)
    if shared is not None and shared.hashing:
        size, digest = shared.digest()
    else:
        reader = ObjectReader(remote, relative_path, hashing=True, window=0)
        try:
            size, digest = reader.digest()
        finally:
            reader.close()
    if size != remote.size:
        raise SourceError(f"{relative_path} changed while it was being read; profile the version again.")
    return size, digest
