"""Rate limits keyed on the real client address, and a bound on failed password logins.

The client address is the request's REMOTE_ADDR unless the deployment says how many proxies stand in
front of it (CATALOG_NUM_PROXIES): then it is the Nth address from the right of X-Forwarded-For, the
one the outermost trusted proxy saw. Addresses to the left of it are written by the client and would
let it pick a fresh identity for every request.
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework import throttling
from rest_framework.request import Request


def client_address(request: HttpRequest | Request) -> str:
    remote_addr = str(request.META.get("REMOTE_ADDR") or "")
    num_proxies = settings.CATALOG_NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if not num_proxies or not forwarded:
        return remote_addr
    addresses = [address.strip() for address in str(forwarded).split(",")]
    return addresses[-min(num_proxies, len(addresses))] or remote_addr


class _CellRate:
    """A rate of N requests per period as the generic cell rate algorithm (GCRA) keeps it: N requests
    may come at once, then one more each period/N. One number per client is kept in the cache, the
    time its allowance is used up to (its "theoretical arrival time"); a request is refused while that
    time lies more than a period ahead, and is told when it no longer will.

    DRF's own throttle keeps the time of every request of the last period, read and written whole on
    every request: at the default 6,000 requests a minute, a busy sender's list is thousands of
    numbers long, pickled twice per request (and sent to Redis and back where CACHE_URL names it)."""

    cache_format = "throttle-gcra_%(scope)s_%(ident)s"
    rate: str | None
    num_requests: int
    duration: int
    key: str | None

    def allow_request(self, request: Request, view: object) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)  # type: ignore[attr-defined]
        if self.key is None:
            return True
        now = self.timer()  # type: ignore[attr-defined]
        interval = self.duration / self.num_requests
        used_up_to = max(self.cache.get(self.key) or now, now)  # type: ignore[attr-defined]
        ahead = used_up_to - now - (self.duration - interval)
        if ahead > 0:
            self.retry_in = ahead
            return False
        # Kept until the allowance is whole again; after that, an absent key means the same.
        self.cache.set(self.key, used_up_to + interval, math.ceil(used_up_to + interval - now))  # type: ignore[attr-defined]
        return True

    def wait(self) -> float | None:
        return getattr(self, "retry_in", None)


class AnonRateThrottle(_CellRate, throttling.AnonRateThrottle):
    def get_ident(self, request: Request) -> str:
        return client_address(request)


class UserRateThrottle(_CellRate, throttling.UserRateThrottle):
    def get_ident(self, request: Request) -> str:
        return client_address(request)


# --- Failed logins ---------------------------------------------------------------------------------
# Counted in fixed windows in the cache (shared by every web process when it is Redis): a counter
# incremented atomically, and beside it the time its window started, to say how long to wait.


def _parse(rate: str) -> tuple[int, int] | None:
    if not rate:
        return None
    count, period = rate.split("/")
    return int(count), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]


def _limits(*, address: str, username: str) -> list[tuple[str, tuple[int, int] | None]]:
    # Hashed: a username is any text, and cache backends (memcached) restrict key characters.
    def key(kind: str, value: str) -> str:
        return f"login-failures:{kind}:{hashlib.sha256(value.encode()).hexdigest()}"

    limits = [(key("address", address), _parse(settings.CATALOG_LOGIN_FAILURES_PER_ADDRESS))]
    if username:
        limits.append(
            (key("username", username.strip().casefold()), _parse(settings.CATALOG_LOGIN_FAILURES_PER_USERNAME))
        )
    return limits


def login_wait(*, address: str, username: str) -> int | None:
    """Seconds until a login for this username from this address may be tried again, or None when it
    may be tried now."""
    now = time.time()
    waits = []
    for key, limit in _limits(address=address, username=username):
        if limit is None:
            continue
        count, period = limit
        if (cache.get(key) or 0) >= count:
            started = cache.get(f"{key}:start") or now
            waits.append(max(1, int(started + period - now + 0.999)))
    return max(waits) if waits else None


def login_failure_record(*, address: str, username: str) -> None:
    """Count one failed login against the address and the username."""
    now = time.time()
    for key, limit in _limits(address=address, username=username):
        if limit is None:
            continue
        _count, period = limit
        cache.add(f"{key}:start", now, timeout=period)
        cache.add(key, 0, timeout=period)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=period)


class LoginThrottle(throttling.BaseThrottle):
    """Refuses a password login once its address or its username failed too often lately. The view
    records the failures (`login_failure_record`); this only reads them."""

    def __init__(self) -> None:
        self._wait: int | None = None

    def allow_request(self, request: Request, view: object) -> bool:
        username = request.data.get("username", "") if hasattr(request.data, "get") else ""
        self._wait = login_wait(address=client_address(request), username=str(username))
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait
