"""POST a delivery to a receiver's URL without trusting the URL, its DNS or the receiver.

The URL is vetted as download URLs are, and the POST is `catalog.remote`'s pinned request: https only (http too where private
receivers are allowed, for tests and closed networks), no credentials in it, and every address its
host resolves to must be public unless private ones are allowed. The connection then goes to a vetted
address, with TLS still verifying the certificate for the real host name, so a DNS answer that
changes between the check and the connection (DNS rebinding) cannot reach an internal service.
Redirects are never followed; connecting and reading are bounded in time, and at most
`max_response_bytes` of the answer are read.

This module takes its settings as arguments and imports nothing of Django.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from urllib3.exceptions import HTTPError, ProtocolError, ReadTimeoutError, SSLError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from catalog.remote import (
    PinnedTarget,
    Unconnected,
    host_resolve,
    is_public_address,
    pinned_request,
    pinned_target,
    url_shown,
)

MAX_URL_LENGTH = 2048
USER_AGENT = "training-data-catalog-webhooks"


class UrlRefused(ValueError):
    """The URL may not receive deliveries: the message says why, without the URL's secrets."""


class DeliveryError(Exception):
    """An attempt that reached no answer: a name that does not resolve, a connection refused, a timeout."""


# Where a delivery goes: the vetted addresses of the receiver's host, its name kept for TLS and Host.
Target = PinnedTarget
# The URL as messages and the change log show it: without credentials, query or fragment.
shown = url_shown


@dataclass(frozen=True)
class Answer:
    status: int
    excerpt: bytes


def url_checked(url: str, *, allow_private: bool) -> tuple[str, str, int]:
    """The URL's scheme, host name and port, once its form is acceptable; UrlRefused otherwise. Resolves nothing."""
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if any(ord(char) < 33 or ord(char) == 127 for char in url):
        raise UrlRefused("The URL holds spaces or control characters; percent-encode them.")
    try:
        parts = urlsplit(url)
        port_given = parts.port
    except ValueError:
        raise UrlRefused("The URL cannot be read (a bad host or a port outside 0-65535).") from None
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if allow_private else ("https",)
    if scheme not in allowed:
        raise UrlRefused(
            "Webhook URLs must be https://." if not allow_private else "Webhook URLs must be https:// or http://."
        )
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UrlRefused("The URL has credentials in it; put the receiver's secret in the webhook's secret instead.")
    if not parts.hostname:
        raise UrlRefused("The URL has no host.")
    if port_given == 0:
        raise UrlRefused("The URL's port 0 cannot be connected to.")
    return scheme, parts.hostname, port_given or (443 if scheme == "https" else 80)


def url_vet(url: str, *, allow_private: bool) -> Target:
    """The URL's target with the vetted addresses its host resolves to now; UrlRefused when the URL or any
    address is refused, DeliveryError when the host does not resolve (which may pass)."""
    scheme, hostname, port = url_checked(url, allow_private=allow_private)
    addresses = host_resolve(hostname, port)
    if not addresses:
        raise DeliveryError(f"The host {hostname!r} cannot be resolved.")
    if not allow_private and not all(is_public_address(address) for address in addresses):
        # The address itself is not told: it would map the internal network for the caller.
        raise UrlRefused(
            f"The host {hostname!r} resolves to a private, loopback or reserved address; such receivers are "
            "refused unless CATALOG_WEBHOOK_ALLOW_PRIVATE_URLS is set."
        )
    return pinned_target(url, scheme=scheme, hostname=hostname, port=port, addresses=addresses)


def post(
    target: Target,
    body: bytes,
    headers: dict[str, str],
    *,
    connect_timeout: float,
    read_timeout: float,
    max_response_bytes: int,
    ca_certs: str | None = None,
) -> Answer:
    """POST the body to the target's first address that takes a connection; the answer's status and at
    most `max_response_bytes` of its body. DeliveryError when no answer came."""
    sent = {**headers, "Content-Type": "application/json", "User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    try:
        with pinned_request(
            target,
            "POST",
            headers=sent,
            body=body,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            ca_certs=ca_certs,
        ) as response:
            try:
                excerpt = response.read(max_response_bytes) if max_response_bytes > 0 else b""
                return Answer(status=response.status, excerpt=excerpt or b"")
            except (ReadTimeoutError, ProtocolError, HTTPError):
                # The status came; a body cut short or too slow does not change what it said.
                return Answer(status=response.status, excerpt=b"")
    except Unconnected as exc:
        raise DeliveryError(f"Could not connect to {target.hostname!r} for {target.shown}: {exc.failure}") from None
    except SSLError as exc:
        raise DeliveryError(
            f"The TLS connection to {target.hostname!r} failed ({exc}); the receiver must present a valid "
            "certificate for its host name."
        ) from None
    except (Urllib3Timeout, ReadTimeoutError):
        raise DeliveryError(
            f"{target.shown} did not answer within {connect_timeout + read_timeout:g} seconds."
        ) from None
    except HTTPError as exc:
        raise DeliveryError(f"{target.shown} could not be reached: {exc}") from None
