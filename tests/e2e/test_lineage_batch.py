"""A batch of real integration events through gunicorn: each event answered, the graph read back."""

import gzip
import json

import pytest

from tests.lineage.fixtures import fixture_event
from tests.lineage.realistic import realistic_event

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WAREHOUSE = "/opt/hive/data/warehouse/test.db/"


def test_a_gzip_batch_of_integration_events_is_stored_and_read_back(people):
    events = [
        fixture_event("cllMultiInsertsComplete", job=f"test.multi_insert.{people.owner.user.username}"),
        fixture_event("cllSimpleQueryIndirect", job=f"test.indirect.{people.owner.user.username}"),
        {"eventType": "COMPLETE"},
        *(realistic_event(seed=seed, seconds=seed, job=f"etl.{people.owner.user.username}") for seed in range(20)),
    ]
    body = gzip.compress(json.dumps(events).encode())

    response = people.owner.request(
        "POST",
        "/api/v1/lineage/batch",
        data=body,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )

    assert response.status_code == 200, response.text
    statuses = [item["status"] for item in response.json()["results"]]
    assert statuses == ["created", "created", "invalid"] + ["created"] * 20
    again = people.owner.post("/api/v1/lineage/batch", events[:2])
    assert [item["status"] for item in again.json()["results"]] == ["duplicate", "duplicate"]
    # Recorded by the answer, projected by a worker after it.
    people.owner.lineage_settled()
    projected = people.owner.get("/api/v1/lineage/events/", state="projected", limit=100).json()["results"]
    assert sorted(event["id"] for event in projected) == sorted(
        item["event_id"] for item in response.json()["results"] if item["status"] == "created"
    )
    graph = people.owner.get("/api/v1/column-lineage", nodeId=f"datasetField:file:{WAREHOUSE}t2:name", depth=1).json()[
        "graph"
    ]
    node = {item["id"]: item for item in graph}[f"datasetField:file:{WAREHOUSE}t2:name"]
    inputs = {
        (entry["name"].removeprefix(WAREHOUSE), entry["field"]): [t["type"] for t in entry["transformations"]]
        for entry in node["data"]["input_fields"]
    }
    assert inputs == {("t4", "name"): ["DIRECT", "INDIRECT"], ("t3", "id"): ["INDIRECT"], ("t4", "id"): ["INDIRECT"]}


def test_another_user_s_batch_cannot_change_the_owner_s_dataset(people):
    owned = fixture_event("cllSimpleQueryIndirect", job=f"test.owned.{people.owner.user.username}")
    assert people.owner.post("/api/v1/lineage/batch", [owned]).json()["results"][0]["status"] == "created"
    people.owner.lineage_settled()
    drop = fixture_event("pysparkV2DropTableCompleteEvent", job=f"drop.{people.other.user.username}")
    drop["outputs"][0]["namespace"], drop["outputs"][0]["name"] = "file", f"{WAREHOUSE}xxx"

    response = people.other.post("/api/v1/lineage/batch", [drop, [], "x"])

    assert [item["status"] for item in response.json()["results"]] == ["created", "invalid", "invalid"]
    # Projected after the answer: the drop lands on the owner's table as a report that waits for them.
    dropped = people.other.lineage_event(f"/api/v1/lineage/events/{response.json()['results'][0]['event_id']}/")
    assert dropped["state"] == "projected", dropped
    assert [(item["name"], item["status"]) for item in dropped["datasets"]] == [(f"{WAREHOUSE}xxx", "unconfirmed")]
    active = people.owner.get("/api/v1/datasets/", lifecycle="active", limit=500).json()["results"]
    deprecated = people.owner.get("/api/v1/datasets/", lifecycle="deprecated", limit=500).json()["results"]
    assert f"{WAREHOUSE}xxx" in {item["name"] for item in active}
    assert f"{WAREHOUSE}xxx" not in {item["name"] for item in deprecated}
    too_many = people.other.post("/api/v1/lineage/batch", [{}] * 1001)
    assert too_many.status_code == 400
    assert too_many.headers["Content-Type"].startswith("application/problem+json")
