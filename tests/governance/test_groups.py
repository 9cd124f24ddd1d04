"""Groups over the API: staff create, rename and delete them; a group's owners (and staff) manage its
members; others see only the groups they are in or own. Every change is in the change log."""

import pytest
from django.contrib.auth.models import Group

from governance.choices import OwnershipRole
from governance.models import AccessGrant, Change, GroupProfile, Ownership
from lineage.models import TrustedProducer
from tests.factories import DatasetFactory, OwnershipFactory, UserFactory
from tests.hostile import deep

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(staff, owner, group_member):
    """'vision-team', owned by `owner` (who is not in it), with `group_member` in it, granted read on a
    restricted dataset."""
    group = Group.objects.get(name="vision-team")
    profile = GroupProfile.objects.create(group=group, description="Street-scene labelling.", created_by=staff)
    profile.owners.set([owner])
    secret = DatasetFactory(namespace="vision", name="faces", sensitivity="restricted")
    OwnershipFactory(dataset=secret, user=staff, role=OwnershipRole.OWNER)
    AccessGrant.objects.create(dataset=secret, group=group, granted_by=staff)
    group.secret = secret
    return group


def test_staff_create_a_group_with_owners_and_members(staff_client, owner, stranger):
    response = staff_client.post(
        "/api/v1/groups/",
        {
            "name": "data-platform",
            "description": "Pipelines.",
            "owners": [owner.username],
            "members": [stranger.username],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["description"], body["owners"], body["members"]) == (
        "data-platform",
        "Pipelines.",
        ["olivia-owner"],
        ["simon-stranger"],
    )
    assert response["Location"].endswith(f"/api/v1/groups/{body['id']}/")
    entry = Change.objects.get(object_type="group", object_id=str(body["id"]))
    assert (entry.action, entry.actor_name, entry.dataset_id) == ("create", "stella-staff", None)
    assert entry.after == {
        "name": "data-platform",
        "description": "Pipelines.",
        "owners": ["olivia-owner"],
        "members": ["simon-stranger"],
    }


def test_only_staff_create_a_group(owner_client):
    response = owner_client.post("/api/v1/groups/", {"name": "my-own-club"}, format="json")

    assert response.status_code == 403
    assert not Group.objects.filter(name="my-own-club").exists()


def test_a_name_taken_in_another_case_is_a_409(staff_client, team):
    response = staff_client.post("/api/v1/groups/", {"name": "Vision-Team"}, format="json")

    assert response.status_code == 409
    assert response.json()["existing_id"] == str(team.pk)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "a/b"}, "name"),
        ({"name": "12345"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 151}, "name"),
        ({"name": "vision\nteam"}, "name"),
        ({"name": "visi\u043en-team"}, "name"),  # a Cyrillic o passing for a Latin one
        ({"name": "zero\u200bwidth"}, "name"),
        ({"name": "nul\x00team"}, "name"),
        ({"name": 42}, "name"),
        ({"name": "ok-team", "owners": ["nobody-at-all"]}, "owners"),
        ({"name": "ok-team", "members": "simon-stranger"}, "members"),
        ({"name": "ok-team", "colour": "red"}, "colour"),
    ],
)
def test_it_rejects_a_bad_group(staff_client, body, field):
    response = staff_client.post("/api/v1/groups/", body, format="json")

    assert response.status_code == 400, response.json()
    assert any(key.startswith(field) for key in response.json()["errors"]), response.json()
    assert not Group.objects.exists()


def test_a_bad_name_is_named_with_the_other_mistakes_of_the_body(staff_client):
    response = staff_client.post("/api/v1/groups/", {"name": "a/b", "owners": ["nobody-at-all"]}, format="json")

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"name", "owners"}


def test_it_refuses_a_group_nested_too_deeply(staff_client):
    response = staff_client.generic(
        "POST", "/api/v1/groups/", '{"name": "deep", "owners": ' + deep(10_000) + "}", content_type="application/json"
    )

    assert response.status_code == 400
    assert not Group.objects.exists()


def test_staff_list_every_group_and_others_only_theirs(
    staff_client, owner_client, stranger_client, client_for, group_member, team
):
    Group.objects.create(name="finance")

    def names(client):
        response = client.get("/api/v1/groups/")
        assert response.status_code == 200
        return [group["name"] for group in response.json()["results"]]

    assert names(staff_client) == ["finance", "vision-team"]
    assert names(owner_client) == ["vision-team"]  # owns it, though not in it
    assert names(client_for(group_member)) == ["vision-team"]
    assert names(stranger_client) == []
    (listed,) = client_for(group_member).get("/api/v1/groups/").json()["results"]
    assert (listed["members"], listed["owners"]) == (["gina-group"], ["olivia-owner"])


