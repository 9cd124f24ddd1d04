"""Deliveries to a real receiver on loopback: signed, recorded attempt by attempt, retried only when it may pass."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.webhooks.conftest import SECRET
from tests.webhooks.receiver import Receiver
from webhooks import services, tasks
from webhooks.delivery import _excerpt, delivery_attempt
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db


def publish(capture, event="version.ready", data=None):
    with capture(execute=True):
        return services.event_publish(event=event, data=data or {"dataset": {"id": "d"}})


def due_again(delivery):
    """Let the next attempt of a delivery that failed be made now (the in-process tests wait for no countdown)."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def test_it_posts_a_signed_body_the_receiver_verifies(webhook, receiver, django_capture_on_commit_callbacks):
    [delivery] = publish(django_capture_on_commit_callbacks, data={"dataset": {"id": "d1", "name": "penguins"}})

    [received] = receiver.received
    assert received.verified
    assert received.path == "/hooks/catalog"
    assert received.json == {
        "event": "version.ready",
        "id": str(delivery.event_id),
        "created_at": received.json["created_at"],
        "data": {"dataset": {"id": "d1", "name": "penguins"}},
    }
    assert received.json["created_at"].endswith("Z")
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["Catalog-Event"] == "version.ready"
    assert received.headers["Catalog-Delivery"] == str(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 1, 200)
    assert delivery.delivered_at is not None
    assert delivery.history[0]["response_code"] == 200
    assert len(delivery.response_excerpt) == 1000  # the answer, cut


def test_it_tells_only_the_active_webhooks_that_asked_for_the_event(
    staff, receiver, django_capture_on_commit_callbacks
):
    wanted = services.webhook_create(actor=staff, url=receiver.url, events=["audit.completed"], secret=SECRET)
    services.webhook_create(actor=staff, url=receiver.url, events=["version.ready"], secret=SECRET)
    services.webhook_create(actor=staff, url=receiver.url, events=["audit.completed"], secret=SECRET, active=False)

    deliveries = publish(django_capture_on_commit_callbacks, event="audit.completed")

    assert [delivery.webhook_id for delivery in deliveries] == [wanted.pk]
    assert len(receiver.received) == 1


def test_it_sends_the_same_event_id_to_every_webhook(staff, receiver, django_capture_on_commit_callbacks):
    for _ in range(2):
        services.webhook_create(actor=staff, url=receiver.url, events=["version.failed"], secret=SECRET)

    deliveries = publish(django_capture_on_commit_callbacks, event="version.failed")

    assert len({delivery.event_id for delivery in deliveries}) == 1
    assert len({item.json["id"] for item in receiver.received}) == 1
    assert len(receiver.received) == 2


def test_it_retries_a_5xx_and_records_every_attempt(webhook, receiver, django_capture_on_commit_callbacks):
    receiver.statuses = [500, 503]
    [delivery] = publish(django_capture_on_commit_callbacks)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 1, 500)
    assert delivery.next_attempt_at > timezone.now() - timedelta(seconds=1)

    for _ in range(2):
        due_again(delivery)
        tasks.webhook_deliver_task(str(delivery.pk))

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 3, 200)
    assert [attempt["response_code"] for attempt in delivery.history] == [500, 503, 200]
    assert [item.answered for item in receiver.received] == [500, 503, 200]
    # Each attempt is signed anew, over the same bytes.
    assert len({item.body for item in receiver.received}) == 1
    assert all(item.verified for item in receiver.received)


def test_it_gives_up_after_the_last_attempt(webhook, receiver, django_capture_on_commit_callbacks):
    receiver.default = 502
    [delivery] = publish(django_capture_on_commit_callbacks)
    for _ in range(2):
        due_again(delivery)
        tasks.webhook_deliver_task(str(delivery.pk))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 3, 502)
    assert delivery.next_attempt_at is None

    due_again(delivery)
    tasks.webhook_deliver_task(str(delivery.pk))  # a stray message for a failed delivery sends nothing
    assert len(receiver.received) == 3  # CATALOG_WEBHOOK_MAX_ATTEMPTS


