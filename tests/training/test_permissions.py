"""A second user cannot record runs on the first user's model, change them, nor learn through a run what
a restricted dataset is; reported runs wait for the owners; the change log shows model and run entries
to every authenticated user and redacts the datasets a reader may not read."""

import pytest

from governance.models import Change
from tests.factories import OwnershipFactory
from tests.training.conftest import fingerprint
from training.models import TrainingRun
from training.services import training_run_record
from training.specs import InputRef, ModelRef, RunSpec

pytestmark = pytest.mark.django_db

RUNS = "/api/v1/training-runs/"


@pytest.fixture
def model_id(owner_client) -> str:
    response = owner_client.post("/api/v1/models/", {"namespace": "vision", "name": "clf"})
    assert response.status_code == 201
    return response.json()["id"]


def test_a_stranger_cannot_record_a_run_on_the_model(stranger_client, model_id):
    for model in (model_id, {"namespace": "vision", "name": "clf"}):
        response = stranger_client.post(RUNS, {"model": model}, format="json")
        assert response.status_code == 403, response.json()
    assert not TrainingRun.objects.exists()


def test_a_stranger_cannot_change_or_confirm_a_run(owner, stranger_client, model_id):
    run = training_run_record(actor=owner, spec=RunSpec(model=ModelRef(id=model_id)))

    assert stranger_client.patch(f"{RUNS}{run.pk}/", {"status": "failed"}, format="json").status_code == 403
    assert stranger_client.post(f"{RUNS}{run.pk}/confirm/").status_code == 403
    assert TrainingRun.objects.get(pk=run.pk).status == "running"


def test_a_stranger_reporting_over_openlineage_changes_nothing_of_the_model(stranger, owner_client, model_id):
    run = training_run_record(
        actor=stranger,
        spec=RunSpec(
            model=ModelRef(namespace="vision", name="clf", description="hijacked"),
            source="openlineage",
            external_id="run-1",
        ),
    )

    detail = owner_client.get(f"/api/v1/models/{model_id}/").json()
    assert (detail["description"], detail["latest_run"]) == ("", None)
    assert [owner["name"] for owner in detail["owners"]] == ["olivia-owner"]
    assert owner_client.get(f"{RUNS}{run.pk}/").json()["confirmed"] is False


def test_a_stranger_cannot_take_over_a_reported_run(owner, stranger, model_id):
    spec = RunSpec(model=ModelRef(id=model_id), source="mlflow", external_id="m-1")
    training_run_record(actor=owner, spec=spec)

    from config import errors

    with pytest.raises(errors.Forbidden):
        training_run_record(
            actor=stranger, spec=RunSpec(model=ModelRef(id=model_id), source="mlflow", external_id="m-1")
        )


def test_a_restricted_dataset_is_unknown_to_who_may_not_read_it(owner_client, model_id, secret_version):
    by_version = owner_client.post(
        RUNS, {"model": model_id, "inputs": [{"version": str(secret_version.pk)}]}, format="json"
    )
    by_bytes = owner_client.post(
        RUNS,
        {"model": model_id, "inputs": [{"uri": secret_version.uri, "fingerprint": fingerprint("9")}]},
        format="json",
    )
    by_name = owner_client.post(
        RUNS, {"model": model_id, "inputs": [{"namespace": "hr", "name": "salaries"}]}, format="json"
    )
    unknown = owner_client.post(
        RUNS, {"model": model_id, "inputs": [{"version": "00000000-0000-0000-0000-000000000001"}]}, format="json"
    )

    assert by_version.json()["errors"]["inputs"] == [f"Input 0: there is no version {secret_version.pk}."]
    assert unknown.json()["errors"]["inputs"] == ["Input 0: there is no version 00000000-0000-0000-0000-000000000001."]
    assert "no version of file:///data/hr/salaries.csv has the fingerprint" in by_bytes.json()["errors"]["inputs"][0]
    assert by_name.json()["errors"]["inputs"] == ["Input 0: there is no dataset hr/salaries."]


