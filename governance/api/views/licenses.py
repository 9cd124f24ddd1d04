"""The license list and the terms staff state."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.conditional import ConditionalMixin
from config.api.permissions import StaffWrites
from config.api.schema import ConflictProblemSerializer
from config.api.views import ProjectViewSet
from governance import services
from governance.api.filters import LicenseFilter
from governance.api.serializers import LicenseCreateSerializer, LicenseSerializer, LicenseUpdateSerializer
from governance.models import License


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
    ProjectViewSet,
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
        license = services.license_create(actor=self.actor, **payload.validated_data)
        headers = {"Location": request.build_absolute_uri(f"/api/v1/licenses/{license.spdx_id}/")}
        return Response(self.get_serializer(license).data, status=status.HTTP_201_CREATED, headers=headers)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        license = self.get_object()
        payload = LicenseUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        with self.conditional_write(license):
            license = services.license_update(actor=self.actor, license=license, **payload.validated_data)
        return Response(self.get_serializer(self.get_object()).data)
