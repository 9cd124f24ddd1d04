"""POST /api/v1/lineage/batch: many events in one request, each validated and projected on its own."""

import gzip
import json
import threading
import time
import uuid

import psycopg
import pytest
from django.db import connection, connections, transaction

from catalog.models import Dataset
from governance.models import Ownership
from lineage import services
from lineage.models import (
    ColumnLineage,
    DatasetAlias,
    Job,
    LineageEdge,
    LineageEvent,
    ReportedDataset,
    Run,
    RunDataset,
)
from tests.lineage.events import column_lineage, dataset, facet, run_event, schema
from tests.lineage.fixtures import fixture_event
from tests.lineage.realistic import realistic_event

pytestmark = pytest.mark.django_db

URL = "/api/v1/lineage/batch"


def _batch(client, events, **extra):
    return client.post(URL, json.dumps(events), content_type="application/json", **extra)


def test_it_answers_each_event_in_order_and_an_invalid_one_fails_alone(owner_client):
    first = run_event(inputs=[dataset("w", "a")], outputs=[dataset("w", "b")])
    broken = {key: value for key, value in run_event(outputs=[dataset("w", "c")]).items() if key != "eventTime"}
    second = run_event(inputs=[dataset("w", "b")], outputs=[dataset("w", "d")], minutes=1)

    response = _batch(owner_client, [first, broken, first, 42, second])

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [(item["index"], item["status"]) for item in results] == [
        (0, "created"),
        (1, "invalid"),
        (2, "duplicate"),
        (3, "invalid"),
        (4, "created"),
    ]
    assert results[2]["event_id"] == results[0]["event_id"]
    assert "eventTime" in json.dumps(results[1]["errors"])
    assert "event_id" not in results[1]
    assert "errors" not in results[0]
    assert LineageEvent.objects.count() == 2
    # Nothing of the invalid event is kept: its output was never created.
    assert set(Dataset.objects.values_list("name", flat=True)) == {"a", "b", "d"}
    assert sorted(LineageEdge.objects.values_list("source__name", "target__name")) == [("a", "b"), ("b", "d")]


def test_an_event_over_the_limits_is_refused_alone(owner_client, settings):
    settings.CATALOG_LINEAGE_MAX_EDGES = 1
    wide = run_event(inputs=[dataset("w", "x"), dataset("w", "y")], outputs=[dataset("w", "z")])
    narrow = run_event(inputs=[dataset("w", "x")], outputs=[dataset("w", "z")], minutes=1)

    results = _batch(owner_client, [wide, narrow]).json()["results"]

    assert [item["status"] for item in results] == ["refused", "created"]
    assert "CATALOG_LINEAGE_MAX_EDGES" in results[0]["errors"]["event"][0]
    assert LineageEdge.objects.count() == 1


def test_an_event_refused_once_writing_fails_alone_and_its_group_is_kept(owner_client):
    run_id = uuid.uuid4()
    events = [
        run_event(inputs=[dataset("w", "a")], outputs=[dataset("w", "b")], run_id=run_id),
        run_event(inputs=[dataset("w", "b")], outputs=[dataset("w", "c")], minutes=1),
        # The same run under another job: refused once its job is written.
        run_event(inputs=[dataset("w", "c")], outputs=[dataset("w", "d")], job=("pipelines", "other"), run_id=run_id),
        run_event(inputs=[dataset("w", "c")], outputs=[dataset("w", "e")], minutes=3),
    ]

    results = _batch(owner_client, events).json()["results"]

    assert [item["status"] for item in results] == ["created", "created", "refused", "created"]
    assert "run/runId" in results[2]["errors"]
    assert not Job.objects.filter(name="other").exists()
    assert not Dataset.objects.filter(name="d").exists()
    assert sorted(LineageEdge.objects.values_list("source__name", "target__name")) == [
        ("a", "b"),
        ("b", "c"),
        ("c", "e"),
    ]
    assert list(LineageEvent.objects.order_by("id").values_list("state", flat=True)) == [
        "projected",
        "projected",
        "refused",
        "projected",
    ]


