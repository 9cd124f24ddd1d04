"""A 409 on registering a taken name gives the existing dataset's id only to who may read it."""

import pytest

from tests.factories import DatasetFactory

pytestmark = pytest.mark.django_db


def test_it_names_the_existing_dataset_to_who_may_read_it(stranger_client):
    existing = DatasetFactory(namespace="shared", name="clicks")

    response = stranger_client.post("/api/v1/datasets/", {"namespace": "shared", "name": "clicks"}, format="json")

    assert response.status_code == 409
    assert response.json()["existing_id"] == str(existing.pk)


def test_it_does_not_name_a_restricted_dataset_the_caller_may_not_read(stranger_client, owner_client):
    secret = DatasetFactory(namespace="shared", name="zebra-patients", sensitivity="restricted")

    response = stranger_client.post(
        "/api/v1/datasets/", {"namespace": "shared", "name": "zebra-patients"}, format="json"
    )

    assert response.status_code == 409
    assert "existing_id" not in response.json()
    assert str(secret.pk) not in response.content.decode()
    assert "already exists" in response.json()["detail"]
