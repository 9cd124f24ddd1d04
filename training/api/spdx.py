"""A training run as an SPDX 3.0.1 document (the AI and Dataset profiles): training.cards.spdx writes it."""

from uuid import UUID

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import renderers
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.api.views.spdx import request_site
from catalog.cards.spdx import SpdxIds, spdx_base
from config.api.renderers import SpdxJsonRenderer
from training.api.reproduce import RunScoped
from training.cards.spdx import run_spdx


class RunSpdxView(RunScoped):
    pagination_class = None
    renderer_classes = [SpdxJsonRenderer, renderers.JSONRenderer]

    @extend_schema(
        summary="The training run as an SPDX 3.0.1 document",
        description="JSON-LD with an `ai_AIPackage` for the model the run trained (its version, its first owner as supplier and "
        "all its owners as originators, built and released when the run completed, `ai_hyperparameter` and `ai_metric` "
        "entries, nested values as JSON text, the code as `software_sourceInfo`, the first artifact as download "
        "location, else this run's API page, and each artifact's sha256) and the `dataset_DatasetPackage` of each "
        "version the run read, as `GET /api/v1/versions/{id}/spdx` writes it, in `trainedOn` relationships (inputs "
        "read as train or validation), `testedOn` (test) or `other`. An input of a dataset you may not read is left "
        "out, as is a purged one: an `Annotation` on the model's package says how many, in which role, and the "
        "relationship of that role is `incomplete`.",
        responses={
            (200, "application/spdx+json"): OpenApiTypes.OBJECT,
            (200, "application/json"): OpenApiTypes.OBJECT,
        },
    )
    def get(self, request: Request, pk: UUID) -> Response:
        run = self.get_object()
        site = request_site(request)
        return Response(run_spdx(run, reader=request.user, ids=SpdxIds(spdx_base(site)), site=site))
