"""Issue 22's "done when", over gunicorn with real Celery workers: a model trained on three datasets of
different origins (a public CC-BY-4.0 table whose text column is in English and French, a purchased table,
and a synthetic table derived, by an OpenLineage event, from a dataset crawled from a news site) is
described in the standards' formats. The training run's SPDX 3.0.1 document passes the JSON schema,
spdx-python-model and the SHACL shapes, with `trainedOn` links to three dataset packages whose file
hashes are the manifests'; the training-content summary (JSON and Markdown) places each source in its
section of the template, with the languages and the size bands, and the crawled upstream under crawled
data; the synthetic dataset's Croissant export names its upstream and still loads its records."""

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

from tests.croissant import assert_same_rows, croissant_frames, mlcroissant_validate
from tests.profiling.bilingual import long_messages, oracle
from tests.realdata_sources import penguins
from tests.spdx import assert_valid_spdx, by_id, by_type

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CRAWLED_SITE = "https://news.example.org"


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _registered(caller, body: dict) -> dict:
    created = caller.post("/api/v1/datasets/", body)
    assert created.status_code == 201, created.text
    version = caller.wait(created.json()["latest_version"]["id"])
    assert version["status"] == "ready", version
    return version


def _derived(caller, *, job: str, source: tuple[str, str], target: tuple[str, str]) -> None:
    """The generator's run, reported by the official OpenLineage client: it read the crawl, wrote the
    synthetic table."""
    client = OpenLineageClient(
        transport=HttpTransport(
            HttpConfig(url=caller.url, auth=ApiKeyTokenProvider({"apiKey": caller.token}), timeout=10)
        )
    )
    run_id = str(uuid.uuid4())
    started = datetime.now(UTC) - timedelta(hours=1)
    for state, moment in ((RunState.START, started), (RunState.COMPLETE, started + timedelta(minutes=5))):
        client.emit(
            RunEvent(
                eventType=state,
                eventTime=moment.isoformat(),
                run=Run(runId=run_id),
                job=Job(namespace="e2e-standards", name=job),
                producer="https://example.com/e2e",
                inputs=[InputDataset(namespace=source[0], name=source[1])],
                outputs=[OutputDataset(namespace=target[0], name=target[1])],
            )
        )
    # The events are answered once recorded: the edge is there once a worker has projected them.
    caller.lineage_settled()


