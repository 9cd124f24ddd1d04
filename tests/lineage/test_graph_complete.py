"""The lineage graph holds every job of the events accepted: those that only write, only read, or
touch nothing, and each job lists all it read and wrote whichever way the walk reached it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from governance.choices import Sensitivity
from tests.lineage.events import dataset, run_event

pytestmark = pytest.mark.django_db


def graph(client, node, **params):
    response = client.get("/api/v1/lineage", {"nodeId": node, **params})
    assert response.status_code == 200, response.content
    return {node["id"]: node for node in response.json()["graph"]}


def ends(node, way):
    key = "origin" if way == "inEdges" else "destination"
    return sorted(edge[key] for edge in node[way])


@pytest.fixture
def plant(send):
    """extract writes raw (reads nothing); clean reads raw and lookup, writes table and report;
    publish reads table (writes nothing); idle runs on nothing."""
    send(
        run_event(outputs=[dataset("w", "raw")], job=("p", "extract")),
        run_event(
            inputs=[dataset("w", "raw"), dataset("w", "lookup")],
            outputs=[dataset("w", "table"), dataset("w", "report")],
            job=("p", "clean"),
        ),
        run_event(inputs=[dataset("w", "table")], job=("p", "publish")),
        run_event(job=("p", "idle")),
    )


def test_it_reaches_a_job_that_only_writes_from_its_dataset(owner_client, plant):
    nodes = graph(owner_client, "dataset:w:table", direction="upstream")

    assert ends(nodes["job:p:extract"], "outEdges") == ["dataset:w:raw"]
    assert nodes["job:p:extract"]["inEdges"] == []
    assert "job:p:extract" in ends(nodes["dataset:w:raw"], "inEdges")
    # Upstream: what read the table is not part of where it came from.
    assert "job:p:publish" not in nodes


def test_it_reaches_a_job_that_only_reads_from_its_dataset(owner_client, plant):
    nodes = graph(owner_client, "dataset:w:raw", direction="downstream")

    assert ends(nodes["job:p:publish"], "inEdges") == ["dataset:w:table"]
    assert nodes["job:p:publish"]["outEdges"] == []
    assert "job:p:extract" not in nodes


def test_it_lists_all_a_job_read_and_wrote_whichever_way_the_walk_came(owner_client, plant):
    for start, direction in (("raw", "downstream"), ("report", "upstream"), ("lookup", "both")):
        clean = graph(owner_client, f"dataset:w:{start}", direction=direction)["job:p:clean"]

        assert ends(clean, "inEdges") == ["dataset:w:lookup", "dataset:w:raw"], start
        assert ends(clean, "outEdges") == ["dataset:w:report", "dataset:w:table"], start


def test_it_starts_a_walk_from_a_job(owner_client, plant):
    both = graph(owner_client, "job:p:clean")
    upstream = graph(owner_client, "job:p:clean", direction="upstream")
    downstream = graph(owner_client, "job:p:clean", direction="downstream")

    assert sorted(both) == [
        "dataset:w:lookup",
        "dataset:w:raw",
        "dataset:w:report",
        "dataset:w:table",
        "job:p:clean",
        "job:p:extract",
        "job:p:publish",
    ]
    assert "job:p:extract" in upstream
    assert "job:p:publish" not in upstream
    assert "job:p:publish" in downstream
    assert "job:p:extract" not in downstream
    assert both["job:p:clean"]["data"]["depth"] == 0
    assert both["dataset:w:raw"]["data"]["depth"] == 1


def test_it_shows_a_job_that_touched_nothing_when_it_starts_the_walk(owner_client, plant):
    nodes = graph(owner_client, "job:p:idle")

    assert list(nodes) == ["job:p:idle"]
    assert nodes["job:p:idle"]["type"] == "JOB"
    assert nodes["job:p:idle"]["inEdges"] == nodes["job:p:idle"]["outEdges"] == []


def test_it_reads_a_job_node_id_whose_namespace_holds_colons(owner_client, send):
    send(run_event(outputs=[dataset("w", "out")], job=("postgres://db:5432", "load:daily")))

    nodes = graph(owner_client, "job:postgres://db:5432:load:daily")

    assert ends(nodes["job:postgres://db:5432:load:daily"], "outEdges") == ["dataset:w:out"]


def test_it_rejects_a_stranger_reading_a_job_of_restricted_datasets(client_for, stranger, send):
    from catalog.models import Dataset

    send(
        run_event(outputs=[dataset("w", "zebra-secret")], job=("p", "zebra-extract")),
        run_event(inputs=[dataset("w", "zebra-secret")], outputs=[dataset("w", "public")], job=("p", "report")),
    )
    Dataset.objects.filter(name="zebra-secret").update(sensitivity=Sensitivity.RESTRICTED)
    client = client_for(stranger)

    unknown = client.get("/api/v1/lineage", {"nodeId": "job:p:nowhere"})
    hidden = client.get("/api/v1/lineage", {"nodeId": "job:p:zebra-extract"})
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["detail"].replace("zebra-extract", "nowhere") == unknown.json()["detail"]

    response = client.get("/api/v1/lineage", {"nodeId": "dataset:w:public", "direction": "upstream"})
    assert response.status_code == 200
    assert "zebra" not in response.content.decode()
    nodes = {node["id"]: node for node in response.json()["graph"]}
    # The writer of the hidden dataset is there, without its name.
    assert ends(nodes["dataset:restricted:#1"], "inEdges") == ["job:restricted:#1"]
    assert nodes["job:restricted:#1"]["data"] == {"type": "JOB", "restricted": True}


def test_it_keeps_a_rejected_edge_out_of_the_graph(client_for, owner, stranger, send):
    from lineage.models import LineageEdge

    send(run_event(outputs=[dataset("w", "theirs")], job=("p", "seed")))
    client_for(stranger).post(
        "/api/v1/lineage",
        run_event(inputs=[dataset("w", "mine")], outputs=[dataset("w", "theirs")], job=("q", "claim")),
        format="json",
    )
    edge = LineageEdge.objects.get(job__name="claim")
    assert client_for(owner).post(f"/api/v1/lineage/edges/{edge.pk}/reject").status_code == 204

    nodes = graph(client_for(owner), "dataset:w:theirs", direction="upstream")

    assert ends(nodes["dataset:w:theirs"], "inEdges") == ["job:p:seed"]
    assert "job:q:claim" not in nodes


@pytest.mark.parametrize(
    "params",
    [
        {"nodeId": "job:p:x\x00y"},
        {"nodeId": "dataset:w:x\x00y"},
        {"nodeId": "job:" + ":" * 40},
        {"nodeId": "job:" + "x" * 10_000},
        {"nodeId": "job:p:clean", "depth": "9" * 40},
        {"nodeId": "job:p:clean", "depth": "1.5"},
        {"nodeId": "job:p:clean", "direction": "up\x00"},
    ],
    ids=["nul-job", "nul-dataset", "colons", "long", "huge-depth", "fraction", "nul-direction"],
)
def test_it_rejects_hostile_query_parameters(owner_client, plant, params):
    response = owner_client.get("/api/v1/lineage", params)

    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")


def test_a_graph_of_many_jobs_costs_the_same_queries_as_one_of_few(owner_client, send):
    def star(size, prefix):
        # One job writes the hub from nothing, `size` jobs read it (half of them write something).
        send(run_event(outputs=[dataset(prefix, "hub")], job=(prefix, "source")))
        for index in range(size):
            outputs = [dataset(prefix, f"out{index}")] if index % 2 else []
            send(run_event(inputs=[dataset(prefix, "hub")], outputs=outputs, job=(prefix, f"reader{index}")))

    star(2, "few")
    star(30, "many")

    def queries(node):
        with CaptureQueriesContext(connection) as captured:
            nodes = graph(owner_client, node)
        return len(captured.captured_queries), nodes

    few, few_nodes = queries("dataset:few:hub")
    many, many_nodes = queries("dataset:many:hub")
    from_job, _ = queries("job:many:source")

    assert len([n for n in many_nodes.values() if n["type"] == "JOB"]) == 31
    assert len([n for n in few_nodes.values() if n["type"] == "JOB"]) == 3
    assert few == many
    assert from_job <= many + 2
