"""A version's contract status in the pre-training audit and in the findings of a model trained on it."""

import pytest

from tests.contracts.conftest import drifted_penguins
from tests.training.recorded import record

pytestmark = pytest.mark.django_db

RESEARCH = {"commercial": False, "distribute_model": False, "distribute_data": False}


@pytest.fixture
def failing(owner_client, penguins_dataset, add_version):
    """The penguins with an inferred contract of the given enforcement, and a second version failing it."""

    def make(enforcement: str):
        url = f"/api/v1/datasets/{penguins_dataset.pk}/contract/"
        draft = owner_client.post(url + "infer", {}, format="json").json()
        saved = owner_client.put(url, {**draft, "enforcement": enforcement}, format="json")
        assert saved.status_code == 200, saved.content
        version = add_version(penguins_dataset, drifted_penguins(), "v2")
        assert version.contract_check["status"] == "failed"
        return version

    return make


def audit(client, dataset):
    response = client.post("/api/v1/audits/", {"datasets": [str(dataset.pk)], "purpose": RESEARCH}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_failed_blocking_contract_fails_the_audit(owner_client, penguins_dataset, failing):
    version = failing("block")

    report = audit(owner_client, penguins_dataset)

    assert report["verdict"] == "fail"
    [blocker] = [item for item in report["findings"] if item["code"] == "contract_failed"]
    assert blocker["severity"] == "blocker"
    assert blocker["version"] == str(version.pk)
    assert "contract v1" in blocker["message"]


def test_a_failed_warning_contract_is_a_warning_of_the_audit(owner_client, penguins_dataset, failing):
    failing("warn")

    report = audit(owner_client, penguins_dataset)

    assert [(item["code"], item["severity"]) for item in report["findings"] if "contract" in item["code"]] == [
        ("contract_warning", "warning")
    ]
    assert report["verdict"] != "fail"


def test_a_passed_contract_adds_nothing_to_the_audit(owner_client, penguins_dataset):
    url = f"/api/v1/datasets/{penguins_dataset.pk}/contract/"
    draft = owner_client.post(url + "infer", {}, format="json").json()
    owner_client.put(url, {**draft, "enforcement": "block"}, format="json")

    report = audit(owner_client, penguins_dataset)

    assert not [item for item in report["findings"] if "contract" in item["code"]]


def test_a_model_trained_on_a_version_failing_its_blocking_contract_has_a_finding(owner, owner_client, failing):
    version = failing("block")
    run = record(owner, "penguin-classifier", version)

    findings = owner_client.get(f"/api/v1/models/{run.model_id}/").json()["findings"]

    [finding] = [item for item in findings if item["code"] == "contract_failed"]
    assert finding["severity"] == "blocker"
    assert finding["version"] == str(version.pk)
    assert "version 2 fails contract v1" in finding["message"]


def test_a_model_trained_on_a_version_failing_a_warning_contract_has_no_finding(owner, owner_client, failing):
    version = failing("warn")
    run = record(owner, "penguin-classifier", version)

    findings = owner_client.get(f"/api/v1/models/{run.model_id}/").json()["findings"]

    assert "contract_failed" not in [item["code"] for item in findings]
