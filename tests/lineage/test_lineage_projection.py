"""Events are recorded by the request and projected by the projector, oldest first, one projector at a time."""

import hashlib
import uuid

import psycopg
import pytest
import redis
from django.db import connection

from catalog.models import Dataset
from config.celery_app import app as celery_app
from governance.choices import Sensitivity
from lineage import tasks
from lineage.models import Job, LineageEdge, LineageEvent, Run
from lineage.services import lineage_pending_project
from lineage.services.events import _canonical
from lineage.services.ingest import PROJECTOR_LOCK
from tests.factories import OwnershipFactory
from tests.lineage.events import dataset, facet, run_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued():
    """Tasks sent to a broker (none runs here): a request records its event and leaves it pending."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager = previous


def _graph(client, node):
    return client.get("/api/v1/lineage", {"nodeId": node, "direction": "upstream"}).json()["graph"]


def test_a_request_records_the_event_and_the_projector_projects_it(owner_client, queued):
    event = run_event(inputs=[dataset("warehouse", "clicks")], outputs=[dataset("ml", "features")])

    answer = owner_client.post("/api/v1/lineage", event, format="json")

    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert (body["state"], body["duplicate"], body["datasets"]) == ("pending", False, [])
    assert body["url"] == f"/api/v1/lineage/events/{body['event_id']}/"
    assert not Dataset.objects.filter(name="features").exists()
    assert owner_client.get(body["url"]).json()["state"] == "pending"
    assert owner_client.get("/api/v1/lineage/events/", {"state": "pending"}).json()["count"] == 1

    assert lineage_pending_project() == 1

    projected = owner_client.get(body["url"]).json()
    assert projected["state"] == "projected"
    assert projected["projected_at"] is not None
    assert sorted((item["namespace"], item["name"], item["status"]) for item in projected["datasets"]) == [
        ("ml", "features", "confirmed"),
        ("warehouse", "clicks", "confirmed"),
    ]
    ids = {str(pk) for pk in Dataset.objects.filter(name__in=["clicks", "features"]).values_list("pk", flat=True)}
    assert {item["id"] for item in projected["datasets"]} == ids
    nodes = {node["id"] for node in _graph(owner_client, "dataset:ml:features")}
    assert "dataset:warehouse:clicks" in nodes
    # Sent again: the same event, recorded once.
    again = owner_client.post("/api/v1/lineage", event, format="json")
    assert again.status_code == 200
    assert (again.json()["event_id"], again.json()["state"], again.json()["duplicate"]) == (
        body["event_id"],
        "projected",
        True,
    )


def test_events_are_projected_in_the_order_received_whoever_sent_them(client_for, owner, stranger, queued):
    run_id = uuid.uuid4()
    mine, theirs = client_for(owner), client_for(stranger)
    # The owner's run starts, the stranger's job writes elsewhere, the owner's run completes: three
    # lists of one sender each, projected in that order.
    assert mine.post("/api/v1/lineage", run_event(run_id=run_id, event_type="START", outputs=[dataset("o", "a")]),
                     format="json").status_code == 202  # fmt: skip
    assert theirs.post("/api/v1/lineage", run_event(job=("p", "theirs"), outputs=[dataset("s", "b")]),
                       format="json").status_code == 202  # fmt: skip
    assert mine.post("/api/v1/lineage", run_event(run_id=run_id, minutes=5, outputs=[dataset("o", "a")]),
                     format="json").status_code == 202  # fmt: skip

    assert lineage_pending_project() == 3

    run = Run.objects.get(pk=run_id)
    assert (run.state, run.owner) == ("COMPLETE", owner)
    assert Job.objects.get(name="theirs").owner == stranger
    assert set(LineageEvent.objects.values_list("state", flat=True)) == {"projected"}


def test_another_user_cannot_read_or_list_the_event(client_for, owner, stranger, staff, queued):
    answer = client_for(owner).post("/api/v1/lineage", run_event(outputs=[dataset("o", "secret")]), format="json")
    url = answer.json()["url"]

    assert client_for(stranger).get(url).status_code == 404
    assert client_for(stranger).get("/api/v1/lineage/events/").json()["count"] == 0
    assert client_for(staff).get(url).status_code == 200
    assert client_for(owner).get("/api/v1/lineage/events/", {"state": "bogus"}).status_code == 400
    unknown = client_for(owner).get("/api/v1/lineage/events/", {"colour": "red"})
    assert unknown.status_code == 400
    assert "unknown" in unknown.content.decode().lower()


def test_a_dataset_the_reader_may_not_read_is_listed_without_its_id(client_for, owner, stranger, staff):
    # The stranger reports lineage into a restricted dataset of the owner's: it lands there, unconfirmed.
    held = OwnershipFactory(user=owner, dataset__namespace="vault", dataset__name="restricted").dataset
    Dataset.objects.filter(pk=held.pk).update(sensitivity=Sensitivity.RESTRICTED)
    answer = client_for(stranger).post(
        "/api/v1/lineage", run_event(job=("p", "probe"), outputs=[dataset("vault", "restricted")]), format="json"
    )
    assert answer.status_code == 201, answer.content

    listed = client_for(stranger).get(answer.json()["url"]).json()["datasets"]

    assert listed == [{"namespace": "vault", "name": "restricted", "id": None, "status": "unconfirmed"}]
    assert client_for(staff).get(answer.json()["url"]).json()["datasets"][0]["id"] == str(held.pk)


def test_a_refused_event_says_why_and_is_taken_again_when_sent_again(owner_client, queued):
    run_id = uuid.uuid4()
    owner_client.post("/api/v1/lineage", run_event(run_id=run_id, job=("p", "one")), format="json")
    moved = run_event(run_id=run_id, job=("p", "two"), minutes=1)
    url = owner_client.post("/api/v1/lineage", moved, format="json").json()["url"]

    assert lineage_pending_project() == 2

    refused = owner_client.get(url).json()
    assert refused["state"] == "refused"
    assert "belongs to the job" in refused["error"]
    assert list(Job.objects.values_list("name", flat=True)) == ["one"]

    again = owner_client.post("/api/v1/lineage", moved, format="json")
    assert (again.status_code, again.json()["state"], again.json()["duplicate"]) == (200, "pending", True)
    assert lineage_pending_project() == 1
    assert owner_client.get(url).json()["state"] == "refused"


def test_an_event_of_a_sender_deactivated_meanwhile_is_refused(owner, owner_client, queued):
    url = owner_client.post("/api/v1/lineage", run_event(outputs=[dataset("o", "x")]), format="json").json()["url"]
    owner.is_active = False
    owner.save()

    lineage_pending_project()

    event = LineageEvent.objects.get()
    assert event.state == "refused"
    assert "deactivated" in event.outcome["error"]
    assert not Dataset.objects.filter(name="x").exists()
    assert url.endswith(f"/{event.pk}/")


def test_one_projector_at_a_time(owner_client, queued):
    owner_client.post("/api/v1/lineage", run_event(outputs=[dataset("o", "y")]), format="json")
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"], autocommit=True
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [PROJECTOR_LOCK])
        # Another projector is at work: this one leaves the events to it.
        assert lineage_pending_project() == 0
        assert LineageEvent.objects.get().state == "pending"
        other.execute("SELECT pg_advisory_unlock(%s)", [PROJECTOR_LOCK])

    assert lineage_pending_project() == 1
    assert LineageEdge.objects.count() == 0  # an event with outputs only: no edge
    assert Dataset.objects.filter(name="y").exists()


def test_a_projection_is_asked_for_once_until_a_run_starts(settings):
    broker = settings.CELERY_BROKER_URL
    url = broker if broker.startswith("redis://") else "redis://127.0.0.1:6379/14"
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis server")
    settings.CELERY_BROKER_URL = url
    tasks._broker_redis.cache_clear()
    try:
        client.delete(tasks.REQUESTED_KEY)
        assert tasks._requested() is False  # this request asks
        assert tasks._requested() is True  # a run is asked for already
        assert 0 < client.ttl(tasks.REQUESTED_KEY) <= tasks.REQUESTED_FOR
        tasks._requested(clear=True)  # the run starts
        assert tasks._requested() is False
    finally:
        client.delete(tasks.REQUESTED_KEY)
        tasks._broker_redis.cache_clear()


def test_without_a_redis_broker_every_request_asks(settings):
    settings.CELERY_BROKER_URL = "memory://"
    tasks._broker_redis.cache_clear()
    try:
        assert tasks._requested() is False
        assert tasks._requested() is False
    finally:
        tasks._broker_redis.cache_clear()


def test_the_event_is_stored_as_sent_from_the_text_its_digest_was_read_from(owner_client):
    event = run_event(
        outputs=[dataset("o", "données-ü", documentation=facet(description='naïve \u2028 "quoted" \\ z', b=1.5e-07))]
    )

    answer = owner_client.post("/api/v1/lineage", event, format="json")

    stored = LineageEvent.objects.get(pk=answer.json()["event_id"])
    assert stored.payload == event
    assert stored.digest == hashlib.sha256(_canonical(event)).hexdigest()