def test_it_accepts_a_gzip_compressed_batch(owner_client):
    events = [realistic_event(seed=seed, seconds=seed, job=f"etl.step-{seed}") for seed in range(5)]

    response = owner_client.post(
        URL, gzip.compress(json.dumps(events).encode()), content_type="application/json", HTTP_CONTENT_ENCODING="gzip"
    )

    assert response.status_code == 200, response.content
    assert [item["status"] for item in response.json()["results"]] == ["created"] * 5
    assert Run.objects.count() == 5


# --- The same graph as one by one ------------------------------------------------------------------


def _events() -> list[dict]:
    """A day of a small pipeline: runs that START and COMPLETE (some COMPLETE first), shared datasets,
    a symlinked identity, facets that change, column lineage, and the benchmark's realistic events."""
    events = []
    run_ids = [str(uuid.UUID(int=index + 1)) for index in range(4)]
    raw = dataset(
        "s3://lake",
        "raw/orders",
        schema=schema(("id", "int"), ("amount", "double")),
        symlinks=facet(identifiers=[{"namespace": "hive", "name": "lake.orders", "type": "TABLE"}]),
    )
    clean = dataset(
        "warehouse",
        "orders_clean",
        schema=schema(("id", "int"), ("amount", "double")),
        columnLineage=column_lineage({"amount": [("s3://lake", "raw/orders", "amount")]}),
        documentation=facet(description="Orders, cleaned"),
    )
    daily = dataset(
        "warehouse",
        "orders_daily",
        columnLineage=column_lineage(
            {"total": [("warehouse", "orders_clean", "amount")], "n": [("warehouse", "orders_clean", "id")]}
        ),
    )
    events.append(run_event(inputs=[raw], outputs=[clean], run_id=run_ids[0], event_type="START", minutes=0))
    events.append(run_event(inputs=[raw], outputs=[clean], run_id=run_ids[0], event_type="COMPLETE", minutes=5))
    # The COMPLETE of this run arrives before its START.
    events.append(
        run_event(
            inputs=[clean],
            outputs=[daily],
            job=("pipelines", "daily"),
            run_id=run_ids[1],
            minutes=12,
            job_facets={"jobType": facet(jobType="QUERY", integration="DBT", processingType="BATCH")},
        )
    )
    events.append(
        run_event(
            inputs=[clean],
            outputs=[daily],
            job=("pipelines", "daily"),
            run_id=run_ids[1],
            event_type="START",
            minutes=6,
        )
    )
    # Through the symlink: the same dataset, by its Hive name.
    events.append(
        run_event(
            inputs=[dataset("hive", "lake.orders")],
            outputs=[dataset("warehouse", "orders_audit", schema=schema(("id", "int")))],
            job=("pipelines", "audit"),
            run_id=run_ids[2],
            minutes=20,
        )
    )
    # A name first seen alone (so created as a dataset of its own), then as the symlink of another:
    # the later dataset lands on the earlier one, as it would one by one.
    events.append(
        run_event(
            inputs=[dataset("hive", "lake.clicks")],
            outputs=[dataset("warehouse", "clicks_daily")],
            job=("pipelines", "clicks"),
            run_id=run_ids[3],
            event_type="START",
            minutes=30,
        )
    )
    events.append(
        run_event(
            inputs=[
                dataset(
                    "s3://lake",
                    "raw/clicks",
                    symlinks=facet(identifiers=[{"namespace": "hive", "name": "lake.clicks", "type": "TABLE"}]),
                )
            ],
            outputs=[dataset("warehouse", "clicks_daily", documentation=facet(description="Clicks per day"))],
            job=("pipelines", "clicks"),
            run_id=run_ids[3],
            minutes=35,
        )
    )
    # The benchmark's realistic events: runs of two jobs over shared datasets, a START and a COMPLETE
    # of the same run (the COMPLETE first), the same column lineage rewritten by later events.
    for seed in range(8):
        event = realistic_event(seed=seed, seconds=3600 + seed, job=f"etl.step-{seed % 2}")
        if seed % 3 == 0:
            events.append(event)
            events.append({**event, "eventType": "START", "eventTime": event["eventTime"].replace("T13:", "T12:")})
        else:
            events.append(event)
    # A run that started before the others of its job, reported after them: it does not become the
    # job's latest run.
    events.append(realistic_event(seed=20, seconds=3000, job="etl.step-0"))
    # The OpenLineage project's own integration events: Hive column lineage (dataset-wide dependencies
    # included), a Spark table truncated, then dropped.
    events.append(fixture_event("cllSimpleQueryIndirect", event_time="2026-11-02T09:30:00Z"))
    events.append(fixture_event("cllMultiInsertsComplete", event_time="2026-11-02T09:31:00Z"))
    events.append(fixture_event("pysparkTruncateTableCompleteEvent", event_time="2026-11-02T09:32:00Z"))
    events.append(fixture_event("pysparkV2DropTableCompleteEvent", event_time="2026-11-02T09:33:00Z"))
    return events


