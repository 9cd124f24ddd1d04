import gzip
import json
import uuid

import pytest
from django.urls import reverse, set_script_prefix
from rest_framework.test import APIClient

from catalog.models import Dataset
from governance.choices import OwnershipRole
from governance.models import Ownership
from lineage.api.views import event_url
from lineage.models import ColumnLineage, DatasetAlias, Job, LineageEdge, LineageEvent, ReportedDataset, Run, RunDataset
from tests.factories import DatasetFactory, OwnershipFactory, UserFactory, VersionFactory, token_for
from tests.lineage.events import column_lineage, dataset, facet, run_event, schema

pytestmark = pytest.mark.django_db


def edges():
    return sorted(
        (edge.source.name, edge.target.name, edge.job.name if edge.job else None)
        for edge in LineageEdge.objects.select_related("source", "target", "job")
    )


def test_it_records_a_run_its_job_and_edges_from_each_input_to_each_output(send):
    event = run_event(
        inputs=[dataset("warehouse", "clicks"), dataset("warehouse", "users")],
        outputs=[dataset("warehouse", "features")],
        run_facets={"processing_engine": facet(version="3.5.0", name="spark")},
    )
    response = send(event)

    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "RunEvent"
    assert body["duplicate"] is False
    assert {(item["namespace"], item["name"]) for item in body["datasets"]} == {
        ("warehouse", "clicks"),
        ("warehouse", "users"),
        ("warehouse", "features"),
    }
    assert edges() == [("clicks", "features", "build-features"), ("users", "features", "build-features")]
    run = Run.objects.get()
    assert str(run.id) == event["run"]["runId"]
    assert run.state == "COMPLETE"
    assert run.facets["processing_engine"]["name"] == "spark"
    assert Job.objects.get().latest_run == run
    assert sorted(RunDataset.objects.values_list("dataset__name", "direction")) == [
        ("clicks", "input"),
        ("features", "output"),
        ("users", "input"),
    ]
    # Datasets first seen in lineage are owned by the sender who reported them (so their later
    # events keep describing them, and nobody else's can); the job and run are theirs too.
    assert set(Ownership.objects.values_list("dataset__name", "user", "role")) == {
        (name, run.owner_id, "owner") for name in ("clicks", "users", "features")
    }
    assert Job.objects.get().owner_id == run.owner_id is not None
    assert set(LineageEdge.objects.values_list("status", flat=True)) == {"confirmed"}


def test_it_changes_nothing_when_an_event_is_delivered_again(send):
    event = run_event(inputs=[dataset("warehouse", "a")], outputs=[dataset("warehouse", "b")])
    send(event)
    again = send(event)

    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert LineageEvent.objects.count() == 1
    assert LineageEdge.objects.count() == 1
    assert Dataset.objects.count() == 2


def test_it_keeps_one_edge_per_job_however_many_runs_report_it(send):
    for minute in range(3):
        send(run_event(inputs=[dataset("w", "a")], outputs=[dataset("w", "b")], minutes=minute))
    send(run_event(inputs=[dataset("w", "a")], outputs=[dataset("w", "b")], job=("pipelines", "other-job")))

    assert edges() == [("a", "b", "build-features"), ("a", "b", "other-job")]
    latest = LineageEdge.objects.get(job__name="build-features")
    assert latest.run_event_time.minute == 2


def test_it_takes_the_events_of_a_run_in_any_order(send):
    run_id = uuid.uuid4()
    complete = run_event(run_id=run_id, event_type="COMPLETE", minutes=10, run_facets={"x": facet(step="end")})
    running = run_event(run_id=run_id, event_type="RUNNING", minutes=5, run_facets={"x": facet(step="middle")})
    start = run_event(run_id=run_id, event_type="START", minutes=0, run_facets={"x": facet(step="start")})
    send(complete, running, start)

    run = Run.objects.get()
    assert run.state == "COMPLETE"
    assert run.started_at.minute == 0
    assert run.ended_at.minute == 10
    # Each facet keeps the value of the latest event that carried it, not of the last to arrive.
    assert run.facets["x"]["step"] == "end"


def test_it_refuses_an_invalid_event_with_the_schema_errors_and_writes_nothing(owner_client):
    event = run_event(outputs=[dataset("w", "b")])
    event["run"]["runId"] = "not-a-uuid"
    del event["eventTime"]

    response = owner_client.post("/api/v1/lineage", event, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400
    assert any("eventTime" in message for messages in body["errors"].values() for message in messages)
    assert "run/runId" in body["errors"]
    assert not LineageEvent.objects.exists()
    assert not Dataset.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"{not json", "application/json"), (b"[1, 2]", "application/json"), (b"<xml/>", "application/xml")],
    ids=["malformed", "not-an-object", "not-json"],
)
def test_it_refuses_what_is_not_an_event(owner_client, body, content_type):
    response = owner_client.generic("POST", "/api/v1/lineage", body, content_type=content_type)

    assert response.status_code in (400, 415)
    assert response.json()["detail"]


