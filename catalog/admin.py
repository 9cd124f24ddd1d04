from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from catalog.models import Dataset, DatasetVersion, Feature, Tag
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
    )
    inlines = (FeatureInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[DatasetVersion]:
        return super().get_queryset(request).select_related("dataset")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)
