"""No leak of a restricted dataset, against gunicorn and real workers: once a restricted dataset is
connected to a stranger's own data (lineage both ways, column lineage, an audit, change-log entries,
a model trained on both),
every read endpoint of the OpenAPI schema, walked as the stranger with every id they legitimately
hold, answers without its ids, names, license, fingerprint or personal data."""

import json
import uuid

import pytest

from tests.lineage.events import column_lineage, dataset, facet, run_event

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _created(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def _ready(caller, created: dict) -> dict:
    version = caller.wait(created["latest_version"]["id"])
    assert version["status"] == "ready", version
    return version


@pytest.fixture
def scene(people, e2e_storage_root):
    """The owner's restricted dataset, and the other user's own dataset made (in part) from it."""
    suffix = uuid.uuid4().hex[:8]
    secret_license = f"LicenseRef-secret-xyz-{suffix}"
    _created(people.staff.post("/api/v1/licenses/", {"spdx_id": secret_license, "name": f"Terms {suffix}"}))

    vault = e2e_storage_root / f"vault-{suffix}"
    vault.mkdir()
    pii_values = [f"zq{suffix}{index}@zebra-mail.example" for index in range(6)]
    diagnoses = [f"zebritis{suffix}{index}" for index in range(6)]
    rows = "".join(
        f"{email},{diagnosis},{index}\n"
        for index, (email, diagnosis) in enumerate(zip(pii_values, diagnoses, strict=True))
    )
    pii_column = f"zebra_contact_{suffix}"
    (vault / "patients.csv").write_text(f"{pii_column},diagnosis,visits\n{rows}")
    secret = _created(
        people.owner.post(
            "/api/v1/datasets/",
            {
                "namespace": f"zebravault{suffix}",
                "name": f"patients-zebra-{suffix}",
                "sensitivity": "restricted",
                "license": secret_license,
                "origin": "purchased",
                "source": {"uri": f"{vault.name}/patients.csv"},
            },
        )
    )
    secret_version = _ready(people.owner, secret)
    confirmed = people.owner.patch(f"/api/v1/versions/{secret_version['id']}/features/0/", {"pii": True})
    assert confirmed.status_code == 200, confirmed.text

    mine_folder = e2e_storage_root / f"mine-{suffix}"
    mine_folder.mkdir()
    (mine_folder / "scores.csv").write_text("score,label\n" + "".join(f"{i / 10},{i % 2}\n" for i in range(8)))
    mine = _created(
        people.other.post(
            "/api/v1/datasets/",
            {
                "namespace": f"mine{suffix}",
                "name": "scores",
                "license": "CC0-1.0",
                "source": {"uri": f"{mine_folder.name}/scores.csv"},
            },
        )
    )
    mine_version = _ready(people.other, mine)

    secret_identity = dataset(secret["namespace"], secret["name"])
    mapping = column_lineage({"score": [(secret["namespace"], secret["name"], pii_column)]})
    mapping["fields"]["score"]["inputFields"][0]["transformations"][0]["description"] = f"zebra formula {suffix}"
    output = dataset(mine["namespace"], mine["name"], columnLineage=mapping)
    hidden_job = f"zebra-refresh-{suffix}"
    # The owner reports a run from their dataset into the other's; the other reports one of their
    # own reading it; the owner also runs a job that touches their dataset alone.
    events = [
        (
            people.owner,
            run_event(
                inputs=[secret_identity],
                outputs=[output],
                job=("etl", f"join-{suffix}"),
                job_facets={"sql": facet(query=" ".join(["SELECT * FROM", secret["name"]]))},
                run_facets={"processing_engine": facet(name=secret["name"], version="1")},
            ),
        ),
        (people.other, run_event(inputs=[secret_identity], outputs=[output], job=("mine", f"train-{suffix}"))),
        (
            people.owner,
            run_event(
                outputs=[dataset(secret["namespace"], secret["name"], documentation=facet(description="x"))],
                job=("vault", hidden_job),
            ),
        ),
    ]
    # Each event as its sender reads it once a worker has projected it.
    answers = []
    for caller, event in events:
        answer = caller.lineage(event)
        assert answer["state"] == "projected", answer
        answers.append(answer)
    hidden_run = events[2][1]["run"]["runId"]

    audit = _created(
        people.other.post(
            "/api/v1/audits/",
            {"datasets": [mine["id"]], "purpose": {"commercial": True, "distribute_model": True}},
        )
    )

    # Models trained on it: the owner's on the restricted dataset and the stranger's (a commercial
    # purpose, so the run is audited at once); the stranger's own on their dataset alone. Models and
    # runs are read by every user: the restricted input must show as nothing but a placeholder.
    models = {}
    for caller, name, inputs in (
        (people.owner, f"vault-model-{suffix}", [secret_version["id"], mine_version["id"]]),
        (people.other, f"mine-model-{suffix}", [mine_version["id"]]),
    ):
        run = _created(
            caller.post(
                "/api/v1/training-runs/",
                {
                    "model": {"namespace": "models", "name": name},
                    "status": "completed",
                    "hyperparameters": {"lr": 0.1},
                    "inputs": [{"version": version, "role": "train"} for version in inputs],
                    "purpose": {"commercial": True},
                },
            )
        )
        models[name] = (run["model"]["id"], run["id"])

    # Each checks serving data against a contract of their own dataset: the owner's check, of the
    # restricted dataset, must answer the stranger as a missing one.
    checks = {}
    for caller, target, uri in (
        (people.owner, secret, f"{vault.name}/patients.csv"),
        (people.other, mine, f"{mine_folder.name}/scores.csv"),
    ):
        draft = caller.post(f"/api/v1/datasets/{target['id']}/contract/infer", {})
        assert draft.status_code == 200, draft.text
        saved = caller.request("PUT", f"/api/v1/datasets/{target['id']}/contract/", json=draft.json())
        assert saved.status_code == 200, saved.text
        check = caller.post(f"/api/v1/datasets/{target['id']}/contract/validate", {"source": {"uri": uri}})
        assert check.status_code == 202, check.text
        checks[target["id"]] = check.json()["id"]

    forbidden = {
        secret["id"],
        uuid.UUID(secret["id"]).hex,
        secret_version["id"],
        uuid.UUID(secret_version["id"]).hex,
        secret["name"],
        secret["namespace"],
        secret_license,
        secret_version["fingerprint"],
        pii_column,
        hidden_job,
        f"zebra formula {suffix}",
        *pii_values,
        *diagnoses,
    }
    return {
        "suffix": suffix,
        "secret": secret,
        "secret_version": secret_version,
        "secret_license": secret_license,
        "pii_column": pii_column,
        "hidden_job": hidden_job,
        "hidden_run": hidden_run,
        "mine": mine,
        "mine_version": mine_version,
        "audit": audit,
        "answers": answers,
        "forbidden": forbidden,
        "models": [model for model, _ in models.values()],
        "training_runs": [run for _, run in models.values()],
        "my_check": checks[mine["id"]],
        "secret_check": checks[secret["id"]],
    }


def _leaks(body: str, forbidden: set[str]) -> list[str]:
    lowered = body.lower()
    return sorted(text for text in forbidden if text.lower() in lowered)


def _without_license_entries(path: str, body: str) -> str:
    """The license catalog is public and staff-curated: a custom license is listed there and its
    creation is in the change log, linked to no dataset. Those are left out of the license check."""
    if path.startswith("/api/v1/licenses"):
        return ""
    if path.startswith("/api/v1/changes/"):
        try:
            data = json.loads(body)
        except ValueError:
            return body
        if isinstance(data, dict) and isinstance(data.get("results"), list):
            data["results"] = [entry for entry in data["results"] if entry.get("object_type") != "license"]
        elif isinstance(data, dict) and data.get("object_type") == "license":
            return ""
        return json.dumps(data)
    return body


def test_it_leaks_nothing_of_a_restricted_dataset_on_any_read_endpoint(people, scene):
    other, owner = people.other, people.owner
    secret, mine = scene["secret"], scene["mine"]
    forbidden = scene["forbidden"]
    license_free = forbidden - {scene["secret_license"]}

    # What the stranger legitimately holds, read from their own answers.
    def ids(path, **params):
        response = other.get(path, limit=500, **params)
        assert response.status_code == 200, (path, response.text)
        return [item["id"] for item in response.json()["results"]]

    my_runs, my_jobs, my_edges = ids("/api/v1/runs/"), ids("/api/v1/jobs/"), ids("/api/v1/lineage/edges/")
    my_changes = ids("/api/v1/changes/")
    my_events = ids("/api/v1/lineage/events/")
    secret_events = [event["id"] for event in scene["answers"] if event["id"] not in my_events]
    assert len(my_events) == 1
    assert len(secret_events) == 2
    my_owner = other.get(f"/api/v1/datasets/{mine['id']}/owners/").json()[0]["id"]
    # And what only the owner knows, which the stranger may try by guessing: each must answer 404.
    secret_owner = owner.get(f"/api/v1/datasets/{secret['id']}/owners/").json()[0]["id"]
    secret_changes = [
        entry["id"] for entry in owner.get("/api/v1/changes/", dataset=secret["id"], limit=5).json()["results"]
    ]
    hidden_job_id = next(job["id"] for job in owner.get("/api/v1/jobs/", name=scene["hidden_job"]).json()["results"])
    secret_edges = [
        edge["id"]
        for edge in people.staff.get("/api/v1/lineage/edges/", source=secret["id"], limit=50).json()["results"]
    ]
    assert secret_edges, "the events connected the restricted dataset to the other user's"
    assert scene["hidden_run"] not in my_runs
    assert hidden_job_id not in my_jobs

    mine_node = f"{mine['namespace']}:{mine['name']}"
    secret_node = f"{secret['namespace']}:{secret['name']}"
    own = {
        "dataset_id": [mine["id"]],
        "version_id": [scene["mine_version"]["id"]],
        "position": ["0"],
        ("datasets", "id"): [mine["id"]],
        ("versions", "id"): [scene["mine_version"]["id"]],
        ("audits", "id"): [scene["audit"]["id"]],
        ("changes", "id"): my_changes,
        ("jobs", "id"): my_jobs,
        ("runs", "id"): my_runs,
        ("edges", "id"): my_edges,
        ("owners", "id"): [my_owner],
        ("events", "id"): my_events,
        ("models", "id"): scene["models"],
        "model_id": scene["models"],
        ("training-runs", "id"): scene["training_runs"],
        "check_id": [scene["my_check"]],
        ("licenses", "spdx_id"): ["CC0-1.0", scene["secret_license"]],
        ("files", "path"): [entry["path"] for entry in scene["mine_version"]["manifest"]][:1],
        # Staff-only collections: the stranger is refused whatever the id.
        ("namespaces", "id"): ["1"],
        ("storage-locations", "id"): [str(uuid.uuid4())],
        ("webhooks", "id"): [str(uuid.uuid4())],
        # The stranger is in no group: another's group answers as a missing one, by name or id.
        ("groups", "ref"): ["vision-team", "1"],
        # Marquez's read API names a namespace, a dataset and a job by their names.
        ("namespaces", "namespace"): [mine["namespace"]],
        ("datasets", "dataset"): [mine["name"]],
        ("jobs", "job"): [f"train-{scene['suffix']}"],
    }
    probes = {
        "dataset_id": [secret["id"]],
        "version_id": [scene["secret_version"]["id"]],
        ("datasets", "id"): [secret["id"]],
        ("versions", "id"): [scene["secret_version"]["id"]],
        ("changes", "id"): secret_changes,
        ("jobs", "id"): [hidden_job_id],
        ("runs", "id"): [scene["hidden_run"]],
        ("edges", "id"): secret_edges,
        ("owners", "id"): [secret_owner],
        ("events", "id"): secret_events,
        "check_id": [scene["secret_check"]],
        ("datasets", "dataset"): [secret["name"]],
        ("jobs", "job"): [scene["hidden_job"]],
    }
    query_probes = {
        "dataset": secret["id"],
        "source": secret["id"],
        "target": secret["id"],
        "object_id": secret["id"],
        "against": scene["secret_version"]["id"],
        "version": scene["secret_version"]["id"],
        "license": scene["secret_license"],
        "namespace": secret["namespace"],
        "search": secret["name"],
        "feature": scene["pii_column"],
        "name": scene["hidden_job"],
        "job_name": scene["hidden_job"],
        "q": secret["name"],
    }

    schema = other.get("/api/v1/schema/", format="json")
    assert schema.status_code == 200
    calls: list[tuple[str, dict, bool, set[str]]] = []  # path, query, must be 404, what it sent
    for template, operations in schema.json()["paths"].items():
        if "get" not in operations:
            continue
        parameters = operations["get"].get("parameters", [])
        names = [p["name"] for p in parameters if p["in"] == "path"]
        query = {p["name"] for p in parameters if p["in"] == "query"}
        parts = template.split("/")
        # A path parameter is read by the collection it follows: /datasets/{id}, /owners/{id}.
        before = {part[1:-1]: parts[index - 1] for index, part in enumerate(parts) if part.startswith("{")}

        def fill(table, name, before=before):
            for key in ((before.get(name), name), name):
                if key in table:
                    return table[key]
            return None

        base: dict = {"limit": "500"} if "limit" in query else {}
        if template in ("/api/v1/lineage", "/api/v1/marquez/lineage"):
            queries = [
                {"nodeId": f"dataset:{mine_node}", "direction": "both", "depth": "20"},
                {"nodeId": f"dataset:{mine_node}", "direction": "both", "format": "marquez"},
            ][: 2 if template == "/api/v1/lineage" else 1]
            probe_queries = [{"nodeId": f"dataset:{secret_node}"}]
        elif template in ("/api/v1/column-lineage", "/api/v1/marquez/column-lineage"):
            queries = [{"nodeId": f"datasetField:{mine_node}:score", "direction": d} for d in ("upstream", "both")]
            queries.append({"nodeId": f"dataset:{mine_node}", "withDownstream": "true"})
            probe_queries = [{"nodeId": f"datasetField:{secret_node}:{scene['pii_column']}"}]
        else:
            queries, probe_queries = [base], []
        missing = [name for name in names if fill(own, name) is None]
        assert not missing, f"the walk does not know how to fill {missing} of {template}: teach it"
        filled = [{}]
        for name in names:
            filled = [{**f, name: value} for f in filled for value in fill(own, name)]
        # The stranger's own event names the restricted dataset by the identity they sent: that, and
        # nothing more of it (no id), comes back to them.
        echoed = {secret["namespace"], secret["name"]} if template.startswith("/api/v1/lineage/events/") else set()
        for values in filled:
            path = template.format(**values)
            for params in queries:
                calls.append((path, params, False, echoed))
            for name, value in query_probes.items():
                if name in query:
                    calls.append((path, {**base, name: value}, False, {value}))
        for params in probe_queries:
            calls.append((template, params, True, set(params.values())))
        for name in names:
            for value in fill(probes, name) or []:
                others = {n: fill(own, n)[0] for n in names if n != name}
                calls.append((template.format(**{**others, name: value}), base, True, {value}))
    assert len(calls) > 60

    leaks = []
    for path, params, must_hide, sent in calls:
        response = other.get(path, **params)
        assert response.status_code < 500, (path, params, response.text)
        if must_hide:
            assert response.status_code == 404, (path, params, response.status_code, response.text)
        allowed = {text for text in forbidden if any(text.lower() in str(s).lower() for s in sent)}
        body = response.text
        found = _leaks(body, license_free - allowed) + _leaks(
            _without_license_entries(path, body), {scene["secret_license"]} - allowed
        )
        if found:
            leaks.append((path, params, found))
    assert leaks == []

    # What the stranger's own reads show instead: placeholders that keep the shape and the verdict.
    graph = other.get("/api/v1/lineage", nodeId=f"dataset:{mine_node}", direction="upstream").json()["graph"]
    assert any(node["data"].get("restricted") for node in graph)
    audit = other.get(f"/api/v1/audits/{scene['audit']['id']}/").json()
    placeholders = [finding for finding in audit["findings"] if finding["code"] == "restricted_upstream"]
    assert "blocker" in {finding["severity"] for finding in placeholders}
    assert audit["verdict"] == "fail"
    # The stranger's event, as they read it, names no id of the restricted dataset either; the
    # owner's, as the owner reads it, does.
    theirs = other.get(f"/api/v1/lineage/events/{my_events[0]}/").json()
    assert _leaks(json.dumps(theirs), {secret["id"], uuid.UUID(secret["id"]).hex}) == []
    landed = {(item["namespace"], item["name"]): item["id"] for item in theirs["datasets"]}
    assert landed == {(secret["namespace"], secret["name"]): None, (mine["namespace"], mine["name"]): mine["id"]}
    assert secret["id"] in {item["id"] for item in scene["answers"][0]["datasets"]}
    # And the owner, who may read it, still sees it where it is.
    assert secret["id"] in owner.get("/api/v1/runs/", dataset=secret["id"]).text


def test_it_answers_a_taken_name_without_the_id_of_a_restricted_dataset(people):
    name = f"patients-zebra-{uuid.uuid4().hex[:8]}"
    secret = _created(
        people.owner.post("/api/v1/datasets/", {"namespace": "vault", "name": name, "sensitivity": "restricted"})
    )

    response = people.other.post("/api/v1/datasets/", {"namespace": "vault", "name": name})

    assert response.status_code == 409, response.text
    assert "existing_id" not in response.json()
    assert secret["id"] not in response.text
    assert "already exists" in response.json()["detail"]
    assert (
        people.owner.post("/api/v1/datasets/", {"namespace": "vault", "name": name}).json()["existing_id"]
        == (secret["id"])
    )
