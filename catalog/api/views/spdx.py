"""A version as an SPDX 3.0.1 document (the Dataset profile): catalog.cards.spdx writes it."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import renderers
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import selectors
from catalog.cards.spdx import SpdxIds, spdx_base, version_spdx
from catalog.models import DatasetVersion
from catalog.selectors import personal_data_visible_to
from config.api.renderers import SpdxJsonRenderer
from config.api.views import ProjectAPIView


def request_site(request: Request) -> str:
    """`<scheme>://<host>` of the request, as links in the answer name the service."""
    return request.build_absolute_uri("/").rstrip("/")


class VersionSpdxView(ProjectAPIView):
    queryset = DatasetVersion.objects.none()  # for the schema; requests use get_object()
    pagination_class = None
    renderer_classes = [SpdxJsonRenderer, renderers.JSONRenderer]

    def get_object(self) -> DatasetVersion:
        version = get_object_or_404(selectors.version_detail_queryset(self.request.user), pk=self.kwargs["version_id"])
        self.check_object_permissions(self.request, version)
        return version

    @extend_schema(
        summary="The version as an SPDX 3.0.1 document",
        description="JSON-LD with a `dataset_DatasetPackage` for the version (the kinds of data its profile "
        "found, its size in bytes, the card's collection process, intended use, known biases and preprocessing, "
        "whether it holds personal data, its sensitivity as a confidentiality level, its owners as the agents it "
        "originated from, its declared license) and a `software_File` with its sha256 per file of the manifest, "
        "in a `hasDataFile` relationship each. Element ids are URIs under `CATALOG_SPDX_NAMESPACE`, else under "
        "`/spdx/` of the host the request named.",
        responses={
            (200, "application/spdx+json"): OpenApiTypes.OBJECT,
            (200, "application/json"): OpenApiTypes.OBJECT,
        },
    )
    def get(self, request: Request, version_id) -> Response:
        version = self.get_object()
        site = request_site(request)
        shows = personal_data_visible_to(user=request.user, dataset_id=version.dataset_id)
        document = version_spdx(version, ids=SpdxIds(spdx_base(site)), shows_personal=shows, site=site)
        return Response(document)
