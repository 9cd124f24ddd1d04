"""The `Catalog-Signature` header: a timestamped HMAC-SHA256 of the body, as GitHub and Stripe sign theirs.

`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. The timestamp is inside what is signed, so a
receiver that refuses a `t` too far from its own clock refuses a replayed delivery even though the
signature is genuine. Plain Python, no Django: receivers written in Python may copy it as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "Catalog-Signature"
SCHEME = "v1"
# What a receiver should accept between the `t` of a delivery and its own clock (Stripe's default).
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `<timestamp>.<body>` with the secret."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The value of the `Catalog-Signature` header for the body, signed now (or at `timestamp`)."""
    moment = int(time.time()) if timestamp is None else timestamp
    return f"t={moment},{SCHEME}={signature(secret, moment, body)}"


def signature_verify(
    secret: str, header: str, body: bytes, *, tolerance: int = TOLERANCE_SECONDS, now: float | None = None
) -> bool:
    """Whether the header signs the body with the secret, at a time within `tolerance` seconds of now.

    Any `v1` signature in the header may match (a header may carry several while a secret is being
    rotated); the comparison takes constant time."""
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            timestamp = int(value)
        elif key == SCHEME and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected.encode(), candidate.encode()) for candidate in candidates)
