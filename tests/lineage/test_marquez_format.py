"""`?format=marquez`: the lineage graph and column lineage in Marquez's own shapes, checked field by
field against Marquez's openapi.yml and what its server sends, with the OpenLineage project's Hive
integration events read back whole."""

import pytest

from governance.choices import Sensitivity
from tests.lineage.events import dataset, run_event, schema
from tests.lineage.fixtures import fixture_event
from tests.lineage.marquez_schema import check, check_keys

pytestmark = pytest.mark.django_db

WAREHOUSE = "/opt/hive/data/warehouse/test.db/"
RESTRICTED = frozenset({"restricted"})


def read(client, path, **params):
    response = client.get(path, {**params, "format": "marquez"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/json")
    return {node["id"]: node for node in response.json()["graph"]}


def check_graph(nodes):
    for node in nodes.values():
        check("GraphNode", {key: value for key, value in node.items() if key != "data"})
        for edge in node["inEdges"] + node["outEdges"]:
            assert set(edge) == {"origin", "destination"}
        extra = RESTRICTED if node["data"].get("restricted") else frozenset()
        if node["type"] == "DATASET":
            check("Dataset", node["data"])
            check_keys("DatasetData", node["data"], extra=extra)
            assert node["data"]["type"] == "DB_TABLE"
        else:
            check("Job", node["data"])
            check_keys("JobData", node["data"], extra=extra)
            assert node["data"]["type"] == "BATCH"
            run = node["data"]["latestRun"]
            if run is not None:
                check("IncompleteRun", run)
                check_keys("Run", run)


def test_it_answers_the_graph_in_marquez_shapes(owner_client, send):
    send(
        run_event(
            inputs=[dataset("w", "raw", schema=schema(("id", "INTEGER"), ("text", "STRING")))],
            outputs=[dataset("w", "clean")],
            job=("p", "clean"),
        ),
        run_event(outputs=[dataset("w", "raw")], job=("p", "extract"), event_type="START"),
        run_event(inputs=[dataset("w", "clean")], job=("p", "publish"), event_type="FAIL"),
    )

    nodes = read(owner_client, "/api/v1/lineage", nodeId="dataset:w:clean")

    check_graph(nodes)
    assert sorted(nodes) == ["dataset:w:clean", "dataset:w:raw", "job:p:clean", "job:p:extract", "job:p:publish"]
    raw = nodes["dataset:w:raw"]["data"]
    assert raw["id"] == {"namespace": "w", "name": "raw"}
    assert raw["fields"] == [
        {"name": "id", "type": "INTEGER", "tags": [], "description": None},
        {"name": "text", "type": "STRING", "tags": [], "description": None},
    ]
    clean = nodes["job:p:clean"]["data"]
    assert clean["inputs"] == [{"namespace": "w", "name": "raw"}]
    assert clean["outputs"] == [{"namespace": "w", "name": "clean"}]
    assert clean["latestRun"]["state"] == "COMPLETED"
    assert nodes["job:p:extract"]["data"]["latestRun"]["state"] == "RUNNING"
    assert nodes["job:p:publish"]["data"]["latestRun"]["state"] == "FAILED"
    assert nodes["job:p:clean"]["inEdges"] == [{"origin": "dataset:w:raw", "destination": "job:p:clean"}]


def test_it_keeps_the_default_answer_as_it_was(owner_client, send):
    send(run_event(inputs=[dataset("w", "raw")], outputs=[dataset("w", "clean")], job=("p", "clean")))

    response = owner_client.get("/api/v1/lineage", {"nodeId": "dataset:w:clean"})

    node = {item["id"]: item for item in response.json()["graph"]}["job:p:clean"]
    assert node["data"]["type"] == "JOB"
    assert node["data"]["latest_run"]["state"] == "COMPLETE"
    assert node["inEdges"][0]["status"] == "confirmed"


def test_it_reads_back_the_hive_events_whole(owner_client, send):
    send(
        fixture_event("cllSimpleQueryIndirect", job="test.xxx_from_t1"),
        fixture_event("cllMultiInsertsComplete", job="test.multi_insert"),
    )

    nodes = read(owner_client, "/api/v1/lineage", nodeId="job:hive-namespace:test.multi_insert")

    check_graph(nodes)
    job = nodes["job:hive-namespace:test.multi_insert"]["data"]
    assert [item["name"].removeprefix(WAREHOUSE) for item in job["inputs"]] == ["t3", "t4"]
    assert [item["name"].removeprefix(WAREHOUSE) for item in job["outputs"]] == ["t1", "t2"]
    # t1 is also what test.xxx_from_t1 read: the walk from the job reaches it downstream.
    assert ("job:hive-namespace:test.xxx_from_t1") in nodes
    reader = nodes["job:hive-namespace:test.xxx_from_t1"]["data"]
    assert [item["name"].removeprefix(WAREHOUSE) for item in reader["outputs"]] == ["xxx"]

    columns = read(owner_client, "/api/v1/column-lineage", nodeId=f"dataset:file:{WAREHOUSE}t1", withDownstream="true")

    for node in columns.values():
        assert node["type"] == "DATASET_FIELD"
        check_keys("ColumnLineageNodeData", node["data"])
        for entry in node["data"]["inputFields"]:
            check_keys("ColumnInputField", entry)
    name = columns[f"datasetField:file:{WAREHOUSE}t1:name"]
    # Dataset-wide: the join on t3.id and t4.id reaches every field of t1, as INDIRECT.
    inputs = {
        (entry["dataset"].removeprefix(WAREHOUSE), entry["field"]): entry["transformationType"]
        for entry in name["data"]["inputFields"]
    }
    assert inputs == {("t4", "name"): "DIRECT", ("t3", "id"): "INDIRECT", ("t4", "id"): "INDIRECT"}
    # Marquez's column edges: a field's inEdges go from it to each input.
    assert sorted(edge["destination"] for edge in name["inEdges"]) == [
        f"datasetField:file:{WAREHOUSE}t3:id",
        f"datasetField:file:{WAREHOUSE}t4:id",
        f"datasetField:file:{WAREHOUSE}t4:name",
    ]
    assert {edge["origin"] for edge in name["inEdges"]} == {f"datasetField:file:{WAREHOUSE}t1:name"}
    # withDownstream: what t1's fields feed (the xxx table) is there too.
    assert f"datasetField:file:{WAREHOUSE}xxx:a" in columns
    upstream_only = read(owner_client, "/api/v1/column-lineage", nodeId=f"dataset:file:{WAREHOUSE}t1")
    assert f"datasetField:file:{WAREHOUSE}xxx:a" not in upstream_only
    assert f"datasetField:file:{WAREHOUSE}t3:id" in upstream_only


def test_it_shows_a_stranger_restricted_datasets_without_their_names(client_for, stranger, send):
    from catalog.models import Dataset

    send(
        run_event(outputs=[dataset("w", "zebra-secret")], job=("p", "zebra-extract")),
        run_event(inputs=[dataset("w", "zebra-secret")], outputs=[dataset("w", "public")], job=("p", "report")),
    )
    Dataset.objects.filter(name="zebra-secret").update(sensitivity=Sensitivity.RESTRICTED)

    response = client_for(stranger).get(
        "/api/v1/lineage", {"nodeId": "dataset:w:public", "format": "marquez", "direction": "upstream"}
    )

    assert response.status_code == 200
    assert "zebra" not in response.content.decode()
    nodes = {node["id"]: node for node in response.json()["graph"]}
    check_graph(nodes)
    assert nodes["job:p:report"]["data"]["inputs"] == [{"namespace": "restricted", "name": "#1"}]
    assert nodes["job:p:report"]["data"]["latestRun"] is None  # it ran on what the stranger may not read
    assert client_for(stranger).get("/api/v1/column-lineage", {"nodeId": "dataset:w:zebra-secret"}).status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"withDownstream": "yes"},
        {"withDownstream": "\x00"},
        {"depth": "10" * 30},
        {"nodeId": "dataset:file:\x00"},
        {"nodeId": "datasetField:" + "a:" * 30},
    ],
    ids=["bad-flag", "nul-flag", "huge-depth", "nul-node", "colons"],
)
def test_it_rejects_hostile_column_lineage_parameters(owner_client, send, params):
    send(fixture_event("cllSimpleQueryIndirect", job="test.xxx_from_t1"))

    response = owner_client.get(
        "/api/v1/column-lineage", {"nodeId": f"dataset:file:{WAREHOUSE}xxx", "format": "marquez", **params}
    )

    assert response.status_code == 400, response.content
