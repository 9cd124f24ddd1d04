"""OpenLineage events recorded by the request and projected into the graph by the workers, over gunicorn:
the answer before the projection, the event's resource after it, who may read it, the graph concurrent
senders leave, refusals, and a worker killed while projecting."""

import json
import random
import threading
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from lineage.services.ingest import PROJECTOR_LOCK
from tests.e2e.processes import e2e_database_url
from tests.lineage.events import column_lineage, dataset, facet, run_event, schema
from tests.lineage.realistic import realistic_event

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@contextmanager
def projector_busy():
    """Another projector at work, as far as the workers can tell: the projector's advisory lock held on
    a connection of the test's own. A request's projection finds it held and leaves its event pending,
    so the answer is the pending one whatever the workers' speed; once it is let go, beat's sweep
    projects what waits."""
    with psycopg.connect(e2e_database_url().replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [PROJECTOR_LOCK])
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [PROJECTOR_LOCK])


def _event(job, run_id, *, event_type="COMPLETE", minute=0, inputs=(), outputs=()):
    return {
        "eventType": event_type,
        "eventTime": (datetime(2026, 12, 1, 8, tzinfo=UTC) + timedelta(minutes=minute)).isoformat(),
        "producer": "https://example.com/e2e",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(run_id)},
        "job": {"namespace": job[0], "name": job[1], "facets": {}},
        "inputs": list(inputs),
        "outputs": list(outputs),
    }


def test_it_answers_pending_and_the_worker_projects_the_event_into_the_graph(people):
    owner = people.owner
    namespace = f"proj-{owner.user.username}"
    run_id = uuid.uuid4()
    event = _event(
        (namespace, "clean"),
        run_id,
        inputs=[{"namespace": namespace, "name": "raw"}],
        outputs=[{"namespace": namespace, "name": "clean"}],
    )

    with projector_busy():
        response = owner.post("/api/v1/lineage", event)

        assert response.status_code == 202, response.text
        answer = response.json()
        assert (answer["state"], answer["duplicate"], answer["datasets"]) == ("pending", False, [])
        assert answer["url"] == f"/api/v1/lineage/events/{answer['event_id']}/"
        waiting = owner.get(answer["url"]).json()
        assert (waiting["state"], waiting["projected_at"], waiting["datasets"]) == ("pending", None, [])
        pending = owner.get("/api/v1/lineage/events/", state="pending").json()["results"]
        assert [item["id"] for item in pending] == [answer["event_id"]]
        assert owner.get("/api/v1/lineage", nodeId=f"dataset:{namespace}:clean").status_code == 404

    projected = owner.lineage_event(answer["url"])

    assert projected["state"] == "projected", projected
    assert projected["projected_at"] is not None
    assert projected["error"] is None
    assert (projected["run_id"], projected["job_namespace"], projected["job_name"]) == (str(run_id), namespace, "clean")
    datasets = owner.get("/api/v1/datasets/", namespace=namespace).json()["results"]
    ids = {item["name"]: item["id"] for item in datasets}
    assert sorted((item["name"], item["id"], item["status"]) for item in projected["datasets"]) == [
        ("clean", ids["clean"], "confirmed"),
        ("raw", ids["raw"], "confirmed"),
    ]
    graph = owner.get("/api/v1/lineage", nodeId=f"dataset:{namespace}:clean", direction="upstream").json()["graph"]
    assert sorted(node["id"] for node in graph) == sorted(
        [f"dataset:{namespace}:clean", f"job:{namespace}:clean", f"dataset:{namespace}:raw"]
    )
    assert owner.get(f"/api/v1/runs/{run_id}/").json()["state"] == "COMPLETE"
    # The same event again: a duplicate, answered 200, still projected once.
    again = owner.post("/api/v1/lineage", event)
    assert again.status_code == 200, again.text
    assert (again.json()["event_id"], again.json()["duplicate"]) == (answer["event_id"], True)
    assert [item["id"] for item in owner.get("/api/v1/lineage/events/").json()["results"]] == [answer["event_id"]]


