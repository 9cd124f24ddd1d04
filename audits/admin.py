from django.contrib import admin
from django.utils.html import format_html
from django.utils.safestring import SafeString

from audits.report import audit_markdown
from catalog.cards.html import markdown_html
from config.admin import ReadOnlyAdmin
from governance.models import Audit


@admin.register(Audit)
class AuditAdmin(ReadOnlyAdmin):
    """Audit reports, to read: an audit is never edited; running it again makes a new one."""

    list_display = ("created_at", "created_by", "verdict", "blockers", "datasets_checked")
    list_filter = ("verdict",)
    list_select_related = ("created_by",)
    search_fields = ("id", "created_by__username")
    date_hierarchy = "created_at"
    fields = ("id", "created_at", "created_by", "rerun_of", "training_run", "verdict", "report")
    readonly_fields = fields

    @admin.display(description="Blockers")
    def blockers(self, audit: Audit) -> int:
        return audit.counts.get("blocker", 0)

    @admin.display(description="Datasets checked")
    def datasets_checked(self, audit: Audit) -> int:
        return audit.counts.get("datasets", 0)

    @admin.display(description="Report")
    def report(self, audit: Audit) -> SafeString:
        return format_html('<div class="audit-report">{}</div>', markdown_html(audit_markdown(audit)))
