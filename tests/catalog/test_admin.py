import pytest
from django.urls import reverse

from catalog.models import Tag
from tests.factories import UserFactory, VersionFactory


@pytest.fixture
def admin_client(client, db):
    admin = UserFactory(username="ada-admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


@pytest.fixture
def catalog_rows(dataset):
    dataset.tags.add(Tag.objects.create(name="vision"))
    return VersionFactory(dataset=dataset, number=1, manifest=[{"path": "a.csv", "size": 1, "sha256": "0" * 64}])


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["catalog_dataset", "catalog_datasetversion", "catalog_tag", "governance_ownership"])
def test_every_changelist_renders_with_search_and_filters(admin_client, catalog_rows, model):
    response = admin_client.get(reverse(f"admin:{model}_changelist"), {"q": "street"})

    assert response.status_code == 200


@pytest.mark.django_db
def test_the_dataset_page_shows_owners_and_versions(admin_client, catalog_rows):
    response = admin_client.get(reverse("admin:catalog_dataset_change", args=[catalog_rows.dataset_id]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "olivia-owner" in page
    assert "sam-steward" in page
    assert catalog_rows.uri in page


@pytest.mark.django_db
def test_a_versions_source_cannot_be_edited_in_the_admin(admin_client, catalog_rows):
    url = reverse("admin:catalog_datasetversion_change", args=[catalog_rows.pk])

    page = admin_client.get(url).content.decode()
    admin_client.post(url, {"uri": "file:///elsewhere.csv", "fingerprint": "sha256:forged"})

    assert 'name="uri"' not in page
    assert 'name="fingerprint"' not in page
    catalog_rows.refresh_from_db()
    assert catalog_rows.uri == "file:///nowhere/data.csv"
    assert admin_client.get(reverse("admin:catalog_datasetversion_add")).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [2, 20])
def test_the_dataset_changelist_costs_the_same_queries_whatever_the_rows(
    admin_client, owner, rows, django_assert_max_num_queries
):
    from tests.factories import DatasetFactory

    for index in range(rows):
        VersionFactory(dataset=DatasetFactory(name=f"admin-{index}"), number=1)

    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("admin:catalog_dataset_changelist"))

    assert response.status_code == 200
