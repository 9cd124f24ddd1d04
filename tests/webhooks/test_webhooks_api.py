"""/api/v1/webhooks/: staff register receivers; no one else may list, read, change or remove them, or see
their deliveries; the secret is never shown back; every write is in the change log; bad input is a 400."""

import json

import pytest

from governance.models import Change
from tests.hostile import deep
from tests.webhooks.conftest import SECRET
from webhooks import services
from webhooks.models import Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db

HOOKS = "/api/v1/webhooks/"


def body(receiver, **fields):
    return {"url": receiver.url, "events": ["version.ready", "audit.completed"], "secret": SECRET, **fields}


def test_it_registers_a_webhook_for_staff_and_never_shows_the_secret(staff_client, staff, receiver):
    created = staff_client.post(HOOKS, body(receiver, description="ML platform"), format="json")

    assert created.status_code == 201, created.json()
    answer = created.json()
    assert answer["url"] == receiver.url
    assert answer["events"] == ["version.ready", "audit.completed"]
    assert answer["active"] is True
    assert answer["created_by"] == staff.username
    assert created["Location"].endswith(f"/api/v1/webhooks/{answer['id']}/")
    listed = staff_client.get(HOOKS).json()
    read = staff_client.get(f"{HOOKS}{answer['id']}/")
    for shown in (created.content, read.content, json.dumps(listed).encode()):
        assert SECRET.encode() not in shown
        assert b"secret" not in shown
    assert Webhook.objects.get().secret == SECRET
    assert [item["id"] for item in listed["results"]] == [answer["id"]]


def test_it_changes_and_removes_a_webhook_in_the_change_log(staff_client, receiver):
    hook = staff_client.post(HOOKS, body(receiver), format="json").json()
    etag = staff_client.get(f"{HOOKS}{hook['id']}/")["ETag"]

    changed = staff_client.patch(
        f"{HOOKS}{hook['id']}/",
        {"events": ["version.failed"], "secret": "rotated-secret-000000", "active": False},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    stale = staff_client.patch(f"{HOOKS}{hook['id']}/", {"active": True}, format="json", HTTP_IF_MATCH=etag)
    removed = staff_client.delete(f"{HOOKS}{hook['id']}/")

    assert changed.status_code == 200, changed.json()
    assert (changed.json()["events"], changed.json()["active"]) == (["version.failed"], False)
    assert stale.status_code == 412
    assert removed.status_code == 204
    assert not Webhook.objects.exists()
    entries = list(Change.objects.filter(object_type="webhook", object_id=hook["id"]).order_by("created_at", "id"))
    assert [entry.action for entry in entries] == ["create", "update", "delete"]
    assert entries[1].after == {"events": ["version.failed"], "active": False, "secret": "(changed)"}
    assert all(SECRET not in json.dumps([entry.before, entry.after]) for entry in entries)
    assert all("rotated" not in json.dumps([entry.before, entry.after]) for entry in entries)


def test_it_keeps_the_url_query_out_of_the_change_log(staff_client, receiver):
    hook = staff_client.post(HOOKS, body(receiver, url=receiver.url + "?token=abc123"), format="json").json()

    entry = Change.objects.get(object_type="webhook", object_id=hook["id"])
    assert entry.after["url"] == receiver.url
    assert "abc123" not in json.dumps(entry.after)


def test_it_lists_a_webhooks_deliveries_latest_first_and_paginated(
    staff_client, staff, receiver, django_capture_on_commit_callbacks
):
    hook = services.webhook_create(actor=staff, url=receiver.url, events=["version.ready"], secret=SECRET)
    receiver.statuses = [500]
    for number in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            services.event_publish(event="version.ready", data={"number": number})

    page = staff_client.get(f"{HOOKS}{hook.pk}/deliveries/", {"limit": 2})

    assert page.status_code == 200
    answer = page.json()
    assert answer["count"] == 3
    assert answer["next"] is not None
    assert [item["payload"]["data"]["number"] for item in answer["results"]] == [2, 1]
    oldest = staff_client.get(f"{HOOKS}{hook.pk}/deliveries/", {"limit": 2, "offset": 2}).json()["results"][0]
    assert (oldest["status"], oldest["response_code"], oldest["attempts"]) == ("pending", 500, 1)
    assert oldest["history"][0]["response_code"] == 500
    assert oldest["payload"]["event"] == "version.ready"


def test_it_counts_the_queries_of_a_deliveries_page(staff_client, staff, receiver, django_assert_max_num_queries):
    hook = services.webhook_create(actor=staff, url=receiver.url, events=["version.ready"], secret=SECRET)
    WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(webhook=hook, event="version.ready", event_id=hook.pk, payload={}) for _ in range(30)]
    )

    # The session's user, the webhook, the count, the page.
    with django_assert_max_num_queries(5):
        answer = staff_client.get(f"{HOOKS}{hook.pk}/deliveries/", {"limit": 30})

    assert len(answer.json()["results"]) == 30


# --- Who may ----------------------------------------------------------------------------------------


