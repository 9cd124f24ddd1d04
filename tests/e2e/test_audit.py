"""The pre-training audit over HTTP: datasets registered and profiled by the real worker, lineage
reported as OpenLineage events, the audit walking it upstream."""

import uuid

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _event(job: str, inputs: list[dict], outputs: list[dict]) -> dict:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-30T10:00:00Z",
        "producer": "https://example.com/pipelines",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "etl", "name": job},
        "inputs": inputs,
        "outputs": outputs,
    }


def test_a_commercial_audit_fails_on_a_non_commercial_source_two_hops_up(api, e2e_storage_root):
    folder = e2e_storage_root / "audit"
    folder.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"{i},{'good' if i % 3 else 'bad'}\n" for i in range(300))
    for name in ("forum-posts", "posts-cleaned", "sentiment-train"):
        (folder / f"{name}.csv").write_text("length,label\n" + rows)
    licenses = {"forum-posts": "CC-BY-NC-4.0", "posts-cleaned": "CC-BY-4.0", "sentiment-train": "CC-BY-4.0"}
    datasets = {
        name: api.register(name, {"uri": f"audit/{name}.csv", "label_column": "label"}, license=license)
        for name, license in licenses.items()
    }
    for dataset in datasets.values():
        assert api.wait(dataset["latest_version"]["id"])["status"] == "ready"

    def identity(name: str) -> dict:
        return {"namespace": "e2e", "name": name}

    for job, source, target in (
        ("clean", "forum-posts", "posts-cleaned"),
        ("split", "posts-cleaned", "sentiment-train"),
    ):
        event = api.lineage(_event(job, [identity(source)], [identity(target)]))
        assert event["state"] == "projected", event
        assert {(item["name"], item["id"], item["status"]) for item in event["datasets"]} == {
            (source, datasets[source]["id"], "confirmed"),
            (target, datasets[target]["id"], "confirmed"),
        }

    training = datasets["sentiment-train"]["id"]
    commercial = api.post(
        "/api/v1/audits/", {"datasets": [training], "purpose": {"commercial": True, "distribute_model": True}}
    )

    assert commercial.status_code == 201, commercial.text
    report = commercial.json()
    assert report["verdict"] == "fail"
    (blocker,) = [finding for finding in report["findings"] if finding["severity"] == "blocker"]
    assert blocker["code"] == "non_commercial"
    assert blocker["dataset"] == datasets["forum-posts"]["id"]
    assert [step["name"] for step in blocker["path"]] == ["e2e/sentiment-train", "e2e/posts-cleaned", "e2e/forum-posts"]
    assert {entry["name"]: entry["fingerprint"] for entry in report["checked"]} == {
        f"e2e/{name}": api.get(f"/api/v1/versions/{dataset['latest_version']['id']}/").json()["fingerprint"]
        for name, dataset in datasets.items()
    }

    research = api.post("/api/v1/audits/", {"datasets": [training], "purpose": {}}).json()

    assert research["verdict"] == "conditional"
    assert not [finding for finding in research["findings"] if finding["severity"] == "blocker"]
    owed = {(attribution["dataset_name"], attribution["license"]) for attribution in research["attributions"]}
    assert ("e2e/sentiment-train", "CC-BY-4.0") in owed
    assert ("e2e/posts-cleaned", "CC-BY-4.0") in owed

    markdown = api.get(f"/api/v1/audits/{report['id']}/markdown")
    assert markdown.status_code == 200
    assert "Lineage: e2e/sentiment-train ← e2e/posts-cleaned ← e2e/forum-posts" in markdown.text