def test_another_user_can_neither_read_nor_list_the_event_and_bad_queries_are_refused(people):
    owner, other = people.owner, people.other
    namespace = f"secret-{owner.user.username}"
    mine = owner.lineage(_event((namespace, "job"), uuid.uuid4(), outputs=[{"namespace": namespace, "name": "out"}]))
    assert mine["state"] == "projected", mine
    theirs = other.lineage(_event(("other", "job"), uuid.uuid4(), outputs=[{"namespace": "other", "name": "x"}]))

    assert other.get(f"/api/v1/lineage/events/{mine['id']}/").status_code == 404
    listed = other.get("/api/v1/lineage/events/", limit=500).json()
    assert [item["id"] for item in listed["results"]] == [theirs["id"]]
    assert namespace not in json.dumps(listed)
    for state in ("pending", "projected", "refused"):
        assert mine["id"] not in [
            item["id"] for item in other.get("/api/v1/lineage/events/", state=state).json()["results"]
        ]
    # Nobody changes or removes an event through its resource; staff read everyone's.
    for method in ("PUT", "PATCH", "DELETE"):
        assert other.request(method, f"/api/v1/lineage/events/{mine['id']}/", json={}).status_code in (403, 405)
    assert owner.get(f"/api/v1/lineage/events/{mine['id']}/").json()["state"] == "projected"
    everyone = {item["id"] for item in people.staff.get("/api/v1/lineage/events/", limit=500).json()["results"]}
    assert {mine["id"], theirs["id"]} <= everyone

    bogus = other.get("/api/v1/lineage/events/", state="bogus")
    assert bogus.status_code == 400, bogus.text
    assert "state" in bogus.text
    unknown = other.get("/api/v1/lineage/events/", stat="pending")
    assert unknown.status_code == 400, unknown.text
    assert "unknown" in unknown.text.lower()
    for path in ("/api/v1/lineage/events/abc/", "/api/v1/lineage/events/99999999999999999999999/"):
        assert other.get(path).status_code == 404
    hostile = other.get("/api/v1/lineage/events/", kind="x" * 2000)
    assert hostile.status_code < 500, hostile.text
    assert hostile.status_code == 400 or hostile.json()["results"] == [], hostile.text


# --- The graph concurrent senders leave ---------------------------------------------------------------


def _pipeline(prefix: str) -> list[dict]:
    """60 events of 4 jobs and 20 runs in namespaces named by `prefix`, in event-time order: each run's
    START, RUNNING and COMPLETE, reading inputs that change from event to event, writing a table with a
    schema, run facets and column lineage that later events rewrite. (A table's description is the same
    in every event: the first description reported sticks, as one a person wrote would, so it follows
    the order of arrival, not of event times.)"""
    lake, etl = f"{prefix}-lake", f"{prefix}-etl"
    events = []
    for number in range(20):
        run_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{prefix}/{number}")
        job = (etl, f"step-{number % 4}")
        for step, event_type in enumerate(("START", "RUNNING", "COMPLETE")):
            sources = [f"raw-{number % 5}", f"raw-{(number + step) % 5}"]
            output = dataset(
                lake,
                f"table-{number % 4}",
                schema=schema(("id", "int"), ("total", "double"), (f"from_run_{number}", "string")),
                columnLineage=column_lineage(
                    {"total": [(lake, sources[step % 2], "amount")], "id": [(lake, sources[0], "id")]}
                ),
                documentation=facet(description=f"table {number % 4}"),
            )
            events.append(
                run_event(
                    inputs=[dataset(lake, name) for name in dict.fromkeys(sources)],
                    outputs=[output],
                    job=job,
                    run_id=run_id,
                    event_type=event_type,
                    minutes=number * 7 + step * 2,
                    run_facets={"processing_engine": facet(name="spark", version=f"3.{step}")},
                )
            )
    return events


