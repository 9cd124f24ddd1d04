import pytest

from catalog.models import DatasetVersion
from tests.factories import DatasetFactory, OwnershipFactory, VersionFactory


def versions_url(dataset) -> str:
    return f"/api/v1/datasets/{dataset.pk}/versions/"


@pytest.mark.django_db
def test_it_registers_numbered_versions(owner_client, dataset, iris_csv, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = owner_client.post(versions_url(dataset), {"uri": str(iris_csv), "label_column": "species"})
    with django_capture_on_commit_callbacks(execute=True):
        second = owner_client.post(versions_url(dataset), {"uri": "flowers/", "format": "csv"})

    assert first.status_code == 201, first.json()
    assert second.status_code == 201, second.json()
    assert (first.json()["number"], second.json()["number"]) == (1, 2)
    assert first.json()["status"] == "pending"
    assert second["Location"].endswith(f"/api/v1/versions/{second.json()['id']}/")
    dataset.refresh_from_db()
    assert str(dataset.latest_version_id) == second.json()["id"]


@pytest.mark.django_db
def test_it_reads_a_version_with_the_contract_fields(stranger_client, dataset, iris_csv):
    from catalog import pipeline, services

    version = services.version_create(actor=dataset.ownerships.first().user, dataset=dataset, uri=str(iris_csv))
    pipeline.version_profile(version_id=version.pk)

    response = stranger_client.get(f"/api/v1/versions/{version.pk}/")

    assert response.status_code == 200
    body = response.json()
    for field in (
        "id",
        "dataset",
        "number",
        "uri",
        "format",
        "status",
        "error",
        "fingerprint",
        "size_bytes",
        "row_count",
        "features",
        "quality",
    ):
        assert field in body, field
    assert body["dataset"] == str(dataset.pk)
    assert body["status"] == "ready"
    assert body["fingerprint"].startswith("sha256:")
    assert body["manifest"] == [
        {"path": "train.csv", "size": iris_csv.stat().st_size, "sha256": body["manifest"][0]["sha256"]}
    ]


@pytest.mark.django_db
def test_it_lists_versions_newest_first(stranger_client, dataset):
    for number in (1, 2, 3):
        VersionFactory(dataset=dataset, number=number)

    response = stranger_client.get(versions_url(dataset))

    assert response.status_code == 200
    assert [item["number"] for item in response.json()["results"]] == [3, 2, 1]


@pytest.mark.django_db
def test_it_refuses_new_versions_from_a_stranger(stranger_client, dataset, iris_csv):
    response = stranger_client.post(versions_url(dataset), {"uri": str(iris_csv)})

    assert response.status_code == 403
    assert not DatasetVersion.objects.exists()


@pytest.mark.django_db
def test_it_rejects_a_version_outside_the_storage_roots(owner_client, dataset, storage_root):
    response = owner_client.post(versions_url(dataset), {"uri": "/etc/hostname"})

    assert response.status_code == 400
    assert "outside the allowed storage roots" in response.json()["errors"]["uri"][0]


@pytest.mark.django_db
def test_it_hides_versions_of_restricted_datasets(stranger_client, owner):
    secret = DatasetFactory(sensitivity="restricted")
    OwnershipFactory(dataset=secret, user=owner)
    version = VersionFactory(dataset=secret)

    assert stranger_client.get(f"/api/v1/versions/{version.pk}/").status_code == 404
    assert stranger_client.get(versions_url(secret)).status_code == 404


@pytest.mark.django_db
def test_it_answers_404_for_versions_of_an_unknown_dataset(owner_client):
    response = owner_client.get("/api/v1/datasets/6f1c1f3e-44f0-4a55-9f57-2b0d8e6e9d0a/versions/")

    assert response.status_code == 404
