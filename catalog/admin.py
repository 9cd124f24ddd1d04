from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from catalog import services
from catalog.models import Dataset, DatasetVersion, DriftReport, Feature, Tag
from governance.models import Ownership


class OwnershipInline(admin.TabularInline):
    model = Ownership
    extra = 0
    autocomplete_fields = ("user", "group")


class VersionInline(admin.TabularInline):
    model = DatasetVersion
    extra = 0
    fields = ("number", "status", "format", "uri", "fingerprint", "size_bytes", "row_count", "created_at")
    readonly_fields = fields
    show_change_link = True
    can_delete = False
    ordering = ("-number",)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = (
        "namespace",
        "name",
        "license",
        "sensitivity",
        "lifecycle",
        "latest_version_number",
        "latest_version_status",
        "updated_at",
    )
    list_filter = ("sensitivity", "lifecycle", "latest_version__status", "namespace", "tags")
    search_fields = ("namespace", "name", "description")
    list_select_related = ("latest_version",)
    filter_horizontal = ("tags",)
    readonly_fields = ("id", "latest_version", "created_by", "created_at", "updated_at", "retired_at")
    inlines = (OwnershipInline, VersionInline)

    @admin.display(description="Latest version", ordering="latest_version__number")
    def latest_version_number(self, dataset: Dataset) -> int | None:
        return dataset.latest_version.number if dataset.latest_version else None

    @admin.display(description="Status", ordering="latest_version__status")
    def latest_version_status(self, dataset: Dataset) -> str:
        return dataset.latest_version.get_status_display() if dataset.latest_version else "no version"


class FeatureInline(admin.TabularInline):
    model = Feature
    extra = 0
    fields = ("position", "name", "dtype", "logical_type", "role", "pii", "description")
    readonly_fields = ("position", "name", "dtype", "logical_type")
    ordering = ("position",)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(DatasetVersion)
class DatasetVersionAdmin(admin.ModelAdmin):
    list_display = ("dataset", "number", "status", "format", "size_bytes", "row_count", "created_at")
    list_filter = ("status", "format")
    search_fields = ("dataset__namespace", "dataset__name", "uri", "fingerprint")
    list_select_related = ("dataset",)
    # A version is the bytes a model saw: where they came from is never edited here.
    readonly_fields = (
        "id",
        "dataset",
        "number",
        "uri",
        "format",
        "label_column",
        "status",
        "error",
        "fingerprint",
        "manifest",
        "size_bytes",
        "file_count",
        "row_count",
        "quality",
        "created_by",
        "created_at",
        "updated_at",
        "status_changed_at",
        "profile_attempts",
        "profiled_at",
        "splits",
        "unchanged_from",
        "deprecated_at",
        "deprecation_reason",
        "verified_at",
        "source_changed_at",
        "verification",
    )
    inlines = (FeatureInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[DatasetVersion]:
        return super().get_queryset(request).select_related("dataset")

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Feature:
            super().save_formset(request, form, formset, change)
            return
        # A person's edits to a feature are decisions: recorded as curated, so they carry over.
        formset.save(commit=False)  # what changed, for the admin's history; the service writes it
        for feature, changed_fields in formset.changed_objects:
            changed = [field for field in services.CURATED_FIELDS if field in changed_fields]
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
    readonly_fields = ("version", "against", "result", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)
