"""Models and training runs in the admin: browsable, read-mostly. Changes go through the services
(the API, or the confirm action here), so each is checked and written to the change log."""

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from catalog.templatetags.catalog_admin import shortened, wrapped
from config.admin import ReadOnlyAdmin
from governance.models import Audit
from training import selectors, services
from training.choices import RunStatus
from training.impact import model_findings
from training.models import Model, TrainingRun

# Rows of a table of hyperparameters or metrics shown at most; the whole document is on the API.
TABLE_ROWS = 200


def _value_shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def key_value_table(values: dict[str, Any], *, empty: str) -> SafeString | str:
    """A JSON object as a two-column table: each key, and its value (nested values as JSON)."""
    if not values:
        return empty
    items = list(values.items())
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td></tr>",
        ((wrapped(key), wrapped(_value_shown(value))) for key, value in items[:TABLE_ROWS]),
    )
    more = len(items) - TABLE_ROWS
    return format_html(
        '<table class="key-values"><thead><tr><th>name</th><th>value</th></tr></thead><tbody>{}</tbody></table>{}',
        rows,
        format_html('<p class="help">and {} more</p>', more) if more > 0 else "",
    )


def _latest_audit(field: str) -> Subquery:
    return Subquery(Audit.objects.filter(training_run=OuterRef("pk")).order_by("-created_at").values(field)[:1])


def _latest_run(field: str) -> Subquery:
    runs = TrainingRun.objects.filter(model=OuterRef("pk"), confirmed=True)
    return Subquery(selectors.latest_first(runs).values(field)[:1])


@admin.register(Model)
class ModelAdmin(ReadOnlyAdmin):
    list_display = ("identity", "owners_shown", "latest_run_shown", "created_by", "created_at")
    search_fields = ("namespace", "name", "description")
    list_filter = ("namespace",)
    list_select_related = ("created_by",)
    fields = (
        "namespace",
        "name",
        "description",
        "tags",
        "owners_shown",
        "runs_shown",
        "findings_shown",
        "exports",
        "created_by",
        "created_at",
    )
    readonly_fields = fields

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Model | None:
        model = super().get_object(request, object_id, from_field)
        if model is not None:
            # Computed for the reader when the page is read, as GET /api/v1/models/{id}/ does.
            model.findings = model_findings(model, request.user)
        return model

    @admin.display(description="Exports")
    def exports(self, model: Model) -> SafeString:
        url = reverse("model-training-content-summary", kwargs={"pk": model.pk})
        summary = format_html(
            '<a href="{}?format=markdown">Public summary of training content</a> (EU AI Act, Article 53(1)(d); '
            '<a href="{}">as JSON</a>), from its latest completed run',
            url,
            url,
        )
        # The run the summary is of: the latest completed, confirmed one.
        completed = TrainingRun.objects.filter(model=model, confirmed=True, status=RunStatus.COMPLETED)
        run = selectors.latest_first(completed).values_list("pk", flat=True).first()
        if run is None:
            return format_html("{}<br>SPDX 3.0.1 JSON-LD: no completed run yet", summary)
        return format_html(
            '{}<br><a href="{}">SPDX 3.0.1 JSON-LD</a> of that run (the model as an AI package, trained on the '
            "dataset packages of its inputs)",
            summary,
            reverse("training-run-spdx", kwargs={"pk": run}),
        )

    @admin.display(description="Findings on its latest confirmed run")
    def findings_shown(self, model: Model) -> SafeString | str:
        findings = getattr(model, "findings", [])
        if not findings:
            return "none"
        return format_html(
            "<table><thead><tr><th>severity</th><th>code</th><th>what</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                ((item["severity"], item["code"], wrapped(item["message"])) for item in findings),
            ),
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Model]:
        return (
            super()
            .get_queryset(request)
            .prefetch_related("ownerships__user", "ownerships__group")
            .annotate(
                latest_run_id=_latest_run("id"),
                latest_run_label=_latest_run("model_version"),
                latest_run_status=_latest_run("status"),
            )
        )

    @admin.display(description="Model", ordering="name")
    def identity(self, model: Model) -> SafeString:
        return format_html('<span class="wrapped">{}/<strong>{}</strong></span>', model.namespace, model.name)

    @admin.display(description="Owners")
    def owners_shown(self, model: Model) -> str:
        return ", ".join(f"{ownership.principal_name} ({ownership.role})" for ownership in model.ownerships.all())

    @admin.display(description="Latest confirmed run")
    def latest_run_shown(self, model: Model) -> SafeString | str:
        run_id = getattr(model, "latest_run_id", None)
        if run_id is None:
            return "none"
        url = reverse("admin:training_trainingrun_change", args=[run_id])
        return format_html('<a href="{}">{} {}</a>', url, model.latest_run_label or "run", model.latest_run_status)  # type: ignore[attr-defined]

    @admin.display(description="Runs, latest first")
    def runs_shown(self, model: Model) -> SafeString | str:
        runs = selectors.model_runs(model)
        if not runs:
            return "none recorded"
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:training_trainingrun_change", args=[run.pk]),
                    run.model_version or str(run.pk)[:8],
                    run.status,
                    run.started_at or "",
                    run.source,
                    "yes" if run.confirmed else "no: waits for the owners",
                )
                for run in runs
            ),
        )
        return format_html(
            "<table><thead><tr><th>version</th><th>status</th><th>started</th><th>source</th><th>confirmed</th>"
            '</tr></thead><tbody>{}</tbody></table><p class="help"><a href="{}?model__id__exact={}">every run</a></p>',
            rows,
            reverse("admin:training_trainingrun_changelist"),
            model.pk,
        )