def test_the_group_list_costs_the_same_queries_whatever_its_size(staff_client, django_assert_max_num_queries):
    for index in range(30):
        group = Group.objects.create(name=f"team-{index:02d}")
        GroupProfile.objects.create(group=group).owners.set([UserFactory()])
        group.user_set.set([UserFactory(), UserFactory()])

    # The token, the count, the page, its members, its profiles' owners.
    with django_assert_max_num_queries(5):
        response = staff_client.get("/api/v1/groups/?limit=30")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 30


def test_a_group_is_read_by_name_or_id(client_for, group_member, team):
    member = client_for(group_member)

    by_name = member.get("/api/v1/groups/vision-team/")
    by_id = member.get(f"/api/v1/groups/{team.pk}/")

    assert by_name.status_code == by_id.status_code == 200
    assert by_name.json() == by_id.json()
    assert by_name.json()["description"] == "Street-scene labelling."
    assert by_name["ETag"]


def test_a_group_one_may_not_see_is_answered_as_a_missing_one(stranger_client, team):
    hidden = stranger_client.get("/api/v1/groups/vision-team/")
    missing = stranger_client.get("/api/v1/groups/vision-tean/")

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["title"] == missing.json()["title"]
    assert hidden.json()["detail"].replace("vision-team", "x") == missing.json()["detail"].replace("vision-tean", "x")
    assert stranger_client.get(f"/api/v1/groups/{team.pk}/").status_code == 404
    for ref in ("999999999999999999", "9" * 40, "-1", "0"):
        assert stranger_client.get(f"/api/v1/groups/{ref}/").status_code == 404, ref


