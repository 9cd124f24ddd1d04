"""POST /api/v1/datasets/{id}/contract/validate and GET /api/v1/contract-checks/{id}/: serving data
profiled on a worker and checked against the contract, never registered as a version."""

import pytest

from catalog.models import Dataset, DatasetVersion
from contracts.models import ContractCheck
from tests.contracts.conftest import clean_penguins, skewed_serving_penguins, write_csv

pytestmark = pytest.mark.django_db


@pytest.fixture
def contracted(owner_client, penguins_dataset):
    """The penguins with the contract inferred from version 1, saved."""
    url = f"/api/v1/datasets/{penguins_dataset.pk}/contract/"
    draft = owner_client.post(url + "infer", {}, format="json").json()
    assert owner_client.put(url, draft, format="json").status_code == 200
    return penguins_dataset


def validate(client, dataset, source, capture):
    with capture(execute=True):
        return client.post(f"/api/v1/datasets/{dataset.pk}/contract/validate", {"source": source}, format="json")


def test_it_finds_training_serving_skew_without_making_a_version(
    owner_client, contracted, storage_root, django_capture_on_commit_callbacks
):
    path = write_csv(skewed_serving_penguins(), storage_root / "serving" / "today.csv")

    response = validate(owner_client, contracted, {"uri": str(path)}, django_capture_on_commit_callbacks)

    assert response.status_code == 202, response.content
    check_id = response.json()["id"]
    assert response["Location"] == f"/api/v1/contract-checks/{check_id}/"
    body = owner_client.get(f"/api/v1/contract-checks/{check_id}/").json()
    assert body["status"] == "failed", body
    assert body["row_count"] == 150
    assert body["reference_version"] == 1
    assert [(item["code"], item["feature"]) for item in body["anomalies"]] == [("drift", "flipper_length_mm")]
    assert body["anomalies"][0]["actual"]["ks"] > 0.4
    assert DatasetVersion.objects.filter(dataset=contracted).count() == 1


def test_it_passes_serving_data_like_the_training_data(
    owner_client, contracted, storage_root, django_capture_on_commit_callbacks
):
    path = write_csv(clean_penguins(), storage_root / "serving" / "same.csv")

    check_id = validate(owner_client, contracted, {"uri": str(path)}, django_capture_on_commit_callbacks).json()["id"]

    body = owner_client.get(f"/api/v1/contract-checks/{check_id}/").json()
    assert (body["status"], body["anomalies"]) == ("passed", [])


def test_it_says_why_a_source_could_not_be_read(
    owner_client, contracted, storage_root, django_capture_on_commit_callbacks
):
    path = storage_root / "serving" / "broken.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"species,island\n\xff\xfe\x00\x00broken\n")

    check_id = validate(
        owner_client, contracted, {"uri": str(path), "label_column": "nope"}, django_capture_on_commit_callbacks
    ).json()["id"]

    body = owner_client.get(f"/api/v1/contract-checks/{check_id}/").json()
    assert body["status"] == "error"
    assert body["error"]


def test_it_confines_the_source_like_a_registration(
    owner_client, contracted, tmp_path, django_capture_on_commit_callbacks
):
    outside = write_csv(clean_penguins(), tmp_path / "elsewhere" / "data.csv")

    response = validate(owner_client, contracted, {"uri": str(outside)}, django_capture_on_commit_callbacks)

    assert response.status_code in (400, 403), response.content
    assert "source" in response.content.decode()
    assert not ContractCheck.objects.exists()


def test_it_refuses_a_check_without_a_contract(
    owner_client, penguins_dataset, storage_root, django_capture_on_commit_callbacks
):
    path = write_csv(clean_penguins(), storage_root / "serving" / "same.csv")
    response = validate(owner_client, penguins_dataset, {"uri": str(path)}, django_capture_on_commit_callbacks)
    assert response.status_code == 409


def test_it_keeps_a_check_from_strangers(
    owner_client, stranger_client, contracted, storage_root, django_capture_on_commit_callbacks
):
    path = write_csv(clean_penguins(), storage_root / "serving" / "same.csv")
    check_id = validate(owner_client, contracted, {"uri": str(path)}, django_capture_on_commit_callbacks).json()["id"]

    assert stranger_client.get(f"/api/v1/contract-checks/{check_id}/").status_code == 404
    assert stranger_client.get("/api/v1/contract-checks/00000000-0000-0000-0000-000000000000/").status_code == 404
    # A reader of the dataset may not spend a worker on checks of it; one who may not read it learns nothing.
    assert (
        validate(stranger_client, contracted, {"uri": str(path)}, django_capture_on_commit_callbacks).status_code == 403
    )
    Dataset.objects.filter(pk=contracted.pk).update(sensitivity="restricted")
    assert (
        validate(stranger_client, contracted, {"uri": str(path)}, django_capture_on_commit_callbacks).status_code == 404
    )
    assert ContractCheck.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"source": "today.csv"},
        {"source": {"uri": 5}},
        {"source": {"uri": "a\x00b"}},
        {"source": {"uri": "x.csv", "colour": 1}},
        {"source": {"uri": "x" * 5000}},
        {"source": {"uri": "x.csv"}, "extra": 1},
    ],
)
def test_it_answers_hostile_requests_with_a_clear_4xx(owner_client, contracted, body):
    response = owner_client.post(f"/api/v1/datasets/{contracted.pk}/contract/validate", body, format="json")
    assert 400 <= response.status_code < 500, response.content
    assert not ContractCheck.objects.exists()