def test_a_model_on_three_origins_is_described_in_spdx_the_eu_summary_and_croissant(
    people, e2e_storage_root, tmp_path, monkeypatch
):
    owner = people.owner
    suffix = owner.user.username
    folder = e2e_storage_root / f"standards-{suffix}"
    folder.mkdir()

    # 1. Public, CC-BY-4.0: Django's own messages in English and French (real text in two languages).
    messages = long_messages()
    messages_path = folder / "messages.csv"
    messages.to_csv(messages_path, index=False)
    public = _registered(
        owner,
        {
            "namespace": "e2e-standards",
            "name": f"django-messages-{suffix}",
            "license": "CC-BY-4.0",
            "origin": "public_dataset",
            "source": {"uri": str(messages_path)},
        },
    )
    [message] = [feature for feature in public["features"] if feature["name"] == "message"]
    assert message["logical_type"] == "text"
    expected = oracle(messages["message"])
    assert message["statistics"]["languages"]["counts"] == {"en": expected["en"], "fr": expected["fr"]}

    # 2. Purchased under a vendor's licence (which staff add to the catalog): the penguins table, in two files.
    eula = f"LicenseRef-vendor-eula-{suffix}"
    added = people.staff.post("/api/v1/licenses/", {"spdx_id": eula, "name": "Vendor data licence agreement"})
    assert added.status_code == 201, added.text
    penguin_rows = penguins()
    purchased_folder = folder / "penguins"
    purchased_folder.mkdir()
    half = len(penguin_rows) // 2
    penguin_rows.iloc[:half].to_csv(purchased_folder / "part-1.csv", index=False)
    penguin_rows.iloc[half:].to_csv(purchased_folder / "part-2.csv", index=False)
    purchased = _registered(
        owner,
        {
            "namespace": "e2e-standards",
            "name": f"penguins-licensed-{suffix}",
            "license": eula,
            "origin": "purchased",
            "origin_terms": "Data licence agreement with the vendor, 2026.",
            "source": {"uri": str(purchased_folder), "label_column": "species"},
        },
    )

    # 3. A crawl of a news site (its OpenLineage identity names the site), and the synthetic table a
    #    generator made from it, derived by lineage.
    crawl_path = folder / "crawl.csv"
    messages.rename(columns={"message": "headline"}).iloc[::3].to_csv(crawl_path, index=False)
    crawl_name = f"/dumps/{suffix}.csv"
    crawled = _registered(
        owner,
        {
            "namespace": CRAWLED_SITE,
            "name": crawl_name,
            "origin": "web_crawled",
            "license": "unknown",
            "source": {"uri": str(crawl_path)},
        },
    )
    synthetic_path = folder / "synthetic.csv"
    generated = penguin_rows.dropna().sample(frac=1.0, random_state=7).reset_index(drop=True)
    generated["bill_length_mm"] = generated["bill_length_mm"].round(1)
    generated.to_csv(synthetic_path, index=False)
    synthetic_name = f"synthetic-penguins-{suffix}"
    synthetic = _registered(
        owner,
        {
            "namespace": "e2e-standards",
            "name": synthetic_name,
            "license": "CC0-1.0",
            "origin": "synthetic",
            "source": {"uri": str(synthetic_path)},
        },
    )
    _derived(
        owner,
        job=f"generate-{suffix}",
        source=(CRAWLED_SITE, crawl_name),
        target=("e2e-standards", synthetic_name),
    )
    edges = owner.get("/api/v1/lineage/edges/", target=synthetic["dataset"]).json()["results"]
    assert [(edge["source"], edge["status"]) for edge in edges] == [(crawled["dataset"], "confirmed")]

    # The model and its run on the three, trained after they were registered.
    started = datetime.now(UTC)
    recorded = owner.post(
        "/api/v1/training-runs/",
        {
            "model": {"namespace": "e2e-standards", "name": f"assistant-{suffix}"},
            "model_version": "1.0.0",
            "status": "completed",
            "started_at": started.isoformat(),
            "ended_at": (started + timedelta(seconds=1)).isoformat(),
            "hyperparameters": {"learning_rate": 0.0003, "epochs": 3},
            "metrics": {"accuracy": 0.91},
            "inputs": [{"version": version["id"], "role": "train"} for version in (public, purchased, synthetic)],
        },
    )
    assert recorded.status_code == 201, recorded.text
    run = recorded.json()
    model_id = run["model"]["id"] if isinstance(run["model"], dict) else run["model"]

    # SPDX: valid, the model trainedOn three dataset packages whose files are the manifests.
    response = owner.get(f"/api/v1/training-runs/{run['id']}/spdx")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/spdx+json"
    document = response.json()
    assert_valid_spdx(document)
    elements = by_id(document)
    [model_package] = by_type(document, "ai_AIPackage")
    [trained_on] = [
        relationship
        for relationship in by_type(document, "Relationship")
        if relationship["relationshipType"] == "trainedOn" and relationship["from"] == model_package["spdxId"]
    ]
    packages = [elements[target] for target in trained_on["to"]]
    assert all(package["type"] == "dataset_DatasetPackage" for package in packages)
    files_of = {
        package["name"]: {
            elements[file_id]["name"]: elements[file_id]["verifiedUsing"][0]["hashValue"]
            for relationship in by_type(document, "Relationship")
            if relationship["relationshipType"] == "hasDataFile" and relationship["from"] == package["spdxId"]
            for file_id in relationship["to"]
        }
        for package in packages
    }
    on_disk = {
        public["id"]: {"messages.csv": _sha256(messages_path)},
        purchased["id"]: {name: _sha256(purchased_folder / name) for name in ("part-1.csv", "part-2.csv")},
        synthetic["id"]: {"synthetic.csv": _sha256(synthetic_path)},
    }
    manifests = {}
    for version in (public, purchased, synthetic):
        manifest = {entry["path"]: entry["sha256"] for entry in version["manifest"]}
        assert manifest == on_disk[version["id"]]
        manifests[version["id"]] = manifest
    assert sorted(files_of.values(), key=json.dumps) == sorted(manifests.values(), key=json.dumps)
    assert len(packages) == 3

    # The EU training-content summary: each source in its section, with languages and size bands.
    summary_path = f"/api/v1/models/{model_id}/training-content-summary"
    response = owner.get(summary_path)
    assert response.status_code == 200, response.text
    sections = response.json()["sections"]

    def listed(section: str) -> list[tuple[str, str]]:
        return [(entry["dataset"], entry["reached"]) for entry in sections[section]["datasets"]["value"]]

    assert listed("2.1") == [(f"e2e-standards/django-messages-{suffix}", "input")]
    assert sections["2.1"]["used"]["value"] == "Yes"
    assert [entry["license"] for entry in sections["2.1"]["large_datasets"]["value"]] == ["CC-BY-4.0"]
    assert listed("2.2.1") == [(f"e2e-standards/penguins-licensed-{suffix}", "input")]
    assert sections["2.2.1"]["used"]["value"] == "Yes"
    assert listed("2.5") == [(f"e2e-standards/{synthetic_name}", "input")]
    assert sections["2.5"]["used"]["value"] == "Yes"
    [crawl_entry] = sections["2.3"]["datasets"]["value"]
    assert (crawl_entry["dataset"], crawl_entry["reached"], crawl_entry["upstream_of"]) == (
        f"{CRAWLED_SITE}/{crawl_name}",
        "upstream",
        f"e2e-standards/{synthetic_name}",
    )
    assert sections["2.3"]["used"]["value"] == "Yes"
    assert [entry["domain"] for entry in sections["2.3"]["domains"]["value"]] == ["news.example.org"]
    assert sections["2.2.2"]["used"]["value"] == "No"
    general = sections["1.3"]
    assert general["modalities"]["value"] == ["Text", "Other"]
    bands = {entry["modality"]: entry for entry in general["training_data_size"]["value"]}
    assert bands["Text"]["band"] == "Less than 1 billion tokens"
    assert bands["Text"]["datasets"] == [f"e2e-standards/django-messages-{suffix}"]
    assert bands["Other"]["estimate"] == len(penguin_rows) + len(generated)
    languages = {entry["language"]: entry["documents"] for entry in general["languages"]["value"]["languages"]}
    assert languages == {"en": expected["en"], "fr": expected["fr"]}
    for section, item in (("3.1", "measures"), ("3.2", "measures"), ("2.3", "crawlers")):
        assert sections[section][item] == {"value": None, "to_complete": True}

    markdown = owner.get(summary_path, format="markdown")
    assert markdown.status_code == 200
    assert markdown.headers["Content-Type"].startswith("text/markdown")
    text = markdown.text
    assert f"- e2e-standards/django-messages-{suffix} v1 (Text; CC-BY-4.0)" in text
    assert f"- e2e-standards/penguins-licensed-{suffix} v1 (Other; {eula})" in text
    crawl_lines = [line for line in text.splitlines() if line.startswith(f"- {CRAWLED_SITE}/{crawl_name} v1 (Text;")]
    assert len(crawl_lines) == 1, text
    [crawl_line] = crawl_lines
    assert crawl_line.endswith(f"; upstream of e2e-standards/{synthetic_name})")
    by_count = sorted(languages.items(), key=lambda pair: (-pair[1], pair[0]))
    assert ", ".join(f"{code} ({count:,} documents)" for code, count in by_count) in text
    assert "- Text: Less than 1 billion tokens" in text
    chapters = {chapter.split(" ", 1)[0]: chapter for chapter in text.split("\n### ")[1:]}
    assert f"django-messages-{suffix} v1" in chapters["2.1"]
    assert f"penguins-licensed-{suffix} v1" in chapters["2.2.1"]
    assert f"{CRAWLED_SITE}/{crawl_name} v1" in chapters["2.3"]
    assert "news.example.org" in chapters["2.3"]
    assert f"{synthetic_name} v1" in chapters["2.5"]

    # Croissant: the synthetic dataset names its upstream, validates, and loads its records.
    response = owner.get(f"/api/v1/datasets/{synthetic['dataset']}/card/croissant")
    assert response.status_code == 200, response.text
    croissant = response.json()
    [upstream] = croissant["prov:wasDerivedFrom"]
    assert upstream["name"] == f"{CRAWLED_SITE}/{crawl_name}"
    assert upstream["url"].endswith(f"/api/v1/datasets/{crawled['dataset']}/")
    [activity] = croissant["prov:wasGeneratedBy"]
    assert activity["prov:label"] == f"e2e-standards/generate-{suffix}"
    path = tmp_path / "synthetic.json"
    path.write_text(response.text)
    validation = mlcroissant_validate(path)
    assert validation.returncode == 0, validation.stderr[-2000:]
    frames = croissant_frames(croissant, tmp_path / "read", token=owner.token, monkeypatch=monkeypatch)
    [records] = frames.values()
    assert_same_rows(records, pd.read_csv(synthetic_path))

    # Another user reads the summary: the crawl, a dataset they may read, is listed; they may not
    # write the narrative.
    refused = people.other.patch(summary_path, {"sections": {"3.2": {"measures": "Mine now."}}})
    assert refused.status_code == 403
    assert owner.get(summary_path).json()["sections"]["3.2"]["measures"] == {"value": None, "to_complete": True}