def test_it_accepts_gzip_compressed_events_with_a_bearer_token(owner):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(owner)}")
    event = run_event(inputs=[dataset("w", "a")], outputs=[dataset("w", "b")])

    response = client.generic(
        "POST",
        "/api/v1/lineage",
        gzip.compress(json.dumps(event).encode()),
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
    )

    assert response.status_code == 201, response.content
    assert LineageEdge.objects.count() == 1


def test_it_refuses_a_gzip_bomb(owner_client, settings):
    settings.CATALOG_LINEAGE_MAX_EVENT_BYTES = 10_000
    body = gzip.compress(b'{"pad": "' + b"x" * 1_000_000 + b'"}')

    response = owner_client.generic(
        "POST", "/api/v1/lineage", body, content_type="application/json", HTTP_CONTENT_ENCODING="gzip"
    )

    assert response.status_code == 413


def test_it_refuses_anonymous_senders(anonymous_client):
    response = anonymous_client.post("/api/v1/lineage", run_event(), format="json")

    assert response.status_code == 401


def test_it_lands_an_event_on_the_dataset_registered_at_that_location(send):
    registered = DatasetFactory(namespace="team-fraud", name="transactions")
    VersionFactory(dataset=registered, uri="file:///srv/data/fraud/transactions.csv")

    send(
        run_event(
            inputs=[dataset("file", "/srv/data/fraud/transactions.csv")],
            outputs=[dataset("team-fraud", "transactions-clean")],
        )
    )

    edge = LineageEdge.objects.select_related("source").get()
    assert edge.source == registered
    alias = DatasetAlias.objects.get()
    assert (alias.namespace, alias.name, alias.kind) == ("file", "/srv/data/fraud/transactions.csv", "location")
    assert not Dataset.objects.filter(namespace="file").exists()


def test_it_treats_symlinked_identities_as_one_dataset(send):
    table = dataset(
        "hive://metastore:9083",
        "db.orders",
        symlinks=facet(identifiers=[{"namespace": "s3://lake", "name": "warehouse/orders", "type": "TABLE"}]),
    )
    send(run_event(inputs=[table], outputs=[dataset("w", "orders_daily")]))
    # A later event names the table by its storage location only.
    send(run_event(inputs=[dataset("s3://lake", "warehouse/orders")], outputs=[dataset("w", "orders_weekly")]))

    sources = set(LineageEdge.objects.values_list("source__name", flat=True))
    assert sources == {"db.orders"}
    assert DatasetAlias.objects.get().dataset.name == "db.orders"


def test_dataset_facets_feed_the_catalog(send, owner):
    UserFactory(username="dana", email="dana@example.org")
    output = dataset(
        "w",
        "features",
        schema=schema(("user_id", "BIGINT"), ("clicks_7d", "DOUBLE")),
        documentation=facet(description="Seven-day click features per user."),
        ownership=facet(owners=[{"name": "user:dana", "type": "MAINTAINER"}, {"name": "nobody-we-know"}]),
        datasetType=facet(datasetType="TABLE", subType=""),
        dataSource=facet(name="lake", uri="s3://lake"),
        storage=facet(storageLayer="iceberg", fileFormat="parquet"),
    )
    send(run_event(outputs=[output]))

    features = Dataset.objects.get(name="features")
    assert features.description == "Seven-day click features per user."
    report = ReportedDataset.objects.get(dataset=features)
    assert [(field["name"], field["type"]) for field in report.fields] == [
        ("user_id", "BIGINT"),
        ("clicks_7d", "DOUBLE"),
    ]
    assert (report.dataset_type, report.source_uri, report.storage_layer, report.file_format) == (
        "TABLE",
        "s3://lake",
        "iceberg",
        "parquet",
    )
    # The sender owns what it first reported; the facet adds the steward it names.
    assert sorted(Ownership.objects.filter(dataset=features).values_list("user__username", "role")) == [
        ("dana", OwnershipRole.STEWARD),
        (owner.username, OwnershipRole.OWNER),
    ]


