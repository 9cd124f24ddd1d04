"""Storage locations: staff say who may register sources under a prefix of the storage roots."""

import os

import pytest
from django.contrib.auth.models import Group

from catalog.models import Dataset
from governance.models import Change, StorageLocation
from tests.factories import UserFactory

LOCATIONS = "/api/v1/storage-locations/"
DATASETS = "/api/v1/datasets/"


def _csv(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("a,b\n1,2\n3,4\n")
    return path


def _register(client, name, uri, **source):
    return client.post(DATASETS, {"namespace": "locations", "name": name, "source": {"uri": uri, **source}})


def _location(staff_client, uri, users=(), groups=()):
    response = staff_client.post(LOCATIONS, {"uri": str(uri), "users": list(users), "groups": list(groups)})
    assert response.status_code == 201, response.json()
    return response.json()


# --- The API -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_lets_staff_create_read_change_and_remove_a_location_each_in_the_change_log(
    staff_client, staff, owner, storage_root, group_member
):
    (storage_root / "team").mkdir()

    created = staff_client.post(LOCATIONS, {"uri": f"file://{storage_root}/team/", "users": [owner.username]})

    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["uri"] == f"file://{storage_root}/team"
    assert body["users"] == [owner.username]
    assert body["groups"] == []
    assert body["created_by"] == staff.username
    assert created["Location"].endswith(f"{LOCATIONS}{body['id']}/")
    assert staff_client.get(LOCATIONS).json()["results"][0]["id"] == body["id"]

    detail = staff_client.get(f"{LOCATIONS}{body['id']}/")
    changed = staff_client.patch(f"{LOCATIONS}{body['id']}/", {"groups": ["vision-team"]}, HTTP_IF_MATCH=detail["ETag"])
    assert changed.status_code == 200, changed.json()
    assert changed.json()["users"] == [owner.username]
    assert changed.json()["groups"] == ["vision-team"]
    stale = staff_client.patch(f"{LOCATIONS}{body['id']}/", {"users": []}, HTTP_IF_MATCH=detail["ETag"])
    assert stale.status_code == 412

    assert staff_client.delete(f"{LOCATIONS}{body['id']}/").status_code == 204
    assert not StorageLocation.objects.exists()

    entries = Change.objects.filter(object_type="storage_location", object_id=body["id"]).order_by("created_at")
    assert [(entry.action, entry.actor_name) for entry in entries] == [
        ("create", staff.username),
        ("update", staff.username),
        ("delete", staff.username),
    ]
    assert entries[0].after == {"uri": body["uri"], "users": [owner.username], "groups": []}
    assert entries[1].before == {"groups": []}
    assert entries[1].after == {"groups": ["vision-team"]}


@pytest.mark.django_db
def test_it_refuses_locations_to_everyone_but_staff(owner_client, storage_root):
    assert owner_client.get(LOCATIONS).status_code == 403
    response = owner_client.post(LOCATIONS, {"uri": str(storage_root)})
    assert response.status_code == 403
    assert not StorageLocation.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("/elsewhere/data", "outside the storage roots"),
        ("relative/path", "absolute path"),
        ("{root}/../x", "no '..'"),
        ("{root}/*", "no wildcards"),
        ("ftp://host/x", "local path or an"),
        ("s3://", "must name a bucket"),
    ],
)
def test_it_rejects_a_location_it_cannot_govern(staff_client, storage_root, uri, message):
    response = staff_client.post(LOCATIONS, {"uri": uri.format(root=storage_root)})

    assert response.status_code == 400
    assert message in response.json()["errors"]["uri"][0]
    assert not StorageLocation.objects.exists()


@pytest.mark.django_db
def test_it_accepts_an_object_store_prefix_and_answers_409_for_a_second_one(staff_client, storage_root):
    first = staff_client.post(LOCATIONS, {"uri": "s3://training-data/team/"})
    assert first.status_code == 201
    assert first.json()["uri"] == "s3://training-data/team"

    again = staff_client.post(LOCATIONS, {"uri": "S3://training-data/team"})

    assert again.status_code == 409
    assert again.json()["existing_id"] == first.json()["id"]


