import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from governance.choices import Sensitivity
from lineage.selectors import lineage_upstream
from tests.factories import DatasetFactory
from tests.lineage.events import column_lineage, dataset, run_event

pytestmark = pytest.mark.django_db


def graph(client, node, **params):
    response = client.get("/api/v1/lineage", {"nodeId": node, **params})
    assert response.status_code == 200, response.content
    return {node["id"]: node for node in response.json()["graph"]}


def datasets_in(nodes):
    return sorted(node_id.split(":", 2)[2] for node_id, node in nodes.items() if node["type"] == "DATASET")


@pytest.fixture
def chain(send):
    """a -> b -> c -> d -> e, each step through its own job, and f -> c from the side."""
    for source, target in (("a", "b"), ("b", "c"), ("c", "d"), ("d", "e"), ("f", "c")):
        send(run_event(inputs=[dataset("w", source)], outputs=[dataset("w", target)], job=("p", f"make-{target}")))


def test_upstream_holds_only_what_flowed_into_the_node(owner_client, chain):
    nodes = graph(owner_client, "dataset:w:d", direction="upstream")

    assert datasets_in(nodes) == ["a", "b", "c", "d", "f"]
    d = nodes["dataset:w:d"]
    assert d["inEdges"] == [
        {
            "origin": "job:p:make-d",
            "destination": "dataset:w:d",
            "run_id": d["inEdges"][0]["run_id"],
            "status": "confirmed",
        }
    ]
    assert d["outEdges"] == []
    assert nodes["job:p:make-d"]["type"] == "JOB"
    assert nodes["dataset:w:a"]["data"]["depth"] == 3


def test_downstream_holds_only_what_was_made_from_the_node(owner_client, chain):
    nodes = graph(owner_client, "dataset:w:b", direction="downstream")

    # f is there only as what make-c read beside b: nothing is walked from it.
    assert datasets_in(nodes) == ["b", "c", "d", "e", "f"]
    assert nodes["dataset:w:f"]["inEdges"] == []
    assert "job:p:make-b" not in nodes


def test_both_directions_do_not_wander_into_siblings(owner_client, chain, send):
    # f is upstream of c but neither upstream nor downstream of b: make-c lists it among its inputs,
    # and what made f is not walked.
    send(run_event(inputs=[dataset("w", "g")], outputs=[dataset("w", "f")], job=("p", "make-f")))

    nodes = graph(owner_client, "dataset:w:b", direction="both")

    assert datasets_in(nodes) == ["a", "b", "c", "d", "e", "f"]
    assert "job:p:make-f" not in nodes


@pytest.mark.parametrize(("depth", "expected"), [(0, ["d"]), (1, ["c", "d"]), (2, ["b", "c", "d", "f"])])
def test_depth_caps_the_walk(owner_client, chain, depth, expected):
    assert datasets_in(graph(owner_client, "dataset:w:d", direction="upstream", depth=depth)) == expected


def test_cycles_end(owner_client, send):
    send(run_event(inputs=[dataset("w", "x")], outputs=[dataset("w", "y")], job=("p", "forward")))
    send(run_event(inputs=[dataset("w", "y")], outputs=[dataset("w", "x")], job=("p", "backward")))

    nodes = graph(owner_client, "dataset:w:x", direction="upstream", depth=100)

    assert datasets_in(nodes) == ["x", "y"]
    assert sorted(nodes) == ["dataset:w:x", "dataset:w:y", "job:p:backward", "job:p:forward"]


def test_namespaces_with_colons_are_read_right(owner_client, send):
    send(
        run_event(
            inputs=[dataset("postgres://db.internal:5432", "shop.public.orders")],
            outputs=[dataset("s3://lake", "orders/daily.parquet")],
        )
    )

    nodes = graph(owner_client, "dataset:s3://lake:orders/daily.parquet", direction="upstream")

    assert "dataset:postgres://db.internal:5432:shop.public.orders" in nodes