def _graph() -> dict:
    def rows(queryset, *fields):
        return sorted(
            tuple(json.dumps(value, sort_keys=True, default=str) for value in row)
            for row in queryset.values_list(*fields)
        )

    return {
        "datasets": rows(Dataset.objects, "namespace", "name", "description", "lifecycle", "created_by__username"),
        "owners": rows(Ownership.objects, "dataset__name", "user__username", "role"),
        "aliases": rows(DatasetAlias.objects, "namespace", "name", "kind", "alias_type", "dataset__name"),
        "jobs": rows(
            Job.objects,
            "namespace",
            "name",
            "description",
            "job_type",
            "integration",
            "processing_type",
            "facets",
            "facet_times",
            "latest_run_id",
            "owner__username",
        ),
        "runs": rows(
            Run.objects,
            "id",
            "job__name",
            "state",
            "state_event_time",
            "started_at",
            "ended_at",
            "facets",
            "facet_times",
            "nominal_start_time",
            "parent_run_id",
            "owner__username",
        ),
        "run_datasets": rows(RunDataset.objects, "run_id", "dataset__name", "direction", "reported_version", "facets"),
        "edges": rows(
            LineageEdge.objects,
            "source__name",
            "target__name",
            "job__name",
            "origin",
            "status",
            "run_id",
            "run_event_time",
            "source_version_id",
            "target_version_id",
        ),
        "column_lineage": rows(
            ColumnLineage.objects,
            "output_dataset__name",
            "output_field",
            "input_dataset__name",
            "input_field",
            "transformations",
            "transformation_type",
            "job__name",
            "run_id",
            "event_time",
            "status",
        ),
        "reports": rows(
            ReportedDataset.objects,
            "dataset__name",
            "facets",
            "facet_times",
            "fields",
            "dataset_type",
            "source_name",
            "source_uri",
            "storage_layer",
            "file_format",
        ),
    }


def _wipe() -> None:
    ColumnLineage.objects.all().delete()
    LineageEdge.objects.all().delete()
    RunDataset.objects.all().delete()
    Job.objects.update(latest_run=None)
    Run.objects.all().delete()
    Job.objects.all().delete()
    LineageEvent.objects.all().delete()
    DatasetAlias.objects.all().delete()
    ReportedDataset.objects.all().delete()
    Dataset.objects.all().delete()


@pytest.mark.parametrize("group", [100, 4], ids=["one-group", "groups-of-4"])
def test_a_batch_builds_the_same_graph_as_its_events_sent_one_by_one(owner_client, send, monkeypatch, group):
    # Groups of 4 split runs, datasets and column lineage across the transactions of one batch.
    monkeypatch.setattr("lineage.services.ingest.BATCH_GROUP", group)
    events = _events()
    for event in events:
        send(event)
    one_by_one = _graph()
    _wipe()
    assert not Dataset.objects.exists()

    response = _batch(owner_client, events)

    assert response.status_code == 200, response.content
    assert {item["status"] for item in response.json()["results"]} == {"created"}
    batched = _graph()
    assert batched.keys() == one_by_one.keys()
    for part in one_by_one:
        assert batched[part] == one_by_one[part], part
    assert len(batched["edges"]) > 5
    assert len(batched["column_lineage"]) > 50
    assert batched["aliases"]
    # What the comparison covers is there: a dropped table, an indirect dependency, a described dataset,
    # a run whose START came after its COMPLETE.
    assert any('"deprecated"' in row for row in batched["datasets"])
    assert any("INDIRECT" in row[4] for row in batched["column_lineage"])
    assert Dataset.objects.filter(description="Clicks per day").exists()
    assert DatasetAlias.objects.filter(namespace="s3://lake", name="raw/clicks").exists()