@pytest.mark.django_db
def test_it_rejects_unknown_users_and_groups(staff_client, storage_root):
    response = staff_client.post(LOCATIONS, {"uri": str(storage_root), "users": ["nobody"], "groups": ["none"]})

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"users", "groups"}


# --- What a location allows --------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_lets_every_user_register_under_a_root_no_location_narrows(stranger_client, storage_root):
    _csv(storage_root / "open" / "a.csv")

    assert _register(stranger_client, "open", "open/a.csv").status_code == 201


@pytest.mark.django_db
def test_it_lets_only_the_users_and_groups_of_a_location_register_under_it(
    staff_client, owner, client_for, stranger_client, group_member, storage_root
):
    _csv(storage_root / "team" / "a.csv")
    _location(staff_client, storage_root / "team", users=[owner.username], groups=["vision-team"])

    refused = _register(stranger_client, "stranger", "team/a.csv")

    assert refused.status_code == 403
    assert "storage location" in refused.json()["detail"]
    assert "Ask staff" in refused.json()["detail"]
    assert not Dataset.objects.filter(name="stranger").exists()
    assert _register(client_for(owner), "owner", "team/a.csv").status_code == 201
    assert _register(client_for(group_member), "member", f"{storage_root}/team/a.csv").status_code == 201
    assert _register(staff_client, "staff", "team/a.csv").status_code == 201


@pytest.mark.django_db
def test_it_refuses_a_path_under_a_location_the_same_way_whether_it_exists_or_not(
    staff_client, stranger_client, storage_root
):
    _csv(storage_root / "team" / "a.csv")
    _location(staff_client, storage_root / "team")

    present = _register(stranger_client, "present", "team/a.csv")
    absent = _register(stranger_client, "absent", "team/missing.csv")

    assert present.status_code == absent.status_code == 403
    assert present.json()["detail"].replace("a.csv", "") == absent.json()["detail"].replace("missing.csv", "")


@pytest.mark.django_db
def test_it_matches_locations_on_whole_path_segments(staff_client, stranger_client, storage_root):
    _csv(storage_root / "team" / "a.csv")
    _csv(storage_root / "teamwork" / "a.csv")
    _location(staff_client, storage_root / "team")

    assert _register(stranger_client, "teamwork", "teamwork/a.csv").status_code == 201
    assert _register(stranger_client, "team", "team/a.csv").status_code == 403


@pytest.mark.django_db
def test_it_lets_the_most_specific_location_decide(staff_client, owner, stranger, client_for, storage_root):
    _csv(storage_root / "team" / "a.csv")
    _csv(storage_root / "team" / "shared" / "b.csv")
    _location(staff_client, storage_root / "team", users=[owner.username])
    _location(staff_client, storage_root / "team" / "shared", users=[stranger.username])

    assert _register(client_for(stranger), "shared", "team/shared/b.csv").status_code == 201
    assert _register(client_for(stranger), "team", "team/a.csv").status_code == 403
    assert _register(client_for(owner), "owner-shared", "team/shared/b.csv").status_code == 403


@pytest.mark.django_db
def test_it_lets_staff_narrow_a_whole_root(staff_client, owner, client_for, stranger_client, storage_root):
    _csv(storage_root / "a.csv")
    _location(staff_client, storage_root, users=[owner.username])

    assert _register(stranger_client, "stranger", "a.csv").status_code == 403
    assert _register(client_for(owner), "owner", "a.csv").status_code == 201


@pytest.mark.django_db
def test_it_refuses_a_folder_or_glob_that_takes_in_a_location_not_granting_the_caller(
    staff_client, stranger_client, storage_root
):
    _csv(storage_root / "team" / "a.csv")
    _csv(storage_root / "open" / "b.csv")
    _location(staff_client, storage_root / "team")

    assert _register(stranger_client, "root", str(storage_root), format="csv").status_code == 403
    assert _register(stranger_client, "everything", "*/**").status_code == 403
    assert _register(stranger_client, "t-star", "t*/*.csv").status_code == 403
    # A pattern that cannot reach into the location is confined to what the caller may register.
    assert _register(stranger_client, "open-star", "o*/*.csv").status_code == 201


