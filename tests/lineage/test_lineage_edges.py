import pytest

from governance.models import Change
from lineage.models import LineageEdge
from tests.factories import DatasetFactory, OwnershipFactory
from tests.lineage.events import dataset, facet, run_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def source(db):
    return DatasetFactory(namespace="vendor", name="labels-export")


def test_an_owner_declares_where_their_dataset_came_from(owner_client, dataset, source):
    response = owner_client.post(
        "/api/v1/lineage/edges/",
        {"source": str(source.pk), "target": str(dataset.pk), "description": "copied by hand in March"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["source"], body["target"], body["origin"], body["job"]) == (
        str(source.pk),
        str(dataset.pk),
        "manual",
        None,
    )
    upstream = owner_client.get(
        "/api/v1/lineage", {"nodeId": "dataset:team-vision:street-signs", "direction": "upstream"}
    )
    node = {item["id"]: item for item in upstream.json()["graph"]}["dataset:team-vision:street-signs"]
    assert node["inEdges"] == [
        {
            "origin": "dataset:vendor:labels-export",
            "destination": "dataset:team-vision:street-signs",
            "declared": True,
            "status": "confirmed",
        }
    ]


def test_a_stranger_cannot_declare_the_origin_of_someone_elses_dataset(stranger_client, dataset, source):
    response = stranger_client.post(
        "/api/v1/lineage/edges/", {"source": str(source.pk), "target": str(dataset.pk)}, format="json"
    )

    assert response.status_code == 403
    assert not LineageEdge.objects.exists()


def test_declaring_an_edge_twice_is_a_conflict(owner_client, dataset, source):
    payload = {"source": str(source.pk), "target": str(dataset.pk)}
    first = owner_client.post("/api/v1/lineage/edges/", payload, format="json")

    second = owner_client.post("/api/v1/lineage/edges/", payload, format="json")

    assert second.status_code == 409
    assert second.json()["existing_id"] == first.json()["id"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"source": "same", "target": "same"}, "target"), ({"source": "unknown", "target": "own"}, "source")],
    ids=["self", "unknown-source"],
)
def test_it_refuses_bad_edges(owner_client, dataset, payload, field):
    ids = {"same": str(dataset.pk), "own": str(dataset.pk), "unknown": "00000000-0000-0000-0000-000000000000"}

    response = owner_client.post(
        "/api/v1/lineage/edges/", {key: ids[value] for key, value in payload.items()}, format="json"
    )

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_declared_and_reported_edges_are_removed_by_the_target_s_writers(
    owner_client, steward_client, stranger_client, dataset, source, send
):
    # Reported edges used to stay whatever happened: a wrong report had no remedy but the database.
    declared = owner_client.post(
        "/api/v1/lineage/edges/", {"source": str(source.pk), "target": str(dataset.pk)}, format="json"
    ).json()
    send(run_event(inputs=[dataset_ref(source)], outputs=[dataset_ref(dataset)]))
    reported = LineageEdge.objects.get(origin="openlineage")

    assert stranger_client.delete(f"/api/v1/lineage/edges/{reported.pk}/").status_code == 403
    assert steward_client.delete(f"/api/v1/lineage/edges/{reported.pk}/").status_code == 204
    assert owner_client.delete(f"/api/v1/lineage/edges/{declared['id']}/").status_code == 204
    assert not LineageEdge.objects.exists()
    removed = Change.objects.filter(object_type="edge", action="delete").order_by("created_at", "id")
    assert [(change.object_id, change.after) for change in removed] == [
        (str(reported.pk), {"reason": "removed"}),
        (str(declared["id"]), {"reason": "removed"}),
    ]


def dataset_ref(record):
    return dataset(record.namespace, record.name)


def test_edges_are_listed_and_filtered(owner_client, send, django_assert_max_num_queries):
    for index in range(5):
        send(run_event(inputs=[dataset("w", f"in{index}")], outputs=[dataset("w", "out")], job=("p", f"job{index}")))
    out = owner_client.get("/api/v1/datasets/", {"namespace": "w"}).json()

    with django_assert_max_num_queries(6):
        response = owner_client.get("/api/v1/lineage/edges/", {"origin": "openlineage"})

    assert response.status_code == 200
    assert response.json()["count"] == 5
    target = next(item["id"] for item in out["results"] if item["name"] == "out")
    assert owner_client.get("/api/v1/lineage/edges/", {"dataset": target}).json()["count"] == 5


def test_jobs_and_runs_are_listed_with_their_facets_and_datasets(owner_client, send, django_assert_max_num_queries):
    for index in range(4):
        send(
            run_event(
                inputs=[dataset("w", "raw")],
                outputs=[dataset("w", f"model-{index}")],
                job=("training", "fit"),
                minutes=index,
                run_facets={"hyperparameters": facet(learning_rate=0.01 * (index + 1))},
                job_facets={"jobType": facet(processingType="BATCH", integration="PYTORCH", jobType="TRAINING")},
            )
        )

    with django_assert_max_num_queries(6):
        runs = owner_client.get("/api/v1/runs/", {"namespace": "training", "state": "COMPLETE"})
    jobs = owner_client.get("/api/v1/jobs/", {"namespace": "training"})

    assert runs.status_code == 200
    assert jobs.status_code == 200
    job = jobs.json()["results"][0]
    assert (job["name"], job["job_type"], job["integration"]) == ("fit", "TRAINING", "PYTORCH")
    assert "_times" not in job["facets"]
    results = runs.json()["results"]
    assert len(results) == 4
    newest = results[0]
    # A training run's parameters are recorded with the run.
    assert newest["facets"]["hyperparameters"]["learning_rate"] == pytest.approx(0.04)
    assert [item["name"] for item in newest["inputs"]] == ["raw"]
    assert [item["name"] for item in newest["outputs"]] == ["model-3"]
    assert job["latest_run"]["id"] == newest["id"]


def test_edges_touching_a_restricted_dataset_are_hidden_from_strangers(client_for, stranger, owner, send):
    secret = DatasetFactory(namespace="w", name="secret", sensitivity="restricted")
    OwnershipFactory(dataset=secret, user=owner)
    send(run_event(inputs=[dataset("w", "secret")], outputs=[dataset("w", "derived")]))

    assert client_for(stranger).get("/api/v1/lineage/edges/").json()["count"] == 0
    assert client_for(owner).get("/api/v1/lineage/edges/").json()["count"] == 1
