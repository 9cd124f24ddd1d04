from django.contrib import admin

from config.admin import ReadOnlyAdmin
from lineage.models import ColumnLineage, DatasetAlias, Job, LineageEdge, LineageEvent, Run


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("namespace", "name", "job_type", "integration", "latest_run", "updated_at")
    list_filter = ("namespace", "job_type")
    search_fields = ("namespace", "name", "description")
    list_select_related = ("latest_run",)


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ("id", "job", "state", "started_at", "ended_at")
    list_filter = ("state",)
    search_fields = ("id", "job__namespace", "job__name")
    list_select_related = ("job",)
    date_hierarchy = "started_at"


@admin.register(LineageEdge)
class LineageEdgeAdmin(ReadOnlyAdmin):
    list_display = ("source", "target", "job", "origin", "run", "updated_at")
    list_filter = ("origin",)
    search_fields = ("source__name", "target__name", "job__name")
    list_select_related = ("source", "target", "job", "run")


@admin.register(ColumnLineage)
class ColumnLineageAdmin(ReadOnlyAdmin):
    list_display = ("output_dataset", "output_field", "input_dataset", "input_field", "transformation_type")
    search_fields = ("output_dataset__name", "output_field", "input_dataset__name", "input_field")
    list_select_related = ("output_dataset", "input_dataset")


@admin.register(DatasetAlias)
class DatasetAliasAdmin(ReadOnlyAdmin):
    list_display = ("namespace", "name", "dataset", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("namespace", "name", "dataset__name")
    list_select_related = ("dataset",)


@admin.register(LineageEvent)
class LineageEventAdmin(ReadOnlyAdmin):
    list_display = ("event_time", "kind", "event_type", "job_namespace", "job_name", "run_id", "received_at")
    list_filter = ("kind", "event_type")
    search_fields = ("job_namespace", "job_name", "run_id", "digest")
    date_hierarchy = "received_at"