@pytest.mark.django_db
def test_it_refuses_a_symlink_leading_into_a_location_not_granting_the_caller(
    staff_client, stranger_client, storage_root
):
    _csv(storage_root / "team" / "a.csv")
    (storage_root / "open").mkdir()
    os.symlink(storage_root / "team" / "a.csv", storage_root / "open" / "innocent.csv")
    _location(staff_client, storage_root / "team")

    response = _register(stranger_client, "innocent", "open/innocent.csv")

    assert response.status_code == 403
    assert "team" not in response.json()["detail"]


@pytest.mark.django_db
def test_it_applies_locations_to_new_versions(staff_client, owner_client, dataset, storage_root):
    _csv(storage_root / "team" / "a.csv")
    _location(staff_client, storage_root / "team")

    response = owner_client.post(f"/api/v1/datasets/{dataset.pk}/versions/", {"uri": "team/a.csv"})

    assert response.status_code == 403
    assert not dataset.versions.exists()


@pytest.mark.django_db
def test_it_opens_a_location_again_once_staff_remove_it(staff_client, stranger_client, storage_root):
    _csv(storage_root / "team" / "a.csv")
    location = _location(staff_client, storage_root / "team")
    assert _register(stranger_client, "before", "team/a.csv").status_code == 403

    staff_client.delete(f"{LOCATIONS}{location['id']}/")

    assert _register(stranger_client, "after", "team/a.csv").status_code == 201


@pytest.mark.django_db
def test_it_grants_through_a_group_added_later(staff_client, group_member, client_for, storage_root):
    _csv(storage_root / "team" / "a.csv")
    location = _location(staff_client, storage_root / "team")
    assert _register(client_for(group_member), "before", "team/a.csv").status_code == 403

    staff_client.patch(f"{LOCATIONS}{location['id']}/", {"groups": [Group.objects.get().name]})

    assert _register(client_for(group_member), "after", "team/a.csv").status_code == 201


# --- The admin ---------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(username="ada-admin", is_staff=True, is_superuser=True))
    return client