# --- Who may change what, and hostile bodies --------------------------------------------------------


def test_a_stranger_s_batch_holds_edges_into_another_s_dataset_unconfirmed(stranger_client, owner, dataset):
    target = {
        "namespace": dataset.namespace,
        "name": dataset.name,
        "facets": {"documentation": facet(description="taken over")},
    }
    own = run_event(
        inputs=[dataset_ref := {"namespace": "scrape", "name": "pages"}],
        outputs=[{"namespace": "scrape", "name": "mine"}],
    )

    response = _batch(stranger_client, [run_event(inputs=[dataset_ref], outputs=[target]), own])

    assert [item["status"] for item in response.json()["results"]] == ["created", "created"]
    into = LineageEdge.objects.get(target=dataset)
    assert into.status == "unconfirmed"
    assert LineageEdge.objects.get(target__name="mine").status == "confirmed"
    dataset.refresh_from_db()
    assert dataset.description != "taken over"
    assert not ReportedDataset.objects.filter(dataset=dataset).exists()
    # The answer names events, never the datasets they landed on.
    assert str(dataset.pk) not in response.content.decode()


def test_it_refuses_anonymous_senders(anonymous_client):
    response = _batch(anonymous_client, [run_event(outputs=[dataset("w", "a")])])

    assert response.status_code in (401, 403)
    assert not LineageEvent.objects.exists()


def test_it_rejects_more_events_than_a_batch_takes(owner_client):
    event = run_event(outputs=[dataset("w", "a")])

    response = _batch(owner_client, [event] * (services.MAX_BATCH_EVENTS + 1))

    assert response.status_code == 400
    assert str(services.MAX_BATCH_EVENTS) in json.dumps(response.json()["errors"])
    assert not LineageEvent.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        json.dumps(run_event(outputs=[dataset("w", "a")])),
        json.dumps({"events": []}),
        '"events"',
        "[" * 5000 + "]" * 5000,
        "[{]",
        json.dumps([run_event(outputs=[dataset("w", "a\u0000b")])]),
    ],
    ids=["one-event", "object", "string", "deep", "broken", "nul"],
)
def test_it_rejects_a_body_that_is_not_an_array_of_events(owner_client, body):
    response = owner_client.post(URL, body, content_type="application/json")

    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    assert not LineageEvent.objects.exists()


def test_it_rejects_events_of_the_wrong_types_one_by_one(owner_client):
    response = _batch(owner_client, [[], "x", None, {"eventType": 3}, {}])

    assert response.status_code == 200
    assert {item["status"] for item in response.json()["results"]} == {"invalid"}


def test_a_number_beyond_a_double_in_one_event_refuses_the_batch_by_its_path(owner_client):
    # msgspec reads the array's items lazily and refuses 1e400 only when it reads that event: the body
    # is answered as a whole, with the path from the array down, and nothing is written.
    good = json.dumps(run_event(outputs=[dataset("w", "a")]))
    body = f'[{good}, {{"eventType": "COMPLETE", "run": {{"facets": {{"stats": {{"rows": [1, 2E+400]}}}}}}}}]'

    response = owner_client.post(URL, body, content_type="application/json")

    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {
        "1.run.facets.stats.rows.1": ["This number is too large: it must fit a double (at most about 1.8e308)."]
    }
    assert not LineageEvent.objects.exists()


def test_invalid_utf8_in_one_event_refuses_the_batch(owner_client):
    good = json.dumps(run_event(outputs=[dataset("w", "a")])).encode()
    body = b"[" + good + b', {"eventType": "COMPLETE", "producer": "\xff"}]'

    response = owner_client.generic("POST", URL, body, content_type="application/json")

    assert response.status_code == 400, response.content
    assert "JSON parse error" in response.json()["detail"]
    assert not LineageEvent.objects.exists()


