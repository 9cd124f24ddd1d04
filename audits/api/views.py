"""The audit's HTTP edge: run an audit, run it again, read its report (as JSON or Markdown)."""

from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from audits import rules as audit_rules
from audits import services as audit_services
from audits.api.serializers import AuditCreateSerializer, AuditSerializer, AuditSummarySerializer
from audits.report import audit_markdown
from audits.selectors import audits_visible_to
from config.api.renderers import MarkdownRenderer
from config.api.schema import ProblemSerializer
from config.api.views import ProjectAPIView, ProjectViewSet
from governance.models import Audit
from training.services.audits import training_audit_subjects, training_runs_audited

AUDIT_INVALID = OpenApiResponse(
    ProblemSerializer,
    description="A dataset or version is unknown or not readable, a training run or model is unknown, or a model "
    "has no completed run.",
)


@extend_schema_view(
    list=extend_schema(summary="List audits", description="Your audits (staff: everyone's), newest first."),
    retrieve=extend_schema(summary="Read an audit report"),
    create=extend_schema(
        summary="Audit what a training run will read",
        description="Walks the upstream lineage of every dataset (or exact version) named, checks each dataset "
        "reached against the intended use (licenses and their terms, owners, origin, sensitivity, personal data, "
        "deprecation, changed sources, profiling, label conflicts, leakage, class imbalance) and stores the report "
        "with the versions, fingerprints and licenses it saw. `verdict` is `fail` with any blocker, `conditional` "
        "with only obligations and warnings, `pass` otherwise. `training_runs` and `models` audit what recorded "
        "training runs read (a model: its latest completed run), exactly those versions; the report names them. "
        "One report covers everything named.",
        request=AuditCreateSerializer,
        responses={201: AuditSerializer, 400: AUDIT_INVALID},
    ),
)
class AuditViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, ProjectViewSet):
    queryset = Audit.objects.none()  # for the schema; requests use get_queryset()
    lookup_value_converter = "uuid"

    def get_queryset(self) -> QuerySet[Audit]:
        return audits_visible_to(self.request.user)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return AuditSummarySerializer if self.action == "list" else AuditSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = AuditCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        runs = training_audit_subjects(
            user=request.user, runs=data.get("training_runs", ()), models=data.get("models", ())
        )
        audit = audit_services.audit_run(
            actor=self.actor,
            datasets=data.get("datasets", ()),
            runs=runs,
            purpose=audit_rules.Purpose(**data["purpose"]),
        )
        headers = {"Location": request.build_absolute_uri(f"/api/v1/audits/{audit.pk}/")}
        return Response(AuditSerializer(audit).data, status=status.HTTP_201_CREATED, headers=headers)

    @extend_schema(
        summary="Run an audit again",
        description="The same datasets (and pinned versions) for the same purpose, checked as they are now; the "
        "earlier report stays as it was. `comparison` says what changed.",
        request=None,
        responses={201: AuditSerializer, 400: AUDIT_INVALID},
    )
    @action(detail=True, methods=["post"])
    def rerun(self, request: Request, pk: UUID | None = None) -> Response:
        earlier = self.get_object()
        runs = training_runs_audited(
            [UUID(item["training_run"]) for item in earlier.requested if "training_run" in item]
        )
        audit = audit_services.audit_rerun(actor=self.actor, audit=earlier, runs=list(runs.values()))
        headers = {"Location": request.build_absolute_uri(f"/api/v1/audits/{audit.pk}/")}
        return Response(AuditSerializer(audit).data, status=status.HTTP_201_CREATED, headers=headers)


class AuditMarkdownView(ProjectAPIView):
    renderer_classes = [MarkdownRenderer]
    queryset = Audit.objects.none()  # for the schema

    @extend_schema(
        summary="An audit report as Markdown",
        description="Readable by someone who never saw the API: verdict, findings with their lineage, attributions "
        "owed, and every dataset checked with its version, fingerprint and license.",
        responses={(200, "text/markdown"): OpenApiTypes.STR},
    )
    def get(self, request: Request, pk: UUID) -> Response:
        audit = get_object_or_404(audits_visible_to(request.user), pk=pk)
        return Response(audit_markdown(audit), content_type="text/markdown; charset=utf-8")
