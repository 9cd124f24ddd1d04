"""Give every request an id, echo it back, and stamp it on every log line written while serving it;
and bound failed logins to the admin."""

import logging
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from config.api.throttling import client_address, login_failure_record, login_wait
from config.request_ids import client_request_id_var, request_id_var

# The id a caller sends is kept beside ours, never in its place: the change log is append-only
# evidence, and its request ids must be ones the service made. What is kept of the caller's id is
# bounded and printable, so a header cannot forge log lines.
CLIENT_REQUEST_ID_MAX_LENGTH = 128
_UNPRINTABLE = re.compile(r"[^\x21-\x7e]")


def client_request_id_clean(value: str) -> str:
    return _UNPRINTABLE.sub("", value)[:CLIENT_REQUEST_ID_MAX_LENGTH]


class RequestIdMiddleware:
    header = "X-Request-ID"
    client_header = "X-Client-Request-ID"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = uuid.uuid4().hex
        client_request_id = client_request_id_clean(request.headers.get(self.header, ""))
        request.id = request_id  # type: ignore[attr-defined]
        request.client_request_id = client_request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        client_token = client_request_id_var.set(client_request_id or "-")
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
            client_request_id_var.reset(client_token)
        response[self.header] = request_id
        if client_request_id:
            response[self.client_header] = client_request_id
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.client_request_id = client_request_id_var.get()
        return True


class AdminLoginThrottleMiddleware:
    """Refuses admin logins (429) once the client address or the username failed too often lately,
    by the same counts as the API's token endpoint. Placed after the authentication middleware: a
    login form answered again with the caller still anonymous is a failed attempt.

    The login is told by the route the request resolved to, in `process_view`: every other request
    passes by a comparison of names (reversing the login's path on every POST was about a tenth of a
    lineage event's CPU in the profile)."""

    login_view = "admin:login"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        attempt = getattr(request, "admin_login_attempt", None)
        # 200 is the form shown again (a wrong password); a success redirects, a CSRF failure is 403.
        if attempt is not None and response.status_code == 200 and not request.user.is_authenticated:
            login_failure_record(address=attempt[0], username=attempt[1])
        return response

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: tuple, view_kwargs: dict
    ) -> HttpResponse | None:
        match = request.resolver_match
        if request.method != "POST" or match is None or match.view_name != self.login_view:
            return None
        address, username = client_address(request), request.POST.get("username", "")
        wait = login_wait(address=address, username=username)
        if wait is not None:
            response = HttpResponse(
                f"Too many failed logins. Try again in {wait} seconds.",
                status=429,
                content_type="text/plain; charset=utf-8",
            )
            response["Retry-After"] = str(wait)
            return response
        request.admin_login_attempt = (address, username)  # type: ignore[attr-defined]
        return None
