"""GET/PUT/PATCH /api/v1/datasets/{id}/contract/, its versions, and POST …/contract/infer."""

import pytest

from catalog.models import Dataset
from contracts.models import ContractVersion
from governance.models import Change
from tests.hostile import deep

pytestmark = pytest.mark.django_db

CONTRACT = {
    "enforcement": "block",
    "features": [
        {"name": "species", "required": True, "allowed_values": ["Adelie", "Chinstrap", "Gentoo"]},
        {"name": "bill_length_mm", "logical_type": "numeric", "min": 30, "max": 60, "max_null_fraction": 0.05},
    ],
    "dataset": {"min_rows": 100, "classes": ["Adelie", "Chinstrap", "Gentoo"]},
}


def url(dataset: Dataset, tail: str = "") -> str:
    return f"/api/v1/datasets/{dataset.pk}/contract/{tail}"


def test_it_saves_every_change_as_a_new_version_in_the_change_log(owner_client, steward_client, penguins_dataset):
    assert owner_client.get(url(penguins_dataset)).status_code == 404

    first = owner_client.put(url(penguins_dataset), CONTRACT, format="json")
    assert first.status_code == 200, first.content
    assert first.json()["version"] == 1
    assert first.json()["created_by"] == "olivia-owner"
    second = steward_client.patch(url(penguins_dataset), {"dataset": {"min_rows": 300}}, format="json")
    assert second.status_code == 200, second.content
    body = second.json()
    assert body["version"] == 2
    assert body["dataset"]["min_rows"] == 300
    assert body["dataset"]["classes"] == ["Adelie", "Chinstrap", "Gentoo"]  # kept: dataset is patched key by key
    assert body["features"] == first.json()["features"]

    history = owner_client.get(url(penguins_dataset, "versions/")).json()
    assert [item["version"] for item in history] == [2, 1]
    assert history[1]["dataset"]["min_rows"] == 100
    changes = Change.objects.filter(object_type="contract", dataset_id=penguins_dataset.pk).order_by("created_at")
    assert [(change.action, change.after.get("version")) for change in changes] == [("create", 1), ("update", 2)]
    assert changes[1].before["dataset"]["min_rows"] == 100


def test_it_refuses_a_write_over_a_contract_changed_since_it_was_read(owner_client, steward_client, penguins_dataset):
    owner_client.put(url(penguins_dataset), CONTRACT, format="json")
    read = owner_client.get(url(penguins_dataset))
    etag = read["ETag"]
    assert (
        steward_client.patch(
            url(penguins_dataset), {"enforcement": "warn"}, format="json", HTTP_IF_MATCH=etag
        ).status_code
        == 200
    )

    stale = owner_client.put(url(penguins_dataset), CONTRACT, format="json", HTTP_IF_MATCH=etag)

    assert stale.status_code == 412
    assert ContractVersion.objects.filter(dataset=penguins_dataset).count() == 2


def test_it_checks_the_latest_ready_version_when_a_contract_is_saved(owner_client, penguins_dataset):
    owner_client.put(url(penguins_dataset), CONTRACT, format="json")
    version = owner_client.get(f"/api/v1/versions/{penguins_dataset.latest_version_id}/").json()
    assert version["contract"]["status"] == "passed"
    assert version["contract"]["version"] == 1
    # The contract names two of the eight features: the others are new to it, which warns only.
    assert {(item["code"], item["severity"]) for item in version["contract"]["anomalies"]} == {
        ("new_feature", "warning")
    }

    owner_client.patch(url(penguins_dataset), {"dataset": {"min_rows": 1000}}, format="json")

    version = owner_client.get(f"/api/v1/versions/{penguins_dataset.latest_version_id}/").json()
    assert version["contract"]["status"] == "failed"
    assert version["contract"]["version"] == 2
    errors = [item for item in version["contract"]["anomalies"] if item["severity"] == "error"]
    assert [(item["code"], item["actual"]) for item in errors] == [("row_count", 344)]
    failed = [item for item in version["quality"]["findings"] if item["code"] == "contract_failed"]
    assert [item["severity"] for item in failed] == ["error"]  # a blocking contract


def test_it_shows_no_contract_on_a_version_of_a_dataset_without_one(owner_client, penguins_dataset):
    version = owner_client.get(f"/api/v1/versions/{penguins_dataset.latest_version_id}/").json()
    assert version["contract"] == {"status": "none"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"features": [{"name": "x", "min": 5, "max": 1}]}, "features.0.min"),
        ({"features": [{"name": "x", "max_null_fraction": 2}]}, "features.0.max_null_fraction"),
        ({"features": [{"name": "x", "pattern": "(a+)+$"}]}, "features.0.pattern"),
        ({"features": [{"name": "x"}, {"name": "x"}]}, "features.1.name"),
        ({"features": [{"name": "x", "colour": "red"}]}, "features.0.colour"),
        ({"enforcement": 1}, "enforcement"),
        ({"reference_version": 9}, "reference_version"),
        ({"features": "all"}, "features"),
    ],
)
def test_it_rejects_a_bad_contract_naming_the_field(owner_client, penguins_dataset, body, field):
    response = owner_client.put(url(penguins_dataset), body, format="json")

    assert response.status_code == 400, response.content
    assert field in response.content.decode()
    assert not ContractVersion.objects.filter(dataset=penguins_dataset).exists()


