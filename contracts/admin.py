"""Contracts in the admin: every saved version, browsable and read-only. A contract is saved through
the API (`contracts.services.contract_save`), which checks it and writes the change log."""

import json

from django.contrib import admin
from django.utils.html import format_html

from config.admin import ReadOnlyAdmin
from contracts.models import ContractVersion


@admin.register(ContractVersion)
class ContractVersionAdmin(ReadOnlyAdmin):
    list_display = ("dataset", "number", "enforcement", "features_count", "created_by", "created_at")
    list_filter = ("enforcement",)
    search_fields = ("dataset__namespace", "dataset__name")
    list_select_related = ("dataset", "created_by")
    fields = ("dataset", "number", "enforcement", "created_by", "created_at", "document_shown")
    readonly_fields = fields

    @admin.display(description="features")
    def features_count(self, contract: ContractVersion) -> int:
        return len(contract.document.get("features") or [])

    @admin.display(description="contract")
    def document_shown(self, contract: ContractVersion) -> str:
        return format_html("<pre>{}</pre>", json.dumps(contract.document, indent=2, ensure_ascii=False))
