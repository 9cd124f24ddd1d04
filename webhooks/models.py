"""Webhooks staff register, and each delivery of an event to one of them with every attempt made."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from webhooks.choices import DeliveryStatus, Event


class Webhook(models.Model):
    """A receiver told of the events it asked for, each delivery signed with its secret."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    url = models.CharField(max_length=2048, help_text="Where deliveries are POSTed.")
    events = models.JSONField(default=list, help_text="The events wanted, among webhooks.choices.Event.")
    # Kept as given: every delivery is signed with it (HMAC needs the secret itself). Never shown back.
    secret = models.CharField(max_length=256)
    active = models.BooleanField(default=True, help_text="Inactive webhooks are sent nothing new.")
    description = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event: str) -> bool:
        return self.active and event in (self.events or [])


class WebhookDelivery(models.Model):
    """One event for one webhook: the body sent (the same bytes at every attempt), and how it went."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40, choices=Event.choices)
    # The same for every webhook told of one event: receivers deduplicate by it.
    event_id = models.UUIDField(db_index=True)
    payload = models.JSONField(help_text='The body: {"event", "id", "created_at", "data"}.')
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.TextField(blank=True)
    # Each attempt: {"at", "response_code", "error", "duration_ms"}.
    history = models.JSONField(default=list)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker holding the delivery until then; another that finds it held leaves it alone.
    claimed_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook_id} ({self.status})"
