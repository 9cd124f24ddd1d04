"""Download an https:// source to a local file without trusting the server or its DNS.

The host is resolved once and every address it resolves to is vetted; the connection then goes to
a vetted address while TLS still verifies the certificate (and sends SNI) for the real host name,
so a DNS answer that changes between the check and the connection cannot reach a private address.
Redirects are followed by hand and each new URL is vetted the same way. The body is streamed to a
temporary file beside the destination and renamed into place only when complete.

The pinned request itself (`PinnedTarget`, `pinned_request`: a connection to a vetted address, the
host name kept for TLS and the Host header, no redirect followed, each address tried in turn) serves
every outgoing request of the catalog: downloads here, webhook deliveries (`webhooks.transport`).

This module takes its settings as arguments and imports nothing of Django.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError, SSLError

from profiler.files import SourceError

MAX_REDIRECTS = 5
CHUNK_SIZE = 1 << 16
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# IPv6 ranges that carry an IPv4 address a gateway may deliver to: NAT64 (RFC 6052); 6to4 has its own property.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class PinnedTarget:
    """Where a request goes: the URL as messages show it, its host name and port, the Host header and
    path sent, and the vetted addresses the connection may go to (never the name resolved again)."""

    shown: str
    scheme: str
    hostname: str
    port: int
    host_header: str
    request_path: str
    addresses: tuple[str, ...]


class Unconnected(Exception):
    """No vetted address took a connection (`failure` the last refusal), or the time allowed ran out first
    (`failure` None)."""

    def __init__(self, failure: Exception | None) -> None:
        super().__init__(str(failure) if failure is not None else "out of time")
        self.failure = failure


def url_shown(url: str) -> str:
    """The URL as messages show it: without credentials, query or fragment, which may hold secrets."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def host_resolve(hostname: str, port: int) -> tuple[str, ...]:
    """The addresses a host name resolves to now, each once in the resolver's order; () when it does not."""
    try:
        infos = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        return ()
    return tuple(dict.fromkeys(str(info[4][0]) for info in infos))


def pinned_target(url: str, *, scheme: str, hostname: str, port: int, addresses: tuple[str, ...]) -> PinnedTarget:
    """The target of a URL whose addresses were vetted: the Host header names the port only when it is not
    the scheme's own."""
    parts = urlsplit(url)
    host = f"[{hostname}]" if ":" in hostname else hostname
    default_port = 443 if scheme == "https" else 80
    return PinnedTarget(
        shown=url_shown(url),
        scheme=scheme,
        hostname=hostname,
        port=port,
        host_header=host if port == default_port else f"{host}:{port}",
        request_path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        addresses=addresses,
    )


@contextmanager
def pinned_request(
    target: PinnedTarget,
    method: str,
    *,
    headers: dict[str, str],
    connect_timeout: float,
    read_timeout: float,
    body: bytes | None = None,
    ca_certs: str | None = None,
    deadline: float | None = None,
) -> Iterator[urllib3.BaseHTTPResponse]:
    """The answer of the first vetted address that takes a connection, unread (the caller reads it within
    the block; it is closed after). TLS verifies the certificate for the host name (and sends it as SNI);
    no redirect is followed. A refused or timed-out connection tries the next address; when none is left,
    or the monotonic `deadline` has passed, Unconnected. Other faults (TLS, a read timeout, a protocol
    error) are urllib3's, for the caller to word."""
    failure: Exception | None = None
    for address in target.addresses:
        connect = connect_timeout
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Unconnected(None)
            connect = min(connect, remaining)
        timeout = urllib3.Timeout(connect=connect, read=read_timeout)
        pool: urllib3.HTTPConnectionPool
        if target.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                host=address,
                port=target.port,
                server_hostname=target.hostname,
                assert_hostname=target.hostname,
                cert_reqs="CERT_REQUIRED",
                ca_certs=ca_certs,
                timeout=timeout,
                retries=False,
                maxsize=1,
            )
        else:
            pool = urllib3.HTTPConnectionPool(host=address, port=target.port, timeout=timeout, retries=False, maxsize=1)
        try:
            try:
                response = pool.urlopen(
                    method,
                    target.request_path,
                    body=body,
                    headers={**headers, "Host": target.host_header},
                    redirect=False,
                    assert_same_host=False,
                    preload_content=False,
                    decode_content=False,
                )
            except (NewConnectionError, ConnectTimeoutError) as exc:
                failure = exc  # Try the host's next vetted address.
                continue
            try:
                yield response
            finally:
                response.release_conn()
                response.close()
            return
        finally:
            pool.close()
    raise Unconnected(failure)


def fetch_url(
    url: str,
    destination: Path,
    *,
    max_bytes: int,
    timeout: float,
    allow_private: bool,
    ca_certs: str | None = None,
    total_timeout: float = 3600.0,
) -> int:
    """Download `url` to `destination` and return the number of bytes written.

    `timeout` bounds connecting and each wait for data; `total_timeout` bounds the whole download,
    redirects included (it is checked between chunks, so it may be overrun by at most one `timeout`).
    `ca_certs` names a PEM bundle of trusted CAs; without it the system's default store is used.
    Every failure raises SourceError and leaves nothing at `destination`.
    """
    deadline = time.monotonic() + total_timeout
    previous: str | None = None
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        try:
            target = _vet(current, allow_private)
        except SourceError as exc:
            if previous is None:
                raise
            raise SourceError(f"{url_shown(previous)} redirects to a URL that is refused: {exc}") from None
        outcome = _get(target, destination, max_bytes, timeout, deadline, ca_certs)
        if isinstance(outcome, int):
            return outcome
        previous, current = current, urljoin(current, outcome)
    raise SourceError(f"{url_shown(url)} redirects more than {MAX_REDIRECTS} times; give the final URL instead.")