def test_a_batch_read_event_by_event_records_what_a_batch_read_whole_does(owner_client, owner):
    # An escaped surrogate pair (an emoji) anywhere has the whole body read at once, with the standard
    # decoder: the same events are recorded, with the same digests, whichever way the body was read.
    events = [realistic_event(seconds=index, seed=index) for index in range(4)]
    lazily = _batch(owner_client, events[:2])
    assert lazily.status_code == 200, lazily.content
    whole_body = json.dumps([*events[2:], {"note": "\U0001f600"}])
    wholly = owner_client.post(URL, whole_body, content_type="application/json")
    assert wholly.status_code == 200, wholly.content
    assert [item["status"] for item in wholly.json()["results"]] == ["created", "created", "invalid"]

    again = _batch(owner_client, events)

    assert [item["status"] for item in again.json()["results"]] == ["duplicate"] * 4
    assert LineageEvent.objects.count() == 4
    for event in LineageEvent.objects.all():
        assert event.payload in events


def test_it_refuses_a_gzip_bomb(owner_client, settings):
    settings.CATALOG_LINEAGE_MAX_BATCH_BYTES = 100_000
    bomb = gzip.compress(b"[" + b" " * 1_000_000 + b"]")

    response = owner_client.post(URL, bomb, content_type="application/json", HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 413
    assert not LineageEvent.objects.exists()


def test_it_refuses_a_plain_body_over_the_request_limit(owner_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    events = [run_event(outputs=[dataset("w", f"t{index}")]) for index in range(40)]

    response = _batch(owner_client, events)

    assert response.status_code == 413
    assert not LineageEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_event_another_delivery_records_meanwhile_is_a_duplicate_of_it(owner):
    """A delivery of the same event commits between the batch's look-up of known events and its insert:
    the insert waits for it on the digest's unique index, then skips the event, which answers as a
    duplicate of that delivery's; the batch's other events are recorded."""
    if connection.vendor != "postgresql":
        pytest.skip("the race needs a second connection to a server")
    raced, other = realistic_event(seed=31), realistic_event(seed=32)
    held, done = threading.Event(), threading.Event()
    found: dict[str, object] = {}

    def deliver() -> None:
        try:
            with transaction.atomic():
                found["other"] = services.lineage_event_ingest(actor=owner, payload=raced).event.pk
                held.set()
                # Committed only once the batch's insert waits on this transaction's row.
                deadline = time.monotonic() + 60
                while not _waiting_on_a_lock() and time.monotonic() < deadline:
                    time.sleep(0.01)
        finally:
            held.set()
            connections.close_all()
            done.set()

    thread = threading.Thread(target=deliver)
    thread.start()
    assert held.wait(60)
    results = services.lineage_events_ingest(actor=owner, payloads=[other, raced])
    assert done.wait(60)
    thread.join()

    assert [item.status for item in results] == ["created", "duplicate"]
    assert results[1].event_id == found["other"]
    assert LineageEvent.objects.count() == 2


def _waiting_on_a_lock() -> bool:
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's own placeholders")
def test_a_batch_is_inserted_with_the_server_s_own_placeholders(owner):
    # psycopg would split a statement written with `%s` to find its 14 placeholders an event; written with
    # `$1`, it is sent as it is.
    events = [realistic_event(seconds=index, seed=index) for index in range(3)]

    results = services.lineage_events_ingest(actor=owner, payloads=events)

    assert [item.status for item in results] == ["created"] * 3
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        received = other.execute(
            "SELECT query FROM pg_stat_activity WHERE pid = %s", [connection.connection.info.backend_pid]
        ).fetchone()[0]
    assert received.startswith("INSERT INTO")
    assert "$42)" in received
    assert "%s" not in received
    assert sorted(event.payload["eventTime"] for event in LineageEvent.objects.all()) == sorted(
        event["eventTime"] for event in events
    )
