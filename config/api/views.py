"""The project's base views: every API view and viewset starts from one of these.

They bring what each view used to repeat: the strict check of query parameters, the default
permissions with the view's own added (`added_permissions`), and `actor`, the signed-in user the
request acts as. Errors need nothing here: services raise `config.errors` kinds and the exception
handler (`config.api.exceptions`) answers them as problem documents, so views do not catch them.
"""

from typing import Any

from django.contrib.auth.models import User
from rest_framework import generics, permissions, viewsets

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


class ProjectAPIView(ProjectViewMixin, generics.GenericAPIView):
    """A view over one resource or a walk (a card, a graph, a file)."""


class ProjectViewSet(ProjectViewMixin, viewsets.GenericViewSet):
    """A collection and its members; add DRF's mixins for the actions it offers."""