def test_an_alias_names_the_same_node(owner_client, send):
    registered = DatasetFactory(namespace="team", name="orders")
    send(run_event(inputs=[dataset("team", "orders")], outputs=[dataset("w", "orders-clean")]))
    from lineage.models import DatasetAlias

    DatasetAlias.objects.create(dataset=registered, namespace="s3://lake", name="orders", kind="symlink")

    nodes = graph(owner_client, "dataset:s3://lake:orders", direction="downstream")

    assert sorted(nodes) == ["dataset:team:orders", "dataset:w:orders-clean", "job:pipelines:build-features"]


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"nodeId": "dataset:w:nowhere"}, 404, None),
        ({"nodeId": "job:p:x"}, 404, None),
        ({"nodeId": "run:p:x"}, 400, "nodeId"),
        ({}, 400, "nodeId"),
        ({"nodeId": "dataset:w:a", "direction": "sideways"}, 400, "direction"),
        ({"nodeId": "dataset:w:a", "depth": "1000"}, 400, "depth"),
        ({"nodeId": "dataset:w:a", "depth": "-1"}, 400, "depth"),
    ],
    ids=["unknown", "unknown-job", "not-a-node", "missing", "direction", "too-deep", "negative"],
)
def test_it_answers_bad_reads_with_4xx(owner_client, chain, params, status, field):
    response = owner_client.get("/api/v1/lineage", params)

    assert response.status_code == status
    if field:
        assert field in response.json()["errors"]


def test_restricted_datasets_are_shown_without_their_identity(client_for, stranger, send):
    from catalog.models import Dataset
    from lineage.models import LineageEdge
    from tests.factories import VersionFactory

    send(
        run_event(inputs=[dataset("w", "feed")], outputs=[dataset("w", "secret-raw")], job=("p", "ingest")),
        run_event(inputs=[dataset("w", "secret-raw")], outputs=[dataset("w", "secret")], job=("p", "hidden")),
        run_event(inputs=[dataset("w", "secret")], outputs=[dataset("w", "public")]),
    )
    secret = Dataset.objects.get(name="secret")
    Dataset.objects.filter(name__startswith="secret").update(sensitivity=Sensitivity.RESTRICTED)
    version = VersionFactory(dataset=secret)
    LineageEdge.objects.filter(source=secret).update(source_version=version)
    LineageEdge.objects.filter(target=secret).update(target_version=version)

    response = client_for(stranger).get("/api/v1/lineage", {"nodeId": "dataset:w:public", "direction": "upstream"})

    assert response.status_code == 200, response.content
    nodes = {node["id"]: node for node in response.json()["graph"]}
    for text in ("secret", str(secret.pk), secret.pk.hex, str(version.pk), "p:hidden"):
        assert text not in response.content.decode(), text
    hidden = [node for node in nodes.values() if node["data"].get("restricted")]
    assert [node["id"] for node in hidden] == ["dataset:restricted:#1", "dataset:restricted:#2", "job:restricted:#1"]
    assert hidden[0]["data"] == {"type": "DATASET", "restricted": True, "depth": 1}
    # The shape stays: the public dataset's job read something, and what fed it is still there.
    assert nodes["job:pipelines:build-features"]["inEdges"][0]["origin"] == "dataset:restricted:#1"
    assert "version_id" not in nodes["job:pipelines:build-features"]["inEdges"][0]
    assert "dataset:w:feed" in nodes
    assert "job:p:ingest" in nodes
    assert client_for(stranger).get("/api/v1/lineage", {"nodeId": "dataset:w:secret"}).status_code == 404


def test_column_lineage_shows_a_restricted_field_without_its_name_or_transformation(client_for, stranger, send):
    from catalog.models import Dataset

    mapping = column_lineage({"score": [("w", "secret", "zebra_diagnosis")]})
    mapping["fields"]["score"]["inputFields"][0]["transformations"][0]["description"] = "zebra formula"
    send(run_event(inputs=[dataset("w", "secret")], outputs=[dataset("w", "public", columnLineage=mapping)]))
    secret = Dataset.objects.get(name="secret")
    Dataset.objects.filter(pk=secret.pk).update(sensitivity=Sensitivity.RESTRICTED)

    response = client_for(stranger).get("/api/v1/column-lineage", {"nodeId": "datasetField:w:public:score"})

    assert response.status_code == 200, response.content
    for text in ("secret", "zebra", str(secret.pk), secret.pk.hex):
        assert text not in response.content.decode(), text
    nodes = {node["id"]: node for node in response.json()["graph"]}
    assert sorted(nodes) == ["datasetField:restricted:#1", "datasetField:w:public:score"]
    (entry,) = nodes["datasetField:w:public:score"]["data"]["input_fields"]
    assert entry["restricted"] is True
    assert entry["transformations"] == []


