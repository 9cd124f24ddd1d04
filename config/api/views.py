"""The project's base views: every API view and viewset starts from one of these.

They bring what each view used to repeat: the strict check of query parameters, the default
permissions with the view's own added (`added_permissions`), and `actor`, the signed-in user the
request acts as. Errors need nothing here: services raise `config.errors` kinds and the exception
handler (`config.api.exceptions`) answers them as problem documents, so views do not catch them.
"""

from typing import Any

from django.contrib.auth.models import User
from django.http import Http404
from rest_framework import exceptions, generics, permissions, viewsets
from rest_framework.request import Request
from rest_framework.settings import api_settings

from config.api.filters import QueryParametersChecked
from config.api.permissions import actor_of


class ProjectViewMixin(QueryParametersChecked):
    # Permissions checked after the defaults (REST_FRAMEWORK's DEFAULT_PERMISSION_CLASSES), for
    # example a dataset's owners for writes. A view that must open wider sets permission_classes.
    added_permissions: tuple[type[permissions.BasePermission], ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Set on the class, so an action's own permission_classes (@action(permission_classes=...))
        # still replaces them for that action, as DRF does.
        if "added_permissions" in cls.__dict__:
            cls.permission_classes = [*generics.GenericAPIView.permission_classes, *cls.added_permissions]

    @property
    def actor(self) -> User:
        return actor_of(self.request)

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # DRF answers a `?format=` no renderer of the view has with a 404, as if the resource were
        # missing; it is a query parameter the request got wrong, so it is a 400 that names it.
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:
            name = api_settings.URL_FORMAT_OVERRIDE
            asked = request.query_params.get(name) if name else None
            if asked is None:
                raise
            formats = sorted({renderer.format for renderer in self.get_renderers()})
            raise exceptions.ValidationError(
                {name: [f"No format {asked[:40]!r} here: it answers {', '.join(formats)}."]}
            ) from None


class ProjectAPIView(ProjectViewMixin, generics.GenericAPIView):
    """A view over one resource or a walk (a card, a graph, a file)."""


class ProjectViewSet(ProjectViewMixin, viewsets.GenericViewSet):
    """A collection and its members; add DRF's mixins for the actions it offers."""
