import re
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from django.contrib.auth import authenticate
from django.contrib.auth.models import AnonymousUser, Group, User
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, serializers, status, views, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from catalog.api.permissions import CanWriteDataset
from catalog.models import Dataset, DatasetVersion
from catalog.selectors import datasets_visible_to
from config.api.conditional import ConditionalMixin
from config.api.exceptions import Conflict
from config.api.filters import QueryParametersChecked
from config.api.permissions import IsStaff, StaffWrites, actor_of
from config.api.schema import ConflictProblemSerializer, ProblemSerializer
from config.api.serializers import StrictModelSerializer, StrictSerializer
from config.api.throttling import LoginThrottle, client_address, login_failure_record
from governance import services
from governance.api.filters import ChangeFilter, LicenseFilter
from governance.api.serializers import (
    AccessGrantCreateSerializer,
    AccessGrantSerializer,
    ChangeSerializer,
    GroupCreateSerializer,
    GroupMemberSerializer,
    GroupSerializer,
    GroupUpdateSerializer,
    LicenseCreateSerializer,
    LicenseSerializer,
    LicenseUpdateSerializer,
    OwnershipCreateSerializer,
    OwnershipSerializer,
    StorageLocationSerializer,
    StorageLocationWriteSerializer,
)
from governance.choices import STAFF_ONLY_OBJECT_TYPES, ChangeAction, ObjectType, OwnershipRole, Sensitivity
from governance.models import AccessGrant, Change, License, Namespace, Ownership, StorageLocation
from governance.permissions import groups_visible_to


class TokenRequestSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="What the token is for, to tell your tokens apart.",
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(
        read_only=True, help_text="Send as `Authorization: Token <token>`. Shown only now: it is stored as a digest."
    )
    expires_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text="Null: it does not expire.")