def test_it_hides_a_restricted_dataset_s_contract_from_a_stranger(owner_client, stranger_client, penguins_dataset):
    owner_client.put(url(penguins_dataset), CONTRACT, format="json")
    Dataset.objects.filter(pk=penguins_dataset.pk).update(sensitivity="restricted")

    for response in (
        stranger_client.get(url(penguins_dataset)),
        stranger_client.get(url(penguins_dataset, "versions/")),
        stranger_client.put(url(penguins_dataset), {"enforcement": "warn"}, format="json"),
        stranger_client.patch(url(penguins_dataset), {"enforcement": "warn"}, format="json"),
        stranger_client.post(url(penguins_dataset, "infer"), {}, format="json"),
    ):
        assert response.status_code == 404, response.content
    unknown = stranger_client.get("/api/v1/datasets/00000000-0000-0000-0000-000000000000/contract/")
    assert unknown.status_code == 404
    assert ContractVersion.objects.filter(dataset=penguins_dataset).count() == 1


def test_it_lets_a_reader_read_but_not_change_the_contract(owner_client, stranger_client, penguins_dataset):
    owner_client.put(url(penguins_dataset), CONTRACT, format="json")

    assert stranger_client.get(url(penguins_dataset)).json()["version"] == 1
    assert stranger_client.put(url(penguins_dataset), {"enforcement": "warn"}, format="json").status_code == 403
    assert stranger_client.patch(url(penguins_dataset), {"enforcement": "warn"}, format="json").status_code == 403
    assert stranger_client.post(url(penguins_dataset, "infer"), {}, format="json").status_code == 403
    assert ContractVersion.objects.filter(dataset=penguins_dataset).count() == 1


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (deep(5000), "application/json"),
        ('{"features": [{"name": "a\\u0000b"}]}', "application/json"),
        ('{"features": [{"name": "' + "x" * (6 * 1024 * 1024) + '"}]}', "application/json"),
        ("[1, 2, 3]", "application/json"),
        ('"block"', "application/json"),
        ("{not json", "application/json"),
        (
            '{"features": [' + ",".join(f'{{"name": "f{i}", "allowed_values": [1]}}' for i in range(3000)) + "]}",
            "application/json",
        ),
    ],
)
def test_it_answers_hostile_bodies_with_a_clear_4xx(owner_client, penguins_dataset, body, content_type):
    response = owner_client.generic("PUT", url(penguins_dataset), body, content_type=content_type)

    assert 400 <= response.status_code < 500, response.content[:300]
    assert response["Content-Type"].startswith("application/problem+json")
    assert not ContractVersion.objects.filter(dataset=penguins_dataset).exists()


def test_it_infers_a_draft_from_the_profile_and_saves_nothing(owner_client, penguins_dataset):
    response = owner_client.post(url(penguins_dataset, "infer"), {}, format="json")

    assert response.status_code == 200, response.content
    draft = response.json()
    assert not ContractVersion.objects.exists()
    assert draft["reference_version"] == 1
    features = {item["name"]: item for item in draft["features"]}
    assert set(features) == {
        "species",
        "island",
        "bill_length_mm",
        "bill_depth_mm",
        "flipper_length_mm",
        "body_mass_g",
        "sex",
        "year",
    }
    assert features["island"]["allowed_values"] == ["Biscoe", "Dream", "Torgersen"]
    assert features["island"]["required"] is True
    assert features["bill_length_mm"]["required"] is False  # two penguins were not measured
    assert features["bill_length_mm"]["min"] < 32.1
    assert features["bill_length_mm"]["max"] > 59.6
    assert features["flipper_length_mm"]["max_drift"]["ks"] >= 0.1
    assert draft["dataset"]["classes"] == ["Adelie", "Chinstrap", "Gentoo"]

    saved = owner_client.put(url(penguins_dataset), draft, format="json")
    assert saved.status_code == 200, saved.content
    version = owner_client.get(f"/api/v1/versions/{penguins_dataset.latest_version_id}/").json()
    assert version["contract"]["status"] == "passed", version["contract"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"version": 1}, 200),
        ({"version": 7}, 404),
        ({"version": "not-an-id"}, 400),
        ({"version": [1]}, 400),
        ({"version": 1, "extra": True}, 400),
    ],
)
def test_it_infers_from_the_version_asked_for(owner_client, penguins_dataset, body, status):
    response = owner_client.post(url(penguins_dataset, "infer"), body, format="json")
    assert response.status_code == status, response.content


def test_it_infers_from_a_version_named_by_its_id(owner_client, penguins_dataset):
    response = owner_client.post(
        url(penguins_dataset, "infer"), {"version": str(penguins_dataset.latest_version_id)}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["reference_version"] == 1
