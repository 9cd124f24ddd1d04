"""What issue 28 left over, against gunicorn and a real worker: a reader no longer blocks a purge by
auditing a dataset or naming it in an event; a rejected edge stays rejected when its sender sends it
again; namespace changes are in the change log, and entries about storage locations and namespaces
show to staff only; reprofiling a glob checks it against today's rules."""

import uuid

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

RESEARCH = {"commercial": False, "distribute_model": False, "distribute_data": False}


def _event(job, inputs, outputs, *, time="2026-11-30T10:00:00Z"):
    return {
        "eventType": "COMPLETE",
        "eventTime": time,
        "producer": "https://example.com/pipelines",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": job[0], "name": job[1], "facets": {}},
        "inputs": inputs,
        "outputs": outputs,
    }


def _send(caller, event):
    """The event sent, once a worker has projected it."""
    sent = caller.lineage(event)
    assert sent["state"] == "projected", sent
    return sent


def _dataset(caller, namespace, name, **fields):
    response = caller.post("/api/v1/datasets/", {"namespace": namespace, "name": name, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def test_it_lets_staff_purge_a_dataset_another_user_audited_and_named_in_events(people, e2e_storage_root):
    suffix = people.owner.user.username
    folder = e2e_storage_root / f"leftover-{suffix}"
    folder.mkdir()
    (folder / "train.csv").write_text("length,label\n1,good\n2,bad\n3,good\n")
    owned = _dataset(people.owner, f"owner-{suffix}", "training", source={"uri": f"{folder.name}/train.csv"})
    assert people.owner.wait(owned["latest_version"]["id"])["status"] == "ready"
    theirs = _dataset(people.other, f"other-{suffix}", "derived")
    owned_ref = {"namespace": f"owner-{suffix}", "name": "training"}
    theirs_ref = {"namespace": f"other-{suffix}", "name": "derived"}

    # The other user audits the owner's dataset, and names it in events: as the input of their own
    # dataset, and as the output of a job of theirs.
    audit = people.other.post("/api/v1/audits/", {"datasets": [owned["id"]], "purpose": RESEARCH})
    assert audit.status_code == 201, audit.text
    _send(people.other, _event((f"other-{suffix}", "copy"), [owned_ref], [theirs_ref]))
    _send(people.other, _event((f"other-{suffix}", "write"), [theirs_ref], [owned_ref]))
    edges = people.staff.get("/api/v1/lineage/edges/", source=owned["id"]).json()["results"]
    edges += people.staff.get("/api/v1/lineage/edges/", target=owned["id"]).json()["results"]
    assert sorted(edge["status"] for edge in edges) == ["confirmed", "unconfirmed"]

    assert people.owner.delete(f"/api/v1/datasets/{owned['id']}/").status_code == 204
    purged = people.staff.post(f"/api/v1/datasets/{owned['id']}/purge/")

    assert purged.status_code == 204, purged.text
    assert people.owner.get(f"/api/v1/datasets/{owned['id']}/").status_code == 404
    # The other user's audit keeps its report, naming what it saw.
    kept = people.other.get(f"/api/v1/audits/{audit.json()['id']}/")
    assert kept.status_code == 200
    assert kept.json()["checked"] == audit.json()["checked"]
    assert [entry["dataset"] for entry in kept.json()["checked"]] == [owned["id"]]
    # Their own dataset's log says where its upstream edge went.
    removed = people.other.get("/api/v1/changes/", dataset=theirs["id"], object_type="edge", action="delete").json()
    assert [entry["after"]["reason"] for entry in removed["results"]] == ["purged"]
    assert people.staff.get("/api/v1/lineage/edges/", target=theirs["id"]).json()["results"] == []


def test_it_still_refuses_a_purge_the_owners_lineage_or_audit_stands_behind(people):
    suffix = people.owner.user.username
    owned = _dataset(people.owner, f"owner-{suffix}", "kept")
    downstream = _dataset(people.owner, f"owner-{suffix}", "downstream")
    _send(
        people.owner,
        _event(
            (f"owner-{suffix}", "build"),
            [{"namespace": f"owner-{suffix}", "name": "kept"}],
            [{"namespace": f"owner-{suffix}", "name": "downstream"}],
        ),
    )
    assert people.owner.delete(f"/api/v1/datasets/{owned['id']}/").status_code == 204

    refused = people.staff.post(f"/api/v1/datasets/{owned['id']}/purge/")

    assert refused.status_code == 409, refused.text
    assert "lineage edges" in refused.json()["detail"]
    assert people.owner.get(f"/api/v1/datasets/{owned['id']}/").status_code == 200
    (edge,) = people.owner.get("/api/v1/lineage/edges/", target=downstream["id"]).json()["results"]
    assert edge["status"] == "confirmed"


def test_it_keeps_a_rejected_edge_rejected_when_its_sender_sends_it_again(people):
    suffix = people.owner.user.username
    owned = _dataset(people.owner, f"owner-{suffix}", "training")
    _dataset(people.other, f"other-{suffix}", "scraped")
    owned_ref = {"namespace": f"owner-{suffix}", "name": "training"}
    scraped_ref = {"namespace": f"other-{suffix}", "name": "scraped"}
    job = (f"other-{suffix}", "mix")
    _send(people.other, _event(job, [scraped_ref], [owned_ref]))
    (edge,) = people.owner.get("/api/v1/lineage/edges/", target=owned["id"]).json()["results"]
    assert edge["status"] == "unconfirmed"
    assert people.owner.post(f"/api/v1/lineage/edges/{edge['id']}/reject/").status_code == 204

    # The same report again, as a new event (another run, later).
    _send(people.other, _event(job, [scraped_ref], [owned_ref], time="2026-11-30T11:00:00Z"))

    assert people.owner.get("/api/v1/lineage/edges/", target=owned["id"]).json()["results"] == []
    # The owner reporting it makes it, confirmed.
    _send(people.owner, _event(job, [scraped_ref], [owned_ref], time="2026-11-30T12:00:00Z"))
    (edge,) = people.owner.get("/api/v1/lineage/edges/", target=owned["id"]).json()["results"]
    assert edge["status"] == "confirmed"


def test_it_records_namespaces_and_shows_location_and_namespace_entries_to_staff_only(people, e2e_storage_root):
    team = e2e_storage_root / f"leftover-team-{people.owner.user.username}"
    team.mkdir()
    location = people.staff.post(
        "/api/v1/storage-locations/", {"uri": str(team), "users": [people.owner.user.username]}
    )
    assert location.status_code == 201, location.text
    name = f"fraud-{people.owner.user.username}"
    namespace = people.staff.post("/api/v1/namespaces/", {"name": name, "users": [people.owner.user.username]})
    assert namespace.status_code == 201, namespace.text
    changed = people.staff.patch(f"/api/v1/namespaces/{namespace.json()['id']}/", {"users": []})
    assert changed.status_code == 200, changed.text

    for caller in (people.other, people.owner):
        listed = caller.get("/api/v1/changes/", limit=200).json()
        assert str(team) not in str(listed)
        assert name not in str(listed)
        for kind in ("storage_location", "namespace"):
            assert caller.get("/api/v1/changes/", object_type=kind).json()["results"] == []
    entries = people.staff.get("/api/v1/changes/", object_type="namespace").json()["results"]
    mine = [(entry["action"], entry["after"]) for entry in entries if entry["object_repr"] == name]
    assert mine == [
        ("update", {"users": []}),
        ("create", {"name": name, "users": [people.owner.user.username], "groups": []}),
    ]
    located = people.staff.get("/api/v1/changes/", object_type="storage_location").json()["results"]
    assert location.json()["id"] in {entry["object_id"] for entry in located}


def test_it_refuses_to_reprofile_a_glob_that_now_takes_in_files_the_caller_may_not_register(people, e2e_storage_root):
    folder = e2e_storage_root / f"leftover-glob-{people.other.user.username}"
    (folder / "open").mkdir(parents=True)
    (folder / "open" / "a.csv").write_text("a,b\n1,2\n")
    registered = people.other.post(
        "/api/v1/datasets/",
        {"namespace": "mine", "name": folder.name, "source": {"uri": f"{folder.name}/**/*.csv", "format": "csv"}},
    )
    assert registered.status_code == 201, registered.text
    version_id = registered.json()["latest_version"]["id"]
    assert people.other.wait(version_id)["status"] == "ready"

    # Staff narrow a folder the glob reaches to the owner, who puts files there.
    (folder / "team").mkdir()
    (folder / "team" / "secret.csv").write_text("email,diagnosis\na@example.org,flu\n")
    location = people.staff.post(
        "/api/v1/storage-locations/", {"uri": str(folder / "team"), "users": [people.owner.user.username]}
    )
    assert location.status_code == 201, location.text
    refused = people.other.post(f"/api/v1/versions/{version_id}/reprofile/")
    assert refused.status_code == 403, refused.text
    assert "storage location" in refused.json()["detail"]

    # Staff open it again; then the owner registers restricted files the glob reaches.
    assert people.staff.delete(f"/api/v1/storage-locations/{location.json()['id']}/").status_code == 204
    restricted = people.owner.post(
        "/api/v1/datasets/",
        {
            "namespace": "held",
            "name": f"patients-{people.owner.user.username}",
            "sensitivity": "restricted",
            "source": {"uri": f"{folder.name}/team/secret.csv"},
        },
    )
    assert restricted.status_code == 201, restricted.text
    refused = people.other.post(f"/api/v1/versions/{version_id}/reprofile/")
    assert refused.status_code == 403, refused.text
    assert "may not read" in refused.json()["detail"]
    assert "secret" not in refused.text
    assert "patients" not in refused.text

    version = people.other.get(f"/api/v1/versions/{version_id}/").json()
    assert version["status"] == "ready"
    assert [entry["path"] for entry in version["manifest"]] == ["open/a.csv"]
