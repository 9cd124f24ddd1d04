"""The admin's webhook pages: written through the services (checked, in the change log), the secret never shown;
deliveries only read."""

import pytest
from django.urls import reverse

from governance.models import Change
from tests.factories import UserFactory
from tests.webhooks.conftest import SECRET
from webhooks import services
from webhooks.models import Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="ada-admin", is_staff=True, is_superuser=True))
    return client


def test_it_adds_a_webhook_through_the_service(admin_client, receiver):
    answer = admin_client.post(
        reverse("admin:webhooks_webhook_add"),
        {"url": receiver.url, "events": ["version.ready", "model.affected"], "secret": SECRET, "active": "on"},
    )

    assert answer.status_code == 302, answer.content.decode()[:2000]
    webhook = Webhook.objects.get()
    assert (webhook.events, webhook.secret) == (["version.ready", "model.affected"], SECRET)
    assert Change.objects.filter(object_type="webhook", action="create", actor_name="ada-admin").count() == 1


def test_it_refuses_a_private_url_and_a_short_secret(admin_client, settings):
    settings.CATALOG_WEBHOOK_ALLOW_PRIVATE_URLS = False

    answer = admin_client.post(
        reverse("admin:webhooks_webhook_add"),
        {"url": "https://[::ffff:127.0.0.1]/", "events": ["version.ready"], "secret": "short"},
    )

    assert answer.status_code == 200
    assert not Webhook.objects.exists()
    errors = answer.context["adminform"].form.errors
    assert set(errors) == {"url", "secret"}


def test_it_never_shows_the_secret_and_keeps_it_when_left_empty(admin_client, staff, receiver):
    webhook = services.webhook_create(actor=staff, url=receiver.url, events=["version.ready"], secret=SECRET)
    page = reverse("admin:webhooks_webhook_change", args=[webhook.pk])

    shown = admin_client.get(page)
    saved = admin_client.post(page, {"url": receiver.url, "events": ["audit.completed"], "secret": "", "active": "on"})

    assert SECRET not in shown.content.decode()
    assert saved.status_code == 302
    webhook.refresh_from_db()
    assert (webhook.events, webhook.secret) == (["audit.completed"], SECRET)


def test_it_shows_deliveries_read_only(admin_client, webhook, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = services.event_publish(event="version.ready", data={"x": 1})

    listed = admin_client.get(reverse("admin:webhooks_webhookdelivery_changelist"), {"q": "catalog"})
    detail = admin_client.get(reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk]))
    deleted = admin_client.post(reverse("admin:webhooks_webhookdelivery_delete", args=[delivery.pk]), {"post": "yes"})

    assert listed.status_code == 200
    assert "version.ready" in listed.content.decode()
    assert detail.status_code == 200
    assert SECRET not in detail.content.decode()
    assert deleted.status_code == 403
    assert WebhookDelivery.objects.filter(pk=delivery.pk).exists()
