"""Webhooks: registering receivers (staff), and publishing an event to those that asked for it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from config import errors
from governance.choices import ChangeAction, ObjectType
from governance.services import change_record, changed_values
from webhooks import tasks, transport
from webhooks.choices import DeliveryStatus, Event
from webhooks.models import Webhook, WebhookDelivery

MIN_SECRET_LENGTH = 16


class WebhookUrlInvalid(errors.Invalid):
    field = "url"


class WebhookEventsInvalid(errors.Invalid):
    field = "events"


class WebhookSecretInvalid(errors.Invalid):
    field = "secret"


def webhook_url_check(url: str) -> str:
    """The URL, once it may receive deliveries: https (http too with CATALOG_WEBHOOK_ALLOW_PRIVATE_URLS), no
    credentials, a host that resolves to public addresses only (unless private ones are allowed)."""
    try:
        transport.url_vet(url, allow_private=settings.CATALOG_WEBHOOK_ALLOW_PRIVATE_URLS)
    except (transport.UrlRefused, transport.DeliveryError) as exc:
        raise WebhookUrlInvalid(str(exc)) from None
    return url


def webhook_events_check(events: Sequence[str]) -> list[str]:
    known = list(Event.values)
    if not events:
        raise WebhookEventsInvalid(f"Name at least one event: {', '.join(known)}.")
    unknown = [event for event in events if event not in known]
    if unknown:
        raise WebhookEventsInvalid(
            f"Unknown event {', '.join(repr(event)[:80] for event in unknown[:5])}; the events are {', '.join(known)}."
        )
    return list(dict.fromkeys(events))


def webhook_secret_check(secret: str) -> str:
    if len(secret) < MIN_SECRET_LENGTH or not secret.isprintable() or not secret.isascii():
        raise WebhookSecretInvalid(
            f"A secret is at least {MIN_SECRET_LENGTH} printable ASCII characters; a random one of 32 or more is best."
        )
    return secret


def _recorded(webhook: Webhook) -> dict[str, Any]:
    # The change log shows the receiver without the URL's query (it may carry a token) and never the secret.
    return {
        "url": transport.shown(webhook.url),
        "events": list(webhook.events),
        "active": webhook.active,
        "description": webhook.description,
    }


def webhook_create(
    *, actor: User, url: str, events: Sequence[str], secret: str, active: bool = True, description: str = ""
) -> Webhook:
    """Register a receiver for the events named; deliveries are signed with the secret."""
    webhook = Webhook(
        url=webhook_url_check(url),
        events=webhook_events_check(events),
        secret=webhook_secret_check(secret),
        active=active,
        description=description,
        created_by=actor,
    )
    with transaction.atomic():
        webhook.save()
        change_record(
            actor=actor,
            action=ChangeAction.CREATE,
            object_type=ObjectType.WEBHOOK,
            object_id=webhook.pk,
            after=_recorded(webhook),
            object_repr=transport.shown(webhook.url),
        )
    return webhook


def webhook_update(
    *,
    actor: User,
    webhook: Webhook,
    url: str | None = None,
    events: Sequence[str] | None = None,
    secret: str | None = None,
    active: bool | None = None,
    description: str | None = None,
) -> Webhook:
    """Change what is given; what is left out stays. A new secret signs the deliveries attempted from then on."""
    with transaction.atomic():
        locked = Webhook.objects.select_for_update().get(pk=webhook.pk)
        before = _recorded(locked)
        if url is not None:
            locked.url = webhook_url_check(url)
        if events is not None:
            locked.events = webhook_events_check(events)
        if active is not None:
            locked.active = active
        if description is not None:
            locked.description = description
        secret_changed = secret is not None and secret != locked.secret
        if secret is not None:
            locked.secret = webhook_secret_check(secret)
        old, new = changed_values(before, _recorded(locked))
        if secret_changed:
            old["secret"], new["secret"] = "(hidden)", "(changed)"
        if new:
            locked.save()
            change_record(
                actor=actor,
                action=ChangeAction.UPDATE,
                object_type=ObjectType.WEBHOOK,
                object_id=locked.pk,
                before=old,
                after=new,
                object_repr=transport.shown(locked.url),
            )
    return locked


def webhook_delete(*, actor: User, webhook: Webhook) -> None:
    """Remove the receiver and its deliveries' records; a delivery under way finds it gone and stops."""
    with transaction.atomic():
        change_record(
            actor=actor,
            action=ChangeAction.DELETE,
            object_type=ObjectType.WEBHOOK,
            object_id=webhook.pk,
            before=_recorded(webhook),
            object_repr=transport.shown(webhook.url),
        )
        webhook.delete()


def event_publish(*, event: str, data: Mapping[str, Any]) -> list[WebhookDelivery]:
    """Tell every active webhook that asked for the event: one delivery each, sent after the current
    transaction commits. The body is `{"event", "id", "created_at", "data"}`, `id` the same for all."""
    if event not in Event.values:
        raise ValueError(f"Unknown event {event!r}")
    wanted = [
        webhook
        for webhook in Webhook.objects.filter(active=True).only("id", "events", "active")
        if webhook.wants(event)
    ]
    if not wanted:
        return []
    event_id = uuid.uuid4()
    now = timezone.now()
    payload = {
        "event": event,
        "id": str(event_id),
        "created_at": now.isoformat().replace("+00:00", "Z"),
        # Ids and times as the API writes them, whatever the receiver handed over.
        "data": json.loads(json.dumps(dict(data), cls=DjangoJSONEncoder)),
    }
    with transaction.atomic():
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    webhook_id=webhook.pk,
                    event=event,
                    event_id=event_id,
                    payload=payload,
                    status=DeliveryStatus.PENDING,
                    next_attempt_at=now,
                )
                for webhook in wanted
            ]
        )
        for delivery in deliveries:
            tasks.webhook_delivery_enqueue(delivery_id=delivery.pk)
    return deliveries