@admin.register(TrainingRun)
class TrainingRunAdmin(ReadOnlyAdmin):
    # Few columns, the model's name and version wrapped in one: the list fits a 1,366 px screen with
    # long names (when it was recorded is the date hierarchy above the list).
    list_display = ("model_shown", "status", "source", "confirmed", "audit_verdict", "started_at")
    list_filter = ("status", "source", "confirmed")
    search_fields = ("model__namespace", "model__name", "model_version", "external_id")
    list_select_related = ("model", "created_by")
    date_hierarchy = "created_at"
    actions = ["confirm"]
    fields = (
        "model",
        "model_version",
        "status",
        "confirmed",
        "audit_shown",
        "started_at",
        "ended_at",
        "code_shown",
        "inputs_shown",
        "unmatched_inputs_shown",
        "hyperparameters_shown",
        "metrics_shown",
        "environment_shown",
        "artifacts_shown",
        "exports",
        "purpose",
        "source",
        "external_id",
        "lineage_run",
        "verification_status",
        "created_by",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[TrainingRun]:
        return (
            super()
            .get_queryset(request)
            .annotate(latest_audit_id=_latest_audit("id"), latest_audit_verdict=_latest_audit("verdict"))
        )

    @admin.display(description="Model and version", ordering="model__name")
    def model_shown(self, run: TrainingRun) -> SafeString:
        model = run.model
        version = format_html("<br>{}", wrapped(run.model_version)) if run.model_version else ""
        return format_html(
            '<span class="wrapped">{}/<strong>{}</strong></span>{}', model.namespace, model.name, version
        )

    @admin.display(description="Audit")
    def audit_verdict(self, run: TrainingRun) -> str:
        return getattr(run, "latest_audit_verdict", None) or "-"

    @admin.display(description="Latest audit")
    def audit_shown(self, run: TrainingRun) -> SafeString | str:
        audit_id = getattr(run, "latest_audit_id", None)
        if audit_id is None:
            return "not audited"
        url = reverse("admin:governance_audit_change", args=[audit_id])
        return format_html('<a href="{}">{}</a>', url, run.latest_audit_verdict)  # type: ignore[attr-defined]

    @admin.display(description="Code")
    def code_shown(self, run: TrainingRun) -> SafeString | str:
        if not (run.code_repository or run.code_commit or run.code_entrypoint):
            return "not stated"
        return format_html(
            "{} @ {}<br>{}", wrapped(run.code_repository), shortened(run.code_commit, 16), wrapped(run.code_entrypoint)
        )

    @admin.display(description="Inputs")
    def inputs_shown(self, run: TrainingRun) -> SafeString | str:
        inputs = list(run.inputs.order_by("position"))
        if not inputs:
            return "none"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    item.role,
                    item.dataset_label,
                    format_html(
                        '<a href="{}">version {}</a>',
                        reverse("admin:catalog_datasetversion_change", args=[item.version_id]),
                        item.version_number,
                    )
                    if item.version_id is not None
                    else f"version {item.version_number} (purged)",
                    shortened(item.fingerprint, 24),
                    "pinned" if item.pinned else "latest ready, resolved",
                )
                for item in inputs
            ),
        )
        return format_html(
            "<table><thead><tr><th>role</th><th>dataset</th><th>version</th><th>fingerprint</th><th>named</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="Unmatched inputs")
    def unmatched_inputs_shown(self, run: TrainingRun) -> SafeString | str:
        if not run.unmatched_inputs:
            return "none"
        return format_html_join("", "<p>{}</p>", ((wrapped(_value_shown(item)),) for item in run.unmatched_inputs))

    @admin.display(description="Hyperparameters")
    def hyperparameters_shown(self, run: TrainingRun) -> SafeString | str:
        return key_value_table(run.hyperparameters, empty="none recorded")

    @admin.display(description="Metrics")
    def metrics_shown(self, run: TrainingRun) -> SafeString | str:
        return key_value_table(run.metrics, empty="none recorded")

    @admin.display(description="Environment")
    def environment_shown(self, run: TrainingRun) -> SafeString | str:
        return key_value_table(run.environment, empty="not stated")

    @admin.display(description="Artifacts")
    def artifacts_shown(self, run: TrainingRun) -> SafeString | str:
        artifacts = list(run.artifacts.all())
        if not artifacts:
            return "none"
        return format_html_join(
            "",
            "<p>{} {} {}</p>",
            (
                (wrapped(item.uri), shortened(item.sha256, 16), item.size if item.size is not None else "")
                for item in artifacts
            ),
        )

    @admin.display(description="Exports")
    def exports(self, run: TrainingRun) -> SafeString:
        return format_html(
            '<a href="{}">SPDX 3.0.1 JSON-LD</a> (the model as an AI package, trained on the dataset packages of '
            "its inputs)",
            reverse("training-run-spdx", kwargs={"pk": run.pk}),
        )

    @admin.action(description="Confirm the selected reported runs (each may then be its model's latest)")
    def confirm(self, request: HttpRequest, queryset: QuerySet[TrainingRun]) -> None:
        runs = list(queryset.filter(confirmed=False))
        for run in runs:
            services.training_run_confirm(actor=request.user, run=run)  # type: ignore[arg-type]
        self.message_user(request, f"{len(runs)} run(s) confirmed.", messages.SUCCESS)
