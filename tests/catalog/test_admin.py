import pytest
from django.urls import reverse

from catalog.models import Feature, Tag
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
@pytest.mark.parametrize(
    "model",
    ["catalog_dataset", "catalog_datasetversion", "catalog_tag", "catalog_driftreport", "governance_ownership"],
)
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
def test_a_feature_edited_in_the_admin_is_recorded_as_a_person_s_decision(admin_client, catalog_rows):
    feature = Feature.objects.create(version=catalog_rows, name="email", position=0, dtype="string")
    url = reverse("admin:catalog_datasetversion_change", args=[catalog_rows.pk])
    prefix = "features"
    form = {
        "notes": "",
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-INITIAL_FORMS": "1",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
        f"{prefix}-0-id": str(feature.pk),
        f"{prefix}-0-version": str(catalog_rows.pk),
        f"{prefix}-0-role": "feature",
        f"{prefix}-0-pii": "on",
        f"{prefix}-0-description": "",
    }

    response = admin_client.post(url, form)

    assert response.status_code == 302, response.content.decode()[:2000]
    feature.refresh_from_db()
    assert feature.pii is True
    assert feature.curated == ["pii"]
    assert feature.curated_by.username == "ada-admin"


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
