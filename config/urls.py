from importlib import import_module

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from config import views
from config.api import exceptions
from config.api.routes import NOT_FOUND_NAME, api_not_found, slash_optional


def _routes(module: str) -> list[URLPattern | URLResolver]:
    """An app's API routes, listed in place. Under `path("", include(...))` each app before the one a
    request is for would be resolved in full and fail, and Django then builds the list of every route
    it tried: for an event sent to the lineage, that cost more than the rest of the routing."""
    return list(import_module(module).urlpatterns)


api_patterns: list[URLPattern | URLResolver] = [
    # First, as routes are tried in order: pipelines send the lineage an event per run or action, many
    # more requests than any other route takes. No route of another app matches a path of the lineage's.
    *_routes("lineage.api.urls"),
    *_routes("catalog.api.urls"),
    *_routes("governance.api.urls"),
    *_routes("contracts.api.urls"),
    *_routes("audits.api.urls"),
    *_routes("training.api.urls"),
    *_routes("webhooks.api.urls"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    # Every route of the API and the probes answers with or without its trailing slash (one form documented).
    *slash_optional(
        [
            path("api/v1/", include(api_patterns)),
            path("healthz", views.healthz, name="healthz"),
            path("readyz", views.readyz, name="readyz"),
        ]
    ),
    # Last: a path under /api/ that no route takes is a problem document, with DEBUG on as well.
    re_path(r"^api(?:/|$)", api_not_found, name=NOT_FOUND_NAME),
]


def handler400(request, exception=None):
    if request.path.startswith("/api/"):
        return exceptions.json_bad_request(request, exception)
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def handler404(request, exception=None):
    if request.path.startswith("/api/"):
        return exceptions.json_page_not_found(request, exception)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        return exceptions.json_server_error(request)
    from django.views.defaults import server_error

    return server_error(request)