def test_events_never_overwrite_a_description_people_wrote(send, owner):
    written = DatasetFactory(namespace="w", name="features", description="Written by a person.")
    OwnershipFactory(dataset=written, user=owner)
    send(run_event(outputs=[dataset("w", "features", documentation=facet(description="From a pipeline."))]))

    assert Dataset.objects.get(name="features").description == "Written by a person."


def test_a_stranger_cannot_take_ownership_of_a_dataset_through_an_event(client_for, dataset, stranger):
    response = client_for(stranger).post(
        "/api/v1/lineage",
        run_event(
            outputs=[
                {
                    "namespace": dataset.namespace,
                    "name": dataset.name,
                    "facets": {"ownership": facet(owners=[{"name": "user:simon-stranger", "type": "OWNER"}])},
                }
            ]
        ),
        format="json",
    )

    assert response.status_code == 201
    assert not Ownership.objects.filter(dataset=dataset, user=stranger).exists()


def test_the_version_facet_links_the_exact_catalog_version(send):
    registered = DatasetFactory(namespace="w", name="clicks")
    VersionFactory(dataset=registered, number=1, fingerprint="sha256:" + "1" * 64)
    second = VersionFactory(dataset=registered, number=2, fingerprint="sha256:" + "2" * 64)

    send(
        run_event(
            inputs=[dataset("w", "clicks", version=facet(datasetVersion="sha256:" + "2" * 64))],
            outputs=[dataset("w", "model-inputs")],
        )
    )

    edge = LineageEdge.objects.get()
    assert edge.source_version == second
    assert RunDataset.objects.get(direction="input").version == second


def test_column_lineage_is_recorded_from_the_output_facet(send):
    output = dataset(
        "w",
        "features",
        columnLineage=column_lineage(
            {"clicks_7d": [("w", "clicks", "count"), ("w", "clicks", "ts")], "user_id": [("w", "users", "id")]}
        ),
    )
    send(run_event(inputs=[dataset("w", "clicks"), dataset("w", "users")], outputs=[output]))
    send(run_event(inputs=[dataset("w", "clicks"), dataset("w", "users")], outputs=[output], minutes=1))

    rows = sorted(
        ColumnLineage.objects.values_list("input_dataset__name", "input_field", "output_dataset__name", "output_field")
    )
    assert rows == [
        ("clicks", "count", "features", "clicks_7d"),
        ("clicks", "ts", "features", "clicks_7d"),
        ("users", "id", "features", "user_id"),
    ]


def test_a_run_id_cannot_move_to_another_job(send, owner_client):
    run_id = uuid.uuid4()
    send(run_event(run_id=run_id, job=("p", "one")))

    response = owner_client.post(
        "/api/v1/lineage", run_event(run_id=run_id, job=("p", "two"), minutes=1), format="json"
    )

    assert response.status_code == 400
    assert "run/runId" in response.json()["errors"]
    # Kept, refused: the graph is as the first event left it.
    assert list(LineageEvent.objects.order_by("id").values_list("state", flat=True)) == ["projected", "refused"]
    assert list(Job.objects.values_list("name", flat=True)) == ["one"]


def test_it_refuses_names_longer_than_the_catalog_stores(owner_client):
    response = owner_client.post("/api/v1/lineage", run_event(outputs=[dataset("w", "x" * 600)]), format="json")

    assert response.status_code == 400
    assert "512" in json.dumps(response.json()["errors"])


def test_it_refuses_a_plain_body_over_the_request_limit(owner_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    event = run_event(outputs=[dataset("w", "big", documentation=facet(description="x" * 20_000))])

    response = owner_client.post("/api/v1/lineage", event, format="json")

    assert response.status_code == 413
    assert not LineageEvent.objects.exists()


@pytest.mark.parametrize("moment", ["2026-11-30T10:00:00+21:12", "0001-01-01T00:00:00+05:00"])
def test_it_stores_or_refuses_an_event_time_out_of_the_database_s_range(owner_client, moment):
    event = {
        "eventType": "COMPLETE",
        "eventTime": moment,
        "producer": "https://example.com/pipeline",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "0193a2f0-0000-7000-8000-00000000000a"},
        "job": {"namespace": "etl", "name": "time"},
        "inputs": [],
        "outputs": [],
    }

    response = owner_client.post("/api/v1/lineage", event, format="json")

    assert response.status_code in (201, 400), response.content


@pytest.mark.parametrize("prefix", ["/", "/catalog/"])
def test_an_answers_event_url_is_the_events_detail_route_under_the_script_prefix(prefix):
    set_script_prefix(prefix)
    try:
        assert event_url(41) == reverse("lineage-event-detail", kwargs={"pk": 41})
        assert event_url(41).startswith(prefix)
    finally:
        set_script_prefix("/")
