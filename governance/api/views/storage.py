"""Storage locations and namespaces: where sources may be registered and datasets created, by whom."""

from typing import Any

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.permissions import IsAdminUser
from rest_framework.serializers import BaseSerializer

from config.api.schema import ConflictProblemSerializer
from config.api.staff import StaffCollectionViewSet
from config.api.views import ProjectViewSet
from governance import services
from governance.api.serializers import NamespaceSerializer, StorageLocationSerializer, StorageLocationWriteSerializer
from governance.models import Namespace, StorageLocation


@extend_schema_view(
    list=extend_schema(
        summary="List storage locations (staff)",
        description="The prefixes staff narrowed registration under. A storage root without a location here is "
        "open to every authenticated user; the most specific location covering a path decides who may register it.",
    ),
    retrieve=extend_schema(
        summary="Read a storage location (staff)",
        description="Its prefix, and the users and groups who may register sources under it.",
    ),
    create=extend_schema(
        summary="Add a storage location (staff)",
        description="From then on only its users, the members of its groups and staff may register sources under it "
        "(unless a more specific location says otherwise). It must lie inside a storage root.",
        request=StorageLocationWriteSerializer,
        responses={201: StorageLocationSerializer, 409: ConflictProblemSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a storage location (staff)",
        description="`users` and `groups` replace the lists they name; what is left out stays.",
        request=StorageLocationWriteSerializer,
        responses={200: StorageLocationSerializer, 409: ConflictProblemSerializer},
    ),
    destroy=extend_schema(
        summary="Remove a storage location (staff)",
        description="Its paths fall back to the next location covering them, in the end the open storage root.",
    ),
)
class StorageLocationViewSet(StaffCollectionViewSet[StorageLocation]):
    queryset = StorageLocation.objects.select_related("created_by").prefetch_related("users", "groups")
    serializer_class = StorageLocationSerializer
    write_serializer_class = StorageLocationWriteSerializer
    location = "/api/v1/storage-locations/"

    def created(self, actor: User, **fields: Any) -> StorageLocation:
        return services.storage_location_create(actor=actor, **fields)

    def changed(self, actor: User, instance: StorageLocation, **fields: Any) -> None:
        services.storage_location_update(actor=actor, location=instance, **fields)

    def removed(self, actor: User, instance: StorageLocation) -> None:
        services.storage_location_delete(actor=actor, location=instance)


# --- Namespaces with owners ------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List namespaces with owners",
        description="Staff only. A namespace listed here takes new datasets (registered, or first seen in lineage) "
        "only from its owners and staff; namespaces not listed stay open to everyone.",
    ),
    retrieve=extend_schema(summary="Read a namespace"),
    create=extend_schema(summary="Give a namespace owners"),
    partial_update=extend_schema(summary="Change a namespace's owners"),
    destroy=extend_schema(summary="Open a namespace to everyone again"),
)
class NamespaceViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
    ProjectViewSet,
):
    queryset = Namespace.objects.prefetch_related("users", "groups").order_by("name")
    serializer_class = NamespaceSerializer
    permission_classes = [IsAdminUser]
    lookup_value_converter = "int"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    # Through the services, so the change log records each namespace with its owners.
    def perform_create(self, serializer: BaseSerializer[Namespace]) -> None:
        serializer.instance = services.namespace_create(actor=self.actor, **serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[Namespace]) -> None:
        namespace = serializer.instance
        assert namespace is not None  # DRF's update gives the serializer the namespace it read
        serializer.instance = services.namespace_update(
            actor=self.actor, namespace=namespace, **serializer.validated_data
        )

    def perform_destroy(self, instance: Namespace) -> None:
        services.namespace_delete(actor=self.actor, namespace=instance)
