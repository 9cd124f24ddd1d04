"""The representation of the groups of an image folder: by split and by the columns of its manifest,
each group's share of images, label distribution and missing values, with findings for a group too
small and for label distributions that differ across groups. Labels themselves are not examined (no
vision model): the result says so and nothing is flagged for review. Tasks run in-process here."""

from __future__ import annotations

import csv
import json
import random

import pandas as pd
import pytest

from catalog.models import DatasetVersion
from tests.catalog.test_label_audit import audit_codes
from tests.catalog.test_label_quality_corpora import register
from tests.profiling.media_folders import draw, image_folder

pytestmark = pytest.mark.django_db(transaction=True)

# (camera, images, share of cats): the webcam's group is under 5% of the images, and the DSLR's
# label distribution differs from the phone's by far more than 20 points.
CAMERAS = (("phone", 120, 0.5), ("dslr", 70, 0.85), ("webcam", 6, 0.5))


def manifest_folder(root):
    """Drawn images in train/ and test/ folders, labelled by a metadata.csv with a camera column and
    a notes column that is empty for some images; returns the manifest as a frame."""
    rng = random.Random(7)
    rows = []
    seed = 0
    for camera, count, cats in CAMERAS:
        for index in range(count):
            seed += 1
            split = "test" if rng.random() < 0.25 else "train"
            name = f"{split}/{camera}-{index:03d}.png"
            draw(root / name, seed)
            rows.append(
                {
                    "file_name": name,
                    "label": "cat" if index < round(count * cats) else "dog",
                    "camera": camera,
                    "notes": "" if rng.random() < 0.3 else "outdoor",
                }
            )
    with (root / "metadata.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["file_name", "label", "camera", "notes"])
        writer.writeheader()
        writer.writerows(rows)
    frame = pd.DataFrame(rows)
    frame["split"] = frame["file_name"].str.split("/").str[0]
    frame["notes"] = frame["notes"].replace("", None)
    return frame


def test_an_image_folder_has_its_groups_examined_by_split_and_manifest_column(
    owner_client, stranger_client, dataset, storage_root
):
    root = storage_root / "pets"
    expected = manifest_folder(root)

    version_id = register(owner_client, dataset, root, group_features=["split", "camera", "lens"])

    body = owner_client.get(f"/api/v1/versions/{version_id}/").json()
    assert body["format"] == "images"
    assert body["status"] == "ready", body["error"]
    assert body["label_quality_status"] == "ready", body["label_quality_error"]
    quality = body["quality"]
    groups = quality["groups"]
    for feature in ("split", "camera"):
        entries = {entry["value"]: entry for entry in groups[feature]}
        shares = expected[feature].value_counts(normalize=True)
        counts = expected[feature].value_counts()
        classes = pd.crosstab(expected[feature], expected["label"], normalize="index")
        nulls = expected.groupby(feature)["notes"].apply(lambda values: values.isna().mean())
        assert set(entries) == set(shares.index)
        for value, entry in entries.items():
            assert entry["rows"] == counts[value]
            assert entry["share"] == pytest.approx(shares[value], abs=1e-6)
            assert entry["class_shares"] == pytest.approx(classes.loc[value].to_dict(), abs=1e-6)
            # Missing values are counted in the manifest's other columns (here: notes).
            assert entry["null_fraction"] == pytest.approx(nulls[value], abs=1e-6)
            # Labels are not examined: no group has a label-issue share.
            assert entry["label_issue_share"] is None
    findings = {(item["code"], item["feature"]): item for item in quality["findings"]}
    assert "'webcam'" in findings[("group_underrepresented", "camera")]["message"]
    assert ("group_label_disparity", "camera") in findings
    assert ("group_feature_missing", "lens") in findings
    assert not any(code == "label_issues" for code, _ in findings)
    issues = quality["label_issues"]
    assert "embeddings" in issues["not_applicable"]
    assert issues["count"] is None
    assert issues["share"] is None
    assert issues["review"] == {"stored": 0, "carried": 0, "limit": 10_000, "capped": False}
    assert "perceptual hash" in quality["near_conflicts"]["not_applicable"]

    # Nothing is flagged for review, for the owner or another reader; another user decides nothing.
    for client in (owner_client, stranger_client):
        listed = client.get(f"/api/v1/versions/{version_id}/label-issues/")
        assert listed.status_code == 200
        assert listed.json()["results"] == []
    refused = stranger_client.post(
        f"/api/v1/versions/{version_id}/label-issues/",
        [{"row_hash": "0" * 64, "decision": "dismissed"}],
        format="json",
    )
    assert refused.status_code == 403
    unknown = owner_client.post(
        f"/api/v1/versions/{version_id}/label-issues/",
        [{"row_hash": "0" * 64, "decision": "dismissed"}],
        format="json",
    )
    assert unknown.status_code == 400
    assert "unknown" in unknown.json()["errors"]["0.row_hash"][0]
    # Labels nobody examined are no unreviewed label issues for the audit.
    assert "label_issues_unreviewed" not in audit_codes(owner_client, dataset)


def test_class_folders_are_grouped_by_their_split_folders(owner_client, dataset, storage_root):
    root = image_folder(storage_root / "signs")

    version_id = register(owner_client, dataset, root, group_features=["split"])

    body = owner_client.get(f"/api/v1/versions/{version_id}/").json()
    assert body["label_quality_status"] == "ready", body["label_quality_error"]
    # Every image file is counted, the truncated one too: its split folder and class folder say
    # which group it is in.
    files = [path for path in root.rglob("*") if path.suffix in (".png", ".jpg")]
    splits = pd.Series([path.relative_to(root).parts[0] for path in files]).value_counts()
    assert {entry["value"]: entry["rows"] for entry in body["quality"]["groups"]["split"]} == splits.to_dict()


def test_an_image_folder_without_group_features_stays_not_applicable(owner_client, dataset, storage_root):
    root = image_folder(storage_root / "signs")

    version_id = register(owner_client, dataset, root)

    version = DatasetVersion.objects.get(pk=version_id)
    assert version.label_quality_status == "not_applicable"
    assert "embeddings" in version.label_quality_error
    assert "group_features" in version.label_quality_error
    assert "groups" not in (version.quality or {})


def test_the_admin_review_page_says_why_no_row_is_flagged(owner_client, dataset, storage_root):
    from django.contrib.auth import get_user_model
    from django.test import Client

    root = storage_root / "pets"
    manifest_folder(root)
    version_id = register(owner_client, dataset, root, group_features=["camera"])
    browser = Client()
    browser.force_login(get_user_model().objects.create_user("stan", is_staff=True, is_superuser=True))

    page = browser.get(f"/admin/catalog/datasetversion/{version_id}/label-issues/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "needs a model that sees them" in text
    assert "flagged None" not in text


def test_hostile_manifest_values_are_grouped_without_breaking_the_analysis(owner_client, dataset, storage_root):
    root = storage_root / "odd"
    values = [float("inf"), "nul\x00inside", {"deep": [[[1]]]}, "x" * 5_000, None, 3]
    root.mkdir()
    with (root / "metadata.jsonl").open("w") as handle:
        for index in range(60):
            name = f"{index:03d}.png"
            draw(root / name, index)
            value = values[index % len(values)]
            handle.write(
                json.dumps({"file_name": name, "label": "a" if index % 2 else "b", "origin": value}, allow_nan=True)
                + "\n"
            )

    version_id = register(owner_client, dataset, root, group_features=["origin"])

    body = owner_client.get(f"/api/v1/versions/{version_id}/").json()
    assert body["label_quality_status"] == "ready", body["label_quality_error"]
    entries = {json.dumps(entry["value"]): entry["rows"] for entry in body["quality"]["groups"]["origin"]}
    assert sum(entries.values()) == 60
    assert entries['"inf"'] == 10
    assert entries['"nul\\ufffdinside"'] == 10
    assert entries['"{\\"deep\\": [[[1]]]}"'] == 10
    assert entries[json.dumps("x" * 200)] == 10
    assert entries["null"] == 10
    assert entries["3"] == 10


def test_a_manifest_column_holding_personal_data_is_masked_for_every_reader(
    owner_client, stranger_client, dataset, storage_root
):
    root = storage_root / "shots"
    root.mkdir()
    with (root / "metadata.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file_name", "label", "photographer"])
        for index in range(40):
            draw(root / f"{index:03d}.png", index)
            writer.writerow([f"{index:03d}.png", "a" if index % 2 else "b", f"shooter{index % 2}@example.org"])

    version_id = register(owner_client, dataset, root, group_features=["photographer"])

    for client in (owner_client, stranger_client):
        body = client.get(f"/api/v1/versions/{version_id}/").json()
        assert body["label_quality_status"] == "ready", body["label_quality_error"]
        assert "example.org" not in json.dumps(body["quality"])
        groups = body["quality"]["groups"]["photographer"]
        assert [entry["rows"] for entry in groups] == [20, 20]
        assert all(entry["personal_data"] == ["email"] for entry in groups)
        # Each photographer took one label only: the distributions differ, the finding names no value.
        assert ("group_label_disparity", "photographer") in {
            (item["code"], item["feature"]) for item in body["quality"]["findings"]
        }
