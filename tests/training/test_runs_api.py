"""POST/GET/PATCH /api/v1/training-runs/: a run pinned to the versions it read, each way of naming them,
and what may not change once it is recorded."""

import pytest

from catalog.choices import VersionStatus
from governance.models import Change
from tests.factories import VersionFactory
from tests.training.conftest import fingerprint
from training.models import Model, TrainingRun

pytestmark = pytest.mark.django_db

RUNS = "/api/v1/training-runs/"


def _run(**values) -> dict:
    return {"model": {"namespace": "vision", "name": "sign-classifier"}, **values}


def test_it_records_a_model_trained_on_two_versions(owner_client, owner, versions):
    first, second = versions
    response = owner_client.post(
        RUNS,
        _run(
            model_version="1.3.0",
            status="completed",
            started_at="2026-05-01T10:00:00Z",
            ended_at="2026-05-01T12:00:00+02:00",
            code={"repository": "https://git.example.org/vision", "commit": "abc123", "entrypoint": "train.py"},
            hyperparameters={"lr": 0.001, "optimizer": {"name": "adam", "betas": [0.9, 0.999]}},
            metrics={"accuracy": 0.93},
            environment={"torch": "2.5.0"},
            inputs=[{"version": str(first.pk), "role": "train"}, {"version": str(second.pk), "role": "validation"}],
            artifacts=[{"uri": "s3://models/sign.pt", "sha256": "f" * 64, "size": 1024}],
            purpose={"commercial": True},
        ),
        format="json",
    )

    assert response.status_code == 201, response.json()
    run = response.json()
    assert response["Location"].endswith(f"{RUNS}{run['id']}/")
    assert run["inputs"] == [
        {
            "dataset": str(first.dataset_id),
            "version": str(first.pk),
            "dataset_name": "team-vision/street-signs",
            "version_number": 1,
            "uri": first.uri,
            "fingerprint": fingerprint("1"),
            "role": "train",
            "pinned": True,
            "restricted": False,
        },
        {
            "dataset": str(second.dataset_id),
            "version": str(second.pk),
            "dataset_name": "team-vision/street-signs",
            "version_number": 2,
            "uri": second.uri,
            "fingerprint": fingerprint("2"),
            "role": "validation",
            "pinned": True,
            "restricted": False,
        },
    ]
    assert run["hyperparameters"] == {"lr": 0.001, "optimizer": {"name": "adam", "betas": [0.9, 0.999]}}
    assert run["code"] == {"repository": "https://git.example.org/vision", "commit": "abc123", "entrypoint": "train.py"}
    assert run["ended_at"] == "2026-05-01T10:00:00Z"
    assert run["artifacts"] == [{"uri": "s3://models/sign.pt", "sha256": "f" * 64, "size": 1024}]
    assert run["purpose"] == {"commercial": True, "distribute_model": False, "distribute_data": False}
    assert (run["source"], run["audit"], run["created_by"], run["confirmed"]) == ("api", None, "olivia-owner", True)
    assert run["model"]["namespace"] == "vision"
    assert Model.objects.get(namespace="vision").ownerships.get().user == owner


def test_it_resolves_a_dataset_to_its_latest_ready_version_unpinned(owner_client, dataset, versions):
    VersionFactory(dataset=dataset, number=3, status=VersionStatus.PENDING)

    response = owner_client.post(RUNS, _run(inputs=[{"dataset": str(dataset.pk)}]), format="json")

    assert response.status_code == 201, response.json()
    [item] = response.json()["inputs"]
    assert (item["version"], item["version_number"], item["pinned"]) == (str(versions[1].pk), 2, False)


def test_it_resolves_bytes_by_uri_and_fingerprint(owner_client, versions):
    body = _run(inputs=[{"uri": versions[0].uri, "fingerprint": fingerprint("1"), "role": "test"}])

    response = owner_client.post(RUNS, body, format="json")

    assert response.status_code == 201, response.json()
    [item] = response.json()["inputs"]
    assert (item["version"], item["role"], item["pinned"]) == (str(versions[0].pk), "test", True)


def test_it_resolves_a_dataset_by_name_and_version_label(owner_client, versions):
    body = _run(
        inputs=[
            {"namespace": "team-vision", "name": "street-signs", "version_label": "1"},
            {"namespace": "team-vision", "name": "street-signs", "version_label": fingerprint("2")},
            {"namespace": "team-vision", "name": "street-signs", "version_label": str(versions[0].pk)},
            {"namespace": "team-vision", "name": "street-signs"},
        ]
    )

    response = owner_client.post(RUNS, body, format="json")

    assert response.status_code == 201, response.json()
    numbers = [(item["version_number"], item["pinned"]) for item in response.json()["inputs"]]
    assert numbers == [(1, True), (2, True), (1, True), (2, False)]