def _normalised(caller, prefix: str) -> dict:
    """What the graph of `prefix`'s pipeline reads over HTTP, with the prefix and run ids taken out."""

    def clean(value):
        """The prefix and run ids taken out, and each list of rows sorted once they are."""
        text = json.dumps(value, sort_keys=True)
        for number in range(20):
            text = text.replace(str(uuid.uuid5(uuid.NAMESPACE_URL, f"{prefix}/{number}")), f"run-{number}")
        parts = json.loads(text.replace(prefix, "P"))
        return {name: part if name == "columns" else sorted(part, key=json.dumps) for name, part in parts.items()}

    def listed(path, **params):
        response = caller.get(path, limit=500, **params)
        assert response.status_code == 200, response.text
        return response.json()["results"]

    datasets = listed("/api/v1/datasets/", namespace=f"{prefix}-lake")
    names = {item["id"]: item["name"] for item in datasets}
    jobs = listed("/api/v1/jobs/", namespace=f"{prefix}-etl")
    runs = listed("/api/v1/runs/", namespace=f"{prefix}-etl")
    edges = [edge for edge in listed("/api/v1/lineage/edges/") if edge["source"] in names and edge["target"] in names]
    columns = {}
    for number in range(4):
        for field in ("id", "total"):
            node = f"datasetField:{prefix}-lake:table-{number}:{field}"
            graph = caller.get("/api/v1/column-lineage", nodeId=node, depth="1").json()["graph"]
            # The order of a field's inputs is the order their rows were written in: not compared.
            columns[f"table-{number}:{field}"] = sorted(
                (
                    item["id"],
                    sorted(json.dumps(entry, sort_keys=True) for entry in item["data"].get("input_fields", [])),
                )
                for item in graph
            )
        node = f"dataset:{prefix}-lake:table-{number}"
        graph = caller.get("/api/v1/lineage", nodeId=node, depth="1", direction="upstream").json()["graph"]
        data = {item["id"]: item["data"] for item in graph}[node]
        columns[f"table-{number}"] = [data["description"], data["fields"], data["lifecycle"]]
    return clean(
        {
            "datasets": sorted((item["name"], item["description"], item["lifecycle"]) for item in datasets),
            "jobs": sorted(
                (
                    job["name"],
                    job["description"],
                    json.dumps(job["facets"], sort_keys=True),
                    job["latest_run"] and (job["latest_run"]["id"], job["latest_run"]["state"]),
                )
                for job in jobs
            ),
            "runs": sorted(
                (
                    run["id"],
                    run["job"]["name"],
                    run["state"],
                    run["started_at"],
                    run["ended_at"],
                    json.dumps(run["facets"], sort_keys=True),
                    sorted((item["name"], item["direction"]) for item in run["inputs"] + run["outputs"]),
                )
                for run in runs
            ),
            "edges": sorted(
                (
                    names[edge["source"]],
                    names[edge["target"]],
                    edge["job"] and edge["job"]["name"],
                    edge["origin"],
                    edge["status"],
                    edge["run"],
                )
                for edge in edges
            ),
            "columns": columns,
        }
    )


