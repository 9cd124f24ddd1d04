"""Conditional requests (RFC 9110 §13): detail responses carry an ETag; a write sent with If-Match
is refused with 412 when the resource changed since the client read it, so two people editing the
same dataset cannot silently overwrite each other.

The ETag is a digest of the representation the client was given, so it changes with anything the
client can see change. The check and the write happen in one transaction with the row locked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.exceptions import PreconditionFailed

IF_MATCH_PARAMETER = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The ETag of the representation you changed; a stale one is refused with 412.",
)
IF_NONE_MATCH_PARAMETER = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The ETag you hold; the answer is 304 with no body when it is still current.",
)
ETAG_HEADER = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200],
    description="Identifies this representation; send it as If-Match with a change.",
)


def etag_of(data: Any) -> str:
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder).encode()).hexdigest()
    return f'"{digest[:32]}"'


def _listed(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def if_match_holds(header: str, current: str) -> bool:
    """If-Match uses the strong comparison: a weak tag (W/"...") never matches."""
    tags = _listed(header)
    return "*" in tags or current in tags


def if_none_match_holds(header: str, current: str) -> bool:
    """If-None-Match uses the weak comparison: W/"x" and "x" are the same tag."""
    tags = [tag.removeprefix("W/") for tag in _listed(header)]
    return "*" in tags or current in tags


ModelT = TypeVar("ModelT", bound=models.Model)

# The type checker reads the mixin as the view it is mixed into; at run time it adds no base of its own.
if TYPE_CHECKING:
    _View = generics.GenericAPIView
else:
    _View = object


class ConditionalMixin(Generic[ModelT], _View):
    """For detail views: ETag on reads and writes, 304 on If-None-Match, 412 on a stale If-Match.

    A view writes through `with self.conditional_write(obj):`, and says in `representation(obj)`
    what a client reads of the object (by default the view's serializer)."""

    # The view actions the ETag is given on (all, for a view that is only about one object).
    conditional_actions: tuple[str, ...] | None = ("retrieve", "partial_update", "update")

    def representation(self, obj: ModelT) -> Any:
        return self.get_serializer(obj).data

    def _is_conditional(self) -> bool:
        action = getattr(self, "action", None)
        return self.conditional_actions is None or action in self.conditional_actions

    @contextmanager
    def conditional_write(self, obj: ModelT) -> Iterator[None]:
        header = self.request.headers.get("If-Match")
        with transaction.atomic():
            if header is not None:
                # Lock the row, then compare with what a read would give now: a concurrent writer
                # holding the lock commits first, and this one then sees its change.
                type(obj)._default_manager.select_for_update().filter(pk=obj.pk).exists()
                current = etag_of(self.representation(self.get_object()))
                if not if_match_holds(header, current):
                    raise PreconditionFailed()
            yield

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if (
            response.status_code == status.HTTP_200_OK
            and isinstance(getattr(response, "data", None), dict)
            and request.method in ("GET", "HEAD", "PATCH", "PUT")
            and self._is_conditional()
        ):
            tag = etag_of(response.data)
            response["ETag"] = tag
            wanted = request.headers.get("If-None-Match")
            if request.method in ("GET", "HEAD") and wanted is not None and if_none_match_holds(wanted, tag):
                not_modified = Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": tag})
                return super().finalize_response(request, not_modified, *args, **kwargs)
        return response
