"""Sensitivity has teeth: restricted datasets are seen only by those entitled to, and personal data
is shown only to those who answer for it."""

import pytest
from django.contrib.auth.models import Group

from catalog.models import Dataset, Feature
from governance.models import AccessGrant, Change
from tests.factories import VersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def restricted(dataset):
    Dataset.objects.filter(pk=dataset.pk).update(sensitivity="restricted")
    return dataset


def _sees(client, dataset) -> bool:
    listed = {entry["id"] for entry in client.get("/api/v1/datasets/").json()["results"]}
    detail = client.get(f"/api/v1/datasets/{dataset.pk}/").status_code
    assert (str(dataset.pk) in listed) == (detail == 200)
    return detail == 200


def test_a_restricted_dataset_is_seen_by_owners_stewards_and_staff_only(
    restricted, owner_client, steward_client, staff_client, stranger_client
):
    assert _sees(owner_client, restricted)
    assert _sees(steward_client, restricted)
    assert _sees(staff_client, restricted)
    assert not _sees(stranger_client, restricted)


def test_a_group_granted_read_sees_a_restricted_dataset(restricted, owner_client, client_for, group_member):
    assert not _sees(client_for(group_member), restricted)

    response = owner_client.post(f"/api/v1/datasets/{restricted.pk}/grants/", {"group": "vision-team"}, format="json")

    assert response.status_code == 201
    assert response.json()["granted_by"] == "olivia-owner"
    assert _sees(client_for(group_member), restricted)
    assert (
        client_for(group_member)
        .patch(f"/api/v1/datasets/{restricted.pk}/", {"description": "x"}, format="json")
        .status_code
        == 403
    )


def test_a_user_granted_read_sees_a_restricted_dataset(restricted, owner_client, stranger_client):
    owner_client.post(f"/api/v1/datasets/{restricted.pk}/grants/", {"user": "simon-stranger"}, format="json")

    assert _sees(stranger_client, restricted)


def test_withdrawing_a_grant_hides_the_dataset_again(restricted, owner_client, client_for, group_member):
    grant = AccessGrant.objects.create(dataset=restricted, group=Group.objects.get(name="vision-team"))

    response = owner_client.delete(f"/api/v1/datasets/{restricted.pk}/grants/{grant.pk}/")

    assert response.status_code == 204
    assert not _sees(client_for(group_member), restricted)
    assert [entry.action for entry in Change.objects.filter(object_type="access_grant")] == ["delete"]


def test_it_lists_grants_to_those_who_see_the_dataset(restricted, owner_client, stranger_client, group_member):
    owner_client.post(f"/api/v1/datasets/{restricted.pk}/grants/", {"group": "vision-team"}, format="json")

    assert [grant["name"] for grant in owner_client.get(f"/api/v1/datasets/{restricted.pk}/grants/").json()] == [
        "vision-team"
    ]
    assert stranger_client.get(f"/api/v1/datasets/{restricted.pk}/grants/").status_code == 404


def test_a_stranger_cannot_grant_themselves_read(restricted, stranger_client, dataset):
    Dataset.objects.filter(pk=dataset.pk).update(sensitivity="internal")
    response = stranger_client.post(f"/api/v1/datasets/{dataset.pk}/grants/", {"user": "simon-stranger"}, format="json")

    assert response.status_code == 403
    assert not AccessGrant.objects.exists()


@pytest.fixture
def personal_version(dataset):
    version = VersionFactory(
        dataset=dataset,
        profile={
            "sample": {
                "columns": ["email", "n"],
                "rows": [{"row": "a.csv:1", "values": {"email": "ada@example.org", "n": 1}}],
                "masked_rows": [{"row": "a.csv:1", "values": {"email": "a**@e******.org", "n": 1}}],
                "pii_columns": ["email"],
            }
        },
    )
    Feature.objects.create(
        version=version,
        name="email",
        position=0,
        dtype="string",
        pii=True,
        statistics={
            "min": "ada@example.org",
            "max": "zoe@example.org",
            "top_values": [{"value": "ada@example.org", "count": 3}],
            "pii_kinds": ["email"],
        },
    )
    return version


@pytest.mark.parametrize(
    ("persona", "shown"), [("owner", True), ("steward", True), ("staff", False), ("stranger", False)]
)
def test_personal_data_is_shown_to_owners_and_stewards_only(request, personal_version, persona, shown):
    client = request.getfixturevalue(f"{persona}_client")

    version = client.get(f"/api/v1/versions/{personal_version.pk}/").json()
    sample = client.get(f"/api/v1/versions/{personal_version.pk}/sample/").json()

    statistics = version["features"][0]["statistics"]
    assert (statistics["top_values"][0]["value"] == "ada@example.org") is shown
    assert (statistics["min"] == "ada@example.org") is shown
    assert (sample["rows"][0]["values"]["email"] == "ada@example.org") is shown
    assert sample["masked"] is not shown


def test_a_feature_says_whether_pii_was_suggested_confirmed_or_dismissed(steward_client, personal_version):
    url = f"/api/v1/versions/{personal_version.pk}/features/0/"
    assert steward_client.get(url).json()["pii_status"] == "suggested"

    assert steward_client.patch(url, {"pii": True}, format="json").json()["pii_status"] == "confirmed"
    assert steward_client.patch(url, {"pii": False}, format="json").json()["pii_status"] == "dismissed"


def test_a_dataset_records_its_origin_and_terms(owner_client):
    response = owner_client.post(
        "/api/v1/datasets/",
        {
            "namespace": "web",
            "name": "crawl-2026",
            "origin": "web_crawled",
            "origin_terms": "Collected under the robots.txt of each site; see https://example.com/crawl-policy",
        },
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["origin"] == "web_crawled"
    patched = owner_client.patch(f"/api/v1/datasets/{response.json()['id']}/", {"origin": "bought"}, format="json")
    assert patched.status_code == 400
    assert "origin" in patched.json()["errors"]


def test_registration_defaults_to_an_unknown_origin(owner_client):
    response = owner_client.post("/api/v1/datasets/", {"namespace": "t", "name": "o"}, format="json")

    assert response.json()["origin"] == ""
