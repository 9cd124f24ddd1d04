"""The audit of a model over HTTP: datasets profiled by the real worker, a model trained on one made
from a non-commercial source, recorded for commercial use: its run carries the failed verdict, and
an audit of the model fails for it and names it."""

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_model_trained_on_data_made_from_a_non_commercial_source_fails_its_commercial_audit(api, e2e_storage_root):
    folder = e2e_storage_root / "training-audit"
    folder.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"{i},{'good' if i % 3 else 'bad'}\n" for i in range(300))
    for name in ("scraped-posts", "posts-train"):
        (folder / f"{name}.csv").write_text("length,label\n" + rows)
    licenses = {"scraped-posts": "CC-BY-NC-4.0", "posts-train": "CC-BY-4.0"}
    datasets = {
        name: api.register(name, {"uri": f"training-audit/{name}.csv", "label_column": "label"}, license=license)
        for name, license in licenses.items()
    }
    for dataset in datasets.values():
        assert api.wait(dataset["latest_version"]["id"])["status"] == "ready"
    edge = api.post(
        "/api/v1/lineage/edges/",
        {"source": datasets["scraped-posts"]["id"], "target": datasets["posts-train"]["id"]},
    )
    assert edge.status_code == 201, edge.text

    recorded = api.post(
        "/api/v1/training-runs/",
        {
            "model": {"namespace": "e2e", "name": "sentiment"},
            "model_version": "1.0.0",
            "status": "completed",
            "inputs": [{"version": datasets["posts-train"]["latest_version"]["id"], "role": "train"}],
            "purpose": {"commercial": True},
        },
    )

    assert recorded.status_code == 201, recorded.text
    run = recorded.json()
    assert run["audit"]["verdict"] == "fail"
    assert api.get(f"/api/v1/training-runs/{run['id']}/").json()["audit"] == run["audit"]

    audited = api.post("/api/v1/audits/", {"models": [run["model"]["id"]], "purpose": {"commercial": True}})

    assert audited.status_code == 201, audited.text
    report = audited.json()
    assert report["verdict"] == "fail"
    assert report["training_runs"] == [
        {"id": run["id"], "model": "e2e/sentiment", "model_id": run["model"]["id"], "model_version": "1.0.0"}
    ]
    (blocker,) = [finding for finding in report["findings"] if finding["severity"] == "blocker"]
    assert (blocker["code"], blocker["dataset_name"]) == ("non_commercial", "e2e/scraped-posts")
    markdown = api.get(f"/api/v1/audits/{report['id']}/markdown").text
    assert f"- **Model**: e2e/sentiment 1.0.0, training run {run['id']}" in markdown