@pytest.mark.parametrize(
    ("status", "final"), [(404, "failed"), (410, "failed"), (301, "failed"), (429, "pending"), (408, "pending")]
)
def test_it_takes_a_4xx_as_final_but_408_and_429(webhook, receiver, django_capture_on_commit_callbacks, status, final):
    receiver.statuses = [status]
    [delivery] = publish(django_capture_on_commit_callbacks)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_code) == (final, status)
    assert str(status) in delivery.error


def test_it_retries_a_receiver_that_cannot_be_reached(staff, private_receivers, django_capture_on_commit_callbacks):
    with Receiver(secret=SECRET) as gone:
        url = gone.url
    services.webhook_create(actor=staff, url=url, events=["version.ready"], secret=SECRET)

    [delivery] = publish(django_capture_on_commit_callbacks)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("pending", 1, None)
    assert "Could not connect" in delivery.error


def test_it_refuses_at_delivery_a_url_that_became_private(
    webhook, receiver, settings, django_capture_on_commit_callbacks
):
    settings.CATALOG_WEBHOOK_ALLOW_PRIVATE_URLS = False

    [delivery] = publish(django_capture_on_commit_callbacks)

    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert "https://" in delivery.error or "private" in delivery.error
    assert receiver.received == []


def test_it_sends_nothing_to_a_webhook_made_inactive(webhook, receiver, staff, django_capture_on_commit_callbacks):
    receiver.statuses = [500]
    [delivery] = publish(django_capture_on_commit_callbacks)
    services.webhook_update(actor=staff, webhook=webhook, active=False)
    due_again(delivery)

    tasks.webhook_deliver_task(str(delivery.pk))

    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert "inactive" in delivery.error
    assert len(receiver.received) == 1


def test_it_signs_with_the_new_secret_once_it_is_changed(webhook, receiver, staff, django_capture_on_commit_callbacks):
    receiver.statuses = [500]
    [delivery] = publish(django_capture_on_commit_callbacks)
    services.webhook_update(actor=staff, webhook=webhook, secret="a-brand-new-secret-0001")
    receiver.secret = "a-brand-new-secret-0001"
    due_again(delivery)

    tasks.webhook_deliver_task(str(delivery.pk))

    assert [item.verified for item in receiver.received] == [True, True]


def test_it_never_sends_one_delivery_twice_at_once(webhook, receiver, django_capture_on_commit_callbacks):
    receiver.statuses = [500]
    [delivery] = publish(django_capture_on_commit_callbacks)
    due_again(delivery)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(claimed_until=timezone.now() + timedelta(minutes=1))

    assert delivery_attempt(delivery_id=delivery.pk) is None  # held by another worker
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        claimed_until=None, next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    assert delivery_attempt(delivery_id=delivery.pk) is None  # not due yet
    assert len(receiver.received) == 1


def test_the_sweep_sends_the_deliveries_past_due(webhook, receiver, django_capture_on_commit_callbacks):
    receiver.statuses = [500]
    [delivery] = publish(django_capture_on_commit_callbacks)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))

    assert tasks.webhook_deliveries_due_task() == 1

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    assert tasks.webhook_deliveries_due_task() == 0


def test_it_keeps_of_an_answer_a_cut_excerpt_postgresql_can_store():
    assert _excerpt(b"ok\x00\xff" + b"x" * 5000) == "ok\ufffd" + "x" * 997


def test_it_stops_a_delivery_whose_webhook_was_removed(webhook, receiver, staff, django_capture_on_commit_callbacks):
    receiver.statuses = [500]
    [delivery] = publish(django_capture_on_commit_callbacks)
    services.webhook_delete(actor=staff, webhook=webhook)

    assert delivery_attempt(delivery_id=delivery.pk) is None
    assert len(receiver.received) == 1


def test_it_writes_ids_and_times_in_the_body_as_the_api_does(webhook, receiver, django_capture_on_commit_callbacks):
    moment = timezone.now()

    publish(django_capture_on_commit_callbacks, data={"id": webhook.pk, "at": moment})

    at = receiver.received[0].json["data"]["at"]
    assert receiver.received[0].json["data"] == {"id": str(webhook.pk), "at": at}
    assert at == moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
