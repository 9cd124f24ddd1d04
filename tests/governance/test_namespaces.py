"""Namespaces with owners: staff give a namespace owners; then only they (and staff) create in it."""

from django.contrib.auth.models import Group

from catalog.models import Dataset
from governance.models import Namespace


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
