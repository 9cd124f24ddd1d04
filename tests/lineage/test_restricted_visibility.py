"""Runs, jobs and the OpenLineage answer show a restricted dataset only to who may read it."""

import uuid

import pytest

from catalog.models import Dataset
from governance.choices import Sensitivity
from tests.factories import VersionFactory
from tests.lineage.events import dataset, facet, run_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def secret_run(send):
    """A run that read a restricted dataset (at a known version) and wrote a public one, and a run
    of another job that touched the restricted dataset alone."""
    run_id, private_id = uuid.uuid4(), uuid.uuid4()
    send(
        run_event(
            inputs=[dataset("w", "zebra-secret")],
            outputs=[dataset("w", "public")],
            run_id=run_id,
            run_facets={"processing_engine": facet(name="zebra-engine", version="1")},
            job_facets={
                "sql": facet(query="SELECT * FROM w.zebra-secret"),
                "documentation": facet(description="Reads zebra-secret"),
            },
        ),
        run_event(outputs=[dataset("w", "zebra-secret")], job=("zebra", "refresh"), run_id=private_id),
    )
    secret = Dataset.objects.get(name="zebra-secret")
    Dataset.objects.filter(pk=secret.pk).update(sensitivity=Sensitivity.RESTRICTED)
    version = VersionFactory(dataset=secret)
    secret.lineage_runs.update(version=version, reported_version="zebra-v7")
    return run_id, private_id, secret, version


def _leaks(text, secret, version):
    return [item for item in ("zebra", str(secret.pk), secret.pk.hex, str(version.pk)) if item in text]


def test_it_shows_a_run_without_the_restricted_dataset_it_read(client_for, stranger, secret_run):
    run_id, _, secret, version = secret_run

    response = client_for(stranger).get(f"/api/v1/runs/{run_id}/")

    assert response.status_code == 200, response.content
    assert _leaks(response.content.decode(), secret, version) == []
    (entry,) = response.json()["inputs"]
    assert entry == {
        "dataset": None,
        "namespace": None,
        "name": None,
        "direction": "input",
        "version": None,
        "version_number": None,
        "reported_version": None,
        "restricted": True,
    }
    assert response.json()["outputs"][0]["name"] == "public"
    assert response.json()["outputs"][0]["restricted"] is False
    # What the pipeline said of the run may name what it read.
    assert (response.json()["facets"], response.json()["facets_withheld"]) == ({}, True)


def test_it_lists_neither_runs_nor_jobs_that_touched_only_a_restricted_dataset(client_for, stranger, secret_run):
    run_id, private_id, secret, version = secret_run
    client = client_for(stranger)

    runs = client.get("/api/v1/runs/")
    jobs = client.get("/api/v1/jobs/")

    assert [run["id"] for run in runs.json()["results"]] == [str(run_id)]
    assert [job["name"] for job in jobs.json()["results"]] == ["build-features"]
    (job,) = jobs.json()["results"]
    assert (job["facets"], job["description"], job["facets_withheld"]) == ({}, "", True)
    assert job["latest_run"]["id"] == str(run_id)
    assert _leaks(runs.content.decode() + jobs.content.decode(), secret, version) == []
    assert client.get(f"/api/v1/runs/{private_id}/").status_code == 404
    # Asking for the runs of the restricted dataset by its id tells nothing.
    assert client.get("/api/v1/runs/", {"dataset": str(secret.pk)}).json()["results"] == []


def test_it_shows_the_restricted_dataset_to_its_readers(staff_client, secret_run):
    run_id, private_id, secret, version = secret_run

    body = staff_client.get(f"/api/v1/runs/{run_id}/").json()

    assert body["inputs"][0]["dataset"] == str(secret.pk)
    assert body["inputs"][0]["version"] == str(version.pk)
    assert "sql" in staff_client.get("/api/v1/jobs/", {"name": "build-features"}).json()["results"][0]["facets"]
    assert body["facets_withheld"] is False
    assert {run["id"] for run in staff_client.get("/api/v1/runs/").json()["results"]} == {str(run_id), str(private_id)}
    assert staff_client.get("/api/v1/runs/", {"dataset": str(secret.pk)}).json()["count"] == 2


def test_the_openlineage_answer_gives_no_id_of_a_dataset_the_sender_may_not_read(client_for, stranger, secret_run):
    _, _, secret, _version = secret_run

    response = client_for(stranger).post(
        "/api/v1/lineage",
        run_event(inputs=[dataset("w", "zebra-secret")], outputs=[dataset("w", "mine")], job=("s", "j")),
        format="json",
    )

    assert response.status_code == 201, response.content
    answered = {item["name"]: item["id"] for item in response.json()["datasets"]}
    assert answered["zebra-secret"] is None
    assert answered["mine"] == str(Dataset.objects.get(name="mine").pk)
    assert str(secret.pk) not in response.content.decode()
