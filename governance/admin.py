from django.contrib import admin

from governance.models import Ownership


@admin.register(Ownership)
class OwnershipAdmin(admin.ModelAdmin):
    list_display = ("dataset", "user", "group", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("dataset__namespace", "dataset__name", "user__username", "group__name")
    list_select_related = ("dataset", "user", "group")
    autocomplete_fields = ("dataset", "user", "group")