@pytest.mark.django_db
def test_it_lets_the_admin_add_change_and_delete_a_location_each_in_the_change_log(admin_client, owner, storage_root):
    (storage_root / "team").mkdir()
    added = admin_client.post(
        "/admin/governance/storagelocation/add/",
        {"uri": f"{storage_root}/team/", "users": [owner.pk], "_continue": "1"},
    )
    assert added.status_code == 302, added.content
    location = StorageLocation.objects.get()
    assert location.uri == f"file://{storage_root}/team"
    assert list(location.users.all()) == [owner]
    assert added["Location"].endswith(f"/admin/governance/storagelocation/{location.pk}/change/")

    changed = admin_client.post(
        f"/admin/governance/storagelocation/{location.pk}/change/", {"uri": location.uri, "users": []}
    )
    assert changed.status_code == 302, changed.content
    assert not location.users.exists()

    deleted = admin_client.post(f"/admin/governance/storagelocation/{location.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert not StorageLocation.objects.exists()
    entries = Change.objects.filter(object_type="storage_location", object_id=str(location.pk))
    assert sorted(entry.action for entry in entries) == ["create", "delete", "update"]


@pytest.mark.django_db
def test_it_shows_the_admin_why_a_location_is_refused(admin_client, storage_root):
    response = admin_client.post("/admin/governance/storagelocation/add/", {"uri": "/elsewhere"})

    assert response.status_code == 200
    assert "outside the storage roots" in response.content.decode()
    assert not StorageLocation.objects.exists()


@pytest.mark.django_db
def test_it_shows_storage_location_entries_of_the_change_log_to_staff_only(
    staff_client, owner, owner_client, storage_root
):
    (storage_root / "team").mkdir()
    location = _location(staff_client, storage_root / "team", users=[owner.username])
    entry = Change.objects.get(object_type="storage_location")

    listed = owner_client.get("/api/v1/changes/").json()

    assert str(storage_root) not in str(listed)
    assert entry.pk not in {item["id"] for item in listed["results"]}
    assert owner_client.get(f"/api/v1/changes/{entry.pk}/").status_code == 404
    staff_listed = staff_client.get("/api/v1/changes/", {"object_type": "storage_location"}).json()
    assert [item["object_id"] for item in staff_listed["results"]] == [location["id"]]


# --- Profiling a registered glob again ----------------------------------------------------------------


def _reprofile(client, version_id):
    return client.post(f"/api/v1/versions/{version_id}/reprofile/")


def _registered_glob(client, name, uri, capture):
    """A glob registered and profiled (its worker run on commit, in-process)."""
    with capture(execute=True):
        response = _register(client, name, uri, format="csv")
    assert response.status_code == 201, response.content
    version_id = response.json()["latest_version"]["id"]
    assert client.get(f"/api/v1/versions/{version_id}/").json()["status"] == "ready"
    return version_id


@pytest.mark.django_db
def test_it_refuses_to_reprofile_a_glob_that_now_takes_in_a_location_not_granting_the_caller(
    staff_client, stranger_client, storage_root, django_capture_on_commit_callbacks
):
    _csv(storage_root / "data" / "open" / "a.csv")
    version_id = _registered_glob(stranger_client, "everything", "data/**/*.csv", django_capture_on_commit_callbacks)
    # Later, staff narrow a folder the glob reaches, and files appear there.
    _csv(storage_root / "data" / "team" / "secret.csv")
    _location(staff_client, storage_root / "data" / "team")

    refused = _reprofile(stranger_client, version_id)

    assert refused.status_code == 403, refused.content
    assert "storage location" in refused.json()["detail"]
    assert "team" not in refused.json()["detail"]
    version = stranger_client.get(f"/api/v1/versions/{version_id}/").json()
    assert version["status"] == "ready"
    assert "secret.csv" not in str(version["manifest"])
    assert not Change.objects.filter(object_type="version", object_id=version_id, after__reprofile=True).exists()
    assert _reprofile(staff_client, version_id).status_code == 202


@pytest.mark.django_db
def test_it_refuses_to_reprofile_a_glob_that_now_takes_in_a_restricted_dataset_s_files(
    owner_client, stranger_client, staff_client, storage_root, django_capture_on_commit_callbacks
):
    _csv(storage_root / "shared" / "public" / "a.csv")
    version_id = _registered_glob(stranger_client, "everything", "shared/**/*.csv", django_capture_on_commit_callbacks)
    # Later, the owner registers restricted files the glob reaches.
    _csv(storage_root / "shared" / "patients" / "p.csv")
    restricted = owner_client.post(
        DATASETS,
        {
            "namespace": "locations",
            "name": "patients",
            "sensitivity": "restricted",
            "source": {"uri": "shared/patients/p.csv"},
        },
        format="json",
    )
    assert restricted.status_code == 201, restricted.content

    refused = _reprofile(stranger_client, version_id)

    assert refused.status_code == 403, refused.content
    assert "may not read" in refused.json()["detail"]
    assert "patients" not in refused.json()["detail"]
    assert stranger_client.get(f"/api/v1/versions/{version_id}/").json()["status"] == "ready"
    # Staff may read both: profiled again, the dataset takes the restricted files' sensitivity.
    assert _reprofile(staff_client, version_id).status_code == 202
    assert Dataset.objects.get(name="everything").sensitivity == "restricted"


@pytest.mark.django_db
def test_it_still_reprofiles_a_source_the_caller_may_register(
    owner_client, storage_root, django_capture_on_commit_callbacks
):
    _csv(storage_root / "mine" / "a.csv")
    version_id = _registered_glob(owner_client, "mine", "mine/*.csv", django_capture_on_commit_callbacks)

    response = _reprofile(owner_client, version_id)

    assert response.status_code == 202, response.content
