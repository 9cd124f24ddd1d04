import pytest
from django.db import connection

from catalog.choices import Lifecycle, VersionStatus
from catalog.models import Tag
from governance.choices import OwnershipRole
from tests.factories import DatasetFactory, OwnershipFactory, UserFactory, VersionFactory

URL = "/api/v1/datasets/"


def make_datasets(count: int, owner) -> None:
    tags = [Tag.objects.get_or_create(name=name)[0] for name in ("vision", "tabular")]
    for index in range(count):
        dataset = DatasetFactory(name=f"bulk-{index:03d}")
        dataset.tags.set(tags)
        OwnershipFactory(dataset=dataset, user=owner)
        OwnershipFactory(dataset=dataset, user=UserFactory(), role=OwnershipRole.STEWARD)
        VersionFactory(dataset=dataset, number=1)


@pytest.mark.django_db
@pytest.mark.parametrize("count", [3, 40])
def test_it_lists_in_a_constant_number_of_queries(owner_client, owner, count, django_assert_num_queries):
    make_datasets(count, owner)

    # 1 token and its user, 2 count, 3 the page of datasets with their latest versions,
    # 4 their tags and owners (users and groups).
    with django_assert_num_queries(4):
        response = owner_client.get(URL, {"limit": 50})

    assert response.status_code == 200
    assert response.json()["count"] == count
    assert len(response.json()["results"]) == count
    first = response.json()["results"][0]
    assert first["tags"] == ["tabular", "vision"]
    assert first["latest_version"]["number"] == 1
    assert len(first["owners"]) == 2


@pytest.mark.django_db
def test_it_paginates_with_a_next_link(owner_client, owner):
    make_datasets(5, owner)

    first = owner_client.get(URL, {"limit": 2}).json()
    second = owner_client.get(first["next"]).json()

    assert first["count"] == 5
    assert [item["name"] for item in first["results"]] == ["bulk-000", "bulk-001"]
    assert [item["name"] for item in second["results"]] == ["bulk-002", "bulk-003"]


@pytest.mark.django_db
def test_it_filters_by_namespace_tag_owner_and_status(owner_client, owner, stranger):
    vision = DatasetFactory(namespace="team-vision", name="signs")
    vision.tags.add(Tag.objects.create(name="vision"))
    OwnershipFactory(dataset=vision, user=owner)
    VersionFactory(dataset=vision, status=VersionStatus.FAILED)
    text = DatasetFactory(namespace="team-text", name="reviews")
    OwnershipFactory(dataset=text, user=stranger)
    VersionFactory(dataset=text, status=VersionStatus.READY)

    def names(**params):
        response = owner_client.get(URL, params)
        assert response.status_code == 200, response.json()
        return [item["name"] for item in response.json()["results"]]

    assert names(namespace="team-text") == ["reviews"]
    assert names(tag="vision") == ["signs"]
    assert names(tag="VISION") == ["signs"]
    assert names(owner=stranger.username) == ["reviews"]
    assert names(owner="nobody") == []
    assert names(status="failed") == ["signs"]
    assert names(status="ready", namespace="team-text") == ["reviews"]


@pytest.mark.django_db
def test_it_filters_by_group_ownership(owner_client, group_member):
    dataset = DatasetFactory(name="group-owned")
    OwnershipFactory(dataset=dataset, user=None, group=group_member.groups.get())

    response = owner_client.get(URL, {"owner": "vision-team"})

    assert [item["name"] for item in response.json()["results"]] == ["group-owned"]
    assert response.json()["results"][0]["owners"] == [{"type": "group", "name": "vision-team", "role": "owner"}]


@pytest.mark.django_db
def test_it_rejects_an_unknown_status_filter(owner_client):
    response = owner_client.get(URL, {"status": "exploded"})

    assert response.status_code == 400
    assert "status" in response.json()["errors"]


@pytest.mark.django_db
def test_it_searches_names_and_descriptions_best_match_first(owner_client):
    DatasetFactory(name="traffic-signs", description="Road photographs from dashcams")
    DatasetFactory(name="dashcam-frames", description="Frames sampled from dashcam video of traffic")
    DatasetFactory(name="reviews", description="Product reviews")

    response = owner_client.get(URL, {"search": "dashcam"})

    names = [item["name"] for item in response.json()["results"]]
    assert set(names) == {"traffic-signs", "dashcam-frames"}
    if connection.vendor == "postgresql":
        # A match in the name outranks one in the description.
        assert names[0] == "dashcam-frames"


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="stemming needs PostgreSQL full-text search")
def test_it_matches_word_forms_on_postgresql(owner_client):
    DatasetFactory(name="clips", description="Recordings of birds singing")

    response = owner_client.get(URL, {"search": "recording bird"})

    assert [item["name"] for item in response.json()["results"]] == ["clips"]


@pytest.mark.django_db
def test_it_hides_retired_datasets(owner_client):
    DatasetFactory(name="current")
    DatasetFactory(name="gone", lifecycle=Lifecycle.RETIRED)

    response = owner_client.get(URL)

    assert [item["name"] for item in response.json()["results"]] == ["current"]


@pytest.mark.django_db
def test_it_shows_restricted_datasets_only_to_those_who_answer_for_them(
    owner_client, stranger_client, staff_client, owner, group_member, client_for
):
    restricted = DatasetFactory(name="medical-scans", sensitivity="restricted")
    OwnershipFactory(dataset=restricted, user=owner)
    group_restricted = DatasetFactory(name="hr-records", sensitivity="restricted")
    OwnershipFactory(dataset=group_restricted, user=None, group=group_member.groups.get())
    DatasetFactory(name="open-data", sensitivity="public")

    def names(client):
        return sorted(item["name"] for item in client.get(URL).json()["results"])

    assert names(owner_client) == ["medical-scans", "open-data"]
    assert names(stranger_client) == ["open-data"]
    assert names(client_for(group_member)) == ["hr-records", "open-data"]
    assert names(staff_client) == ["hr-records", "medical-scans", "open-data"]
    assert stranger_client.get(f"{URL}{restricted.pk}/").status_code == 404


@pytest.mark.django_db
def test_it_searches_the_feature_names_of_the_latest_version(owner_client):
    from catalog.models import Feature

    flowers = DatasetFactory(name="flowers", description="Measurements")
    version = VersionFactory(dataset=flowers)
    Feature.objects.create(version=version, name="petal_length", position=0, dtype="double")
    DatasetFactory(name="cars", description="Measurements")

    response = owner_client.get(URL, {"search": "petal"})

    assert [item["name"] for item in response.json()["results"]] == ["flowers"]


@pytest.mark.django_db
def test_a_search_page_costs_the_same_queries(owner_client, owner, django_assert_num_queries):
    make_datasets(20, owner)

    # 1 token, 2 count, 3 the page (ranked, with latest versions), 4 tags and owners.
    with django_assert_num_queries(4):
        response = owner_client.get(URL, {"search": "bulk"})

    assert response.status_code == 200