def test_it_refuses_a_fingerprint_that_matches_no_version(owner_client, versions):
    body = _run(inputs=[{"uri": versions[0].uri, "fingerprint": fingerprint("e")}])

    response = owner_client.post(RUNS, body, format="json")

    assert response.status_code == 400
    [message] = response.json()["errors"]["inputs"]
    assert f"no version of {versions[0].uri} has the fingerprint {fingerprint('e')}" in message
    assert not TrainingRun.objects.exists()
    assert not Model.objects.exists()


def test_it_refuses_a_version_that_is_not_ready_naming_it(owner_client, dataset):
    pending = VersionFactory(dataset=dataset, number=1, status=VersionStatus.PROFILING)

    response = owner_client.post(RUNS, _run(inputs=[{"version": str(pending.pk)}]), format="json")

    assert response.status_code == 400
    [message] = response.json()["errors"]["inputs"]
    assert f"version 1 ({pending.pk}) of team-vision/street-signs is profiling, not ready" in message


def test_it_refuses_an_input_named_two_ways(owner_client, versions):
    body = _run(inputs=[{"version": str(versions[0].pk), "dataset": str(versions[0].dataset_id)}])

    response = owner_client.post(RUNS, body, format="json")

    assert response.status_code == 400
    assert "Name the input one way" in response.json()["errors"]["inputs.0.non_field_errors"][0]


@pytest.fixture
def run(owner_client, versions) -> dict:
    body = _run(hyperparameters={"lr": 0.1}, inputs=[{"version": str(versions[0].pk)}], started_at="2026-05-01T10:00Z")
    response = owner_client.post(RUNS, body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_it_changes_status_end_metrics_and_artifacts(owner_client, run):
    response = owner_client.patch(
        f"{RUNS}{run['id']}/",
        {
            "status": "completed",
            "ended_at": "2026-05-01T11:00Z",
            "metrics": {"f1": 0.8},
            "artifacts": [{"uri": "s3://m"}],
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    changed = response.json()
    assert (changed["status"], changed["metrics"], changed["artifacts"][0]["uri"]) == (
        "completed",
        {"f1": 0.8},
        "s3://m",
    )
    entry = Change.objects.filter(object_type="training_run", action="update", object_id=run["id"]).get()
    assert entry.before["status"] == "running"
    assert entry.after["status"] == "completed"


@pytest.mark.parametrize(
    ("field", "value"),
    [("hyperparameters", {"lr": 1}), ("inputs", []), ("model_version", "2.0"), ("code", {"commit": "x"})],
)
def test_it_refuses_to_change_what_a_run_read_naming_the_field(owner_client, run, field, value):
    response = owner_client.patch(f"{RUNS}{run['id']}/", {field: value}, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert TrainingRun.objects.get(pk=run["id"]).hyperparameters == {"lr": 0.1}


def test_the_service_says_why_the_hyperparameters_cannot_change(owner, run):
    from config import errors
    from training.services import training_run_update

    with pytest.raises(errors.Invalid, match="hyperparameters cannot change once recorded"):
        training_run_update(actor=owner, run=TrainingRun.objects.get(pk=run["id"]), hyperparameters={})


def test_it_refuses_an_end_before_the_start(owner_client, run):
    response = owner_client.patch(f"{RUNS}{run['id']}/", {"ended_at": "2026-04-01T00:00Z"}, format="json")

    assert response.status_code == 400
    assert "ended_at" in response.json()["errors"]


def test_it_filters_runs(owner_client, run, versions):
    model_id = run["model"]["id"]
    for query, expected in [
        ({"model": model_id}, 1),
        ({"status": "running"}, 1),
        ({"status": "failed"}, 0),
        ({"source": "api"}, 1),
        ({"dataset": str(versions[0].dataset_id)}, 1),
        ({"version": str(versions[0].pk)}, 1),
        ({"version": str(versions[1].pk)}, 0),
        ({"model_version": "nope"}, 0),
    ]:
        response = owner_client.get(RUNS, query)
        assert response.status_code == 200, response.json()
        assert response.json()["count"] == expected, query


def test_it_records_the_creation_in_the_change_log_by_ids_only(run, versions):
    entry = Change.objects.get(object_type="training_run", action="create")

    assert entry.object_id == run["id"]
    assert entry.dataset_id is None
    assert entry.after["inputs"] == [
        {"dataset": str(versions[0].dataset_id), "version": str(versions[0].pk), "role": "train", "pinned": True}
    ]
    assert Change.objects.filter(object_type="model", action="create").exists()
    assert Change.objects.filter(object_type="model_ownership", action="create").exists()