def test_a_run_on_a_restricted_dataset_shows_no_more_than_a_placeholder(
    client_for, owner_client, secret_version, versions
):
    rita = secret_version.dataset.ownerships.get().user
    body = {
        "model": {"namespace": "hr", "name": "pay-model"},
        "inputs": [{"version": str(secret_version.pk)}, {"version": str(versions[0].pk)}],
    }
    # Rita may read both: her dataset, and the public one.
    recorded = client_for(rita).post(RUNS, body, format="json")
    assert recorded.status_code == 201, recorded.json()
    run_id = recorded.json()["id"]

    for response in (owner_client.get(f"{RUNS}{run_id}/"), owner_client.get(RUNS)):
        text = response.content.decode()
        assert "salaries" not in text
        assert secret_version.uri not in text
        assert fingerprint("9") not in text
        assert str(secret_version.pk) not in text
        assert str(secret_version.dataset_id) not in text
    hidden, shown = owner_client.get(f"{RUNS}{run_id}/").json()["inputs"]
    assert hidden == {
        "dataset": None,
        "version": None,
        "dataset_name": "a restricted dataset you may not read",
        "version_number": None,
        "uri": "",
        "fingerprint": "",
        "role": "train",
        "pinned": True,
        "restricted": True,
    }
    assert shown["version"] == str(versions[0].pk)
    # Filtering by the restricted dataset finds nothing, as for one that does not exist.
    assert owner_client.get(RUNS, {"dataset": str(secret_version.dataset_id)}).json()["count"] == 0
    assert client_for(rita).get(RUNS, {"dataset": str(secret_version.dataset_id)}).json()["count"] == 1
    # The change log shows the run to the owner, with the restricted ids redacted.
    changes = owner_client.get("/api/v1/changes/", {"object_type": "training_run"}).json()["results"]
    assert len(changes) == 1
    assert str(secret_version.pk) not in str(changes)
    assert str(secret_version.dataset_id) not in str(changes)


def test_an_unmatched_input_of_a_reported_run_is_kept_not_refused(owner, secret_version):
    run = training_run_record(
        actor=owner,
        spec=RunSpec(
            model=ModelRef(namespace="vision", name="clf"),
            source="openlineage",
            external_id="r-2",
            inputs=(InputRef(namespace="s3://bucket", name="raw/images", reported={"namespace": "s3://bucket"}),),
        ),
    )

    assert run.unmatched_inputs == [
        {"namespace": "s3://bucket", "reason": "Input 0: there is no dataset s3://bucket/raw/images."}
    ]
    assert not run.inputs.exists()


def test_model_and_run_entries_are_read_by_any_authenticated_user(owner, stranger_client, model_id):
    training_run_record(actor=owner, spec=RunSpec(model=ModelRef(id=model_id)))

    response = stranger_client.get("/api/v1/changes/")

    assert response.status_code == 200
    types = {entry["object_type"] for entry in response.json()["results"]}
    assert {"model", "model_ownership", "training_run"} <= types
    assert Change.objects.filter(object_type="training_run").count() == 1


def test_a_steward_of_the_model_records_runs(client_for, stranger, owner_client, model_id):
    owner_client.post(f"/api/v1/models/{model_id}/owners/", {"user": "simon-stranger", "role": "steward"})

    response = client_for(stranger).post(RUNS, {"model": model_id}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["confirmed"] is True


def test_a_group_owner_records_runs(client_for, group_member, owner_client, model_id):
    owner_client.post(f"/api/v1/models/{model_id}/owners/", {"group": "vision-team", "role": "owner"})

    assert client_for(group_member).post(RUNS, {"model": model_id}, format="json").status_code == 201


def test_it_reads_datasets_a_group_of_the_recorder_owns(group_member, versions):
    OwnershipFactory(dataset=versions[0].dataset, user=None, group=group_member.groups.get(), role="owner")

    run = training_run_record(
        actor=group_member,
        spec=RunSpec(model=ModelRef(namespace="g", name="m"), inputs=(InputRef(version=versions[0].pk),)),
    )

    assert run.inputs.get().version_id == versions[0].pk
