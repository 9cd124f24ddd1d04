"""The landing page (/), which points people to the API's documentation and the admin, and the health
endpoints for orchestrators: /healthz (the process answers) and /readyz (its dependencies do)."""

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe
from rest_framework.exceptions import AuthenticationFailed

from config.api.authentication import TokenAuthentication
from config.celery_app import app as celery_app

logger = logging.getLogger(__name__)


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "landing.html")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database_problem() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        # A broken connection is dropped so the next check (and request) opens a fresh one.
        connection.close_if_unusable_or_obsolete()
        return f"database unreachable: {str(exc).strip() or type(exc).__name__}"
    return None


def _broker_problem() -> str | None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=3)
    except Exception as exc:  # kombu raises transport-specific errors
        return f"broker unreachable: {str(exc).strip() or type(exc).__name__}"
    return None


def _caller_is_staff(request: HttpRequest) -> bool:
    """Staff signed in to the admin, or calling with their API token. With the database down nobody
    can be told apart: then everyone gets the short answer."""
    try:
        if request.user.is_authenticated:
            return request.user.is_staff
        found = TokenAuthentication().authenticate(request)  # type: ignore[arg-type]
    except (AuthenticationFailed, DatabaseError):
        return False
    return found is not None and found[0].is_staff


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready or not, to anyone (the status code says it); what failed, and how, only to staff: error
    texts name database users, hosts and broker ports."""
    checks = {"database": _database_problem(), "broker": _broker_problem()}
    problems = {name: problem for name, problem in checks.items() if problem}
    body: dict[str, object] = {"status": "unavailable" if problems else "ok"}
    if problems:
        logger.warning("Not ready: %s", "; ".join(problems.values()))
    if _caller_is_staff(request):
        body["checks"] = {name: problem or "ok" for name, problem in checks.items()}
        body["tasks"] = "in-process" if settings.CELERY_TASK_ALWAYS_EAGER else "broker"
    return JsonResponse(body, status=503 if problems else 200)
