from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import actions, helpers
from django.contrib.admin.utils import quote
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

# The admin is one of the catalog's doors: "View site" leads to the landing page, which links the others.
admin.site.site_header = "Training-data catalog"
admin.site.site_title = "Training-data catalog"
admin.site.index_title = "Administration"
admin.site.site_url = "/"


class CheckedActionsAdmin(admin.ModelAdmin):
    """An action on rows whose ids are not ids (a tampered form) is refused with a message; Django
    would take the filter's error for a server error."""

    def response_action(
        self, request: HttpRequest, queryset: QuerySet[Any], *args: Any, **kwargs: Any
    ) -> HttpResponse | None:
        for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
            try:
                self.opts.pk.to_python(value)
            except ValidationError:
                self.message_user(
                    request,
                    f"Nothing was done: {value[:40]!r} is not the id of a {self.opts.verbose_name}.",
                    messages.ERROR,
                )
                return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset, *args, **kwargs)


class ReadOnlyAdmin(CheckedActionsAdmin):
    """Records that are browsable in the admin and changed only by the services, or never."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ServiceDeleteAdmin(CheckedActionsAdmin):
    """Records whose `delete_model` and `delete_queryset` call the services, which check the removal
    and write the change log. What a service refuses (`refusals`: the last owner of a dataset, an
    owner removed by a steward) is shown as a message, and the admin's own log of the deletion is
    rolled back with it; a bulk deletion is all or nothing."""

    refusals: tuple[type[Exception], ...] = ()
    actions: Any = ("delete_selected",)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except self.refusals as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[quote(object_id)])
            )

    @admin.action(permissions=["delete"], description="Delete selected %(verbose_name_plural)s")
    def delete_selected(self, request: HttpRequest, queryset: QuerySet[Any]) -> HttpResponse | None:
        # Django's confirmation page, and on confirmation its deletion through delete_queryset.
        try:
            with transaction.atomic():
                return actions.delete_selected(self, request, queryset)
        except self.refusals as exc:
            self.message_user(request, f"Nothing was deleted: {exc}", messages.ERROR)
            return None
