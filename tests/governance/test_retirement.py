"""Retirement, not loss: a retired dataset stays resolvable; staff may purge one nothing references."""

import pytest

from catalog.models import Dataset, DatasetVersion
from catalog.services import dataset_retire
from governance.models import Change
from lineage.models import LineageEdge
from tests.factories import DatasetFactory, VersionFactory

pytestmark = pytest.mark.django_db


def test_retiring_hides_a_dataset_from_lists_but_not_by_id(owner_client, dataset):
    assert owner_client.delete(f"/api/v1/datasets/{dataset.pk}/").status_code == 204

    listed = [entry["id"] for entry in owner_client.get("/api/v1/datasets/").json()["results"]]
    assert str(dataset.pk) not in listed
    detail = owner_client.get(f"/api/v1/datasets/{dataset.pk}/")
    assert detail.status_code == 200
    assert detail.json()["lifecycle"] == "retired"
    assert owner_client.get(f"/api/v1/changes/?dataset={dataset.pk}&action=retire").json()["count"] == 1


def test_retiring_twice_records_once(owner_client, dataset):
    owner_client.delete(f"/api/v1/datasets/{dataset.pk}/")
    owner_client.delete(f"/api/v1/datasets/{dataset.pk}/")

    assert Change.objects.filter(object_id=str(dataset.pk), action="retire").count() == 1


def test_staff_purge_a_retired_dataset_and_its_history_stays(staff_client, owner, dataset):
    version = VersionFactory(dataset=dataset)
    staff_client.patch(f"/api/v1/datasets/{dataset.pk}/", {"description": "about to go"}, format="json")
    dataset_retire(actor=owner, dataset=dataset)

    response = staff_client.post(f"/api/v1/datasets/{dataset.pk}/purge/")

    assert response.status_code == 204
    assert not Dataset.objects.filter(pk=dataset.pk).exists()
    assert not DatasetVersion.objects.filter(pk=version.pk).exists()
    assert staff_client.get(f"/api/v1/datasets/{dataset.pk}/").status_code == 404
    history = [entry.action for entry in Change.objects.filter(dataset_id=dataset.pk).order_by("created_at")]
    assert history[-3:] == ["update", "retire", "purge"]
    purge = Change.objects.get(dataset_id=dataset.pk, action="purge")
    assert purge.before["name"] == "street-signs"
    assert purge.before["versions"][0]["id"] == str(version.pk)


def test_it_refuses_to_purge_a_dataset_that_is_not_retired(staff_client, dataset):
    response = staff_client.post(f"/api/v1/datasets/{dataset.pk}/purge/")

    assert response.status_code == 409
    assert "retire it" in response.json()["detail"]
    assert Dataset.objects.filter(pk=dataset.pk).exists()


def test_it_refuses_to_purge_a_dataset_lineage_references(staff_client, owner, dataset):
    LineageEdge.objects.create(source=dataset, target=DatasetFactory(name="derived"), origin="manual")
    dataset_retire(actor=owner, dataset=dataset)

    response = staff_client.post(f"/api/v1/datasets/{dataset.pk}/purge/")

    assert response.status_code == 409
    assert "lineage edges" in response.json()["detail"]
    assert Dataset.objects.filter(pk=dataset.pk).exists()
    assert not Change.objects.filter(action="purge").exists()


def test_owners_may_not_purge(owner_client, owner, dataset):
    dataset_retire(actor=owner, dataset=dataset)

    assert owner_client.post(f"/api/v1/datasets/{dataset.pk}/purge/").status_code == 403
    assert Dataset.objects.filter(pk=dataset.pk).exists()
