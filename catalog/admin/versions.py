"""The admin's pages of versions, their features and drift reports, and tags."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import models
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from catalog import services
from catalog.choices import LabelIssueDecision
from catalog.models import CURATED_FIELDS, DatasetVersion, DriftReport, Feature, LabelIssue, Tag
from catalog.selectors import label_issues_shown, personal_data_visible_to
from catalog.templatetags.catalog_admin import json_block, shortened, wrapped
from governance.permissions import user_reviews_dataset
from profiler.pii import (
    aliased_paths,
    detected_kinds,
    label_aliases,
    masked_drift,
    masked_quality,
    masked_sample,
    masked_split_statistics,
)


class FeatureInline(admin.TabularInline):
    model = Feature
    extra = 0
    fields = ("position", "name", "dtype", "logical_type", "role", "pii", "description")
    readonly_fields = ("position", "name", "dtype", "logical_type")
    ordering = ("position",)
    # Features are what profiling found in the bytes: people curate them, never remove them.
    can_delete = False
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 30})}}

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(DatasetVersion)
class DatasetVersionAdmin(admin.ModelAdmin):
    list_display = ("dataset", "number", "status", "format", "size_bytes", "row_count", "created_at")
    list_filter = ("status", "format")
    search_fields = ("dataset__namespace", "dataset__name", "uri", "fingerprint")
    list_select_related = ("dataset",)
    # A version is the bytes a model saw: only its notes are edited here (through the service). The
    # rest is shown read-only, computed fields formatted; profile and quality only through
    # `profile_shown` and `quality_shown`, masked for whoever may not see personal data.
    fieldsets = (
        (None, {"fields": ("dataset", "number", "status", "error", "source", "format", "label_column", "task_type")}),
        ("How it is read", {"fields": ("splits_shown", "read_options_shown")}),
        ("The bytes", {"fields": ("fingerprint_shown", "size_bytes", "file_count", "row_count", "manifest_shown")}),
        (
            "Profile",
            {
                "fields": (
                    "quality_shown",
                    "label_review",
                    "profile_shown",
                    "unchanged_from",
                    "profiled_at",
                    "profile_attempts",
                    "status_changed_at",
                )
            },
        ),
        ("Re-hashing the source", {"fields": ("verified_at", "source_changed_at", "verification_shown")}),
        ("Notes", {"fields": ("notes", "deprecated_at", "deprecation_reason")}),
        ("Exports", {"fields": ("exports",)}),
        ("Record", {"fields": ("id", "created_by", "created_at", "updated_at")}),
    )
    readonly_fields = (
        "exports",
        "id",
        "dataset",
        "number",
        "status",
        "error",
        "source",
        "format",
        "label_column",
        "task_type",
        "splits_shown",
        "read_options_shown",
        "fingerprint_shown",
        "size_bytes",
        "file_count",
        "row_count",
        "manifest_shown",
        "quality_shown",
        "label_review",
        "profile_shown",
        "unchanged_from",
        "profiled_at",
        "profile_attempts",
        "status_changed_at",
        "verified_at",
        "source_changed_at",
        "verification_shown",
        "deprecated_at",
        "deprecation_reason",
        "created_by",
        "created_at",
        "updated_at",
    )
    inlines = (FeatureInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    # A version is never deleted: models were trained on it, audits name it, and its number is never
    # handed out again. A dataset goes as a whole (retired, then purged).
    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[DatasetVersion]:
        return super().get_queryset(request).select_related("dataset")

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        # Quality and profile are shown as this reader may see them: staff who neither own nor steward
        # the dataset get personal-data features masked, as the API masks them.
        version = super().get_object(request, object_id, from_field)
        if version is not None:
            version.reader_sees_personal_data = personal_data_visible_to(
                user=request.user, dataset_id=version.dataset_id
            )
        return version

    @staticmethod
    def _personal(version: DatasetVersion) -> dict[str, list[str]] | None:
        """The personal-data features to mask for this page's reader (decided from the flags now), or
        None when the reader may see them."""
        if getattr(version, "reader_sees_personal_data", False):
            return None
        return {
            feature.name: detected_kinds(feature.statistics)
            for feature in Feature.objects.filter(version=version, pii=True).only("name", "statistics")
        }

    @admin.display(description="Exports")
    def exports(self, version: DatasetVersion) -> SafeString:
        return format_html(
            '<a href="{}">SPDX 3.0.1 JSON-LD</a> (the version as a dataset package, with every file and its sha256)',
            reverse("version-spdx", kwargs={"version_id": version.pk}),
        )

    @admin.display(description="Source")
    def source(self, version: DatasetVersion) -> SafeString:
        return wrapped(version.uri)

    @admin.display(description="Fingerprint")
    def fingerprint_shown(self, version: DatasetVersion) -> SafeString:
        return wrapped(version.fingerprint or "not computed yet")

    @admin.display(description="Splits")
    def splits_shown(self, version: DatasetVersion) -> SafeString | str:
        return json_block(version.splits) if version.splits else "none: one set of rows"

    @admin.display(description="Read options")
    def read_options_shown(self, version: DatasetVersion) -> SafeString | str:
        return json_block(version.read_options) if version.read_options else "the defaults"

    @admin.display(description="Last re-hash")
    def verification_shown(self, version: DatasetVersion) -> SafeString | str:
        return json_block(version.verification) if version.verification else "not re-hashed yet"

    MANIFEST_ROWS = 100

    @admin.display(description="Manifest")
    def manifest_shown(self, version: DatasetVersion) -> SafeString | str:
        pii = self._personal(version)
        aliases = label_aliases(version.quality, pii) if pii is not None else {}
        entries = aliased_paths(version.manifest, aliases) or []
        if not entries:
            return "no files recorded yet"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (wrapped(entry.get("path")), entry.get("size", ""), shortened(entry.get("sha256"), 20))
                for entry in entries[: self.MANIFEST_ROWS]
            ),
        )
        more = len(entries) - self.MANIFEST_ROWS
        return format_html(
            '<table class="manifest"><thead><tr><th>file</th><th>bytes</th><th>sha256</th></tr></thead>'
            "<tbody>{}</tbody></table>{}",
            rows,
            format_html('<p class="help">and {} more file(s)</p>', more) if more > 0 else "",
        )

    @admin.display(description="Quality")
    def quality_shown(self, version: DatasetVersion) -> SafeString | str:
        pii = self._personal(version)
        quality = version.quality if pii is None else masked_quality(version.quality, set(pii))
        if not quality:
            return "not profiled yet"
        return json_block(quality, summary=f"{len(quality.get('findings') or [])} finding(s); the whole document")

    @admin.display(description="Flagged labels")
    def label_review(self, version: DatasetVersion) -> SafeString | str:
        counts = LabelIssue.objects.filter(version=version).aggregate(
            total=Count("id"), reviewed=Count("id", filter=~Q(decision=LabelIssueDecision.UNREVIEWED))
        )
        if not counts["total"]:
            return f"no flagged rows (label quality: {version.get_label_quality_status_display().lower()})"
        return format_html(
            '<a href="{}">Review the {} flagged row(s)</a> ({} reviewed)',
            reverse("admin:catalog_datasetversion_label_issues", args=[version.pk]),
            counts["total"],
            counts["reviewed"],
        )

    # --- The review of flagged rows: a page of its own, listing each row with its values, where the
    # dataset's owners and stewards confirm a row (choosing the corrected label) or dismiss it.

    REVIEW_PAGE_ROWS = 100

    def get_urls(self) -> list[URLPattern]:
        review = path(
            "<path:object_id>/label-issues/",
            self.admin_site.admin_view(self.label_issues_view),
            name="catalog_datasetversion_label_issues",
        )
        return [review, *super().get_urls()]

    def label_issues_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        version = self.get_object(request, object_id)
        if version is None:
            raise Http404("No such version.")
        if not self.has_view_permission(request, version):
            raise PermissionDenied
        reviews = user_reviews_dataset(request.user, version.dataset_id)
        here = reverse("admin:catalog_datasetversion_label_issues", args=[version.pk])
        decision = request.GET.get("decision") or ""
        if decision not in LabelIssueDecision.values:
            decision = ""
        if request.method == "POST":
            if not reviews:
                raise PermissionDenied
            item = {
                "row_hash": request.POST.get("row_hash", ""),
                "decision": request.POST.get("decision", ""),
                "note": request.POST.get("note", ""),
            }
            if item["decision"] == LabelIssueDecision.CONFIRMED:
                item["label"] = request.POST.get("label", "")
            try:
                issues = services.label_issues_decide(actor=request.user, version=version, decisions=[item])  # type: ignore[arg-type]
            except services.LabelDecisionsInvalid as exc:
                self.message_user(
                    request,
                    " ".join(message for messages_ in exc.problems.values() for message in messages_),
                    level=messages.ERROR,
                )
            else:
                verb = "confirmed" if item["decision"] == LabelIssueDecision.CONFIRMED else "dismissed"
                self.message_user(request, f"Row {', '.join(issue.row for issue in issues)} {verb}.", messages.SUCCESS)
            query = request.POST.get("return_query", "")
            return HttpResponseRedirect(here + (f"?{query}" if query.isascii() and "\n" not in query else ""))
        listed = LabelIssue.objects.filter(version=version).order_by("-confidence", "rank")
        if decision:
            listed = listed.filter(decision=decision)
        page = Paginator(listed, self.REVIEW_PAGE_ROWS).get_page(request.GET.get("page"))
        shows = bool(getattr(version, "reader_sees_personal_data", False))
        rows = label_issues_shown(version, page.object_list, shows_personal=shows)
        # The label's value is the given one, shown beside the suggestion; the other columns follow.
        label = (version.quality or {}).get("label_column") or version.label_column
        columns = [name for name in (rows[0]["values"] if rows else {}) if name != label]
        for row in rows:
            row["cells"] = [row["values"].get(name) for name in columns]
        counts = dict(LabelIssue.objects.filter(version=version).values_list("decision").annotate(count=Count("id")))
        return TemplateResponse(
            request,
            "admin/catalog/datasetversion/label_issues.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Flagged labels of {version}",
                "opts": self.opts,
                "version": version,
                "rows": rows,
                "columns": columns,
                "page": page,
                "decision": decision,
                "decisions": [("", "all", sum(counts.values()))]
                + [(value, label.lower(), counts.get(value, 0)) for value, label in LabelIssueDecision.choices],
                "classes": services.label_classes(version),
                "reviews": reviews,
                "summary": (version.quality or {}).get("label_issues") or {},
                "corrections_url": reverse("version-label-corrections", kwargs={"version_id": version.pk}),
                "change_url": reverse("admin:catalog_datasetversion_change", args=[version.pk]),
                "return_query": request.GET.urlencode(),
            },
        )

    @admin.display(description="Profile")
    def profile_shown(self, version: DatasetVersion) -> SafeString | str:
        profile = dict(version.profile or {})
        if not profile:
            return "not profiled yet"
        pii = self._personal(version)
        if pii is not None:
            quality = version.quality or {}
            label = quality.get("label_column")
            aliases = label_aliases(quality, pii)
            # Every feature's value counts, which drift reads: raw values, not for this reader.
            profile.pop("distributions", None)
            profile["sample"] = masked_sample(profile.get("sample"), pii, shown=False, aliases=aliases)
            profile["splits"] = masked_split_statistics(profile.get("splits") or {}, set(pii), label, aliases)
            profile = aliased_paths(profile, aliases)
        return json_block(profile, summary=", ".join(sorted(profile)))

    def save_model(self, request: HttpRequest, obj: DatasetVersion, form: Any, change: bool) -> None:
        # Only the notes are editable here; the service records the change.
        if "notes" in form.changed_data:
            services.version_update(actor=request.user, version=obj, notes=form.cleaned_data["notes"])  # type: ignore[arg-type]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Feature:
            super().save_formset(request, form, formset, change)
            return
        # A person's edits to a feature are decisions: recorded as curated, so they carry over.
        formset.save(commit=False)  # what changed, for the admin's history; the service writes it
        shows = personal_data_visible_to(user=request.user, dataset_id=form.instance.dataset_id)
        for feature, changed_fields in formset.changed_objects:
            changed = [field for field in CURATED_FIELDS if field in changed_fields]
            if "pii" in changed and not feature.pii and not shows:
                # A dismissal unmasks the values for every reader: the owners' and stewards' call only.
                changed.remove("pii")
                self.message_user(
                    request,
                    f"{feature.name}: only the dataset's owners and stewards may decide it is not personal data.",
                    level=messages.ERROR,
                )
            if changed:
                services.feature_curate(
                    actor=request.user,  # type: ignore[arg-type]  # the admin has only signed-in staff
                    feature=feature,
                    **{field: getattr(feature, field) for field in changed},
                )


@admin.register(DriftReport)
class DriftReportAdmin(admin.ModelAdmin):
    list_display = ("version", "against", "created_at")
    list_select_related = ("version__dataset", "against__dataset")
    readonly_fields = ("version", "against", "result_shown", "created_at")
    exclude = ("result",)  # shown through `result_shown`, without what this reader may not see

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        # Personal-data features of a version this reader may not see unmasked are left out, as in the API.
        report = super().get_object(request, object_id, from_field)
        if report is not None:
            withheld: set[str] = set()
            for version in (report.version, report.against):
                if not personal_data_visible_to(user=request.user, dataset_id=version.dataset_id):
                    withheld |= set(Feature.objects.filter(version=version, pii=True).values_list("name", flat=True))
            report.withheld_features = withheld
        return report

    @admin.display(description="Result")
    def result_shown(self, report: DriftReport) -> SafeString:
        withheld = getattr(report, "withheld_features", None)
        if withheld is None:  # not read through this page's get_object: leave every feature out
            withheld = {entry.get("name") for entry in report.result.get("features") or []}
        return json_block(masked_drift(report.result, withheld))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    # Drift reports are computed, and kept: whoever compared two versions may come back to the answer.
    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    """Tags to choose from on a dataset's page. A tag is added here, unattached; renaming or deleting
    one would change every dataset carrying it behind the change log, so neither is done here."""

    list_display = ("name",)
    search_fields = ("name",)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