def test_concurrent_senders_leave_the_graph_their_events_leave_sent_one_by_one_in_order(people):
    owner = people.owner
    suffix = owner.user.username
    one_by_one, concurrent = f"seq-{suffix}", f"par-{suffix}"
    for event in _pipeline(one_by_one):
        assert owner.lineage(event)["state"] == "projected"

    shuffled = _pipeline(concurrent)
    random.Random(7).shuffle(shuffled)
    answers: list[int] = []
    failures: list[str] = []

    def send(part: list[dict]) -> None:
        for event in part:
            response = owner.post("/api/v1/lineage", event)
            if response.status_code != 202:
                failures.append(response.text)
            else:
                answers.append(response.json()["event_id"])

    threads = [threading.Thread(target=send, args=(shuffled[index::4],)) for index in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = time.monotonic() - started
    owner.lineage_settled(timeout=120)
    settled = time.monotonic() - started

    assert failures == []
    assert len(set(answers)) == 60
    states = [owner.get(f"/api/v1/lineage/events/{event_id}/").json()["state"] for event_id in answers]
    assert states == ["projected"] * 60
    expected, found = _normalised(owner, one_by_one), _normalised(owner, concurrent)
    assert found.keys() == expected.keys()
    for part in expected:
        assert found[part] == expected[part], part
    # What the comparison covers is there.
    assert len(found["runs"]) == 20
    assert len(found["jobs"]) == 4
    assert {run[2] for run in found["runs"]} == {"COMPLETE"}
    assert len(found["edges"]) >= 10
    assert all(len(graph) > 1 for graph in found["columns"].values())
    print(f"\n60 events from 4 threads: answered in {sent:.2f} s, all projected {settled:.2f} s after the first")


# --- Refused, sent again ------------------------------------------------------------------------------


def test_an_event_moving_a_run_to_another_job_is_refused_and_sent_again_is_taken_again(people):
    owner = people.owner
    namespace = f"refuse-{owner.user.username}"
    run_id = uuid.uuid4()
    first = owner.lineage(_event((namespace, "first"), run_id, outputs=[{"namespace": namespace, "name": "a"}]))
    assert first["state"] == "projected", first
    moving = _event((namespace, "second"), run_id, minute=5, outputs=[{"namespace": namespace, "name": "b"}])

    refused = owner.lineage(moving)

    assert refused["state"] == "refused", refused
    assert refused["datasets"] == []
    assert str(run_id) in refused["error"], refused
    assert "belongs to the job" in refused["error"], refused
    run = owner.get(f"/api/v1/runs/{run_id}/").json()
    assert (run["job"]["namespace"], run["job"]["name"]) == (namespace, "first")
    assert owner.get("/api/v1/jobs/", namespace=namespace, name="second").json()["results"] == []
    listed = owner.get("/api/v1/lineage/events/", state="refused").json()["results"]
    assert [(item["id"], item["error"]) for item in listed] == [(refused["id"], refused["error"])]

    # The same event (the same digest) again: queued again, answered 200, refused again for the same reason.
    with projector_busy():
        again = owner.post("/api/v1/lineage", moving)

        assert again.status_code == 200, again.text
        assert (again.json()["event_id"], again.json()["duplicate"], again.json()["state"]) == (
            refused["id"],
            True,
            "pending",
        )
        assert owner.get(again.json()["url"]).json()["state"] == "pending"

    retaken = owner.lineage_event(again.json()["url"])
    assert (retaken["state"], retaken["error"]) == ("refused", refused["error"])
    assert retaken["projected_at"] >= refused["projected_at"]
    assert owner.get(f"/api/v1/runs/{run_id}/").json()["job"]["name"] == "first"
    # A batch naming it again says why, as the event's resource does.
    batch = owner.post("/api/v1/lineage/batch", [moving])
    assert batch.status_code == 200, batch.text
    assert batch.json()["results"][0]["status"] in ("duplicate", "refused")
    assert owner.lineage_event(again.json()["url"])["state"] == "refused"


# --- A worker killed while projecting ---------------------------------------------------------------


def test_a_worker_killed_while_projecting_loses_no_event(people, celery_workers):
    owner = people.owner
    job = f"killed-{owner.user.username}"
    events = [
        realistic_event(
            inputs=(seed % 7, seed % 7 + 1), outputs=(10 + seed % 5,), seconds=seed, seed=seed, job=f"{job}.{seed % 4}"
        )
        for seed in range(1000)
    ]
    # Recorded while another projector seems at work, so that none is projected yet (four batches:
    # a request body may hold 5 MB).
    recorded = []
    with projector_busy():
        for start in range(0, 1000, 250):
            response = owner.post("/api/v1/lineage/batch", events[start : start + 250], timeout=120)
            assert response.status_code == 200, response.text
            assert [item["status"] for item in response.json()["results"]] == ["created"] * 250
            recorded += [item["event_id"] for item in response.json()["results"]]

    def count(state: str) -> int:
        return owner.get("/api/v1/lineage/events/", state=state, limit=1).json()["count"]

    # Let go of the lock, and kill the workers once the projector is part way through.
    deadline = time.monotonic() + 60
    while (projected := count("projected")) == 0:
        assert time.monotonic() < deadline, "the projector never started"
        time.sleep(0.02)
    celery_workers.kill()
    left = count("pending")
    assert left > 0, f"the projection had ended ({projected} projected) before the kill: nothing was interrupted"

    celery_workers.start()
    started = time.monotonic()
    owner.lineage_settled(timeout=180)
    took = time.monotonic() - started

    assert count("projected") == 1000
    assert count("refused") == 0
    states = {owner.get(f"/api/v1/lineage/events/{event_id}/").json()["state"] for event_id in recorded[::50]}
    assert states == {"projected"}
    runs = owner.get("/api/v1/runs/", limit=1).json()["count"]
    assert runs == len({event["run"]["runId"] for event in events})
    print(f"\nkilled with {left} of 1000 pending ({projected} projected seen); the rest projected in {took:.1f} s")
