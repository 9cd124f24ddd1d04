"""A dataset's data card: read and written as JSON, exported as a Hugging Face card or Croissant, imported."""

from urllib.parse import urlencode

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import renderers
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import downloads, services
from catalog.api.scoped import DatasetScoped
from catalog.api.serializers import DataCardImportSerializer, DataCardSerializer, DataCardUpdateSerializer
from catalog.cards.croissant import card_croissant
from catalog.cards.facts import card_facts
from catalog.cards.huggingface import card_markdown
from catalog.cards.provenance import dataset_provenance
from catalog.models import CARD_SECTIONS, DataCard, Dataset, DatasetVersion
from catalog.selectors import personal_data_visible_to
from config.api.conditional import ConditionalMixin
from config.api.renderers import JsonLdRenderer, MarkdownRenderer
from config.api.views import ProjectAPIView


class _DatasetCardBase(DatasetScoped, ProjectAPIView):
    queryset = Dataset.objects.none()  # for the schema; requests use get_dataset()
    pagination_class = None

    def card_of(self, dataset: Dataset) -> DataCard | None:
        return DataCard.objects.select_related("updated_by").filter(dataset=dataset).first()


def _card_body(dataset: Dataset, card: DataCard | None, *, shows_personal: bool) -> dict:
    sections = {section: getattr(card, section) if card else "" for section in CARD_SECTIONS}
    return {
        "dataset": str(dataset.pk),
        **sections,
        "task_categories": list(card.task_categories) if card else [],
        "completeness": card.completeness if card else 0.0,
        "missing_sections": card.missing_sections if card else list(CARD_SECTIONS),
        "facts": card_facts(dataset, shows_personal=shows_personal),
        "updated_by": card.updated_by.get_username() if card and card.updated_by else None,
        "updated_at": card.updated_at if card else None,
    }


@extend_schema_view(
    get=extend_schema(summary="Read a dataset's data card", responses=DataCardSerializer),
    put=extend_schema(
        summary="Write a dataset's data card",
        description="Every section; those left out become empty. Owners, stewards and staff only.",
        request=DataCardUpdateSerializer,
        responses=DataCardSerializer,
    ),
    patch=extend_schema(
        summary="Change sections of a dataset's data card",
        request=DataCardUpdateSerializer,
        responses=DataCardSerializer,
    ),
)
class DatasetCardView(ConditionalMixin[Dataset], _DatasetCardBase):
    conditional_actions = None  # the view is only about one card
    serializer_class = DataCardSerializer
    http_method_names = ["get", "put", "patch", "head", "options"]

    def get_object(self) -> Dataset:
        return self.get_dataset()

    def representation(self, obj: Dataset) -> dict:
        shows = personal_data_visible_to(user=self.request.user, dataset_id=obj.pk)
        return DataCardSerializer(_card_body(obj, self.card_of(obj), shows_personal=shows)).data

    def get(self, request: Request, dataset_id) -> Response:
        return Response(self.representation(self.get_dataset()))

    def _write(self, request: Request, *, replace: bool) -> Response:
        dataset = self.get_dataset()
        payload = DataCardUpdateSerializer(data=request.data, partial=not replace)
        payload.is_valid(raise_exception=True)
        with self.conditional_write(dataset):
            services.card_update(actor=self.actor, dataset=dataset, replace=replace, **payload.validated_data)
        return Response(self.representation(dataset))

    def put(self, request: Request, dataset_id) -> Response:
        return self._write(request, replace=True)

    def patch(self, request: Request, dataset_id) -> Response:
        return self._write(request, replace=False)


class DatasetCardMarkdownView(_DatasetCardBase):
    renderer_classes = [MarkdownRenderer]

    @extend_schema(
        summary="The data card as a Hugging Face dataset card",
        description="Markdown with YAML front matter (license as the hub's slug, pretty_name, size_categories, "
        "task_categories, dataset_info with features and splits), then the sections people wrote and the facts "
        "the catalog knows, between <!-- catalog:facts --> markers.",
        responses={(200, "text/markdown"): OpenApiTypes.STR},
    )
    def get(self, request: Request, dataset_id) -> Response:
        dataset = self.get_dataset()
        facts = card_facts(dataset, shows_personal=personal_data_visible_to(user=request.user, dataset_id=dataset.pk))
        text = card_markdown(facts, self.card_of(dataset))
        return Response(text, content_type="text/markdown; charset=utf-8")


class DatasetCardCroissantView(_DatasetCardBase):
    renderer_classes = [JsonLdRenderer, renderers.JSONRenderer]

    @extend_schema(
        summary="The data card as Croissant 1.1 JSON-LD",
        description="With the Responsible AI fields filled from the card, every file of the latest version with "
        "its sha256 in `distribution`, a `recordSet` with one field per feature, and the provenance lineage "
        "confirms: `prov:wasDerivedFrom` the upstream datasets (one you may not read as a `restricted` dataset "
        "with no name or link) and `prov:wasGeneratedBy` the jobs that produced it.",
        responses={(200, "application/ld+json"): OpenApiTypes.OBJECT, (200, "application/json"): OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, dataset_id) -> Response:
        dataset = self.get_dataset()
        url = request.build_absolute_uri(f"/api/v1/datasets/{dataset.pk}/")
        facts = card_facts(dataset, shows_personal=personal_data_visible_to(user=request.user, dataset_id=dataset.pk))
        tables = None
        if facts["version"] is not None:
            version = DatasetVersion.objects.get(pk=facts["version"]["id"])
            tables = downloads.version_tables(version, [feature["name"] for feature in facts["version"]["features"]])

        def file_url(path: str, rendition: bool) -> str:
            location = reverse("version-file", kwargs={"version_id": facts["version"]["id"], "path": path})
            return request.build_absolute_uri(location + ("?as=csv" if rendition else ""))

        def dataset_url(dataset_id: str) -> str:
            return request.build_absolute_uri(reverse("dataset-detail", kwargs={"pk": dataset_id}))

        def job_url(namespace: str, name: str) -> str:
            return request.build_absolute_uri(
                reverse("lineage") + "?" + urlencode({"nodeId": f"job:{namespace}:{name}"})
            )

        document = card_croissant(
            facts,
            self.card_of(dataset),
            url=url,
            file_url=file_url,
            tables=tables,
            provenance=dataset_provenance(dataset=dataset, reader=request.user),
            dataset_url=dataset_url,
            job_url=job_url,
        )
        return Response(document)


class DatasetCardImportView(_DatasetCardBase):
    serializer_class = DataCardImportSerializer  # what OPTIONS describes as the body of a POST

    @extend_schema(
        summary="Fill the data card from a Hugging Face README or a Croissant document",
        description="The sections the document states replace the card's; the others stay.",
        request=DataCardImportSerializer,
        responses=DataCardSerializer,
    )
    def post(self, request: Request, dataset_id) -> Response:
        dataset = self.get_dataset()
        payload = DataCardImportSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.card_import(actor=self.actor, dataset=dataset, **payload.validated_data)
        body = _card_body(
            dataset,
            self.card_of(dataset),
            shows_personal=personal_data_visible_to(user=request.user, dataset_id=dataset.pk),
        )
        return Response(DataCardSerializer(body).data)