class TokenCreateView(views.APIView):
    """Exchange a username and password for a new API token, shown once."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [*views.APIView.throttle_classes, LoginThrottle]

    @extend_schema(
        summary="Obtain an API token",
        description="Each call issues a new token, valid for the deployment's token lifetime and until the "
        "password changes. Failed logins are counted per client address and per username; past the limit "
        "the endpoint answers 429 until the period ends.",
        request=TokenRequestSerializer,
        responses={200: TokenSerializer},
    )
    def post(self, request: Request) -> Response:
        payload = TokenRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        username = payload.validated_data["username"]
        user = authenticate(request=request, username=username, password=payload.validated_data["password"])
        if user is None or not user.is_active:
            login_failure_record(address=client_address(request), username=username)
            raise serializers.ValidationError(
                {"non_field_errors": ["Unable to log in with provided credentials."]}, code="authorization"
            )
        issued = services.access_token_issue(user=user, name=payload.validated_data["name"])
        return Response(TokenSerializer({"token": issued.key, "expires_at": issued.token.expires_at}).data)


# --- Licenses --------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List licenses",
        description="The SPDX license list and the custom `LicenseRef-*` licenses, with the terms the catalog "
        "knows: what each allows and requires, and where that was read.",
    ),
    retrieve=extend_schema(summary="Read a license and its terms", description="The id is matched ignoring case."),
    create=extend_schema(
        summary="Add a custom license (staff)",
        description="Only `LicenseRef-*` ids: SPDX licenses come from the SPDX list.",
        request=LicenseCreateSerializer,
        responses={201: LicenseSerializer, 409: ConflictProblemSerializer},
    ),
    partial_update=extend_schema(
        summary="State or review a license's terms (staff)",
        description="Terms set here are kept when the SPDX list is loaded again.",
        request=LicenseUpdateSerializer,
        responses=LicenseSerializer,
    ),
)
class LicenseViewSet(
    ConditionalMixin[License],
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = License.objects.select_related("terms_curated_by")
    serializer_class = LicenseSerializer
    filterset_class = LicenseFilter
    permission_classes = [StaffWrites]
    lookup_field = "spdx_id"
    lookup_value_converter = "str"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_object(self) -> License:
        license = get_object_or_404(self.filter_queryset(self.get_queryset()), spdx_id__iexact=self.kwargs["spdx_id"])
        self.check_object_permissions(self.request, license)
        return license

    def create(self, request: Request, *args, **kwargs) -> Response:
        payload = LicenseCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            license = services.license_create(actor=actor_of(request), **payload.validated_data)
        except services.LicenseExists as exc:
            raise Conflict(str(exc), existing_id=exc.existing.spdx_id) from None
        headers = {"Location": request.build_absolute_uri(f"/api/v1/licenses/{license.spdx_id}/")}
        return Response(self.get_serializer(license).data, status=status.HTTP_201_CREATED, headers=headers)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        license = self.get_object()
        payload = LicenseUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        try:
            with self.conditional_write(license):
                license = services.license_update(actor=actor_of(request), license=license, **payload.validated_data)
        except ValueError as exc:
            raise serializers.ValidationError({"non_field_errors": [str(exc)]}) from None
        return Response(self.get_serializer(self.get_object()).data)


# --- Owners and read grants of a dataset -----------------------------------------------------------


class _DatasetScopedView(QueryParametersChecked, generics.GenericAPIView):
    """A view of something that belongs to one dataset: read by whoever can see the dataset,
    changed by its owners and stewards (or staff)."""

    permission_classes = [*generics.GenericAPIView.permission_classes, CanWriteDataset]
    pagination_class = None

    def get_dataset(self) -> Dataset:
        dataset = get_object_or_404(datasets_visible_to(self.request.user), pk=self.kwargs["dataset_id"])
        self.check_object_permissions(self.request, dataset)
        return dataset


OWNER_QUERY = [
    OpenApiParameter("user", OpenApiTypes.STR, description="The username of the ownership to remove."),
    OpenApiParameter("group", OpenApiTypes.STR, description="The group name of the ownership to remove."),
    OpenApiParameter("role", OpenApiTypes.STR, enum=OwnershipRole.values, description="Its role (default owner)."),
]
LAST_OWNER_RESPONSE = OpenApiResponse(ProblemSerializer, description="The dataset's last owner cannot be removed.")


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
class DatasetOwnersView(_DatasetScopedView):
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
        ownership, created = services.ownership_add(
            actor=actor_of(request), dataset_id=dataset.pk, **payload.validated_data
        )
        return Response(
            OwnershipSerializer(ownership).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def delete(self, request: Request, dataset_id) -> Response:
        dataset = self.get_dataset()
        user, group = request.query_params.get("user"), request.query_params.get("group")
        if (user is None) == (group is None):
            raise serializers.ValidationError({"user": ["Name exactly one of ?user= or ?group= (and ?role=)."]})
        role = request.query_params.get("role", OwnershipRole.OWNER)
        if role not in OwnershipRole.values:
            raise serializers.ValidationError({"role": [f"role is one of {', '.join(OwnershipRole.values)}."]})
        principal = Q(user__username=user) if user is not None else Q(group__name=group)
        ownership = get_object_or_404(
            Ownership.objects.select_related("user", "group").filter(principal), dataset=dataset, role=role
        )
        return _ownership_remove(request, ownership)


def _ownership_remove(request: Request, ownership: Ownership) -> Response:
    try:
        services.ownership_remove(actor=actor_of(request), ownership=ownership)
    except services.LastOwner as exc:
        raise Conflict(str(exc)) from None
    return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    get=extend_schema(summary="Read one ownership", responses=OwnershipSerializer),
    delete=extend_schema(summary="Remove an ownership", responses={204: None, 409: LAST_OWNER_RESPONSE}),
)
class DatasetOwnerView(_DatasetScopedView):
    serializer_class = OwnershipSerializer
    queryset = Ownership.objects.none()  # for the schema

    def get_ownership(self) -> Ownership:
        return get_object_or_404(
            Ownership.objects.select_related("user", "group"), dataset=self.get_dataset(), pk=self.kwargs["pk"]
        )

    def get(self, request: Request, dataset_id, pk) -> Response:
        return Response(OwnershipSerializer(self.get_ownership()).data)

    def delete(self, request: Request, dataset_id, pk) -> Response:
        return _ownership_remove(request, self.get_ownership())


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
class DatasetGrantsView(_DatasetScopedView):
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
        grant, created = services.access_grant_add(
            actor=actor_of(request), dataset_id=dataset.pk, **payload.validated_data
        )
        return Response(
            AccessGrantSerializer(grant).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


@extend_schema_view(delete=extend_schema(summary="Withdraw a read grant", responses={204: None}))
class DatasetGrantView(_DatasetScopedView):
    serializer_class = AccessGrantSerializer
    queryset = AccessGrant.objects.none()  # for the schema
    http_method_names = ["delete", "options"]

    def delete(self, request: Request, dataset_id, pk) -> Response:
        grant = get_object_or_404(
            AccessGrant.objects.select_related("user", "group"), dataset=self.get_dataset(), pk=pk
        )
        services.access_grant_remove(actor=actor_of(request), grant=grant)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- The change log --------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Read the change log",
        description="Every change to a dataset, version, feature, card, owner, grant, license, lineage edge or "
        "group, newest first: who, when, what, and the values before and after. Append-only: entries are never "
        "changed or removed. Entries about datasets you cannot see are not listed; entries about a group to staff "
        "and those who may see the group (its members and owners); entries about storage locations and namespaces "
        "to staff only.",
    ),
    retrieve=extend_schema(summary="Read one change-log entry"),
)
class ChangeViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ChangeSerializer
    filterset_class = ChangeFilter
    lookup_value_converter = "uuid"

    def get_queryset(self) -> QuerySet[Change]:
        changes = Change.objects.all()
        user = self.request.user
        if user.is_staff:
            return changes
        visible = datasets_visible_to(user).values("pk")
        # Storage locations and namespaces belong to no dataset, and their entries say who may
        # register where (usernames, folder paths): staff business only. A group's entries name its
        # members: for those who may see the group.
        groups = groups_visible_to(user).annotate(key=Cast("pk", CharField())).values("key")
        return (
            changes.filter(Q(dataset_id__isnull=True) | Q(dataset_id__in=visible))
            .exclude(object_type__in=STAFF_ONLY_OBJECT_TYPES)
            .exclude(Q(object_type=ObjectType.GROUP) & ~Q(object_id__in=groups))
        )

    def get_serializer(self, *args, **kwargs):
        # An entry about a dataset the reader may read can still name one they may not (an edge into
        # theirs from a restricted dataset): such ids are redacted, so the entry stays, saying less.
        if args and not self.request.user.is_staff:
            entries = list(args[0]) if kwargs.get("many") else [args[0]]
            return _RedactedChanges(entries, _ids_hidden_in(entries, self.request.user), many=kwargs.get("many", False))
        return super().get_serializer(*args, **kwargs)


_UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
RESTRICTED_REF = "a restricted dataset you may not read"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _ids_hidden_in(entries: list[Change], user: User | AnonymousUser) -> set[str]:
    """The ids, as text, of datasets (and their versions) named in these entries that the user may not
    read: three queries for a page, however many entries."""
    named: set[UUID] = set()
    for entry in entries:
        # The entry's own object belongs to its dataset, which the reader may read (or it is not listed).
        for text in _strings([entry.object_repr, entry.before, entry.after]):
            for match in _UUID_TEXT.findall(text):
                named.add(UUID(match))
        named.discard(entry.dataset_id)
    if not named:
        return set()
    visible = datasets_visible_to(user).values("pk")
    hidden: set[UUID] = set(Dataset.objects.filter(pk__in=named).exclude(pk__in=visible).values_list("pk", flat=True))
    hidden |= set(
        DatasetVersion.objects.filter(pk__in=named - hidden).exclude(dataset__in=visible).values_list("pk", flat=True)
    )
    hidden |= _purged_restricted_ids(named - hidden)
    return {str(pk) for pk in hidden} | {pk.hex for pk in hidden}


def _purged_restricted_ids(named: set[UUID]) -> set[UUID]:
    """Of these ids, those of restricted datasets that were purged, and of their versions: entries
    about other datasets (an edge removed with the purge, one created before) still name them, and
    with the dataset gone, only its purge entry says it was restricted. One query (ids are never
    reused: a dataset with a purge entry is gone)."""
    if not named:
        return set()
    hidden: set[UUID] = set()
    purges = Change.objects.filter(
        action=ChangeAction.PURGE, object_type=ObjectType.DATASET, object_id__in=[str(pk) for pk in named]
    )
    for object_id, before in purges.values_list("object_id", "before"):
        state = before or {}
        if state.get("sensitivity") == Sensitivity.RESTRICTED:
            hidden.add(UUID(object_id))
            hidden |= {UUID(str(version["id"])) for version in state.get("versions", [])}
    return hidden & named


def _redact(value: Any, hidden: set[str]) -> Any:
    if isinstance(value, str):
        return _UUID_TEXT.sub(lambda m: RESTRICTED_REF if m.group(0).lower() in hidden else m.group(0), value)
    if isinstance(value, dict):
        return {key: _redact(item, hidden) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item, hidden) for item in value]
    return value


class _RedactedChanges:
    """Change-log entries serialized with the ids of datasets the reader may not read taken out."""

    def __init__(self, entries: list[Change], hidden: set[str], *, many: bool) -> None:
        self.entries, self.hidden, self.many = entries, hidden, many

    @property
    def data(self) -> Any:
        rows = [ChangeSerializer(entry).data for entry in self.entries]
        if self.hidden:
            rows = [_redact(dict(row), self.hidden) for row in rows]
        return rows if self.many else rows[0]


# --- Storage locations -----------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List storage locations (staff)",
        description="The prefixes staff narrowed registration under. A storage root without a location here is "
        "open to every authenticated user; the most specific location covering a path decides who may register it.",
    ),
    retrieve=extend_schema(summary="Read a storage location (staff)"),
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
class StorageLocationViewSet(
    ConditionalMixin[StorageLocation],
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = StorageLocation.objects.select_related("created_by").prefetch_related("users", "groups")
    serializer_class = StorageLocationSerializer
    permission_classes = [IsStaff]
    lookup_value_converter = "uuid"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def create(self, request: Request, *args, **kwargs) -> Response:
        payload = StorageLocationWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            location = services.storage_location_create(actor=actor_of(request), **payload.validated_data)
        except services.StorageLocationExists as exc:
            raise Conflict(str(exc), existing_id=str(exc.existing.pk)) from None
        except ValueError as exc:
            raise serializers.ValidationError({"uri": [str(exc)]}) from None
        headers = {"Location": request.build_absolute_uri(f"/api/v1/storage-locations/{location.pk}/")}
        body = self.get_serializer(self.get_queryset().get(pk=location.pk)).data
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        location = self.get_object()
        payload = StorageLocationWriteSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        try:
            with self.conditional_write(location):
                services.storage_location_update(actor=actor_of(request), location=location, **payload.validated_data)
        except services.StorageLocationExists as exc:
            raise Conflict(str(exc), existing_id=str(exc.existing.pk)) from None
        except ValueError as exc:
            raise serializers.ValidationError({"uri": [str(exc)]}) from None
        return Response(self.get_serializer(self.get_queryset().get(pk=location.pk)).data)

    def perform_destroy(self, instance: StorageLocation) -> None:
        services.storage_location_delete(actor=actor_of(self.request), location=instance)


# --- Namespaces with owners ------------------------------------------------------------------------


class NamespaceSerializer(StrictModelSerializer):
    users = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        many=True,
        required=False,
        help_text="Usernames of the namespace's owners.",
    )
    groups = serializers.SlugRelatedField(
        slug_field="name",
        queryset=Group.objects.all(),
        many=True,
        required=False,
        help_text="Names of the groups whose members own the namespace.",
    )

    class Meta:
        model = Namespace
        fields = ["id", "name", "users", "groups", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


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
class NamespaceViewSet(viewsets.ModelViewSet):
    queryset = Namespace.objects.prefetch_related("users", "groups").order_by("name")
    serializer_class = NamespaceSerializer
    permission_classes = [IsAdminUser]
    lookup_value_converter = "int"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    # Through the services, so the change log records each namespace with its owners.
    def perform_create(self, serializer: BaseSerializer[Namespace]) -> None:
        serializer.instance = services.namespace_create(actor=actor_of(self.request), **serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer[Namespace]) -> None:
        namespace = serializer.instance
        assert namespace is not None  # DRF's update gives the serializer the namespace it read
        serializer.instance = services.namespace_update(
            actor=actor_of(self.request), namespace=namespace, **serializer.validated_data
        )

    def perform_destroy(self, instance: Namespace) -> None:
        services.namespace_delete(actor=actor_of(self.request), namespace=instance)


# --- Groups ----------------------------------------------------------------------------------------

GROUP_REF = OpenApiParameter("ref", OpenApiTypes.STR, OpenApiParameter.PATH, description="The group's name, or its id.")
GROUP_HIDDEN = OpenApiResponse(
    ProblemSerializer, description="No such group, or not one of yours (to anyone but staff, the same)."
)


@extend_schema_view(
    list=extend_schema(
        summary="List groups",
        description="Staff see every group; others the groups they are in or own, with their members.",
    ),
    retrieve=extend_schema(
        summary="Read a group", parameters=[GROUP_REF], responses={200: GroupSerializer, 404: GROUP_HIDDEN}
    ),
    create=extend_schema(
        summary="Create a group (staff)",
        description="With its owners (who then add and remove members, besides staff) and first members.",
        request=GroupCreateSerializer,
        responses={201: GroupSerializer, 409: ConflictProblemSerializer},
    ),
    partial_update=extend_schema(
        summary="Rename, describe or give owners to a group (staff)",
        description="`owners` replaces the list; members change through `/members/`. Grants and ownerships "
        "name the group, not its name: they follow a rename.",
        parameters=[GROUP_REF],
        request=GroupUpdateSerializer,
        responses={200: GroupSerializer, 409: ConflictProblemSerializer},
    ),
    destroy=extend_schema(
        summary="Delete a group (staff)",
        description="Refused (409) while it answers for a dataset. Its read grants go with it (each recorded "
        "under its dataset in the change log).",
        parameters=[GROUP_REF],
        responses={204: None, 409: ProblemSerializer},
    ),
)
class GroupViewSet(
    ConditionalMixin[Group],
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = GroupSerializer
    queryset = Group.objects.none()  # for the schema; requests use get_queryset()
    lookup_url_kwarg = "ref"
    lookup_value_converter = "str"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_permissions(self):
        # To anyone but staff, creating, renaming and deleting answer 403 alike, whether the group
        # exists or not.
        if self.action in ("create", "partial_update", "destroy"):
            return [IsStaff()]
        return super().get_permissions()

    def get_queryset(self) -> QuerySet[Group]:
        return (
            groups_visible_to(self.request.user)
            .select_related("profile")
            .prefetch_related("user_set", "profile__owners")
            .order_by("name")
        )

    def get_object(self) -> Group:
        """By name, or by id: a name is never a number alone, so the two cannot be mistaken."""
        ref = self.kwargs["ref"]
        groups = self.filter_queryset(self.get_queryset())  # refuses query parameters it does not take
        group = groups.filter(name=ref).first()
        if group is None and ref.isdigit() and len(ref) < 19:
            group = groups.filter(pk=int(ref)).first()
        if group is None:
            raise Http404(f"No group {ref!r} that you may see.")
        self.check_object_permissions(self.request, group)
        return group

    def _representation(self, group: Group) -> dict:
        return GroupSerializer(self.get_queryset().get(pk=group.pk)).data

    def create(self, request: Request, *args, **kwargs) -> Response:
        payload = GroupCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            group = services.group_create(actor=actor_of(request), **payload.validated_data)
        except services.GroupExists as exc:
            raise Conflict(str(exc), existing_id=str(exc.existing.pk)) from None
        headers = {"Location": request.build_absolute_uri(f"/api/v1/groups/{group.pk}/")}
        return Response(self._representation(group), status=status.HTTP_201_CREATED, headers=headers)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        group = self.get_object()
        payload = GroupUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        try:
            with self.conditional_write(group):
                services.group_update(actor=actor_of(request), group=group, **payload.validated_data)
        except services.GroupExists as exc:
            raise Conflict(str(exc), existing_id=str(exc.existing.pk)) from None
        return Response(self._representation(group))

    def perform_destroy(self, instance: Group) -> None:
        try:
            services.group_delete(actor=actor_of(self.request), group=instance)
        except services.GroupInUse as exc:
            raise Conflict(str(exc)) from None

    @extend_schema(
        summary="Add a member to a group",
        description="By the group's owners and staff. Adding a member who is one answers 200 and changes nothing.",
        parameters=[GROUP_REF],
        request=GroupMemberSerializer,
        responses={200: GroupSerializer, 201: GroupSerializer, 403: ProblemSerializer, 404: GROUP_HIDDEN},
    )
    @action(detail=True, methods=["post"], url_path="members")
    def members(self, request: Request, ref=None) -> Response:
        group = self.get_object()
        payload = GroupMemberSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        added = services.group_member_add(actor=actor_of(request), group=group, user=payload.validated_data["user"])
        return Response(self._representation(group), status=status.HTTP_201_CREATED if added else status.HTTP_200_OK)

    @extend_schema(
        summary="Remove a member from a group",
        description="By the group's owners and staff; a member may remove themselves (leave the group).",
        parameters=[
            GROUP_REF,
            OpenApiParameter("username", OpenApiTypes.STR, OpenApiParameter.PATH, description="The member."),
        ],
        request=None,
        responses={204: None, 403: ProblemSerializer, 404: GROUP_HIDDEN},
    )
    @action(detail=True, methods=["delete"], url_path="members/<str:username>")
    def member(self, request: Request, ref=None, username=None) -> Response:
        group = self.get_object()
        # Who is in the group is no secret to whoever may see it: a non-member is a 404 to them all.
        user = group.user_set.filter(username=username).first()
        if user is None:
            raise Http404(f"{username!r} is not a member of {group.name!r}.")
        services.group_member_remove(actor=actor_of(request), group=group, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)
