"""A model's public summary of training content (the EU AI Act's template, Article 53(1)(d)): read as JSON
or as a Markdown document, and its narrative items written by the model's owners."""

from __future__ import annotations

from uuid import UUID

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.renderers import MarkdownRenderer
from config.api.schema import ProblemSerializer
from config.api.serializers import StrictSerializer
from config.api.views import ProjectAPIView
from training import selectors, services
from training.api.views import FORBIDDEN_RESPONSE, CanWriteModel
from training.content_summary import (
    MAX_NARRATIVE_CHARS,
    SECTIONS,
    model_summarised_run,
    template_labels,
    training_content_summary,
    training_content_summary_markdown,
)
from training.models import Model


class SummaryRenderer(MarkdownRenderer):
    """The summary as a document, asked for as `?format=markdown` (or by `Accept: text/markdown`)."""

    format = "markdown"


class SummaryModelSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    namespace = serializers.CharField()
    name = serializers.CharField()


class SummaryRunSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    model_version = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)


class SummaryDatasetSerializer(serializers.Serializer):
    dataset = serializers.CharField(help_text="namespace/name, or a placeholder for a dataset you may not read.")
    id = serializers.UUIDField(allow_null=True)
    restricted = serializers.BooleanField()
    version = serializers.IntegerField(allow_null=True, help_text="The version read (or considered, upstream).")
    origin = serializers.CharField(allow_null=True)
    license = serializers.CharField(allow_null=True)
    reached = serializers.ChoiceField(choices=["input", "upstream"])
    upstream_of = serializers.CharField(allow_null=True, help_text="The run's input it is upstream of.")
    modalities = serializers.ListField(child=serializers.CharField())
    size = serializers.DictField(
        child=serializers.IntegerField(), allow_null=True, help_text="Estimated size per modality, in 1.3-b's units."
    )


class TrainingContentSummarySerializer(serializers.Serializer):
    template = serializers.CharField()
    model = SummaryModelSerializer()
    run = SummaryRunSerializer()
    generated_at = serializers.DateTimeField()
    sections = serializers.DictField(
        child=serializers.DictField(child=serializers.JSONField()),
        help_text="By the template's section number (`header`, `1.1` ... `2.2.1`, `2.2.2` ... `3.3`), each item "
        'by its key: `{"value", "to_complete": false, "source": "catalog" | "narrative"}` (a narrative '
        'beside a catalog value is `narrative`), or `{"value": null, "to_complete": true}` for what the '
        "catalog cannot know. Source sections also hold `datasets`: the catalog datasets drawn from.",
    )
    labels = serializers.JSONField(help_text="Each section's title and each item's field id and label.")
    unclassified = SummaryDatasetSerializer(many=True, help_text="Datasets whose origin the catalog does not know.")
    notes = serializers.ListField(child=serializers.CharField(), help_text="How each value was drawn.")


class NarrativeUpdateSerializer(StrictSerializer):
    sections = serializers.DictField(
        child=serializers.DictField(
            child=serializers.CharField(
                allow_null=True, allow_blank=True, trim_whitespace=False, max_length=MAX_NARRATIVE_CHARS
            )
        ),
        help_text='`{"3.1": {"measures": "text"}}`: sections by number, items by key (see `labels`); empty '
        f"text or null removes an item's narrative. At most {MAX_NARRATIVE_CHARS:,} characters an item.",
    )


# Errors are problem documents whatever the format asked for (the schema's hook renames the media type).
JSON = "application/json"
NOT_FOUND = OpenApiResponse(ProblemSerializer, description="No model has this id.")
NO_RUN = OpenApiResponse(
    ProblemSerializer,
    description="The model has no completed, confirmed training run to summarise (`no_completed_run`).",
)
DESCRIPTION = (
    "The European Commission's template of 24 July 2025 for the public summary of training content (AI Act, "
    "Article 53(1)(d)), filled from the catalog for the model's latest completed, confirmed training run: the "
    "versions it read for training and every dataset upstream of them through confirmed lineage. Modalities and "
    "the size of each in the template's bands, the latest date of data collection, the languages profiled in "
    "documents and in the text columns of tables, and each source section (public, licensed, private third-party, crawled with the domains of "
    "https sources, user, synthetic, other) by the datasets' origin, naming the catalog datasets drawn from; "
    "a dataset you may not read is counted under a placeholder. What the catalog cannot know is "
    '`{"value": null, "to_complete": true}` until the model\'s owners write it (PATCH). '
    "`?format=markdown` answers the document (text/markdown)."
)


class TrainingContentSummaryView(ProjectAPIView):
    # Read by every authenticated user (as the model is); the narrative written by its owners, stewards or staff.
    queryset = Model.objects.none()  # for the schema
    serializer_class = TrainingContentSummarySerializer
    renderer_classes = [renderers.JSONRenderer, SummaryRenderer]
    added_permissions = (CanWriteModel,)
    lookup_value_converter = "uuid"

    def model(self, pk: UUID) -> Model:
        model = get_object_or_404(selectors.models_visible_to(self.request.user), pk=pk)
        self.check_object_permissions(self.request, model)
        return model

    def answer(self, request: Request, model: Model) -> Response:
        summary = training_content_summary(model, request.user)
        if isinstance(request.accepted_renderer, SummaryRenderer):
            return Response(training_content_summary_markdown(summary), content_type="text/markdown; charset=utf-8")
        summary["labels"] = template_labels()
        return Response(TrainingContentSummarySerializer(summary).data)

    @extend_schema(
        summary="The model's public summary of training content (EU AI Act)",
        description=DESCRIPTION,
        parameters=[
            OpenApiParameter(
                "format", OpenApiTypes.STR, enum=["json", "markdown"], description="markdown: the document."
            )
        ],
        responses={
            200: TrainingContentSummarySerializer,
            (200, "text/markdown"): OpenApiTypes.STR,
            (404, JSON): NOT_FOUND,
            (409, JSON): NO_RUN,
        },
    )
    def get(self, request: Request, pk: UUID) -> Response:
        return self.answer(request, self.model(pk))

    @extend_schema(
        summary="Write narrative items of the model's summary of training content",
        description="By the model's owners and stewards (or staff). Each item named is set (or removed, with "
        "empty text or null) and the change written to the change log; a narrative fills an item the catalog "
        f"cannot know. Sections: {', '.join(SECTIONS)}; an unknown section or item is refused (400) naming it, "
        "and nothing is written. Answers the summary; a model with no completed run has none to complete (409).",
        request=NarrativeUpdateSerializer,
        responses={
            (200, JSON): TrainingContentSummarySerializer,
            (403, JSON): FORBIDDEN_RESPONSE,
            (404, JSON): NOT_FOUND,
            (409, JSON): NO_RUN,
        },
    )
    def patch(self, request: Request, pk: UUID) -> Response:
        model = self.model(pk)
        payload = NarrativeUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        # No summary yet, nothing to complete: refused before anything is written.
        model_summarised_run(model)
        services.training_content_narrative_update(
            actor=self.actor, model=model, sections=payload.validated_data["sections"]
        )
        return self.answer(request, model)
