"""Storage is governed (issue 28, finding 1 and the glob of finding 7), against gunicorn and a real
worker: a path another dataset registered is registered again only by those who may read it, globs
do not reach into it, staff narrow who may register under a prefix, broad patterns answer at once,
and a path keeps the identity of its first registration."""

import time

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PATIENTS = "email,phone,diagnosis\nann@example.org,+44 20 7946 0001,asthma\nbob@example.org,+44 20 7946 0002,diabetes\n"


def _owner_folder(people, e2e_storage_root, sensitivity="restricted"):
    """The owner's folder with patients.csv, registered by the owner; answers (folder, dataset, version)."""
    folder = e2e_storage_root / f"storage-{people.owner.user.username}"
    folder.mkdir()
    (folder / "patients.csv").write_text(PATIENTS)
    created = people.owner.post(
        "/api/v1/datasets/",
        {
            "namespace": "clinic",
            "name": f"patients-{people.owner.user.username}",
            "sensitivity": sensitivity,
            "source": {"uri": f"{folder.name}/patients.csv"},
        },
    )
    assert created.status_code == 201, created.text
    dataset = created.json()
    version = people.owner.wait(dataset["latest_version"]["id"])
    assert version["status"] == "ready", version
    return folder, dataset, version


def _register_as_other(people, name, uri, **source):
    return people.other.post(
        "/api/v1/datasets/",
        {"namespace": "mine", "name": f"{name}-{people.other.user.username}", "source": {"uri": uri, **source}},
    )


def _leaks(text, dataset, folder):
    return [
        secret
        for secret in (dataset["id"], dataset["name"], "ann@example.org", "asthma", "patients.csv")
        if secret in text
    ] + ([str(folder)] if str(folder) in text else [])


def test_it_refuses_another_user_registering_the_owners_restricted_file(people, e2e_storage_root):
    folder, dataset, version = _owner_folder(people, e2e_storage_root)

    for uri in (f"{folder.name}/patients.csv", str(folder / "patients.csv"), (folder / "patients.csv").as_uri()):
        refused = _register_as_other(people, "copy", uri)
        assert refused.status_code == 403, refused.text
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert "may not read" in refused.json()["detail"]
        assert _leaks(refused.json()["detail"], dataset, folder) == []

    mine = people.other.get("/api/v1/datasets/", namespace="mine").json()["results"]
    assert f"copy-{people.other.user.username}" not in {item["name"] for item in mine}
    assert people.other.get(f"/api/v1/versions/{version['id']}/sample/").status_code == 404
    # The owner still reads their own data.
    assert people.owner.get(f"/api/v1/versions/{version['id']}/sample/").status_code == 200


def test_it_keeps_a_glob_from_listing_the_owners_files(people, e2e_storage_root):
    folder, dataset, _ = _owner_folder(people, e2e_storage_root)
    own = e2e_storage_root / f"own-{people.other.user.username}"
    own.mkdir()
    (own / "notes.csv").write_text("a,b\n1,2\n")

    for pattern in ("*/**", f"{folder.name[:9]}*/**", "**/patients.csv", "."):
        refused = _register_as_other(people, "everything", pattern, format="csv")
        assert refused.status_code == 403, (pattern, refused.text)
        assert _leaks(refused.text, dataset, folder) == []

    # A glob that stays in the caller's own folder is registered, and lists only what it matches.
    allowed = _register_as_other(people, "own", f"{own.name}/*.csv")
    assert allowed.status_code == 201, allowed.text
    version = people.other.wait(allowed.json()["latest_version"]["id"])
    assert version["status"] == "ready", version
    assert [entry["path"] for entry in version["manifest"]] == ["notes.csv"]


def test_it_lets_a_staff_location_narrow_registration_to_its_users(people, e2e_storage_root):
    team = e2e_storage_root / f"team-{people.owner.user.username}"
    team.mkdir()
    (team / "scores.csv").write_text("a,b\n1,2\n")
    assert people.other.get("/api/v1/storage-locations/").status_code == 403
    assert people.other.post("/api/v1/storage-locations/", {"uri": str(team)}).status_code == 403

    location = people.staff.post(
        "/api/v1/storage-locations/", {"uri": str(team), "users": [people.owner.user.username]}
    )
    assert location.status_code == 201, location.text

    refused = _register_as_other(people, "scores", f"{team.name}/scores.csv")
    absent = _register_as_other(people, "absent", f"{team.name}/absent.csv")
    assert refused.status_code == absent.status_code == 403
    assert "storage location" in refused.json()["detail"]
    granted = people.owner.post(
        "/api/v1/datasets/",
        {
            "namespace": "team",
            "name": f"scores-{people.owner.user.username}",
            "source": {"uri": f"{team.name}/scores.csv"},
        },
    )
    assert granted.status_code == 201, granted.text

    changes = people.staff.get("/api/v1/changes/", object_type="storage_location", object_id=location.json()["id"])
    assert [entry["action"] for entry in changes.json()["results"]] == ["create"]

    assert people.staff.delete(f"/api/v1/storage-locations/{location.json()['id']}/").status_code == 204


def test_it_answers_a_deep_recursive_pattern_at_once(people, e2e_storage_root):
    deep = e2e_storage_root / f"deep-{people.other.user.username}"
    folder = deep
    for depth in range(40):
        folder = folder / f"d{depth}"
    folder.mkdir(parents=True)

    for pattern in ("**/" * 50 + "*.csv", f"{deep.name}/**/" + "*/" * 60 + "*.csv"):
        started = time.monotonic()
        response = _register_as_other(people, "deep", pattern)
        elapsed = time.monotonic() - started

        assert 400 <= response.status_code < 500, response.text
        assert elapsed < 1, elapsed
    # The service is still there, answering.
    assert people.other.get("/api/v1/datasets/").status_code == 200


def test_it_keeps_a_paths_identity_with_its_first_registration(people, e2e_storage_root):
    folder, first, _ = _owner_folder(people, e2e_storage_root, sensitivity="public")
    path = str(folder / "patients.csv")
    again = _register_as_other(people, "again", path)
    assert again.status_code == 201, again.text
    assert again.json()["sensitivity"] == "internal"  # what it asked for (the default): stricter than public

    answer = people.other.lineage(
        {
            "eventTime": "2026-11-01T10:00:00Z",
            "producer": "https://example.com/scanner",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
            "dataset": {"namespace": "file", "name": path, "facets": {}},
        },
    )

    assert answer["state"] == "projected", answer
    assert [item["id"] for item in answer["datasets"]] == [first["id"]]
