"""The API's routes as clients type them: with or without the trailing slash, and a problem document (404) for
a path no route takes, in every configuration (Django's own 404 page is HTML, and its debug page too).

A route is written (and reversed, and documented in the schema) in one form; it also matches the other. The
alternative, Django's APPEND_SLASH, redirects: a client loses the body of a POST on the way (or, with DEBUG
on, gets a 500), and a route written without a slash never gets one.
"""

from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.urls import NoReverseMatch, Resolver404, URLPattern, URLResolver, resolve, reverse
from django.urls.resolvers import RoutePattern
from django.views.decorators.csrf import csrf_exempt

from config.api.exceptions import PROBLEM_CONTENT_TYPE, problem

NOT_FOUND_NAME = "api-not-found"

# What an id looks like where a route takes one: a stand-in that the converter accepts, and how to say it.
_ID_KINDS = (
    ("00000000-0000-0000-0000-000000000000", "a UUID, such as 3f0c8e2a-6b1d-4c5e-9a7f-2d4b6c8e0a1f"),
    ("1", "a whole number"),
)
# Paths longer than this are not searched for a malformed id: it costs a resolve per segment.
_MAX_SEGMENTS = 12


class SlashOptionalRoute(RoutePattern):
    """A route that matches its path with or without the trailing slash. Reversed and shown as written."""

    def __init__(self, route: str, name: str | None = None, is_endpoint: bool = False) -> None:
        super().__init__(route, name=name, is_endpoint=is_endpoint)
        # The other form, matched as Django matches any route (a string comparison when it takes no
        # parameter). A path ending in `//` matches neither.
        self._other = RoutePattern(route[:-1] if route.endswith("/") else route + "/", is_endpoint=is_endpoint)

    def match(self, path: str) -> tuple[str, tuple[Any, ...], dict[str, int | str]] | None:
        return super().match(path) or self._other.match(path)


def slash_optional(patterns: Sequence[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    """The same routes (included ones too), each endpoint matching with or without its trailing slash."""
    result: list[URLPattern | URLResolver] = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            result.append(
                URLResolver(
                    entry.pattern,
                    slash_optional(entry.url_patterns),
                    entry.default_kwargs,
                    entry.app_name,
                    entry.namespace,
                )
            )
        elif type(entry.pattern) is RoutePattern:
            route = SlashOptionalRoute(str(entry.pattern), name=entry.pattern.name, is_endpoint=True)
            result.append(URLPattern(route, entry.callback, entry.default_args, entry.name))
        else:
            result.append(entry)
    return result


def canonical_path(request: HttpRequest) -> str:
    """The path of the route the request resolved to, in the form the route is written in."""
    match = request.resolver_match
    if match is None or not match.view_name:
        return request.path
    try:
        return reverse(match.view_name, args=match.args, kwargs=match.kwargs)
    except NoReverseMatch:
        return request.path


def _malformed_id(path: str) -> tuple[str, str] | None:
    """The segment of a path that would name a route if it were an id, and what an id looks like there."""
    segments = path.split("/")
    if len(segments) > _MAX_SEGMENTS:
        return None
    for index, segment in enumerate(segments):
        if not segment:
            continue
        for stand_in, kind in _ID_KINDS:
            candidate = "/".join([*segments[:index], stand_in, *segments[index + 1 :]])
            try:
                match = resolve(candidate)
            except Resolver404:
                continue
            if match.url_name != NOT_FOUND_NAME:
                return segment, kind
    return None


@csrf_exempt  # any method may land here, with or without a session
def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    """Whatever no route under /api/ takes: a problem document, whatever the method."""
    detail = f"There is nothing at {request.path}."
    malformed = _malformed_id(request.path_info)
    if malformed is not None:
        segment, kind = malformed
        shown = segment if len(segment) <= 64 else segment[:64] + "..."
        detail = f"There is nothing at {request.path}: {shown!r} is not an id, which here is {kind}."
    return JsonResponse(problem(404, detail, "not_found"), status=404, content_type=PROBLEM_CONTENT_TYPE)
