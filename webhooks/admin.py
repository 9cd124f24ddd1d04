from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest

from config import errors
from config.admin import ReadOnlyAdmin, ServiceDeleteAdmin
from webhooks import services
from webhooks.choices import Event
from webhooks.models import Webhook, WebhookDelivery


class WebhookForm(forms.ModelForm):
    events = forms.MultipleChoiceField(choices=Event.choices, widget=forms.CheckboxSelectMultiple)
    # Never rendered back: left empty on a change, the secret stays as it was.
    secret = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        required=False,
        max_length=256,
        strip=False,
        help_text="Signs every delivery. Left empty on a change, it stays as it was.",
    )

    class Meta:
        model = Webhook
        fields = ("url", "events", "secret", "active", "description")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.instance.pk and not cleaned.get("secret"):
            self.add_error("secret", "A new webhook needs a secret.")
        checks = {
            "url": services.webhook_url_check,
            "events": services.webhook_events_check,
            "secret": services.webhook_secret_check,
        }
        for name, check in checks.items():
            value = cleaned.get(name)
            if value and not (name == "url" and value == self.instance.url):
                try:
                    check(value)
                except errors.Invalid as exc:
                    self.add_error(name, str(exc))
        return cleaned


@admin.register(Webhook)
class WebhookAdmin(ServiceDeleteAdmin):
    form = WebhookForm
    list_display = ("url", "events", "active", "created_by", "created_at")
    list_filter = ("active",)
    search_fields = ("url", "description")
    list_select_related = ("created_by",)
    readonly_fields = ("created_by", "created_at", "updated_at")

    def save_model(self, request: HttpRequest, obj: Webhook, form: Any, change: bool) -> None:
        actor: User = request.user  # type: ignore[assignment]  # the admin has only signed-in staff
        data = form.cleaned_data
        fields = {
            "url": data["url"],
            "events": data["events"],
            "active": data.get("active", True),
            "description": data.get("description", ""),
        }
        if change:
            saved = services.webhook_update(
                actor=actor, webhook=Webhook.objects.get(pk=obj.pk), secret=data.get("secret") or None, **fields
            )
        else:
            saved = services.webhook_create(actor=actor, secret=data["secret"], **fields)
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: Webhook) -> None:
        services.webhook_delete(actor=request.user, webhook=obj)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Webhook]) -> None:
        for webhook in queryset:
            services.webhook_delete(actor=request.user, webhook=webhook)  # type: ignore[arg-type]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("event", "webhook", "status", "attempts", "response_code", "next_attempt_at", "created_at")
    list_filter = ("status", "event")
    search_fields = ("webhook__url", "event_id")
    list_select_related = ("webhook",)
    fields = (
        "webhook",
        "event",
        "event_id",
        "status",
        "attempts",
        "response_code",
        "response_excerpt",
        "error",
        "history",
        "next_attempt_at",
        "delivered_at",
        "created_at",
        "payload",
    )
    readonly_fields = fields
