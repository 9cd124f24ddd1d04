"""Who answers for a dataset (by the mechanism a model's owners use too), and who was granted read on it."""

from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.api.scoped import DatasetScoped
from config.api.schema import ProblemSerializer
from config.api.views import ProjectViewMixin
from governance import services
from governance.api.serializers import (
    AccessGrantCreateSerializer,
    AccessGrantSerializer,
    OwnershipCreateSerializer,
    OwnershipSerializer,
)
from governance.choices import OwnershipRole
from governance.models import AccessGrant, Ownership
from governance.services.owners import DATASETS, Owned, owner_add, owner_remove

# The type checker reads the mixin as the view it is mixed into; at run time it adds no base of its own.
if TYPE_CHECKING:
    from rest_framework.generics import GenericAPIView as _View
else:
    _View = object


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


def ownership_named(request: Request, ownerships: QuerySet[Any]) -> Any:
    """The one of these ownerships the query names by `?user=` or `?group=`, and `?role=` (default
    owner). 400 for a query that names none, 404 for one that matches none."""
    user, group = request.query_params.get("user"), request.query_params.get("group")
    if (user is None) == (group is None):
        raise serializers.ValidationError({"user": ["Name exactly one of ?user= or ?group= (and ?role=)."]})
    role = request.query_params.get("role", OwnershipRole.OWNER)
    if role not in OwnershipRole.values:
        raise serializers.ValidationError({"role": [f"role is one of {', '.join(OwnershipRole.values)}."]})
    principal = Q(user__username=user) if user is not None else Q(group__name=group)
    return get_object_or_404(ownerships.filter(principal), role=role)


class OwnersEndpoint(ProjectViewMixin, _View):
    # Who answers for one dataset or model, the same way for both: `owned` says which kind (its
    # records and its rules, governance.services.owners), `owned_object()` the one the path names,
    # 404 when the reader may not see it and 403 on a write they may not make. The list and the
    # ownership named by the query (GET, POST, DELETE ?user=|group=&role=), or by the path's `pk`
    # (GET, DELETE). (A comment, not a docstring: the schema describes operations by docstrings.)

    owned: Owned
    query_parameters = {"delete": ("user", "group", "role")}
    serializer_class = OwnershipSerializer

    def owned_object(self) -> Any:
        raise NotImplementedError

    def ownerships(self) -> QuerySet[Any]:
        return self.owned.ownerships(self.owned_object().pk).select_related("user", "group")

    def one_named(self) -> Any:
        if "pk" in self.kwargs:
            return get_object_or_404(self.ownerships(), pk=self.kwargs["pk"])
        return ownership_named(self.request, self.ownerships())

    def get(self, request: Request, **kwargs: Any) -> Response:
        if "pk" in self.kwargs:
            return Response(OwnershipSerializer(self.one_named()).data)
        # filter_queryset refuses query parameters a list does not take.
        return Response(OwnershipSerializer(self.filter_queryset(self.ownerships()), many=True).data)

    def post(self, request: Request, **kwargs: Any) -> Response:
        owned = self.owned_object()
        payload = OwnershipCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        ownership, created = owner_add(self.owned, object_id=owned.pk, actor=self.actor, **payload.validated_data)
        return Response(
            OwnershipSerializer(ownership).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def delete(self, request: Request, **kwargs: Any) -> Response:
        owner_remove(self.owned, actor=self.actor, ownership=self.one_named())
        return Response(status=status.HTTP_204_NO_CONTENT)


class _DatasetOwners(OwnersEndpoint, _DatasetRecords):
    owned = DATASETS
    queryset = Ownership.objects.none()  # for the schema

    def owned_object(self) -> Any:
        return self.get_dataset()


def owners_documented(noun: str, *, one: bool = False) -> Any:
    """The schema of the owners endpoints of a dataset or a model (`one`: of one ownership)."""
    last_owner = OpenApiResponse(ProblemSerializer, description=f"The {noun}'s last owner cannot be removed.")
    forbidden = OpenApiResponse(ProblemSerializer, description=f"Only the {noun}'s owners and stewards, or staff.")
    if one:
        return extend_schema_view(
            get=extend_schema(summary=f"Read one of a {noun}'s ownerships", responses=OwnershipSerializer),
            delete=extend_schema(
                summary=f"Remove a {noun}'s ownership", responses={204: None, 403: forbidden, 409: last_owner}
            ),
        )
    return extend_schema_view(
        get=extend_schema(summary=f"List who answers for a {noun}", responses=OwnershipSerializer(many=True)),
        post=extend_schema(
            summary=f"Add a {noun}'s owner, steward or custodian",
            description="A user or a group, in a role. Adding one that exists answers 200 and changes nothing. "
            "Once it has owners, only they (or staff) make someone an owner.",
            request=OwnershipCreateSerializer,
            responses={200: OwnershipSerializer, 201: OwnershipSerializer, 403: forbidden},
        ),
        delete=extend_schema(
            operation_id=f"{noun}s_owners_remove_by_principal",
            summary=f"Remove a {noun}'s ownership named by user or group and role",
            parameters=OWNER_QUERY,
            responses={204: None, 403: forbidden, 409: last_owner},
        ),
    )


@owners_documented("dataset")
class DatasetOwnersView(_DatasetOwners):
    http_method_names = ["get", "head", "post", "delete", "options"]


@owners_documented("dataset", one=True)
class DatasetOwnerView(_DatasetOwners):
    query_parameters = {}
    http_method_names = ["get", "head", "delete", "options"]


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
