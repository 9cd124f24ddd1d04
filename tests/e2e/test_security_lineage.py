"""Lineage from those who may write it, against gunicorn and a real worker: another user's OpenLineage
events no longer rewrite the owner's lineage, facets, jobs and runs, nor flip their audits."""

import uuid

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

COMMERCIAL = {"commercial": True, "distribute_model": False, "distribute_data": False}


def _event(job, inputs, outputs, *, run_id=None, event_type="COMPLETE", time="2026-11-30T10:00:00Z", job_facets=None):
    return {
        "eventType": event_type,
        "eventTime": time,
        "producer": "https://example.com/pipelines",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(run_id or uuid.uuid4())},
        "job": {"namespace": job[0], "name": job[1], "facets": job_facets or {}},
        "inputs": inputs,
        "outputs": outputs,
    }


def _facet(**members):
    return {"_producer": "https://example.com/pipelines", "_schemaURL": "https://example.com/facet.json", **members}


@pytest.fixture
def world(people, e2e_storage_root):
    """The owner's profiled training set (CC0-1.0), and another user's non-commercial dataset."""
    suffix = people.owner.user.username
    folder = e2e_storage_root / f"lineage-{suffix}"
    folder.mkdir()
    rows = "".join(f"{i},{'good' if i % 3 else 'bad'}\n" for i in range(300))
    (folder / "train.csv").write_text("length,label\n" + rows)
    training = people.owner.post(
        "/api/v1/datasets/",
        {
            "namespace": f"owner-{suffix}",
            "name": "training",
            "license": "CC0-1.0",
            "source": {"uri": f"{folder.name}/train.csv", "label_column": "label"},
        },
    )
    assert training.status_code == 201, training.text
    training = training.json()
    assert people.owner.wait(training["latest_version"]["id"])["status"] == "ready"
    scraped = people.other.post(
        "/api/v1/datasets/", {"namespace": f"other-{suffix}", "name": "scraped", "license": "CC-BY-NC-4.0"}
    )
    assert scraped.status_code == 201, scraped.text

    class World:
        owner, other, staff = people.owner, people.other, people.staff
        namespace = f"owner-{suffix}"
        training_id = training["id"]
        training_ref = {"namespace": f"owner-{suffix}", "name": "training"}
        scraped_ref = {"namespace": f"other-{suffix}", "name": "scraped"}
        node = f"dataset:owner-{suffix}:training"
        folder_path = folder

        @staticmethod
        def audit() -> str:
            response = people.owner.post("/api/v1/audits/", {"datasets": [training["id"]], "purpose": COMMERCIAL})
            assert response.status_code == 201, response.text
            return response.json()["verdict"]

        @staticmethod
        def edge() -> dict:
            (edge,) = people.owner.get("/api/v1/lineage/edges/", target=training["id"]).json()["results"]
            return edge

    return World


def _in_edge_statuses(world) -> list[str]:
    graph = world.owner.get("/api/v1/lineage", nodeId=world.node, direction="upstream").json()["graph"]
    node = {item["id"]: item for item in graph}[world.node]
    return [entry["status"] for entry in node["inEdges"]]


def test_it_keeps_another_user_s_lineage_out_of_the_owner_s_audit_until_the_owner_confirms_it(world):
    assert world.audit() == "pass"

    sent = world.other.lineage(_event(("etl", "launder"), [world.scraped_ref], [world.training_ref]))

    assert sent["state"] == "projected", sent
    landed = {(item["name"], item["status"]) for item in sent["datasets"]}
    assert landed == {("scraped", "confirmed"), ("training", "unconfirmed")}
    assert world.audit() == "pass"
    assert _in_edge_statuses(world) == ["unconfirmed"]
    edge = world.edge()
    assert edge["status"] == "unconfirmed"
    assert world.other.post(f"/api/v1/lineage/edges/{edge['id']}/confirm/").status_code == 403

    confirmed = world.owner.post(f"/api/v1/lineage/edges/{edge['id']}/confirm/")

    assert confirmed.status_code == 200, confirmed.text
    assert _in_edge_statuses(world) == ["confirmed"]
    assert world.audit() == "fail"


def test_it_lets_the_owner_reject_or_remove_reported_lineage_with_a_trace(world):
    world.other.lineage(_event(("etl", "launder"), [world.scraped_ref], [world.training_ref]))
    rejected = world.edge()
    assert world.owner.post(f"/api/v1/lineage/edges/{rejected['id']}/reject/").status_code == 204
    assert world.owner.get("/api/v1/lineage/edges/", target=world.training_id).json()["results"] == []
    assert world.audit() == "pass"

    # Edges the owner's own pipeline reported (confirmed) are removed by the owner as well.
    world.owner.lineage(_event(("etl", "mine"), [world.scraped_ref], [world.training_ref]))
    reported = world.edge()
    assert (reported["origin"], reported["status"]) == ("openlineage", "confirmed")
    assert world.other.delete(f"/api/v1/lineage/edges/{reported['id']}/").status_code == 403
    assert world.owner.delete(f"/api/v1/lineage/edges/{reported['id']}/").status_code == 204

    changes = world.owner.get(
        "/api/v1/changes/", object_type="edge", action="delete", dataset=world.training_id
    ).json()["results"]
    reasons = {change["object_id"]: change["after"]["reason"] for change in changes}
    assert reasons == {str(rejected["id"]): "rejected", str(reported["id"]): "removed"}