def _size(count: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return f"{count} bytes"


def _vet(url: str, allow_private: bool) -> PinnedTarget:
    parts = urlsplit(url)
    shown = url_shown(url)
    if parts.scheme.lower() != "https":
        raise SourceError(f"{shown} is not an https:// URL; only https:// sources are downloaded.")
    if not parts.hostname:
        raise SourceError(f"{shown} has no host.")
    if parts.username or parts.password:
        raise SourceError(f"{shown} has credentials in it; such URLs are not accepted.")
    try:
        port = parts.port or 443
    except ValueError:
        raise SourceError(f"The port of {shown} is not a number between 0 and 65535.") from None
    hostname = parts.hostname
    addresses = host_resolve(hostname, port)
    if not addresses:
        raise SourceError(f"The host {hostname!r} of {shown} cannot be resolved.")
    if not allow_private:
        for address in addresses:
            if not is_public_address(address):
                # The address itself is not told: it would map the internal network for the caller.
                raise SourceError(
                    f"The host {hostname!r} of {shown} resolves to a private, loopback or reserved address; "
                    "such URLs are refused unless CATALOG_ALLOW_PRIVATE_URLS is set."
                )
    return pinned_target(url, scheme="https", hostname=hostname, port=port, addresses=addresses)


def is_public_address(address: str) -> bool:
    """Whether an address, and any IPv4 address embedded in it, is globally reachable."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if not ip.is_global:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = [ip.ipv4_mapped, ip.sixtofour]
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        return all(inner is None or inner.is_global for inner in embedded)
    return True


def _get(
    target: PinnedTarget, destination: Path, max_bytes: int, timeout: float, deadline: float, ca_certs: str | None
) -> int | str:
    """GET the target: the bytes written for a 2xx answer, or the Location of a redirect."""
    headers = {"Accept-Encoding": "identity", "User-Agent": "training-data-catalog"}
    try:
        with pinned_request(
            target,
            "GET",
            headers=headers,
            connect_timeout=timeout,
            read_timeout=timeout,
            ca_certs=ca_certs,
            deadline=deadline,
        ) as response:
            return _receive(target, response, destination, max_bytes, deadline)
    except Unconnected as exc:
        if exc.failure is None:
            raise SourceError(f"{target.shown} did not finish downloading within the time allowed.") from None
        raise SourceError(f"Could not connect to {target.hostname!r} for {target.shown}: {exc.failure}") from None
    except SSLError as exc:
        raise SourceError(
            f"The TLS connection for {target.shown} failed ({exc}); the server must present a valid "
            f"certificate for {target.hostname!r} from a trusted authority."
        ) from None
    except ReadTimeoutError:
        raise SourceError(f"{target.shown} sent nothing for {timeout:g} seconds; the download was abandoned.") from None
    except HTTPError as exc:
        raise SourceError(f"{target.shown} could not be downloaded: {exc}") from None


def _receive(
    target: PinnedTarget, response: urllib3.BaseHTTPResponse, destination: Path, max_bytes: int, deadline: float
) -> int | str:
    status = f"{response.status} {response.reason or ''}".strip()
    if response.status in REDIRECT_STATUSES:
        location = response.headers.get("Location")
        if not location:
            raise SourceError(f"{target.shown} answered {status} without saying where to.")
        return location
    if not 200 <= response.status < 300:
        raise SourceError(f"{target.shown} answered {status}.")
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise SourceError(
            f"{target.shown} was sent with Content-Encoding {encoding!r}; only uncompressed downloads are accepted."
        )
    too_large = SourceError(f"{target.shown} is larger than the {_size(max_bytes)} limit (CATALOG_MAX_DOWNLOAD_BYTES).")
    announced = response.headers.get("Content-Length")
    if announced is not None:
        try:
            length = int(announced)
        except ValueError:
            raise SourceError(f"{target.shown} announced an invalid Content-Length {announced!r}.") from None
        if length > max_bytes:
            raise too_large
    try:
        handle, temporary_name = tempfile.mkstemp(
            dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
        )
    except OSError as exc:
        raise SourceError(f"Cannot write the download of {target.shown} to {destination.parent}: {exc}") from None
    temporary = Path(temporary_name)
    try:
        written = 0
        with os.fdopen(handle, "wb") as out:
            while chunk := response.read1(CHUNK_SIZE):
                written += len(chunk)
                if written > max_bytes:
                    raise too_large
                if time.monotonic() > deadline:
                    raise SourceError(f"{target.shown} did not finish downloading within the time allowed.")
                out.write(chunk)
        os.replace(temporary, destination)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise SourceError(f"Cannot write the download of {target.shown} to {destination}: {exc}") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return written