def test_it_lets_no_one_but_staff_see_or_touch_a_webhook(
    staff, owner_client, stranger_client, receiver, django_capture_on_commit_callbacks
):
    hook = services.webhook_create(actor=staff, url=receiver.url, events=["version.ready"], secret=SECRET)
    with django_capture_on_commit_callbacks(execute=True):
        services.event_publish(event="version.ready", data={"x": 1})

    for client in (owner_client, stranger_client):
        assert client.get(HOOKS).status_code == 403
        assert client.post(HOOKS, body(receiver), format="json").status_code == 403
        assert client.get(f"{HOOKS}{hook.pk}/").status_code == 403
        assert client.get(f"{HOOKS}{hook.pk}/deliveries/").status_code == 403
        assert client.patch(f"{HOOKS}{hook.pk}/", {"url": "https://example.org/"}, format="json").status_code == 403
        assert client.delete(f"{HOOKS}{hook.pk}/").status_code == 403
        for answer in (client.get(HOOKS), client.get(f"{HOOKS}{hook.pk}/deliveries/")):
            assert SECRET.encode() not in answer.content
            assert receiver.url.encode() not in answer.content
    hook.refresh_from_db()
    assert (hook.url, hook.active) == (receiver.url, True)
    assert Webhook.objects.count() == 1


def test_it_asks_anonymous_callers_to_sign_in(anonymous_client, staff, receiver):
    hook = services.webhook_create(actor=staff, url=receiver.url, events=["version.ready"], secret=SECRET)

    assert anonymous_client.get(HOOKS).status_code == 401
    assert anonymous_client.get(f"{HOOKS}{hook.pk}/deliveries/").status_code == 401


def test_it_hides_webhook_entries_of_the_change_log_from_non_staff(staff_client, stranger_client, receiver):
    hook = staff_client.post(HOOKS, body(receiver), format="json").json()

    seen_by_stranger = stranger_client.get("/api/v1/changes/", {"object_type": "webhook"}).json()
    seen_by_staff = staff_client.get("/api/v1/changes/", {"object_type": "webhook"}).json()

    assert seen_by_stranger["results"] == []
    assert [entry["object_id"] for entry in seen_by_staff["results"]] == [hook["id"]]


def test_it_answers_an_unknown_webhook_with_404(staff_client):
    assert staff_client.get(f"{HOOKS}00000000-0000-0000-0000-000000000000/").status_code == 404
    assert staff_client.get(f"{HOOKS}not-a-uuid/deliveries/").status_code == 404


# --- Hostile input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.org/",
        "https://user:pw@example.org/hook",
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://[::1]/hook",
        "http://[::ffff:127.0.0.1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/hook",
        "https://2130706433/",
        "http://example.org/hook",
        "https://no-such-host.invalid/hook",
        "https://exa mple.org/",
        "not a url",
    ],
)
def test_it_rejects_urls_that_may_not_receive(staff_client, settings, url):
    settings.CATALOG_WEBHOOK_ALLOW_PRIVATE_URLS = False

    answer = staff_client.post(HOOKS, {"url": url, "events": ["version.ready"], "secret": SECRET}, format="json")

    assert answer.status_code == 400, answer.json()
    assert "url" in answer.json()["errors"]
    assert not Webhook.objects.exists()


def test_it_rejects_a_url_that_may_not_receive_on_a_change_too(staff_client, staff, receiver, settings):
    hook = services.webhook_create(actor=staff, url=receiver.url, events=["version.ready"], secret=SECRET)
    settings.CATALOG_WEBHOOK_ALLOW_PRIVATE_URLS = False

    answer = staff_client.patch(f"{HOOKS}{hook.pk}/", {"url": "https://[::ffff:10.0.0.1]/"}, format="json")

    assert answer.status_code == 400
    hook.refresh_from_db()
    assert hook.url == receiver.url


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"events": ["version.deleted"]}, "events"),
        ({"events": []}, "events"),
        ({"events": "version.ready"}, "events"),
        ({"events": [1]}, "events.0"),
        ({"events": ["version.ready"] * 50}, "events"),
        ({"secret": "short"}, "secret"),
        ({"secret": 1234567890123456789}, "secret"),
        ({"secret": "tab\tin-the-secret-00"}, "secret"),
        ({"url": 42}, "url"),
        ({"url": None}, "url"),
        ({"active": "sometimes"}, "active"),
        ({"colour": "blue"}, "colour"),
        ({"id": "00000000-0000-0000-0000-000000000000"}, "id"),
    ],
)
def test_it_rejects_bad_fields_by_name(staff_client, receiver, fields, field):
    answer = staff_client.post(HOOKS, body(receiver, **fields), format="json")

    assert answer.status_code == 400, answer.json()
    assert field in answer.json()["errors"]
    assert not Webhook.objects.exists()


def test_it_rejects_a_missing_secret(staff_client, receiver):
    payload = body(receiver)
    del payload["secret"]

    answer = staff_client.post(HOOKS, payload, format="json")

    assert answer.status_code == 400
    assert "secret" in answer.json()["errors"]


def test_it_rejects_nul_deep_and_huge_bodies(staff_client, receiver):
    nul = json.dumps(body(receiver, description="a\u0000b"))
    nested = '{"url": "https://example.org/", "events": ' + deep(5_000) + ', "secret": "x"}'
    huge = json.dumps(body(receiver, description="x" * 6_000_000))
    not_json = "{url: nope"

    answers = [
        staff_client.generic("POST", HOOKS, payload, content_type="application/json")
        for payload in (nul, nested, huge, not_json)
    ]

    assert [answer.status_code for answer in answers] == [400, 400, 413, 400]
    assert all(answer["Content-Type"].startswith("application/problem+json") for answer in answers)
    assert not Webhook.objects.exists()


def test_it_rejects_a_body_that_is_not_an_object(staff_client):
    for payload in ("[]", '"text"', "42", "null"):
        answer = staff_client.generic("POST", HOOKS, payload, content_type="application/json")
        assert answer.status_code == 400, payload