def test_another_user_s_events_change_neither_the_owner_s_facets_nor_run_job_and_versions(world):
    run_id = uuid.uuid4()
    documented = {"documentation": _facet(description="Builds the training set.")}
    own = dict(world.training_ref, facets={"schema": _facet(fields=[{"name": "length", "type": "INT"}])})
    scraped = dict(world.scraped_ref, facets={"version": _facet(datasetVersion="1")})
    first = _event(("etl", "own-build"), [scraped], [own], run_id=run_id, event_type="START", job_facets=documented)
    assert world.owner.lineage(first)["state"] == "projected"

    forged_output = dict(
        world.training_ref,
        facets={
            "schema": _facet(fields=[{"name": "ssn", "type": "STRING"}]),
            "dataSource": _facet(name="evil", uri="s3://evil"),
        },
    )
    forged = _event(
        ("etl", "own-build"),
        [dict(world.scraped_ref, facets={"version": _facet(datasetVersion="2")})],
        [forged_output],
        run_id=run_id,
        time="2026-11-30T11:00:00Z",
        job_facets={"documentation": _facet(description="Rewritten.")},
    )
    assert world.other.lineage(forged)["state"] == "projected"

    graph = world.owner.get("/api/v1/lineage", nodeId=world.node, direction="upstream").json()["graph"]
    nodes = {item["id"]: item for item in graph}
    assert [field["name"] for field in nodes[world.node]["data"]["fields"]] == ["length"]
    assert nodes[world.node]["data"]["source_uri"] == ""
    run = world.owner.get(f"/api/v1/runs/{run_id}/").json()
    assert (run["state"], run["ended_at"]) == ("START", None)
    job = world.owner.get("/api/v1/jobs/", namespace="etl", name="own-build").json()["results"][0]
    assert job["description"] == "Builds the training set."
    assert world.edge()["status"] == "confirmed"


def test_it_refuses_an_event_of_200_inputs_by_200_outputs_with_the_reason(world):
    inputs = [{"namespace": world.namespace, "name": f"in-{index}"} for index in range(200)]
    outputs = [{"namespace": world.namespace, "name": f"out-{index}"} for index in range(200)]

    response = world.other.post("/api/v1/lineage", _event(("etl", "bomb"), inputs, outputs))

    assert response.status_code == 413, response.text
    body = response.json()
    assert (body["inputs"], body["outputs"], body["edges"], body["limit"]) == (200, 200, 40000, 1000)
    assert world.owner.get("/api/v1/datasets/", namespace=world.namespace).json()["count"] == 1


def test_it_refuses_claims_through_ownership_and_symlinks_facets(world):
    # A dataset the owner's pipeline first reported is the owner's; the ownership facet of another's
    # event no longer takes it over (and hides it from its producer).
    made = {"namespace": world.namespace, "name": "made-by-pipeline"}
    assert world.owner.lineage(_event(("etl", "make"), [], [made]))["state"] == "projected"
    claim = {"ownership": _facet(owners=[{"name": f"user:{world.other.user.username}", "type": "OWNER"}])}
    world.other.lineage(_event(("etl", "claim"), [], [dict(made, facets=claim)]))
    (listed,) = world.owner.get("/api/v1/datasets/", namespace=world.namespace, search="made-by-pipeline").json()[
        "results"
    ]
    owners = world.owner.get(f"/api/v1/datasets/{listed['id']}/owners/").json()
    names = {entry["name"] for entry in (owners["results"] if isinstance(owners, dict) else owners)}
    assert names == {world.owner.user.username}

    # A symlinks facet naming a path before its owner registers it does not keep it.
    later = world.folder_path / "later.csv"
    later.write_text("length,label\n1,good\n2,bad\n")
    squat = {
        "namespace": f"squat-{world.other.user.username}",
        "name": "copy",
        "facets": {"symlinks": _facet(identifiers=[{"namespace": "file", "name": str(later), "type": "FILE"}])},
    }
    assert world.other.lineage(_event(("etl", "squat"), [], [squat]))["state"] == "projected"
    registered = world.owner.post(
        "/api/v1/datasets/",
        {"namespace": world.namespace, "name": "later", "source": {"uri": f"{world.folder_path.name}/later.csv"}},
    )
    assert registered.status_code == 201, registered.text
    graph = world.owner.get("/api/v1/lineage", nodeId=f"dataset:file:{later}").json()["graph"]
    assert [node["id"] for node in graph] == [f"dataset:{world.namespace}:later"]
