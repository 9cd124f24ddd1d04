"""One shape for every error: RFC 9457 problem details (`type`, `title`, `status`, `detail`, `errors`)."""

import logging
import math
from collections.abc import Mapping
from typing import Any

from django import db
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from config import errors
from config.api.throttling import AnonRateThrottle

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:catalog:problem:"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"

    def __init__(self, detail: str | None = None, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail, code)
        self.extra = extra


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = (
        "The resource changed since you read it (its ETag no longer matches If-Match). "
        "Read it again, reapply your change, and send it with the new ETag."
    )
    default_code = "precondition_failed"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than this service accepts."
    default_code = "payload_too_large"

    def __init__(self, detail: str | None = None, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail, code)
        self.extra = extra


class DatabaseUnavailable(exceptions.APIException):
    """The database could not be reached or dropped the connection: nothing was written, and the
    same request may succeed in a moment (the next request opens a new connection)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The catalog's database cannot be reached just now; nothing was changed. Try again shortly."
    default_code = "database_unavailable"
    wait = 5


def _flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error detail into {"source.uri": ["message", ...]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            flat.update(_flatten_errors(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(detail, list) and any(isinstance(item, Mapping | list) for item in detail):
        for index, value in enumerate(detail):
            flat.update(_flatten_errors(value, f"{prefix}.{index}" if prefix else str(index)))
    elif isinstance(detail, list):
        flat[prefix or "non_field_errors"] = [str(item) for item in detail]
    else:
        flat[prefix or "non_field_errors"] = [str(detail)]
    return flat


def _title(status_code: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"


def problem(status_code: int, detail: str, code: str, **members: Any) -> dict[str, Any]:
    return {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": _title(status_code),
        "status": status_code,
        "detail": detail,
        **members,
    }


def _domain_api_exception(exc: errors.DomainError) -> exceptions.APIException:
    """The one place a service's refusal becomes an HTTP status; views do not translate them."""
    message = str(exc) or None
    if isinstance(exc, errors.Invalid):
        return exceptions.ValidationError({exc.field or api_settings.NON_FIELD_ERRORS_KEY: [str(exc)]})
    if isinstance(exc, errors.NotFound):
        return exceptions.NotFound(message, exc.code)
    if isinstance(exc, errors.Forbidden):
        return exceptions.PermissionDenied(message, exc.code)
    if isinstance(exc, errors.TooLarge):
        return PayloadTooLarge(message, exc.code, **exc.extra)
    return Conflict(message, exc.code, **exc.extra)


def _as_api_exception(exc: Exception) -> exceptions.APIException | None:
    if isinstance(exc, exceptions.APIException):
        return exc
    if isinstance(exc, errors.DomainError):
        return _domain_api_exception(exc)
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        # A service's refusal says what only whom may do; a bare one keeps DRF's wording.
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(detail=as_serializer_error(exc))
    if isinstance(exc, db.DataError):
        # The database refused a value the checks before it let through (out of range, too long, malformed):
        # the request's fault, and nothing was written. Its own words name columns and types; they are logged.
        logger.warning("The database refused a value: %s", exc)
        return exceptions.ValidationError(
            {"non_field_errors": ["A value in the request cannot be stored: too long, out of range or malformed."]}
        )
    if isinstance(exc, db.OperationalError | db.InterfaceError):
        logger.warning("The database is unavailable: %s", exc)
        return DatabaseUnavailable()
    return None


def _unauthenticated_throttled(context: dict[str, Any]) -> exceptions.Throttled | None:
    """DRF checks throttles after permissions, so a request refused for want of credentials would
    never count. Refusals are counted here against the anonymous rate (per address), so guessing
    tokens or flooding without them is limited like any anonymous use."""
    request, view = context.get("request"), context.get("view")
    if request is None or view is None:
        return None
    throttle = AnonRateThrottle()
    if throttle.rate is None or throttle.allow_request(request, view):
        return None
    return exceptions.Throttled(wait=throttle.wait())


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    api_exc = _as_api_exception(exc)
    if api_exc is None:
        return None  # a real fault: Django logs it and answers 500 (see config.urls.handler500)
    if isinstance(api_exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        api_exc = _unauthenticated_throttled(context) or api_exc

    headers: dict[str, str] = {}
    if auth_header := getattr(api_exc, "auth_header", None):
        headers["WWW-Authenticate"] = auth_header
    if wait := getattr(api_exc, "wait", None):
        headers["Retry-After"] = str(math.ceil(wait))

    if isinstance(api_exc, exceptions.ValidationError):
        errors = _flatten_errors(api_exc.detail)
        fields = ", ".join(sorted(errors))
        body = problem(
            api_exc.status_code,
            f"The request has invalid input in: {fields}." if fields else "The request is invalid.",
            "invalid",
            errors=errors,
        )
    else:
        detail = api_exc.detail
        code = api_exc.get_codes() if isinstance(detail, str) else api_exc.default_code
        body = problem(api_exc.status_code, str(detail), str(code), **getattr(api_exc, "extra", {}))

    set_rollback()
    response = Response(body, status=api_exc.status_code, headers=headers)
    request = context.get("request")
    renderer = getattr(request, "accepted_renderer", None)
    # Every renderer but the browsable API's HTML answers an error as a problem document (JSON).
    if renderer is None or getattr(renderer, "format", "json") != "api":
        response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _wants_problem_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def json_page_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    body = problem(404, f"There is nothing at {request.path}.", "not_found")
    return JsonResponse(body, status=404, content_type=PROBLEM_CONTENT_TYPE)


def json_bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    # What Django refuses before a view runs (a suspicious request): its words may name settings or hosts.
    body = problem(400, "The request is malformed and cannot be read.", "bad_request")
    return JsonResponse(body, status=400, content_type=PROBLEM_CONTENT_TYPE)


def json_server_error(request: HttpRequest) -> JsonResponse:
    request_id = getattr(request, "id", None)
    body = problem(
        500,
        "The service failed to answer this request; the fault is logged"
        + (f" under request id {request_id}." if request_id else "."),
        "server_error",
    )
    return JsonResponse(body, status=500, content_type=PROBLEM_CONTENT_TYPE)
