"""A training run over HTTP with real workers: its recipe matches the files, a changed file makes it no
longer reproducible (named), and the upstream dataset's impact lists the model through lineage."""

import hashlib
import time

import pytest

from tests.training.recorded import write_rows

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_run_is_reproducible_until_a_file_of_its_input_changes(api, e2e_storage_root):
    folder = e2e_storage_root / "reproduce-me"
    write_rows(folder / "part-1.csv", rows=200)
    write_rows(folder / "part-2.csv", rows=200, offset=3.0)
    dataset = api.register("reproduce-me", {"uri": folder.name, "label_column": "species"})
    version = api.wait(dataset["latest_version"]["id"])
    assert version["status"] == "ready", version["error"]
    derived = api.register("reproduce-me-clean", {"uri": f"{folder.name}/part-1.csv"})
    assert api.wait(derived["latest_version"]["id"])["status"] == "ready"
    declared = api.post("/api/v1/lineage/edges/", {"source": dataset["id"], "target": derived["id"]})
    assert declared.status_code == 201, declared.text
    recorded = api.post(
        "/api/v1/training-runs/",
        {
            "model": {"namespace": "e2e", "name": "species-classifier"},
            "model_version": "1.0.0",
            "status": "completed",
            "code": {"repository": "https://git.example.com/e2e.git", "commit": "abc123", "entrypoint": "train.py"},
            "hyperparameters": {"lr": 0.01, "layers": [64, 32]},
            "inputs": [{"version": version["id"], "role": "train"}, {"dataset": derived["id"], "role": "test"}],
        },
    )
    assert recorded.status_code == 201, recorded.text
    run = recorded.json()

    recipe = api.get(f"/api/v1/training-runs/{run['id']}/reproduce").json()
    manifest = {entry["path"]: entry["sha256"] for entry in recipe["inputs"][0]["manifest"]}
    assert manifest == {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in ("part-1.csv", "part-2.csv")
    }

    write_rows(folder / "part-2.csv", rows=200, offset=9.0)
    accepted = api.post(f"/api/v1/training-runs/{run['id']}/verify/")
    assert accepted.status_code == 202, accepted.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        verification = api.get(f"/api/v1/training-runs/{run['id']}/").json()["verification"]
        if verification and verification["status"] != "pending":
            break
        time.sleep(0.3)
    assert verification["status"] == "changed", verification
    assert [(item["version"], item["paths"]) for item in verification["changed"]] == [(version["id"], ["part-2.csv"])]

    impact = api.get(f"/api/v1/datasets/{dataset['id']}/impact/").json()
    assert [model["name"] for model in impact["models"]] == ["species-classifier"]
    [trained] = impact["training_runs"]
    assert (trained["id"], trained["path"]) == (run["id"], ["dataset:e2e:reproduce-me"])
