"""A training run's recipe (JSON or a Markdown report) and the check that its inputs are still the bytes it read."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.selectors import datasets_visible_to
from config.api.renderers import MarkdownRenderer
from config.api.schema import ProblemSerializer
from config.api.serializers import renamed_fields
from config.api.views import ProjectAPIView
from training import tasks
from training.models import TrainingRun
from training.reproduce import reproduce_markdown, run_reproduce, verification_shown
from training.selectors import runs_visible_to


class ReportRenderer(MarkdownRenderer):
    """The report, asked for as `?format=markdown` (or by `Accept: text/markdown`)."""

    format = "markdown"


class ManifestEntrySerializer(serializers.Serializer):
    path = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    etag = serializers.CharField(required=False, help_text="Objects of an object store only: the object's ETag.")
    version_id = serializers.CharField(
        required=False,
        help_text="Objects of a versioned bucket only: the exact object version read (an S3 version id, a GCS "
        "generation, an Azure version id).",
    )


class ReproduceInputSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    role = serializers.CharField()
    pinned = serializers.BooleanField()
    dataset = serializers.UUIDField(allow_null=True, help_text="Null for a dataset you may not read, or purged.")
    dataset_name = serializers.CharField(help_text="namespace/name, or a placeholder for a dataset you may not read.")
    version = serializers.UUIDField(allow_null=True)
    version_number = serializers.IntegerField(allow_null=True)
    uri = serializers.CharField(allow_null=True)
    fingerprint = serializers.CharField(allow_null=True)
    format = serializers.CharField(allow_null=True)
    read_options = serializers.JSONField(allow_null=True)
    label_column = serializers.CharField(allow_null=True)
    splits = serializers.JSONField(allow_null=True)
    manifest = ManifestEntrySerializer(
        many=True, allow_null=True, help_text="Every file of the version read; null when it is not known or not shown."
    )
    note = serializers.CharField(help_text="Why something is not shown, or what differs from what the run read.")


@renamed_fields(source_field="source")
class ReproduceRunSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    model_version = serializers.CharField()
    status = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    source_field = serializers.CharField(help_text="api, openlineage or mlflow.")
    purpose = serializers.JSONField(allow_null=True)
    created_at = serializers.DateTimeField()


class ReproduceModelSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    namespace = serializers.CharField()
    name = serializers.CharField()


class ReproduceCodeSerializer(serializers.Serializer):
    repository = serializers.CharField()
    commit = serializers.CharField()
    entrypoint = serializers.CharField()


class ReproduceArtifactSerializer(serializers.Serializer):
    uri = serializers.CharField()
    sha256 = serializers.CharField(allow_null=True)
    size = serializers.IntegerField(allow_null=True)


class VerificationChangeSerializer(serializers.Serializer):
    version = serializers.UUIDField(allow_null=True, help_text="Null for a version of a dataset you may not read.")
    position = serializers.IntegerField(required=False)
    paths = serializers.ListField(child=serializers.CharField(), help_text="Files changed, added or gone.")
    changed = serializers.ListField(child=serializers.CharField(), required=False)
    added = serializers.ListField(child=serializers.CharField(), required=False)
    removed = serializers.ListField(child=serializers.CharField(), required=False)
    restricted = serializers.BooleanField(required=False)


class VerificationUnreadableSerializer(serializers.Serializer):
    version = serializers.UUIDField(allow_null=True)
    position = serializers.IntegerField(required=False)
    detail = serializers.CharField()
    restricted = serializers.BooleanField(required=False)


class VerificationSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["reproducible", "changed", "unreadable"])
    checked_at = serializers.DateTimeField()
    changed = VerificationChangeSerializer(many=True)
    unreadable = VerificationUnreadableSerializer(many=True)


class ReproduceSerializer(serializers.Serializer):
    run = ReproduceRunSerializer()
    model = ReproduceModelSerializer()
    code = ReproduceCodeSerializer()
    hyperparameters = serializers.JSONField()
    environment = serializers.JSONField()
    metrics = serializers.JSONField()
    inputs = ReproduceInputSerializer(many=True)
    artifacts = ReproduceArtifactSerializer(many=True)
    verification = VerificationSerializer(allow_null=True, help_text="The last check of the inputs, if any.")


class VerifyAcceptedSerializer(serializers.Serializer):
    run = serializers.UUIDField()
    verification_status = serializers.CharField(help_text="`pending` until the check ends, then its outcome.")
    verification = VerificationSerializer(allow_null=True, help_text="The outcome of the last check.")


class RunScoped(ProjectAPIView):
    # Read by whoever may read the run; a run the caller may not read answers 404, as if it did not exist.
    # (A comment, not a docstring: the schema describes an operation by its view's docstrings.)

    queryset = TrainingRun.objects.none()  # for the schema; requests use get_queryset()
    lookup_value_converter = "uuid"

    def get_queryset(self) -> QuerySet[TrainingRun]:
        return runs_visible_to(self.request.user).prefetch_related(None)


class RunReproduceView(RunScoped):
    renderer_classes = [renderers.JSONRenderer, ReportRenderer]
    serializer_class = ReproduceSerializer

    @extend_schema(
        summary="Everything needed to train the model again",
        description="Each input's dataset, version, location, fingerprint and full manifest (every file with its "
        "size and sha256), the code reference, hyperparameters and environment. `?format=markdown` answers a "
        "report a person can follow (text/markdown), with a `sha256sum -c` list per input. An input of a dataset "
        "you may not read is a placeholder (no name, location or files); an input whose version was purged is "
        "listed as the run recorded it, with no manifest (to the model's owners only).",
        parameters=[
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "markdown"], description="markdown: the report.")
        ],
        responses={200: ReproduceSerializer, (200, "text/markdown"): OpenApiTypes.STR},
    )
    def get(self, request: Request, pk: UUID) -> Response:
        run = self.get_object()
        recipe = run_reproduce(run, request.user)
        if isinstance(request.accepted_renderer, ReportRenderer):
            return Response(reproduce_markdown(recipe), content_type="text/markdown; charset=utf-8")
        return Response(ReproduceSerializer(recipe).data)


class RunVerifyView(RunScoped):
    serializer_class = VerifyAcceptedSerializer

    @extend_schema(
        summary="Check that every input still holds the bytes the run read",
        description="Queues a re-hash of every input version's source (the catalog's version verification, which "
        "also marks a version whose bytes changed). The run's `verification` then says `reproducible`, `changed` "
        "(with the files that changed, were added or are gone) or `unreadable` (an input's source is gone, or its "
        "version was purged). Anyone who may read the run may ask; files of datasets you may not read are not named.",
        request=None,
        responses={
            202: VerifyAcceptedSerializer,
            404: OpenApiResponse(ProblemSerializer, description="No run you may read has this id."),
        },
    )
    def post(self, request: Request, pk: UUID) -> Response:
        run = self.get_object()
        tasks.training_run_verify_enqueue(run_id=run.pk)
        # With in-process tasks the check has run by now; with workers, the answer is pending.
        run = self.get_queryset().get(pk=run.pk)
        return Response(self._state(run), status=status.HTTP_202_ACCEPTED)

    def _state(self, run: TrainingRun) -> dict[str, Any]:
        inputs = list(run.inputs.exclude(version=None).values_list("dataset_id", "version_id"))
        readable = set(
            datasets_visible_to(self.request.user)
            .filter(pk__in={dataset for dataset, _ in inputs})
            .values_list("pk", flat=True)
        )
        versions = {version for dataset, version in inputs if dataset in readable}
        return {
            "run": run.pk,
            "verification_status": run.verification_status,
            "verification": verification_shown(run.verification, versions),
        }
