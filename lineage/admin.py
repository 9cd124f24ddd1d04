from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from config.admin import ReadOnlyAdmin
from lineage import services
from lineage.choices import EdgeStatus
from lineage.models import ColumnLineage, DatasetAlias, Job, LineageEdge, LineageEvent, Run, TrustedProducer


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("namespace", "name", "job_type", "integration", "owner", "latest_run", "updated_at")
    list_filter = ("namespace", "job_type")
    search_fields = ("namespace", "name", "description")
    list_select_related = ("latest_run", "owner")


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ("id", "job", "state", "started_at", "ended_at")
    list_filter = ("state",)
    search_fields = ("id", "job__namespace", "job__name")
    list_select_related = ("job",)
    date_hierarchy = "started_at"


@admin.register(LineageEdge)
class LineageEdgeAdmin(ReadOnlyAdmin):
    list_display = ("source", "target", "job", "origin", "status", "created_by", "run", "updated_at")
    list_filter = ("origin", "status")
    search_fields = ("source__name", "target__name", "job__name")
    list_select_related = ("source", "target", "job", "run", "created_by")
    actions = ["confirm", "reject"]

    # The admin is staff's: they confirm or reject for owners who cannot, through the same services
    # (and so the same change-log entries) as the API.
    @admin.action(description="Confirm the selected unconfirmed edges (audits follow them)")
    def confirm(self, request: HttpRequest, queryset: QuerySet[LineageEdge]) -> None:
        edges = list(queryset.filter(status=EdgeStatus.UNCONFIRMED).select_related("job"))
        for edge in edges:
            services.edge_confirm(actor=request.user, edge=edge)  # type: ignore[arg-type]
        self.message_user(request, f"{len(edges)} edge(s) confirmed.", messages.SUCCESS)

    @admin.action(description="Reject (remove) the selected unconfirmed edges")
    def reject(self, request: HttpRequest, queryset: QuerySet[LineageEdge]) -> None:
        edges = list(queryset.filter(status=EdgeStatus.UNCONFIRMED).select_related("job"))
        for edge in edges:
            services.edge_reject(actor=request.user, edge=edge)  # type: ignore[arg-type]
        self.message_user(request, f"{len(edges)} edge(s) rejected.", messages.SUCCESS)


@admin.register(ColumnLineage)
class ColumnLineageAdmin(ReadOnlyAdmin):
    list_display = (
        "output_dataset",
        "output_field",
        "input_dataset",
        "input_field",
        "transformation_type",
        "status",
    )
    list_filter = ("status",)
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


@admin.register(TrustedProducer)
class TrustedProducerAdmin(ReadOnlyAdmin):
    list_display = ("dataset", "group", "created_by", "created_at")
    search_fields = ("dataset__namespace", "dataset__name", "group__name")
    list_select_related = ("dataset", "group", "created_by")
