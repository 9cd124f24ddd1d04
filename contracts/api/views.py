"""A dataset's contract: read, saved (every save a new version), its history, and a draft inferred
from a version's profile."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.api.scoped import DatasetScoped
from catalog.models import Dataset
from config.api.conditional import ConditionalMixin, etag_of
from config.api.schema import ProblemSerializer
from config.api.views import ProjectAPIView
from config.errors import Invalid, NotFound
from contracts import services
from contracts.api.serializers import (
    ContractCheckAcceptedSerializer,
    ContractInferSerializer,
    ContractOdcsSerializer,
    ContractSerializer,
    ContractSourceCheckSerializer,
    ContractValidateSerializer,
    ContractWriteSerializer,
)
from contracts.api.yaml import YamlRenderer, YamlTextAliasParser, YamlTextParser
from contracts.selectors import (
    contract_body,
    contract_check_body,
    contract_check_visible,
    contract_current,
    contract_versions,
)


class _ContractBase(DatasetScoped, ProjectAPIView):
    queryset = Dataset.objects.none()  # for the schema; requests use get_dataset()
    pagination_class = None


@extend_schema_view(
    get=extend_schema(summary="Read a dataset's contract", responses=ContractSerializer),
    put=extend_schema(
        summary="Save a dataset's contract",
        description="The whole contract; every save is a new version. Owners, stewards and staff only. The "
        "dataset's latest ready version is checked against it at once.",
        request=ContractWriteSerializer,
        responses=ContractSerializer,
    ),
    patch=extend_schema(
        summary="Change part of a dataset's contract",
        description="The keys given replace those of the contract in force (`dataset` key by key); a new version.",
        request=ContractWriteSerializer,
        responses=ContractSerializer,
    ),
)
class ContractView(ConditionalMixin[Dataset], _ContractBase):
    conditional_actions = None  # the view is only about one contract
    serializer_class = ContractSerializer
    http_method_names = ["get", "put", "patch", "head", "options"]

    def get_object(self) -> Dataset:
        return self.get_dataset()

    def representation(self, obj: Dataset) -> dict[str, Any] | None:
        contract = contract_current(dataset_id=obj.pk)
        return ContractSerializer(contract_body(contract)).data if contract else None

    def get(self, request: Request, dataset_id) -> Response:
        body = self.representation(self.get_dataset())
        if body is None:
            raise NotFound("The dataset has no contract yet; PUT one, or POST contract/infer for a draft.")
        return Response(body)

    def _write(self, request: Request, *, partial: bool) -> Response:
        dataset = self.get_dataset()
        with self.conditional_write(dataset):
            services.contract_save(actor=self.actor, dataset=dataset, document=request.data, partial=partial)
        return Response(self.representation(dataset))

    def put(self, request: Request, dataset_id) -> Response:
        return self._write(request, partial=False)

    def patch(self, request: Request, dataset_id) -> Response:
        return self._write(request, partial=True)


class ContractVersionsView(_ContractBase):
    serializer_class = ContractSerializer

    @extend_schema(summary="Every saved version of a dataset's contract", responses=ContractSerializer(many=True))
    def get(self, request: Request, dataset_id) -> Response:
        dataset = self.get_dataset()
        return Response(
            [ContractSerializer(contract_body(item)).data for item in contract_versions(dataset_id=dataset.pk)]
        )


class ContractInferView(_ContractBase):
    serializer_class = ContractInferSerializer

    @extend_schema(
        summary="Draft a contract from a version's profile",
        description="From the stored profile of the given ready version (the latest by default), with slack: "
        "ranges widened by a tenth of their width on each side, a domain for strings of at most 50 values "
        "(1% may fall outside), `required` only where no value was missing, the label's classes, drift limits "
        "against that version. Nothing is saved: PUT the draft (edited) to put it in force. Owners, stewards "
        "and staff only.",
        request=ContractInferSerializer,
        responses={
            200: ContractWriteSerializer,
            409: OpenApiResponse(ProblemSerializer, description="The dataset has no ready version to infer from."),
        },
    )
    def post(self, request: Request, dataset_id) -> Response:
        dataset = self.get_dataset()
        data = request.data
        if not isinstance(data, dict):
            raise Invalid("Expected an object.")
        unknown = sorted(str(key) for key in data if key != "version")
        if unknown:
            raise Invalid("Unknown key; the only one taken here is version.", field=unknown[0])
        version = data.get("version")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int | str)):
            raise Invalid("A version id or number.", field="version")
        return Response(services.contract_infer(dataset=dataset, version=version))


class ContractValidateView(_ContractBase):
    serializer_class = ContractValidateSerializer

    @extend_schema(
        summary="Check serving data against the contract",
        description="The source (any a version takes, confined the same way) is profiled on a worker and checked "
        "against the contract in force, drift against its reference version being the training/serving skew; it "
        "is never registered as a version. Answers 202 with the check's id: GET /api/v1/contract-checks/{id}/. "
        "Owners, stewards and staff only.",
        request=ContractValidateSerializer,
        responses={
            202: ContractCheckAcceptedSerializer,
            409: OpenApiResponse(ProblemSerializer, description="The dataset has no contract to check data against."),
        },
    )
    def post(self, request: Request, dataset_id) -> Response:
        dataset = self.get_dataset()
        payload = ContractValidateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        check = services.contract_validate_request(
            actor=self.actor, dataset=dataset, source=dict(payload.validated_data["source"])
        )
        return Response(
            {"id": str(check.pk), "status": check.status},
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": f"/api/v1/contract-checks/{check.pk}/"},
        )


class ContractCheckView(ProjectAPIView):
    serializer_class = ContractSourceCheckSerializer
    pagination_class = None

    @extend_schema(
        summary="A check of serving data against a contract",
        description="Pending until a worker has profiled the source. Shown to whoever asked for it and to the "
        "dataset's owners, stewards and staff; to anyone else it is unknown (404).",
        responses=ContractSourceCheckSerializer,
    )
    def get(self, request: Request, check_id) -> Response:
        check = contract_check_visible(user=request.user, check_id=check_id)
        if check is None:
            raise NotFound("No such contract check.")
        return Response(ContractSourceCheckSerializer(contract_check_body(check)).data)


class ContractOdcsView(ConditionalMixin[Dataset], _ContractBase):
    conditional_actions = None
    renderer_classes = [YamlRenderer]
    parser_classes = [YamlTextParser, YamlTextAliasParser]
    serializer_class = ContractOdcsSerializer  # what OPTIONS describes; the body is YAML text
    http_method_names = ["get", "put", "head", "options"]

    def get_object(self) -> Dataset:
        return self.get_dataset()

    def representation(self, obj: Dataset) -> str | None:
        return services.contract_odcs_export(dataset=obj)

    @extend_schema(
        summary="The contract as an ODCS v3 document",
        description="Open Data Contract Standard v3.1.0 YAML: features as properties (type, required, unique, "
        "bounds, lengths, pattern), null and domain limits as the library metrics nullValues and invalidValues, "
        "row counts as rowCount, and the ML checks (drift, classes, duplicates, label conflicts, split leakage) "
        f"as quality rules of type custom, engine `{'training-data-catalog'}`. Read back by PUT, it is the same "
        "contract.",
        responses={(200, "application/yaml"): OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, dataset_id) -> Response:
        text = self.representation(self.get_dataset())
        if text is None:
            raise NotFound("The dataset has no contract yet.")
        # The conditional mixin tags JSON objects; the YAML text is tagged here, for If-Match on a PUT.
        return Response(text, content_type="application/yaml; charset=utf-8", headers={"ETag": etag_of(text)})

    @extend_schema(
        summary="Save the contract from an ODCS v3 document",
        description="A new version of the contract, from ODCS YAML (at most 1 MiB, no anchors or aliases, "
        "nesting at most 32 deep). Rules of other engines are kept out; the catalog's are read back exactly.",
        request={"application/yaml": OpenApiTypes.STR},
        responses={(200, "application/yaml"): OpenApiTypes.OBJECT},
    )
    def put(self, request: Request, dataset_id) -> Response:
        dataset = self.get_dataset()
        if not isinstance(request.data, str):
            raise Invalid("Send the ODCS document as application/yaml.")
        with self.conditional_write(dataset):
            services.contract_odcs_import(actor=self.actor, dataset=dataset, text=request.data)
        return Response(self.representation(dataset), content_type="application/yaml; charset=utf-8")
