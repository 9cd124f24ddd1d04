"""`Idempotency-Key` for POSTs that create: a retried request gets the first answer, not a duplicate.

The record of the answer is written in the same transaction as what the request created, so either
both exist or neither does; two concurrent requests with one key cannot both create.
"""

import functools
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.permissions import actor_of
from config.api.routes import canonical_path
from governance.models import IdempotencyRecord
from governance.services import IDEMPOTENCY_RETENTION

HEADER = "Idempotency-Key"
RETENTION = IDEMPOTENCY_RETENTION
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description=(
        "Any unique string (1-255 printable ASCII characters, e.g. a UUID). A retry with the same key and "
        "body within 24 hours answers the first response again (with `Idempotent-Replayed: true`) "
        "instead of creating twice; the same key with another body is refused with 422."
    ),
)


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used with a different request; use a new key."
    default_code = "idempotency_key_reused"


def _fingerprint(request: Request) -> str:
    try:
        body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        body = repr(request.data)
    # The route as written, not as typed: a retry without the trailing slash is the same request.
    return hashlib.sha256(f"{request.method} {canonical_path(request)}\n{body}".encode()).hexdigest()


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    headers = {"Idempotent-Replayed": "true"}
    if record.response_location:
        headers["Location"] = record.response_location
    return Response(record.response_body, status=record.response_status, headers=headers)


def _existing(user: User, key: str) -> IdempotencyRecord | None:
    return IdempotencyRecord.objects.filter(user=user, key=key, created_at__gte=timezone.now() - RETENTION).first()


def idempotent(view: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate a view method that creates; it honours the `Idempotency-Key` header."""

    @functools.wraps(view)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return view(self, request, *args, **kwargs)
        if not _KEY.match(key):
            raise exceptions.ValidationError(
                {HEADER: ["An Idempotency-Key is 1 to 255 printable ASCII characters without spaces."]}
            )
        fingerprint = _fingerprint(request)
        user = actor_of(request)
        if (record := _existing(user, key)) is not None:
            return _replay(record, fingerprint)
        try:
            with transaction.atomic():
                response = view(self, request, *args, **kwargs)
                if status.is_success(response.status_code):
                    IdempotencyRecord.objects.filter(user=user, key=key).delete()  # an expired one
                    IdempotencyRecord.objects.create(
                        user=user,
                        key=key,
                        request_fingerprint=fingerprint,
                        response_status=response.status_code,
                        response_body=response.data,
                        response_location=response.headers.get("Location", ""),
                    )
        except Exception:
            # A concurrent request with the same key may have won; then its answer is ours too.
            if (record := _existing(user, key)) is not None:
                return _replay(record, fingerprint)
            raise
        return response

    return wrapper