def test_a_graph_read_costs_the_same_queries_whatever_the_graph_size(owner_client, send):
    send(run_event(inputs=[dataset("small", "a")], outputs=[dataset("small", "b")]))
    names = [f"n{index}" for index in range(40)]
    for index, (source, target) in enumerate(itertools.pairwise(names)):
        send(run_event(inputs=[dataset("big", source)], outputs=[dataset("big", target)], job=("p", f"j{index}")))

    def queries(node):
        with CaptureQueriesContext(connection) as captured:
            graph(owner_client, node, direction="upstream", depth=100)
        return len(captured.captured_queries)

    small, big = queries("dataset:small:b"), queries("dataset:big:n39")
    # Authentication, resolving the node id (own identity, alias, location), visibility, the walk,
    # what the jobs beside the datasets reached read and wrote, their edges, the datasets, the jobs,
    # which jobs ran on datasets the reader may not read.
    assert small == big
    assert big <= 10


def test_the_upstream_selector_gives_the_path_to_each_ancestor(send, chain):
    from catalog.models import Dataset

    d = Dataset.objects.get(name="d")
    walk = lineage_upstream([d.pk], depth=50)[d.pk]
    names = {dataset.pk: dataset.name for dataset in Dataset.objects.all()}

    paths = {names[pk]: [names[step] for step in path] for pk, path in walk.paths().items()}
    assert paths["a"] == ["d", "c", "b", "a"]
    assert paths["f"] == ["d", "c", "f"]


def test_column_lineage_walks_fields_upstream(owner_client, send):
    send(
        run_event(
            inputs=[dataset("w", "raw")],
            outputs=[dataset("w", "clean", columnLineage=column_lineage({"amount": [("w", "raw", "amount_cents")]}))],
            job=("p", "clean"),
        ),
        run_event(
            inputs=[dataset("w", "clean"), dataset("w", "fx")],
            outputs=[
                dataset(
                    "w",
                    "features",
                    columnLineage=column_lineage({"amount_eur": [("w", "clean", "amount"), ("w", "fx", "rate")]}),
                )
            ],
            job=("p", "features"),
        ),
    )

    response = owner_client.get("/api/v1/column-lineage", {"nodeId": "datasetField:w:features:amount_eur", "depth": 10})

    assert response.status_code == 200, response.content
    nodes = {node["id"]: node for node in response.json()["graph"]}
    assert sorted(nodes) == [
        "datasetField:w:clean:amount",
        "datasetField:w:features:amount_eur",
        "datasetField:w:fx:rate",
        "datasetField:w:raw:amount_cents",
    ]
    start = nodes["datasetField:w:features:amount_eur"]["data"]
    assert sorted(item["field"] for item in start["input_fields"]) == ["amount", "rate"]
    assert start["input_fields"][0]["transformations"] == [{"type": "DIRECT", "subtype": "TRANSFORMATION"}]
    downstream = owner_client.get(
        "/api/v1/column-lineage", {"nodeId": "datasetField:w:raw:amount_cents", "direction": "downstream"}
    ).json()
    assert sorted(node["id"] for node in downstream["graph"]) == [
        "datasetField:w:clean:amount",
        "datasetField:w:features:amount_eur",
        "datasetField:w:raw:amount_cents",
    ]


def test_column_nodes_of_a_profiled_dataset_carry_the_profiled_type(owner_client, send):
    from catalog.models import Feature
    from tests.factories import VersionFactory

    registered = DatasetFactory(namespace="team", name="payments")
    version = VersionFactory(dataset=registered)
    Feature.objects.create(version=version, name="amount", position=0, dtype="double")
    send(
        run_event(
            inputs=[dataset("team", "payments")],
            outputs=[dataset("w", "scores", columnLineage=column_lineage({"score": [("team", "payments", "amount")]}))],
        )
    )

    response = owner_client.get("/api/v1/column-lineage", {"nodeId": "datasetField:w:scores:score"})

    nodes = {node["id"]: node for node in response.json()["graph"]}
    assert nodes["datasetField:team:payments:amount"]["data"]["field_type"] == "double"