def test_staff_rename_a_group_and_what_it_owns_follows(staff_client, team):
    dataset = DatasetFactory()
    OwnershipFactory(dataset=dataset, user=None, group=team, role=OwnershipRole.STEWARD)

    response = staff_client.patch("/api/v1/groups/vision-team/", {"name": "street-vision"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "street-vision"
    assert Ownership.objects.get(dataset=dataset).group.name == "street-vision"
    entry = Change.objects.get(object_type="group", object_id=str(team.pk), action="update")
    assert (entry.before, entry.after) == ({"name": "vision-team"}, {"name": "street-vision"})


def test_a_stale_group_write_is_a_412(staff_client, team):
    etag = staff_client.get("/api/v1/groups/vision-team/")["ETag"]
    staff_client.patch("/api/v1/groups/vision-team/", {"description": "Changed."}, format="json")

    response = staff_client.patch(
        "/api/v1/groups/vision-team/", {"description": "Mine."}, format="json", HTTP_IF_MATCH=etag
    )

    assert response.status_code == 412
    assert GroupProfile.objects.get(group=team).description == "Changed."


def test_members_change_through_their_own_endpoint(staff_client, team):
    response = staff_client.patch("/api/v1/groups/vision-team/", {"members": ["simon-stranger"]}, format="json")

    assert response.status_code == 400
    assert "/members/" in response.json()["errors"]["members"][0]


@pytest.mark.parametrize("who", ["owner", "member", "stranger"])
def test_only_staff_rename_or_delete_a_group(client_for, owner, group_member, stranger, team, who):
    client = client_for({"owner": owner, "member": group_member, "stranger": stranger}[who])

    renamed = client.patch("/api/v1/groups/vision-team/", {"name": "mine-now"}, format="json")
    deleted = client.delete("/api/v1/groups/vision-team/")
    owners = client.patch("/api/v1/groups/vision-team/", {"owners": ["simon-stranger"]})

    assert (renamed.status_code, deleted.status_code, owners.status_code) == (403, 403, 403)
    team.refresh_from_db()
    assert team.name == "vision-team"
    assert list(GroupProfile.objects.get(group=team).owners.values_list("username", flat=True)) == ["olivia-owner"]
    assert not Change.objects.filter(object_type="group").exists()


def test_staff_delete_a_group_and_its_grants_are_recorded_gone(staff_client, team):
    TrustedProducer.objects.create(dataset=team.secret, group=team)

    response = staff_client.delete("/api/v1/groups/vision-team/")

    assert response.status_code == 204
    assert not Group.objects.filter(pk=team.pk).exists()
    assert not AccessGrant.objects.filter(dataset=team.secret).exists()
    grant_entry = Change.objects.get(object_type="access_grant", action="delete")
    assert grant_entry.dataset_id == team.secret.pk
    entry = Change.objects.get(object_type="group", action="delete")
    assert entry.before["members"] == ["gina-group"]
    assert entry.before["owners"] == ["olivia-owner"]
    assert entry.before["trusted_producer_of"] == [str(team.secret.pk)]
    assert not TrustedProducer.objects.exists()


def test_a_group_that_answers_for_a_dataset_is_not_deleted(staff_client, team):
    dataset = DatasetFactory()
    OwnershipFactory(dataset=dataset, user=None, group=team, role=OwnershipRole.OWNER)

    response = staff_client.delete("/api/v1/groups/vision-team/")

    assert response.status_code == 409
    assert str(dataset.pk) in response.json()["detail"]
    assert Group.objects.filter(pk=team.pk).exists()


def test_a_group_owner_adds_and_removes_members(owner_client, stranger, team):
    added = owner_client.post("/api/v1/groups/vision-team/members/", {"user": "simon-stranger"}, format="json")
    again = owner_client.post("/api/v1/groups/vision-team/members/", {"user": "simon-stranger"}, format="json")

    assert (added.status_code, again.status_code) == (201, 200)
    assert added.json()["members"] == ["gina-group", "simon-stranger"]
    entry = Change.objects.get(object_type="group", object_id=str(team.pk))
    assert (entry.actor_name, entry.before, entry.after) == (
        "olivia-owner",
        {"members": ["gina-group"]},
        {"members": ["gina-group", "simon-stranger"]},
    )

    removed = owner_client.delete("/api/v1/groups/vision-team/members/simon-stranger/")

    assert removed.status_code == 204
    assert list(team.user_set.values_list("username", flat=True)) == ["gina-group"]
    assert owner_client.delete("/api/v1/groups/vision-team/members/simon-stranger/").status_code == 404


def test_a_non_member_cannot_add_themselves_to_a_group_that_reads_a_restricted_dataset(stranger_client, team):
    response = stranger_client.post("/api/v1/groups/vision-team/members/", {"user": "simon-stranger"}, format="json")
    by_id = stranger_client.post(f"/api/v1/groups/{team.pk}/members/", {"user": "simon-stranger"}, format="json")

    assert (response.status_code, by_id.status_code) == (404, 404)
    assert not team.user_set.filter(username="simon-stranger").exists()
    assert stranger_client.get(f"/api/v1/datasets/{team.secret.pk}/").status_code == 404


def test_a_member_neither_adds_nor_removes_others_but_may_leave(client_for, group_member, stranger, steward, team):
    member = client_for(group_member)
    team.user_set.add(stranger)

    added = member.post("/api/v1/groups/vision-team/members/", {"user": "sam-steward"}, format="json")
    removed = member.delete("/api/v1/groups/vision-team/members/simon-stranger/")

    assert (added.status_code, removed.status_code) == (403, 403)
    assert sorted(team.user_set.values_list("username", flat=True)) == ["gina-group", "simon-stranger"]
    assert member.delete("/api/v1/groups/vision-team/members/gina-group/").status_code == 204
    assert member.get("/api/v1/groups/vision-team/").status_code == 404  # no longer theirs to see
    assert member.get(f"/api/v1/datasets/{team.secret.pk}/").status_code == 404


def test_owning_a_group_is_not_being_in_it(owner_client, team):
    assert owner_client.get("/api/v1/groups/vision-team/").status_code == 200
    assert owner_client.get(f"/api/v1/datasets/{team.secret.pk}/").status_code == 404


@pytest.mark.parametrize(
    "body",
    [{"user": "nobody-at-all"}, {"user": ""}, {"user": 7}, {"user": ["gina-group"]}, {}, {"user": "a\x00b"}],
)
def test_it_rejects_a_bad_member(owner_client, team, body):
    response = owner_client.post("/api/v1/groups/vision-team/members/", body, format="json")

    assert response.status_code == 400, response.json()
    assert "user" in response.json()["errors"]


def test_group_changes_are_listed_to_who_may_see_the_group(
    owner_client, stranger_client, client_for, group_member, steward, team
):
    owner_client.post("/api/v1/groups/vision-team/members/", {"user": "sam-steward"}, format="json")

    def group_entries(client):
        return [entry for entry in client.get("/api/v1/changes/").json()["results"] if entry["object_type"] == "group"]

    assert len(group_entries(client_for(group_member))) == 1
    assert len(group_entries(owner_client)) == 1
    assert group_entries(stranger_client) == []
    assert stranger_client.get("/api/v1/changes/?object_type=group").json()["results"] == []


def test_anonymous_callers_see_no_group(anonymous_client, team):
    assert anonymous_client.get("/api/v1/groups/").status_code == 401
    assert anonymous_client.get("/api/v1/groups/vision-team/").status_code == 401
