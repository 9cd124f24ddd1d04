"""Namespaces with owners: staff give a namespace owners; then only they (and staff) create in it."""

import pytest
from django.contrib.auth.models import Group

from catalog.models import Dataset
from governance.models import Change, Namespace
from tests.factories import UserFactory


def test_staff_give_a_namespace_owners(client_for, staff, owner, stranger):
    Group.objects.create(name="fraud-team")

    refused = client_for(stranger).post("/api/v1/namespaces/", {"name": "fraud", "users": [stranger.username]})
    created = client_for(staff).post(
        "/api/v1/namespaces/", {"name": "fraud", "users": [owner.username], "groups": ["fraud-team"]}, format="json"
    )

    assert refused.status_code == 403
    assert created.status_code == 201, created.content
    assert {key: created.json()[key] for key in ("name", "users", "groups")} == {
        "name": "fraud",
        "users": [owner.username],
        "groups": ["fraud-team"],
    }
    assert client_for(stranger).get("/api/v1/namespaces/").status_code == 403
    listed = client_for(staff).get("/api/v1/namespaces/").json()
    assert [item["name"] for item in listed["results"]] == ["fraud"]
    changed = client_for(staff).patch(
        f"/api/v1/namespaces/{created.json()['id']}/", {"users": [stranger.username]}, format="json"
    )
    assert changed.json()["users"] == [stranger.username]


def test_it_refuses_owners_who_do_not_exist(client_for, staff):
    response = client_for(staff).post("/api/v1/namespaces/", {"name": "fraud", "users": ["ghost"]}, format="json")

    assert response.status_code == 400
    assert "users" in response.json()["errors"]


def test_only_a_namespace_s_owners_and_staff_register_in_it(client_for, owner, stranger, staff):
    fraud = Namespace.objects.create(name="fraud")
    fraud.users.add(owner)
    team = Group.objects.create(name="fraud-team")
    member = stranger.__class__.objects.create(username="gina-group")
    member.groups.add(team)
    fraud.groups.add(team)
    outsider = client_for(stranger)

    refused = outsider.post("/api/v1/datasets/", {"namespace": "fraud", "name": "transactions"}, format="json")

    assert refused.status_code == 403
    assert "fraud" in refused.json()["detail"]
    assert not Dataset.objects.filter(namespace="fraud").exists()
    for user, name in ((owner, "a"), (member, "b"), (staff, "c")):
        response = client_for(user).post("/api/v1/datasets/", {"namespace": "fraud", "name": name}, format="json")
        assert response.status_code == 201, response.content
    # Namespaces nobody owns stay open.
    assert outsider.post("/api/v1/datasets/", {"namespace": "open", "name": "x"}, format="json").status_code == 201


def test_it_records_each_namespace_change_with_its_owners(client_for, staff, owner, stranger):
    Group.objects.create(name="fraud-team")
    staff_client = client_for(staff)
    created = staff_client.post(
        "/api/v1/namespaces/", {"name": "fraud", "users": [owner.username], "groups": ["fraud-team"]}, format="json"
    ).json()
    url = f"/api/v1/namespaces/{created['id']}/"
    assert staff_client.patch(url, {"users": [stranger.username]}, format="json").status_code == 200
    assert staff_client.delete(url).status_code == 204

    entries = Change.objects.filter(object_type="namespace", object_id=str(created["id"])).order_by("created_at")
    assert [(entry.action, entry.actor, entry.before, entry.after) for entry in entries] == [
        ("create", staff, None, {"name": "fraud", "users": [owner.username], "groups": ["fraud-team"]}),
        ("update", staff, {"users": [owner.username]}, {"users": [stranger.username]}),
        ("delete", staff, {"name": "fraud", "users": [stranger.username], "groups": ["fraud-team"]}, None),
    ]
    assert all(entry.dataset_id is None and entry.object_repr == "fraud" for entry in entries)


def test_it_records_nothing_for_a_change_that_changes_nothing(client_for, staff, owner):
    staff_client = client_for(staff)
    created = staff_client.post("/api/v1/namespaces/", {"name": "fraud", "users": [owner.username]}, format="json")

    staff_client.patch(f"/api/v1/namespaces/{created.json()['id']}/", {"users": [owner.username]}, format="json")

    assert list(Change.objects.filter(object_type="namespace").values_list("action", flat=True)) == ["create"]


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="ada-admin", is_staff=True, is_superuser=True))
    return client


def test_it_lets_the_admin_add_change_and_delete_a_namespace_each_in_the_change_log(admin_client, owner):
    added = admin_client.post("/admin/governance/namespace/add/", {"name": "fraud", "users": [owner.pk]})
    assert added.status_code == 302, added.content
    namespace = Namespace.objects.get()
    assert list(namespace.users.all()) == [owner]

    changed = admin_client.post(f"/admin/governance/namespace/{namespace.pk}/change/", {"name": "fraud", "users": []})
    assert changed.status_code == 302, changed.content
    assert not namespace.users.exists()
    deleted = admin_client.post(f"/admin/governance/namespace/{namespace.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert not Namespace.objects.exists()

    entries = Change.objects.filter(object_type="namespace", object_id=str(namespace.pk)).order_by("created_at")
    assert [(entry.action, entry.actor_name) for entry in entries] == [
        ("create", "ada-admin"),
        ("update", "ada-admin"),
        ("delete", "ada-admin"),
    ]
    assert entries[1].after == {"users": []}


def test_it_shows_namespace_entries_of_the_change_log_to_staff_only(client_for, staff, owner):
    created = client_for(staff).post("/api/v1/namespaces/", {"name": "fraud", "users": [owner.username]}, format="json")
    entry = Change.objects.get(object_type="namespace")

    listed = client_for(owner).get("/api/v1/changes/", {"object_type": "namespace"}).json()
    assert created.status_code == 201
    assert listed["results"] == []
    assert client_for(owner).get(f"/api/v1/changes/{entry.pk}/").status_code == 404
    staff_listed = client_for(staff).get("/api/v1/changes/", {"object_type": "namespace"}).json()
    assert [item["id"] for item in staff_listed["results"]] == [str(entry.pk)]
