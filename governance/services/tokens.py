"""API tokens: shown once, kept as digests, void once their user's password changes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from governance.models import AccessToken


@dataclass(frozen=True)
class IssuedToken:
    """A token just issued: `key` is the only copy of the secret, to hand to its user once."""

    token: AccessToken
    key: str


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def access_token_password_digest(user: User) -> str:
    """What a token remembers of its user's password: a digest of the password hash, which changes
    whenever the password does."""
    return _sha256(user.password)


_DEFAULT_TTL: Any = object()


def access_token_issue(*, user: User, name: str = "", ttl: timedelta | None = _DEFAULT_TTL) -> IssuedToken:
    """Issue a new API token for a user; it expires after `ttl` (CATALOG_TOKEN_TTL unless given; None:
    never). Only its digest is stored."""
    if ttl is _DEFAULT_TTL:
        ttl = settings.CATALOG_TOKEN_TTL
    # 32 random bytes: a key that cannot be guessed, so one fast hash is enough to keep it.
    key = secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        user=user,
        name=name,
        prefix=key[: AccessToken.PREFIX_LENGTH],
        digest=_sha256(key),
        password_digest=access_token_password_digest(user),
        expires_at=timezone.now() + ttl if ttl else None,
    )
    return IssuedToken(token=token, key=key)


def access_token_authenticate(*, key: str) -> AccessToken | None:
    """The live token with this key, or None: unknown, expired, or issued before its user's password
    last changed. Marks it used (at most once a minute, so reads do not write on every request)."""
    digest = _sha256(key)
    now = timezone.now()
    found = None
    for candidate in AccessToken.objects.select_related("user").filter(prefix=key[: AccessToken.PREFIX_LENGTH]):
        # Every candidate is compared, in constant time, so the time taken says nothing about the key.
        if hmac.compare_digest(candidate.digest, digest):
            found = candidate
    if found is None:
        return None
    if found.expires_at is not None and found.expires_at <= now:
        return None
    if not hmac.compare_digest(found.password_digest, access_token_password_digest(found.user)):
        return None
    if found.last_used_at is None or now - found.last_used_at > timedelta(minutes=1):
        AccessToken.objects.filter(pk=found.pk).update(last_used_at=now)
        found.last_used_at = now
    return found


def access_tokens_revoke(*, user: User) -> int:
    """Revoke every token of a user; returns how many there were."""
    deleted, _ = AccessToken.objects.filter(user=user).delete()
    return deleted
