"""The base of a staff-only collection whose writes go through its app's services: list, read, create (201
with a Location), change (PATCH, with If-Match), remove. Storage locations and webhooks are such collections;
each says how its services create, change and remove one."""

from __future__ import annotations

from typing import Any, ClassVar, Generic

from django.contrib.auth.models import User
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.conditional import ConditionalMixin, ModelT
from config.api.permissions import IsStaff
from config.api.views import ProjectViewSet


class StaffCollectionViewSet(
    ConditionalMixin[ModelT],
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    ProjectViewSet,
    Generic[ModelT],
):
    """Staff only, by id (a UUID). A create or change reads its payload with `write_serializer_class`, calls
    `created` or `changed` (the app's services, which record it in the change log) and answers the resource
    as it is read; a removal calls `removed`. `location` is the collection's path, for the Location header."""

    permission_classes = [IsStaff]
    lookup_value_converter = "uuid"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    write_serializer_class: ClassVar[type[serializers.Serializer[Any]]]
    location: ClassVar[str]

    def created(self, actor: User, **fields: Any) -> ModelT:
        raise NotImplementedError

    def changed(self, actor: User, instance: ModelT, **fields: Any) -> None:
        raise NotImplementedError

    def removed(self, actor: User, instance: ModelT) -> None:
        raise NotImplementedError

    def _read(self, pk: Any) -> Any:
        return self.get_serializer(self.get_queryset().get(pk=pk)).data

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = self.write_serializer_class(data=request.data)
        payload.is_valid(raise_exception=True)
        instance = self.created(self.actor, **payload.validated_data)
        headers = {"Location": request.build_absolute_uri(f"{self.location}{instance.pk}/")}
        return Response(self._read(instance.pk), status=status.HTTP_201_CREATED, headers=headers)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        payload = self.write_serializer_class(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        with self.conditional_write(instance):
            self.changed(self.actor, instance, **payload.validated_data)
        return Response(self._read(instance.pk))

    def perform_destroy(self, instance: ModelT) -> None:
        self.removed(self.actor, instance)
