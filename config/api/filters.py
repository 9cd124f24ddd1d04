from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from config.api.serializers import MAX_NAMED, shown, unknown_message
from config.moments import MomentOutOfRange, moment_in_utc


class UTCDateTimeField(IsoDateTimeField):
    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment_in_utc(moment)
        except MomentOutOfRange as exc:
            raise forms.ValidationError(str(exc)) from None


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 instant, compared in UTC: any offset Python accepts, any year the database holds."""

    field_class = UTCDateTimeField


def reads_one_object(view: APIView) -> bool:
    """Whether the view's path names the object it reads (a detail route) rather than a list."""
    lookup = getattr(view, "lookup_url_kwarg", None) or getattr(view, "lookup_field", "pk")
    return lookup in getattr(view, "kwargs", {})


def known_query_parameters(view: APIView) -> set[str]:
    """The query parameters a view takes: its format and those it names in `query_parameters` (which it reads
    itself), and on a list its pagination's and its filters'. An object is not filtered or paged."""
    request = getattr(view, "request", None)
    declared = getattr(view, "query_parameters", ())
    if isinstance(declared, Mapping):  # per method: {"delete": ("user", "group", "role")}
        declared = declared.get(request.method.lower(), ()) if request is not None else ()
    names: set[str] = set(declared)
    if api_settings.URL_FORMAT_OVERRIDE:
        names.add(api_settings.URL_FORMAT_OVERRIDE)
    # A list's paging and filters choose what a read answers; a write or an object takes none of them.
    if reads_one_object(view) or (request is not None and request.method not in ("GET", "HEAD")):
        return names
    paginator = getattr(view, "paginator", None)
    if paginator is not None:
        names |= {parameter["name"] for parameter in paginator.get_schema_operation_parameters(view)}
    for backend_class in getattr(view, "filter_backends", ()):
        backend = backend_class()
        if isinstance(backend, DjangoFilterBackend):
            filterset_class = backend.get_filterset_class(view)
            if filterset_class is not None:
                names |= set(filterset_class.base_filters)
        else:
            names |= {parameter["name"] for parameter in backend.get_schema_operation_parameters(view)}
    return names


def query_parameters_check(request: Request, view: APIView) -> None:
    """Refuse (400) query parameters the view does not take, each named, with the closest it takes."""
    known = known_query_parameters(view)
    unknown = [name for name in request.query_params if name not in known]
    if not unknown:
        return
    offered = sorted(known - {api_settings.URL_FORMAT_OVERRIDE})
    errors = {shown(name): [unknown_message(name, offered, "query parameter")] for name in unknown[:MAX_NAMED]}
    if len(unknown) > MAX_NAMED:
        errors[api_settings.NON_FIELD_ERRORS_KEY] = [
            f"{len(unknown) - MAX_NAMED} more query parameters that are not taken here are not named."
        ]
    raise exceptions.ValidationError(errors)


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, which first refuses query parameters the view does not take: `?tagg=tabular`
    would otherwise filter nothing and answer everything, as if the filter had matched. Every list and every
    object a view reads through its queryset (DRF's get_object) passes here; a list's filters and paging do not
    apply to an object (django-filter would filter the object's lookup by them: a 404 for `?namespace=`)."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: APIView) -> QuerySet:
        query_parameters_check(request, view)
        return super().filter_queryset(request, queryset, view)


# The type checker reads the mixin as the view it is mixed into; at run time it adds no base of its own.
if TYPE_CHECKING:
    _View = APIView
else:
    _View = object


class QueryParametersChecked(_View):
    """For a view that reads its own query parameters rather than filtering a queryset (a graph walk, a
    card, a file): the same refusal, before the handler runs. It names what it reads in `query_parameters`
    (a tuple, or a tuple per method)."""

    query_parameters: Any = ()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method != "OPTIONS":  # what a client asks to learn the routes takes any query
            query_parameters_check(request, self)
