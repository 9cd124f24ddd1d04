"""Objects of an object store read where they are, through fsspec (s3fs for s3://; gcsfs and adlfs
where installed): hashed as a stream and, for Parquet, read by range requests (the footer, then the
column chunks of the row groups a partition needs), so that nothing of them is written to local disk.

Each object is read at the exact version recorded when the source was listed: its version id in a
versioned bucket; elsewhere its ETag is checked when it is opened and again once it has been hashed,
so bytes overwritten in between fail the read with the object's name instead of being profiled."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from profiler.faults import SourceError

# Bytes a read asks the store for at once: the hashing's chunks, and the read-ahead of a Parquet file
# (pyarrow asks for a column chunk at a time; a smaller block would cost a request per page).
BLOCK_SIZE = 8 * 1024 * 1024
# Bytes a hashing read asks for at once (held in memory one chunk at a time).
HASH_CHUNK = 32 * 1024 * 1024
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
        fs = fsspec.filesystem(protocol, **options)
    except ImportError as exc:
        raise SourceError(
            f"Reading {protocol}:// sources needs the package {packages.get(protocol, protocol)}."
        ) from exc
    if protocol == "s3":
        # s3fs makes each call up to `retries` times (5 by default) around botocore's own tries: five
        # times the attempts a throttling store was meant to get. Once more is kept, for an answer
        # whose body broke off while it was read (which botocore does not retry).
        fs.retries = S3_CALLS
    return fs


def _etag(details: dict[str, Any]) -> str | None:
    etag = details.get("ETag") or details.get("etag")
    return str(etag).strip('"') if etag else None


# The store's error codes for a client asked to slow down (and the bare HTTP statuses: the answer to a
# HEAD has no body), for credentials it does not know, and for credentials that may not do what they asked.
THROTTLED = {"SlowDown", "Throttling", "ThrottlingException", "TooManyRequests", "TooManyRequestsException",
             "RequestLimitExceeded", "ServiceUnavailable", "503", "429"}  # fmt: skip
UNKNOWN_CREDENTIALS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "TokenRefreshRequired",
}
DENIED = {"AccessDenied", "AllAccessDisabled", "AccountProblem"}


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
        if isinstance(response, dict):
            error = response.get("Error") or {}
            if error.get("Code"):
                codes.add(str(error["Code"]))
            status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            if status:
                codes.add(str(status))
    return codes


def explained(exc: BaseException, where: str, *, retry_attempts: int = 6) -> SourceError:
    """A fault of the store as a message a person can act on."""
    chain = _chain(exc)
    codes = _codes(chain)
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
            f"({', '.join(sorted(codes & UNKNOWN_CREDENTIALS))}: "
            f"{text}). Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the provider's own) in the workers' "
            "environment, and that they belong to this store (AWS_ENDPOINT_URL)."
        )
    if codes & DENIED:
        return SourceError(
            f"{where}: the object store refused access ({text}). The workers' credentials "
            "(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the provider's own) may not list or read it: grant "
            "them s3:ListBucket and s3:GetObject (s3:GetObjectVersion in a versioned bucket) on it."
        )
    if isinstance(exc, FileNotFoundError):
        # A store's own answer names what is missing; a bare 404 (a HEAD's, or a server that is not
        # an object store at all) may also come from the wrong endpoint.
        hint = (
            ""
            if codes & {"NoSuchKey", "NoSuchBucket", "NoSuchVersion"}
            else " If it does exist, check that AWS_ENDPOINT_URL (or the provider's endpoint setting) in the "
            "workers' environment names the store that holds it."
        )
        return SourceError(
            f"{where} does not exist in the object store (no such bucket, key or version): {text}.{hint}"
        )
    if isinstance(exc, PermissionError) or any(
        marker in texts for marker in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden")
    ):
        return SourceError(
            f"{where}: the object store refused access ({text}). Check the credentials in the workers' "
            "environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the provider's own) and that they may "
            "read this bucket."
        )
    if "NoCredentials" in names or "Unable to locate credentials" in texts:
        return SourceError(
            f"{where}: the workers have no credentials for the object store. Set them in the workers' environment."
        )
    if any(marker in names for marker in ("EndpointConnection", "ConnectTimeout", "ConnectionRefused")) or any(
        marker in texts for marker in ("Could not connect", "Cannot connect")
    ):
        return SourceError(
            f"{where}: the object store's endpoint cannot be reached ({text}). Check AWS_ENDPOINT_URL "
            "(or the provider's endpoint setting) in the workers' environment, and the network."
        )
    return SourceError(f"{where} cannot be read from the object store: {text}")


@contextlib.contextmanager
def store_faults(where: str, *, retry_attempts: int = 6) -> Iterator[None]:
    """Every fault of the store's client inside as a SourceError (never a crash of the task)."""
    try:
        yield
    except SourceError:
        raise
    except Exception as exc:
        raise explained(exc, where, retry_attempts=retry_attempts) from exc


def _where(remote: RemoteObject) -> str:
    return f"{remote.protocol}://{remote.key}" + (f" (version {remote.version_id})" if remote.version_id else "")


@contextlib.contextmanager
def remote_opened(
    remote: RemoteObject, relative_path: str, *, block_size: int = BLOCK_SIZE, cache_type: str = "readahead"
) -> Iterator[IO[bytes]]:
    """The object open for reading (random access by range requests), at its recorded version."""
    where = _where(remote)
    fs = filesystem(remote.protocol, retry_attempts=remote.retry_attempts)
    options = {"version_id": remote.version_id} if remote.version_id else {}
    with store_faults(where, retry_attempts=remote.retry_attempts):
        handle = fs.open(remote.key, "rb", block_size=block_size, cache_type=cache_type, **options)
    try:
        details = getattr(handle, "details", {}) or {}
        if remote.version_id is None and remote.etag is not None and _etag(details) not in (None, remote.etag):
            raise SourceError(f"{relative_path} was overwritten since it was listed; profile the version again.")
        if int(details.get("size", remote.size)) != remote.size:
            raise SourceError(f"{relative_path} changed size since it was listed; profile the version again.")
        with store_faults(where, retry_attempts=remote.retry_attempts):
            yield handle
    finally:
        with contextlib.suppress(Exception):
            handle.close()


def remote_hash(remote: RemoteObject, relative_path: str) -> tuple[int, str]:
    """(size, sha256 hex) of the object's bytes, streamed in bounded memory, nothing written to disk."""
    digest = hashlib.sha256()
    size = 0
    # Read straight through, without a cache in between: a third faster than through the read-ahead.
    with remote_opened(remote, relative_path, block_size=HASH_CHUNK, cache_type="none") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    if size != remote.size:
        raise SourceError(f"{relative_path} changed while it was being read; profile the version again.")
    if remote.version_id is None and remote.etag is not None:
        fs = filesystem(remote.protocol, retry_attempts=remote.retry_attempts)
        with store_faults(_where(remote), retry_attempts=remote.retry_attempts):
            now = _etag(fs.info(remote.key, refresh=True))
        if now != remote.etag:
            raise SourceError(f"{relative_path} was overwritten while it was being read; profile the version again.")
    return size, digest.hexdigest()
