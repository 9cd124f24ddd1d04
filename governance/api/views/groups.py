"""Groups, their owners and members."""

from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.conditional import ConditionalMixin
from config.api.permissions import IsStaff
from config.api.schema import ConflictProblemSerializer, ProblemSerializer
from config.api.views import ProjectViewSet
from governance import services
from governance.api.serializers import (
    GroupCreateSerializer,
    GroupMemberSerializer,
    GroupSerializer,
    GroupUpdateSerializer,
)
from governance.permissions import groups_visible_to

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
    ProjectViewSet,
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
        group = services.group_create(actor=self.actor, **payload.validated_data)
        headers = {"Location": request.build_absolute_uri(f"/api/v1/groups/{group.pk}/")}
        return Response(self._representation(group), status=status.HTTP_201_CREATED, headers=headers)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        group = self.get_object()
        payload = GroupUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        with self.conditional_write(group):
            services.group_update(actor=self.actor, group=group, **payload.validated_data)
        return Response(self._representation(group))

    def perform_destroy(self, instance: Group) -> None:
        services.group_delete(actor=self.actor, group=instance)

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
        added = services.group_member_add(actor=self.actor, group=group, user=payload.validated_data["user"])
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
        services.group_member_remove(actor=self.actor, group=group, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)
