"""Groups changed in the admin go through the same services as /api/v1/groups/: checked names, every
change in the change log, and no deletion of a group that answers for datasets. A user's groups are
changed on the group's page only."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from governance import services
from governance.choices import OwnershipRole
from governance.models import Change, GroupProfile
from tests.factories import DatasetFactory, OwnershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = UserFactory(username="ada-admin", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def _form(name, *, description="", owners=(), members=()):
    return {
        "name": name,
        "description": description,
        "owners": [str(user.pk) for user in owners],
        "members": [str(user.pk) for user in members],
    }


def test_a_group_made_in_the_admin_is_in_the_change_log_with_its_owners_and_members(client, staff):
    lena, omar = UserFactory(username="lena"), UserFactory(username="omar")

    response = client.post(
        reverse("admin:auth_group_add"),
        _form("vision-team", description="Street scenes", owners=[lena], members=[omar]),
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    group = Group.objects.get(name="vision-team")
    assert list(group.user_set.values_list("username", flat=True)) == ["omar"]
    assert list(GroupProfile.objects.get(group=group).owners.values_list("username", flat=True)) == ["lena"]
    entry = Change.objects.get(object_type="group", action="create", object_id=str(group.pk))
    assert entry.actor_name == "ada-admin"
    assert entry.after == {
        "name": "vision-team",
        "description": "Street scenes",
        "owners": ["lena"],
        "members": ["omar"],
    }


def test_members_changed_in_the_admin_are_each_recorded(client, staff):
    lena, omar, pia = UserFactory(username="lena"), UserFactory(username="omar"), UserFactory(username="pia")
    group = services.group_create(actor=staff, name="vision-team", members=[lena, omar])

    response = client.post(
        reverse("admin:auth_group_change", args=[group.pk]), _form("vision-team", members=[omar, pia])
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    assert sorted(group.user_set.values_list("username", flat=True)) == ["omar", "pia"]
    updates = Change.objects.filter(object_type="group", action="update", object_id=str(group.pk))
    assert sorted((entry.before["members"], entry.after["members"]) for entry in updates) == [
        (["lena", "omar"], ["lena", "omar", "pia"]),
        (["lena", "omar", "pia"], ["omar", "pia"]),
    ]


def test_the_admin_takes_group_names_as_the_api_does(client, staff):
    services.group_create(actor=staff, name="Vision-Team")

    for name, says in [
        ("vision-team", "exists already"),
        ("12", "not a number alone"),
        ("a/b", "no leading or trailing spaces"),
    ]:
        response = client.post(reverse("admin:auth_group_add"), _form(name))
        assert response.status_code == 200
        assert says in response.content.decode()
    assert Group.objects.count() == 1
    assert not Change.objects.filter(object_type="group", action="create").exclude(object_repr="Vision-Team").exists()


def test_a_group_that_answers_for_a_dataset_is_not_deleted_in_the_admin(client, staff):
    group = services.group_create(actor=staff, name="vision-team")
    OwnershipFactory(dataset=DatasetFactory(), user=None, group=group, role=OwnershipRole.OWNER)

    response = client.post(reverse("admin:auth_group_delete", args=[group.pk]), {"post": "yes"}, follow=True)

    assert Group.objects.filter(pk=group.pk).exists()
    assert "Cannot delete group" in response.content.decode()
    assert not Change.objects.filter(object_type="group", action="delete").exists()


def test_a_group_deleted_in_the_admin_is_recorded(client, staff):
    group = services.group_create(actor=staff, name="short-lived")

    response = client.post(reverse("admin:auth_group_delete", args=[group.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Group.objects.filter(pk=group.pk).exists()
    assert (
        Change.objects.get(object_type="group", action="delete", object_id=str(group.pk)).before["name"]
        == "short-lived"
    )


def test_a_users_groups_are_not_changed_from_the_user_page(client, staff):
    group = services.group_create(actor=staff, name="vision-team")
    lena = UserFactory(username="lena")

    page = client.get(reverse("admin:auth_user_change", args=[lena.pk])).content.decode()

    assert 'name="groups"' not in page
    assert not lena.groups.filter(pk=group.pk).exists()
