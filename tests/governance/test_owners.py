import pytest
from django.contrib.auth.models import Group

from governance.choices import OwnershipRole
from governance.models import Change, Ownership
from tests.factories import DatasetFactory, OwnershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _owners_url(dataset) -> str:
    return f"/api/v1/datasets/{dataset.pk}/owners/"


def test_it_lists_who_answers_for_a_dataset(stranger_client, dataset):
    response = stranger_client.get(_owners_url(dataset))

    assert response.status_code == 200
    assert sorted((entry["name"], entry["role"], entry["type"]) for entry in response.json()) == [
        ("olivia-owner", "owner", "user"),
        ("sam-steward", "steward", "user"),
    ]


def test_it_adds_a_user_as_steward(owner_client, dataset):
    UserFactory(username="new-steward")

    response = owner_client.post(_owners_url(dataset), {"user": "new-steward", "role": "steward"}, format="json")

    assert response.status_code == 201
    assert response.json()["role"] == "steward"
    assert Ownership.objects.filter(dataset=dataset, user__username="new-steward", role="steward").exists()
    entry = Change.objects.get(object_type="ownership", object_id=response.json()["id"])
    assert (entry.action, entry.actor_name, entry.dataset_id) == ("create", "olivia-owner", dataset.pk)
    assert entry.after == {"type": "user", "name": "new-steward", "role": "steward"}


def test_it_adds_a_group_as_owner(owner_client, dataset):
    Group.objects.create(name="data-platform")

    response = owner_client.post(_owners_url(dataset), {"group": "data-platform"}, format="json")

    assert response.status_code == 201
    assert response.json() == {**response.json(), "type": "group", "name": "data-platform", "role": "owner"}


def test_it_answers_200_for_an_ownership_that_exists(owner_client, dataset):
    response = owner_client.post(_owners_url(dataset), {"user": "sam-steward", "role": "steward"}, format="json")

    assert response.status_code == 200
    assert Ownership.objects.filter(dataset=dataset).count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user": "nobody-at-all"}, "user"),
        ({"group": "no-such-group"}, "group"),
        ({"user": "sam-steward", "group": "x"}, "user"),
        ({}, "user"),
        ({"user": "sam-steward", "role": "boss"}, "role"),
    ],
)
def test_it_rejects_a_bad_owner(owner_client, dataset, body, field):
    response = owner_client.post(_owners_url(dataset), body, format="json")

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_it_removes_an_ownership(owner_client, dataset):
    steward = Ownership.objects.get(dataset=dataset, role=OwnershipRole.STEWARD)

    response = owner_client.delete(f"{_owners_url(dataset)}{steward.pk}/")

    assert response.status_code == 204
    assert not Ownership.objects.filter(pk=steward.pk).exists()
    entry = Change.objects.get(object_type="ownership", object_id=str(steward.pk), action="delete")
    assert entry.before == {"type": "user", "name": "sam-steward", "role": "steward"}


def test_it_removes_an_ownership_named_by_user_and_role(owner_client, dataset):
    response = owner_client.delete(f"{_owners_url(dataset)}?user=sam-steward&role=steward")

    assert response.status_code == 204
    assert not Ownership.objects.filter(dataset=dataset, role=OwnershipRole.STEWARD).exists()


def test_it_refuses_to_remove_the_last_owner(steward_client, dataset):
    owner = Ownership.objects.get(dataset=dataset, role=OwnershipRole.OWNER)

    response = steward_client.delete(f"{_owners_url(dataset)}{owner.pk}/")

    assert response.status_code == 409
    assert "last owner" in response.json()["detail"]
    assert Ownership.objects.filter(pk=owner.pk).exists()
    assert not Change.objects.filter(object_type="ownership", action="delete").exists()


def test_it_removes_an_owner_once_another_owner_exists(owner_client, dataset):
    OwnershipFactory(dataset=dataset, user=UserFactory(username="second-owner"), role=OwnershipRole.OWNER)
    first = Ownership.objects.get(dataset=dataset, user__username="olivia-owner")

    assert owner_client.delete(f"{_owners_url(dataset)}{first.pk}/").status_code == 204


def test_it_refuses_owner_changes_to_a_stranger(stranger_client, dataset):
    assert stranger_client.post(_owners_url(dataset), {"user": "simon-stranger"}, format="json").status_code == 403
    steward = Ownership.objects.get(dataset=dataset, role=OwnershipRole.STEWARD)
    assert stranger_client.delete(f"{_owners_url(dataset)}{steward.pk}/").status_code == 403


def test_it_answers_404_for_an_ownership_of_another_dataset(owner_client, dataset):
    elsewhere = OwnershipFactory(dataset=DatasetFactory())

    assert owner_client.delete(f"{_owners_url(dataset)}{elsewhere.pk}/").status_code == 404


