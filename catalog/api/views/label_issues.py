"""The review of a version's flagged rows: list them, decide about them, and export the confirmed
corrections for a labelling tool."""

import csv
import io
from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from catalog import selectors, services
from catalog.api.serializers import LabelIssueDecisionSerializer, LabelIssueSerializer
from catalog.choices import LabelIssueDecision
from catalog.models import DatasetVersion, LabelIssue
from catalog.selectors import label_issues_shown, personal_data_visible_to
from catalog.services.label_review import MAX_DECISIONS
from config.api.schema import ProblemSerializer
from config.api.views import ProjectAPIView
from governance.permissions import user_reviews_dataset

DECISION_PARAMETER = OpenApiParameter(
    "decision",
    OpenApiTypes.STR,
    enum=[choice.value for choice in LabelIssueDecision],
    description="Only the rows with this decision.",
)
NOT_FOUND = OpenApiResponse(ProblemSerializer, description="No such version (for you).")
FORBIDDEN = OpenApiResponse(
    ProblemSerializer,
    description="Only the dataset's owners and stewards decide about its flagged rows; staff as such do not.",
)


def _version(request: Request, version_id: Any) -> DatasetVersion:
    return get_object_or_404(selectors.versions_visible_to(request.user).select_related("dataset"), pk=version_id)


class VersionLabelIssuesView(ProjectAPIView):
    serializer_class = LabelIssueSerializer
    queryset = LabelIssue.objects.none()  # for the schema; requests read the version's own
    query_parameters = {"get": ("decision",)}

    @extend_schema(
        summary="List the rows label quality flagged in a version",
        description="Every row the analysis flagged as likely mislabelled (up to 10,000 a version, the most likely "
        "first; `quality.label_issues.review` says how many were kept and whether that cut them), with its values, "
        "most confident suggestions first, and what its owners and stewards decided. Values of personal-data "
        "features (and a personal-data label's classes) are masked as in the sample, except for the dataset's "
        "owners and stewards.",
        parameters=[DECISION_PARAMETER],
        responses={200: LabelIssueSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request: Request, version_id: Any) -> Response:
        version = _version(request, version_id)
        issues = LabelIssue.objects.filter(version=version).order_by("-confidence", "rank")
        decision = request.query_params.get("decision")
        if decision is not None:
            if decision not in LabelIssueDecision.values:
                raise serializers.ValidationError(
                    {"decision": [f"{decision[:40]!r} is not a decision: {', '.join(LabelIssueDecision.values)}."]}
                )
            issues = issues.filter(decision=decision)
        page = self.paginate_queryset(issues)
        shows = personal_data_visible_to(user=request.user, dataset_id=version.dataset_id)
        rows = label_issues_shown(version, page or [], shows_personal=shows)
        return self.get_paginated_response(LabelIssueSerializer(rows, many=True).data)

    @extend_schema(
        summary="Confirm or dismiss flagged rows",
        description="A list of decisions, each about the flagged rows of one `row_hash`: `confirmed` with the "
        "corrected `label` (one of the label's classes), or `dismissed` (the label is right), with an optional "
        f"`note`; at most {MAX_DECISIONS:,} a request. All are made or none: a 400 names each entry that cannot "
        "be (`2.row_hash`, `0.label`). Each decision is in the change log, replaces an earlier one about the row "
        "in this version (or one carried from an earlier version), and is carried to later versions' rows of the "
        "same content. Only the dataset's owners and stewards decide (staff as such do not: the values are theirs to judge).",
        request=LabelIssueDecisionSerializer(many=True),
        responses={
            200: inline_serializer(
                "LabelIssuesDecided",
                {"decided": serializers.IntegerField(), "rows": LabelIssueSerializer(many=True)},
            ),
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def post(self, request: Request, version_id: Any) -> Response:
        version = _version(request, version_id)
        if not user_reviews_dataset(request.user, version.dataset_id):
            raise PermissionDenied(services.LabelReviewForbidden().args[0])
        if not isinstance(request.data, list):
            raise serializers.ValidationError(
                {
                    "non_field_errors": [
                        'Send a list of decisions: [{"row_hash": "…", "decision": "confirmed", "label": "…"}].'
                    ]
                }
            )
        payload = LabelIssueDecisionSerializer(
            data=request.data,
            many=True,
            min_length=1,  # type: ignore[call-arg]  # the ListSerializer's, which many=True makes
            max_length=MAX_DECISIONS,
        )
        payload.is_valid(raise_exception=True)
        decisions = [dict(item) for item in payload.validated_data]
        problems = services.decision_problems(version, decisions)
        if problems:
            raise serializers.ValidationError(problems)
        issues = services.label_issues_decide(actor=self.actor, version=version, decisions=decisions)
        shows = personal_data_visible_to(user=request.user, dataset_id=version.dataset_id)
        rows = label_issues_shown(version, issues, shows_personal=shows)
        return Response({"decided": len(issues), "rows": LabelIssueSerializer(rows, many=True).data})


# Cells a spreadsheet would run as a formula; a number such as -1 is left alone.
_FORMULA_STARTS = ("=", "+", "@", "\t", "\r")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    formula = text.startswith(_FORMULA_STARTS) or (text.startswith("-") and not _is_number(text))
    return "'" + text if formula else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


CORRECTION_COLUMNS = ("row", "row_hash", "given", "corrected", "decided_by", "decided_at", "carried_from", "note")


class VersionLabelCorrectionsView(ProjectAPIView):
    queryset = LabelIssue.objects.none()  # for the schema
    pagination_class = None

    @extend_schema(
        summary="The confirmed corrections of a version's labels, as CSV",
        description="One line per confirmed row, in the order of the source's flagged rows: "
        + ", ".join(f"`{name}`" for name in CORRECTION_COLUMNS)
        + ", for a labelling tool. Masked as the list of flagged rows is; a cell that a spreadsheet would take "
        "for a formula starts with an apostrophe.",
        responses={(200, "text/csv"): OpenApiTypes.STR, 404: NOT_FOUND},
    )
    def get(self, request: Request, version_id: Any) -> HttpResponse:
        version = _version(request, version_id)
        issues = LabelIssue.objects.filter(version=version, decision=LabelIssueDecision.CONFIRMED).order_by("rank")
        shows = personal_data_visible_to(user=request.user, dataset_id=version.dataset_id)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CORRECTION_COLUMNS)
        for row in label_issues_shown(version, issues, shows_personal=shows):
            decided_at = row["decided_at"].isoformat() if row["decided_at"] else ""
            writer.writerow(
                [
                    _cell(value)
                    for value in (
                        row["row"],
                        row["row_hash"],
                        row["given"],
                        row["label"],
                        row["decided_by"],
                        decided_at,
                        row["carried_from"],
                        row["note"],
                    )
                ]
            )
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="label-corrections-v{version.number}.csv"'
        return response
