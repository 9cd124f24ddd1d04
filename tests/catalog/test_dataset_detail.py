import pytest

from catalog.models import Dataset
from tests.factories import VersionFactory


def url(dataset) -> str:
    return f"/api/v1/datasets/{dataset.pk}/"


@pytest.mark.django_db
def test_it_reads_a_dataset_with_the_contract_fields(stranger_client, dataset):
    version = VersionFactory(dataset=dataset, number=1)

    response = stranger_client.get(url(dataset))

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(dataset.pk)
    assert {"id", "namespace", "name", "license", "owners", "latest_version"} <= set(body)
    assert body["latest_version"] == {"id": str(version.pk), "number": 1, "status": "ready"}
    assert {owner["role"] for owner in body["owners"]} == {"owner", "steward"}


@pytest.mark.django_db
def test_it_answers_404_for_an_unknown_or_malformed_id(stranger_client):
    missing = stranger_client.get("/api/v1/datasets/6f1c1f3e-44f0-4a55-9f57-2b0d8e6e9d0a/")
    malformed = stranger_client.get("/api/v1/datasets/not-a-uuid/")

    assert missing.status_code == 404
    assert missing["Content-Type"] == "application/problem+json"
    assert malformed.status_code == 404
    assert malformed.json()["status"] == 404


@pytest.mark.django_db
@pytest.mark.parametrize("client_name", ["owner_client", "steward_client", "staff_client"])
def test_it_lets_owners_stewards_and_staff_change_a_dataset(request, dataset, client_name):
    client = request.getfixturevalue(client_name)

    response = client.patch(
        url(dataset),
        {
            "description": "Better words",
            "tags": ["Signs"],
            "lifecycle": "deprecated",
            "deprecation_reason": "Use signs-v2.",
        },
    )

    assert response.status_code == 200, response.json()
    assert response.json()["description"] == "Better words"
    assert response.json()["tags"] == ["signs"]
    assert response.json()["lifecycle"] == "deprecated"
    assert response.json()["deprecation_reason"] == "Use signs-v2."
    assert response.json()["deprecated_at"] is not None
    dataset.refresh_from_db()
    assert dataset.description == "Better words"


@pytest.mark.django_db
def test_deprecating_a_dataset_needs_a_reason_and_undoing_it_clears_it(owner_client, dataset):
    refused = owner_client.patch(url(dataset), {"lifecycle": "deprecated"})
    deprecated = owner_client.patch(url(dataset), {"lifecycle": "deprecated", "deprecation_reason": "Superseded."})
    listed = owner_client.get("/api/v1/datasets/")
    active = owner_client.patch(url(dataset), {"lifecycle": "active"})

    assert refused.status_code == 400
    assert "deprecation_reason" in refused.json()["errors"]
    assert deprecated.status_code == 200
    # Deprecated datasets stay listed, marked.
    [entry] = [item for item in listed.json()["results"] if item["id"] == str(dataset.pk)]
    assert entry["lifecycle"] == "deprecated"
    assert entry["deprecation_reason"] == "Superseded."
    assert active.json()["deprecation_reason"] == ""
    assert active.json()["deprecated_at"] is None


@pytest.mark.django_db
def test_it_refuses_changes_from_a_stranger(stranger_client, dataset):
    response = stranger_client.patch(url(dataset), {"description": "Vandalism"})

    assert response.status_code == 403
    assert "owners and stewards" in response.json()["detail"]
    dataset.refresh_from_db()
    assert dataset.description == "A dataset"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"lifecycle": "retired"}, "lifecycle"),
        ({"sensitivity": "secret"}, "sensitivity"),
        ({"tags": ["Not Valid!"]}, "tags.0"),
        ({"description": None}, "description"),
    ],
)
def test_it_rejects_bad_changes(owner_client, dataset, payload, field):
    response = owner_client.patch(url(dataset), payload)

    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.django_db
def test_it_refuses_identity_fields_in_a_patch_naming_them(owner_client, dataset):
    response = owner_client.patch(url(dataset), {"namespace": "elsewhere", "name": "renamed"})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"namespace", "name"}
    assert "Read-only" in response.json()["errors"]["namespace"][0]
    dataset.refresh_from_db()
    assert (dataset.namespace, dataset.name) == ("team-vision", "street-signs")


@pytest.mark.django_db
def test_it_does_not_allow_put(owner_client, dataset):
    response = owner_client.put(url(dataset), {"namespace": "a", "name": "b"})

    assert response.status_code == 405


@pytest.mark.django_db
def test_delete_retires_the_dataset_but_keeps_it_readable(owner_client, dataset):
    response = owner_client.delete(url(dataset))

    assert response.status_code == 204
    dataset.refresh_from_db()
    assert dataset.lifecycle == "retired"
    assert dataset.retired_at is not None
    assert owner_client.get(url(dataset)).json()["lifecycle"] == "retired"
    assert owner_client.get("/api/v1/datasets/").json()["count"] == 0
    assert Dataset.objects.filter(pk=dataset.pk).exists()


@pytest.mark.django_db
def test_it_refuses_deletion_by_a_stranger(stranger_client, dataset):
    response = stranger_client.delete(url(dataset))

    assert response.status_code == 403
    dataset.refresh_from_db()
    assert dataset.lifecycle == "active"