def test_a_group_member_of_an_owning_group_may_change_the_dataset(client_for, group_member, dataset):
    OwnershipFactory(dataset=dataset, user=None, group=Group.objects.get(name="vision-team"), role="steward")

    response = client_for(group_member).patch(f"/api/v1/datasets/{dataset.pk}/", {"description": "x"}, format="json")

    assert response.status_code == 200


def test_a_custodian_may_not_change_the_dataset(client_for, dataset):
    custodian = UserFactory(username="cara-custodian")
    OwnershipFactory(dataset=dataset, user=custodian, role=OwnershipRole.CUSTODIAN)

    response = client_for(custodian).patch(f"/api/v1/datasets/{dataset.pk}/", {"description": "x"}, format="json")

    assert response.status_code == 403


# --- Stewards answer to the owners ------------------------------------------------------------------


def test_it_refuses_a_steward_removing_an_owner_who_is_not_the_last(steward_client, dataset, owner):
    OwnershipFactory(dataset=dataset, user=None, group=Group.objects.create(name="platform"), role="owner")
    mine = Ownership.objects.get(dataset=dataset, user=owner, role=OwnershipRole.OWNER)

    response = steward_client.delete(f"{_owners_url(dataset)}{mine.pk}/")
    by_name = steward_client.delete(f"{_owners_url(dataset)}?user={owner.username}&role=owner")

    assert response.status_code == 403
    assert by_name.status_code == 403
    assert "owners" in response.json()["detail"]
    assert Ownership.objects.filter(pk=mine.pk).exists()
    assert not Change.objects.filter(object_type="ownership", action="delete").exists()


def test_it_refuses_a_steward_making_someone_an_owner(steward_client, dataset, steward):
    Group.objects.create(name="data-platform")

    itself = steward_client.post(_owners_url(dataset), {"user": steward.username, "role": "owner"}, format="json")
    group = steward_client.post(_owners_url(dataset), {"group": "data-platform"}, format="json")

    assert itself.status_code == 403
    assert group.status_code == 403
    assert not Ownership.objects.filter(dataset=dataset, user=steward, role=OwnershipRole.OWNER).exists()


def test_it_lets_a_steward_add_and_remove_stewards(steward_client, dataset, steward):
    UserFactory(username="new-steward")

    added = steward_client.post(_owners_url(dataset), {"user": "new-steward", "role": "steward"}, format="json")
    removed = steward_client.delete(f"{_owners_url(dataset)}?user=new-steward&role=steward")
    itself = steward_client.delete(f"{_owners_url(dataset)}?user={steward.username}&role=steward")

    assert (added.status_code, removed.status_code, itself.status_code) == (201, 204, 204)


def test_it_lets_an_owner_through_a_group_remove_another_owner(client_for, group_member, dataset, owner):
    OwnershipFactory(dataset=dataset, user=None, group=Group.objects.get(name="vision-team"), role="owner")

    response = client_for(group_member).delete(f"{_owners_url(dataset)}?user={owner.username}&role=owner")

    assert response.status_code == 204


def test_it_lets_staff_remove_an_owner_who_is_not_the_last(staff_client, dataset, owner):
    OwnershipFactory(dataset=dataset, user=UserFactory(username="second-owner"), role=OwnershipRole.OWNER)

    response = staff_client.delete(f"{_owners_url(dataset)}?user={owner.username}&role=owner")

    assert response.status_code == 204


# --- Sensitivity: `restricted` is the owners' decision ----------------------------------------------


def _sensitivity(client, dataset, value):  # type: ignore[no-untyped-def]
    return client.patch(f"/api/v1/datasets/{dataset.pk}/", {"sensitivity": value}, format="json")


@pytest.mark.parametrize(("start", "target"), [("internal", "restricted"), ("restricted", "public")])
def test_it_refuses_a_steward_crossing_the_restricted_line(steward_client, dataset, start, target):
    dataset.sensitivity = start
    dataset.save()

    response = _sensitivity(steward_client, dataset, target)

    assert response.status_code == 403
    assert "owners" in response.json()["detail"]
    dataset.refresh_from_db()
    assert dataset.sensitivity == start
    assert not Change.objects.filter(object_type="dataset", action="update").exists()


def test_it_lets_a_steward_move_between_the_other_levels(steward_client, dataset):
    assert _sensitivity(steward_client, dataset, "confidential").status_code == 200
    assert _sensitivity(steward_client, dataset, "public").status_code == 200


@pytest.mark.parametrize("persona", ["owner_client", "staff_client"])
def test_it_lets_owners_and_staff_restrict_and_lift(request, dataset, persona):
    client = request.getfixturevalue(persona)

    assert _sensitivity(client, dataset, "restricted").status_code == 200
    assert _sensitivity(client, dataset, "internal").status_code == 200
