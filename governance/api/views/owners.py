"""Who answers for a dataset, and who was granted read on it."""

from typing import TypeVar

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.api.scoped import DatasetScoped
from config.api.schema import ProblemSerializer
from governance import services
from governance.api.serializers import (
    AccessGrantCreateSerializer,
    AccessGrantSerializer,
    OwnershipCreateSerializer,
    OwnershipSerializer,
)
from governance.choices import OwnershipRole
from governance.models import AccessGrant, AnswersFor, Ownership

OwnershipRecord = TypeVar("OwnershipRecord", bound=AnswersFor)


class _DatasetRecords(DatasetScoped, generics.GenericAPIView):
    """A view of something that belongs to one dataset: read by whoever can see the dataset,
    changed by its owners and stewards (or staff)."""

    # Its owners or grants: a few rows, listed whole.
    pagination_class = None


OWNER_QUERY = [
    OpenApiParameter("user", OpenApiTypes.STR, description="The username of the ownership to remove."),
    OpenApiParameter("group", OpenApiTypes.STR, description="The group name of the ownership to remove."),
    OpenApiParameter("role", OpenApiTypes.STR, enum=OwnershipRole.values, description="Its role (default owner)."),
]
LAST_OWNER_RESPONSE = OpenApiResponse(ProblemSerializer, description="The dataset's last owner cannot be removed.")


def ownership_named(request: Request, ownerships: QuerySet[OwnershipRecord]) -> OwnershipRecord:
    """The one of these ownerships the query names by `?user=` or `?group=`, and `?role=` (default
    owner): a dataset's or a model's. 400 for a query that names none, 404 for one that matches none."""
    user, group = request.query_params.get("user"), request.query_params.get("group")
    if (user is None) == (group is None):
        raise serializers.ValidationError({"user": ["Name exactly one of ?user= or ?group= (and ?role=)."]})
    role = request.query_params.get("role", OwnershipRole.OWNER)
    if role not in OwnershipRole.values:
        raise serializers.ValidationError({"role": [f"role is one of {', '.join(OwnershipRole.values)}."]})
    principal = Q(user__username=user) if user is not None else Q(group__name=group)
    return get_object_or_404(ownerships.select_related("user", "group").filter(principal), role=role)


@extend_schema_view(
    get=extend_schema(summary="List who answers for a dataset", responses=OwnershipSerializer(many=True)),
    post=extend_schema(
        summary="Add an owner, steward or custodian",
        description="A user or a group, in a role. Adding one that exists answers 200 and changes nothing.",
        request=OwnershipCreateSerializer,
        responses={200: OwnershipSerializer, 201: OwnershipSerializer},
    ),
    delete=extend_schema(
        operation_id="datasets_owners_remove_by_principal",
        summary="Remove an ownership named by user or group and role",
        parameters=OWNER_QUERY,
        responses={204: None, 409: LAST_OWNER_RESPONSE},
    ),
)
class DatasetOwnersView(_DatasetRecords):
    query_parameters = {"delete": ("user", "group", "role")}
    serializer_class = OwnershipSerializer
    queryset = Ownership.objects.none()  # for the schema

    def get_queryset(self) -> QuerySet[Ownership]:
        return Ownership.objects.filter(dataset=self.get_dataset()).select_related("user", "group")

    def get(self, request: Request, dataset_id) -> Response:
        return Response(OwnershipSerializer(self.filter_queryset(self.get_queryset()), many=True).data)

    def post(self, request: Request, dataset_id) -> Response:
        dataset = self.get_dataset()
        payload = OwnershipCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        ownership, created = services.ownership_add(actor=self.actor, dataset_id=dataset.pk, **payload.validated_data)
        return Response(
            OwnershipSerializer(ownership).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def delete(self, request: Request, dataset_id) -> Response:
        ownership = ownership_named(request, Ownership.objects.filter(dataset=self.get_dataset()))
        services.ownership_remove(actor=self.actor, ownership=ownership)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    get=extend_schema(summary="Read one ownership", responses=OwnershipSerializer),
    delete=extend_schema(summary="Remove an ownership", responses={204: None, 409: LAST_OWNER_RESPONSE}),
)
class DatasetOwnerView(_DatasetRecords):
    serializer_class = OwnershipSerializer
    queryset = Ownership.objects.none()  # for the schema

    def get_ownership(self) -> Ownership:
        return get_object_or_404(
            Ownership.objects.select_related("user", "group"), dataset=self.get_dataset(), pk=self.kwargs["pk"]
        )

    def get(self, request: Request, dataset_id, pk) -> Response:
        return Response(OwnershipSerializer(self.get_ownership()).data)

    def delete(self, request: Request, dataset_id, pk) -> Response:
        services.ownership_remove(actor=self.actor, ownership=self.get_ownership())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    get=extend_schema(
        summary="List who was granted read on a dataset",
        description="A restricted dataset is visible only to staff, those who answer for it, and these.",
        responses=AccessGrantSerializer(many=True),
    ),
    post=extend_schema(
        summary="Grant a user or a group read access",
        request=AccessGrantCreateSerializer,
        responses={200: AccessGrantSerializer, 201: AccessGrantSerializer},
    ),
)
class DatasetGrantsView(_DatasetRecords):
    serializer_class = AccessGrantSerializer
    queryset = AccessGrant.objects.none()  # for the schema

    def get(self, request: Request, dataset_id) -> Response:
        grants = AccessGrant.objects.filter(dataset=self.get_dataset()).select_related("user", "group", "granted_by")
        grants = self.filter_queryset(grants)  # which refuses query parameters a list does not take
        return Response(AccessGrantSerializer(grants, many=True).data)

    def post(self, request: Request, dataset_id) -> Response:
        dataset = self.get_dataset()
        payload = AccessGrantCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        grant, created = services.access_grant_add(actor=self.actor, dataset_id=dataset.pk, **payload.validated_data)
        return Response(
            AccessGrantSerializer(grant).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


@extend_schema_view(delete=extend_schema(summary="Withdraw a read grant", responses={204: None}))
class DatasetGrantView(_DatasetRecords):
    serializer_class = AccessGrantSerializer
    queryset = AccessGrant.objects.none()  # for the schema
    http_method_names = ["delete", "options"]

    def delete(self, request: Request, dataset_id, pk) -> Response:
        grant = get_object_or_404(
            AccessGrant.objects.select_related("user", "group"), dataset=self.get_dataset(), pk=pk
        )
        services.access_grant_remove(actor=self.actor, grant=grant)
        return Response(status=status.HTTP_204_NO_CONTENT)
