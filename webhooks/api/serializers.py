from django.contrib.auth.models import User
from rest_framework import serializers

from config.api.fields import StrictCharField
from config.api.serializers import StrictSerializer
from webhooks.choices import Event
from webhooks.models import Webhook, WebhookDelivery


class WebhookSerializer(serializers.ModelSerializer):
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    events = serializers.ListField(child=serializers.ChoiceField(choices=Event.choices), read_only=True)

    class Meta:
        model = Webhook
        # Never the secret: it is write-only.
        fields = ["id", "url", "events", "active", "description", "created_by", "created_at", "updated_at"]
        read_only_fields = fields


class WebhookWriteSerializer(StrictSerializer):
    representation = WebhookSerializer

    url = StrictCharField(
        max_length=2048,
        help_text="Where deliveries are POSTed: an https:// URL whose host resolves to public addresses "
        "(http:// and private addresses only with CATALOG_WEBHOOK_ALLOW_PRIVATE_URLS=1). No credentials in it; "
        "redirects are not followed.",
    )
    events = serializers.ListField(
        child=StrictCharField(max_length=64),
        max_length=len(Event.values),
        help_text=f"The events wanted: {', '.join(Event.values)}.",
    )
    secret = StrictCharField(
        max_length=256,
        write_only=True,
        trim_whitespace=False,
        help_text="Signs every delivery (`Catalog-Signature`); at least 16 characters. Write-only: never shown back.",
    )
    active = serializers.BooleanField(required=False, help_text="Inactive webhooks are sent nothing new.")
    description = StrictCharField(max_length=500, required=False, allow_blank=True)


class WebhookDeliverySerializer(serializers.ModelSerializer):
    webhook = serializers.UUIDField(source="webhook_id", read_only=True)
    history = serializers.ListField(
        child=serializers.DictField(),
        read_only=True,
        help_text='Each attempt: {"attempt", "at", "response_code", "error", "duration_ms"}.',
    )
    payload = serializers.DictField(read_only=True, help_text='The body sent: {"event", "id", "created_at", "data"}.')

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "webhook",
            "event",
            "event_id",
            "status",
            "attempts",
            "response_code",
            "response_excerpt",
            "error",
            "next_attempt_at",
            "delivered_at",
            "created_at",
            "updated_at",
            "history",
            "payload",
        ]
        read_only_fields = fields


class WebhookDeliveryPageSerializer(serializers.Serializer):
    """A page of deliveries, as every list of the API pages them."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = WebhookDeliverySerializer(many=True)

    class Meta:
        ref_name = "PaginatedWebhookDeliveryList"
