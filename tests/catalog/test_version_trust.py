"""Versions you can trust: immutability, unchanged detection, as_of, deprecation, drift, carry-over, verify."""

import csv
import os
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from catalog import tasks
from catalog.models import DatasetVersion, DriftReport

# Registration hands the version to profiling when its transaction commits: these tests commit.
pytestmark = pytest.mark.django_db(transaction=True)


def versions_url(dataset) -> str:
    return f"/api/v1/datasets/{dataset.pk}/versions/"


def write_table(path, *, seed, rows=600, shift=0.0, drop_class=None, rename=None):
    """A labelled CSV: a numeric column that can be shifted, an untouched one, a categorical one."""
    rng = np.random.default_rng(seed)
    names = {"amount": "amount", "score": "score", "region": "region", "label": "label"}
    names.update(rename or {})
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([names["amount"], names["score"], names["region"], names["label"]])
        for _ in range(rows):
            label = rng.choice(["ok", "review", "fraud"], p=[0.7, 0.2, 0.1])
            if label == drop_class:
                label = "ok"
            writer.writerow(
                [
                    round(float(rng.lognormal(3.0, 0.5)) + shift, 4),
                    round(float(rng.normal()), 4),
                    rng.choice(["north", "south", "east", "west"], p=[0.4, 0.3, 0.2, 0.1]),
                    label,
                ]
            )
    return path


def register(client, dataset, uri, **fields):
    response = client.post(versions_url(dataset), {"uri": str(uri), **fields}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


@pytest.fixture
def two_versions(owner_client, dataset, storage_root):
    """Version 1 and a version 2 with 'amount' shifted, the class 'fraud' gone and 'region' renamed 'area'."""
    first = register(owner_client, dataset, write_table(storage_root / "v1" / "data.csv", seed=1), label_column="label")
    second = register(
        owner_client,
        dataset,
        write_table(
            storage_root / "v2" / "data.csv", seed=2, shift=40.0, drop_class="fraud", rename={"region": "area"}
        ),
        label_column="label",
    )
    return first, second


def test_a_version_source_format_and_fingerprint_cannot_be_patched(owner_client, two_versions):
    first, _ = two_versions
    url = f"/api/v1/versions/{first['id']}/"

    for change in ({"uri": "elsewhere.csv"}, {"format": "parquet"}, {"fingerprint": "sha256:00"}, {"color": "red"}):
        response = owner_client.patch(url, change, format="json")
        assert response.status_code == 400, change
        [field] = change
        assert field in response.json()["errors"]
    version = DatasetVersion.objects.get(pk=first["id"])
    assert version.uri.endswith("v1/data.csv")
    assert version.format == "csv"
    assert "cannot change" in owner_client.patch(url, {"uri": "x"}, format="json").json()["errors"]["uri"][0]


def test_notes_and_deprecation_change_and_show_in_lists(owner_client, stranger_client, two_versions, dataset):
    first, _ = two_versions
    url = f"/api/v1/versions/{first['id']}/"

    refused = owner_client.patch(url, {"deprecated": True}, format="json")
    changed = owner_client.patch(
        url, {"notes": "Collected in March.", "deprecated": True, "deprecation_reason": "Bad sensor."}, format="json"
    )
    by_stranger = stranger_client.patch(url, {"notes": "mine now"}, format="json")
    listed = stranger_client.get(versions_url(dataset)).json()["results"]

    assert refused.status_code == 400
    assert "deprecation_reason" in refused.json()["errors"]
    assert changed.status_code == 200, changed.json()
    assert changed.json()["notes"] == "Collected in March."
    assert changed.json()["deprecated"] is True
    assert by_stranger.status_code == 403
    entry = next(item for item in listed if item["id"] == first["id"])
    assert entry["deprecated"] is True
    assert entry["deprecation_reason"] == "Bad sensor."
    # Deprecated versions stay readable.
    assert stranger_client.get(url).status_code == 200

    undone = owner_client.patch(url, {"deprecated": False}, format="json").json()
    assert undone["deprecated"] is False
    assert undone["deprecation_reason"] == ""


def test_a_version_with_the_same_bytes_is_reported_unchanged(owner_client, dataset, storage_root):
    path = write_table(storage_root / "same" / "data.csv", seed=1)
    first = register(owner_client, dataset, path)
    second = register(owner_client, dataset, path)
    changed_path = write_table(storage_root / "other" / "data.csv", seed=3)
    third = register(owner_client, dataset, changed_path)

    second_read = owner_client.get(f"/api/v1/versions/{second['id']}/").json()
    third_read = owner_client.get(f"/api/v1/versions/{third['id']}/").json()

    assert second_read["number"] == 2
    assert second_read["unchanged_from"] == first["id"]
    assert second_read["fingerprint"] == owner_client.get(f"/api/v1/versions/{first['id']}/").json()["fingerprint"]
    assert third_read["unchanged_from"] is None


def test_as_of_answers_the_version_current_at_a_moment(owner_client, dataset, two_versions):
    first, second = two_versions
    now = timezone.now()
    DatasetVersion.objects.filter(pk=first["id"]).update(created_at=now - timedelta(days=10))
    DatasetVersion.objects.filter(pk=second["id"]).update(created_at=now - timedelta(days=2))

    def as_of(moment):
        response = owner_client.get(versions_url(dataset), {"as_of": moment})
        assert response.status_code == 200, response.json()
        return [item["id"] for item in response.json()["results"]]

    assert as_of((now - timedelta(days=5)).isoformat()) == [first["id"]]
    assert as_of((now - timedelta(days=1)).isoformat()) == [second["id"]]
    assert as_of((now - timedelta(days=30)).isoformat()) == []
    assert as_of((now - timedelta(days=5)).date().isoformat()) == [first["id"]]
    bad = owner_client.get(versions_url(dataset), {"as_of": "last tuesday"})
    assert bad.status_code == 400
    assert "as_of" in bad.json()["errors"]


def test_drift_flags_the_shifted_column_the_dropped_class_and_the_rename(owner_client, two_versions):
    first, second = two_versions

    response = owner_client.get(f"/api/v1/versions/{second['id']}/drift/")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["against"] == first["id"]
    assert body["schema"]["renamed"][0]["from"] == "region"
    assert body["schema"]["renamed"][0]["to"] == "area"
    assert body["schema"]["added"] == []
    assert body["schema"]["removed"] == []
    assert "amount" in body["drifted_features"]
    assert "score" not in body["drifted_features"]
    assert "area" not in body["drifted_features"]
    assert body["label"]["removed_classes"] == ["fraud"]
    assert body["row_count_change"] == {"before": 600, "after": 600, "change": 0, "relative": 0.0}
    # The worker compared version 2 with version 1 when it profiled it: stored, and findings added.
    assert DriftReport.objects.filter(version_id=second["id"], against_id=first["id"]).exists()
    quality = owner_client.get(f"/api/v1/versions/{second['id']}/").json()["quality"]
    codes = {(finding["code"], finding["feature"]) for finding in quality["findings"]}
    assert ("feature_drift", "amount") in codes
    assert ("label_drift", "label") in codes
    assert ("schema_change", None) in codes
    assert quality["drift"]["against"] == first["id"]


def test_drift_against_another_dataset_and_its_refusals(owner_client, stranger_client, two_versions, storage_root):
    first, second = two_versions
    other = owner_client.post(
        "/api/v1/datasets/",
        {
            "namespace": "prod",
            "name": "sample",
            "source": {"uri": str(write_table(storage_root / "prod" / "s.csv", seed=9)), "label_column": "label"},
        },
        format="json",
    ).json()
    other_version = other["latest_version"]["id"]

    across = owner_client.get(f"/api/v1/versions/{other_version}/drift/", {"against": first["id"]})
    no_earlier = owner_client.get(f"/api/v1/versions/{first['id']}/drift/")
    malformed = owner_client.get(f"/api/v1/versions/{second['id']}/drift/", {"against": "nope"})
    unknown = owner_client.get(
        f"/api/v1/versions/{second['id']}/drift/", {"against": "6f1c1f3e-44f0-4a55-9f57-2b0d8e6e9d0a"}
    )
    DatasetVersion.objects.filter(pk=first["id"]).update(status="profiling")
    busy = owner_client.get(f"/api/v1/versions/{second['id']}/drift/", {"against": first["id"]})

    assert across.status_code == 200
    assert across.json()["drifted_features"] == []  # the same generator: no drift
    assert no_earlier.status_code == 400
    assert "against" in no_earlier.json()["errors"]
    assert malformed.status_code == 400
    assert unknown.status_code == 404
    assert busy.status_code == 409


def test_people_s_decisions_on_features_survive_reprofiling_and_carry_over(owner, owner_client, dataset, storage_root):
    first = register(owner_client, dataset, write_table(storage_root / "a" / "d.csv", seed=1), label_column="label")
    features = owner_client.get(f"/api/v1/versions/{first['id']}/features/").json()
    position = next(item["position"] for item in features if item["name"] == "region")
    url = f"/api/v1/versions/{first['id']}/features/{position}/"

    patched = owner_client.patch(url, {"description": "Sales region", "pii": True, "role": "feature"}, format="json")
    refused = owner_client.patch(url, {"statistics": {}}, format="json")
    owner_client.post(f"/api/v1/versions/{first['id']}/reprofile/")
    after_reprofile = owner_client.get(url).json()
    second = register(owner_client, dataset, write_table(storage_root / "b" / "d.csv", seed=2), label_column="label")
    carried = next(
        item
        for item in owner_client.get(f"/api/v1/versions/{second['id']}/features/").json()
        if item["name"] == "region"
    )

    assert patched.status_code == 200, patched.json()
    assert patched.json()["curated"] == ["description", "pii", "role"]
    assert patched.json()["curated_by"] == owner.username
    assert refused.status_code == 400
    assert after_reprofile["description"] == "Sales region"
    assert after_reprofile["pii"] is True
    assert carried["description"] == "Sales region"
    assert carried["pii"] is True
    assert carried["curated"] == ["description", "pii", "role"]


def test_verify_marks_a_version_whose_bytes_changed(owner_client, stranger_client, dataset, storage_root):
    path = write_table(storage_root / "v" / "data.csv", seed=1)
    version = register(owner_client, dataset, path)
    url = f"/api/v1/versions/{version['id']}/"

    same = owner_client.post(url + "verify/")
    by_stranger = stranger_client.post(url + "verify/")
    write_table(path, seed=5)
    changed = owner_client.post(url + "verify/")
    path.unlink()
    gone = owner_client.post(url + "verify/")

    assert same.status_code == 202
    assert same.json()["verification"]["status"] == "unchanged"
    assert same.json()["source_changed"] is False
    assert same.json()["verified_at"] is not None
    assert by_stranger.status_code == 403
    assert changed.json()["verification"]["status"] == "changed"
    assert changed.json()["verification"]["changed"] == ["data.csv"]
    assert changed.json()["source_changed"] is True
    detected = changed.json()["source_changed_at"]
    assert gone.json()["verification"]["status"] == "unreadable"
    assert gone.json()["source_changed_at"] == detected  # when it was first found


def test_the_schedule_verifies_versions_due(owner_client, dataset, storage_root, settings):
    version = register(owner_client, dataset, write_table(storage_root / "v" / "d.csv", seed=1))
    settings.CATALOG_VERIFY_EVERY = timedelta(days=1)
    assert tasks.versions_verify_due() == []  # profiled just now
    DatasetVersion.objects.filter(pk=version["id"]).update(profiled_at=timezone.now() - timedelta(days=2))

    due = tasks.versions_verify_due()

    assert [str(version_id) for version_id in due] == [version["id"]]
    assert DatasetVersion.objects.get(pk=version["id"]).verification["status"] == "unchanged"
    assert tasks.versions_verify_due() == []


def test_verify_of_a_version_not_profiled_yet_is_a_conflict(owner_client, dataset):
    version = DatasetVersion.objects.create(
        dataset=dataset, number=1, uri="file:///x.csv", format="csv", status_changed_at=timezone.now()
    )
    assert owner_client.post(f"/api/v1/versions/{version.pk}/verify/").status_code == 409


def write_splits(root, *, leak=True):
    train = write_table(root / "train" / "part-1.csv", seed=1, rows=300)
    write_table(root / "test.csv", seed=2, rows=100)
    if leak:
        with train.open(newline="") as source, (root / "test.csv").open("a", newline="") as target:
            target.writelines(source.readlines()[1:4])  # three training rows reappear in test
    return root


def test_a_version_with_splits_has_statistics_per_split_and_a_leakage_finding(owner_client, dataset, storage_root):
    write_splits(storage_root / "splits")
    version = register(
        owner_client,
        dataset,
        storage_root / "splits",
        label_column="label",
        splits={"train": "train/", "test": "test.csv"},
    )

    body = owner_client.get(f"/api/v1/versions/{version['id']}/").json()

    assert body["status"] == "ready", body["error"]
    assert body["splits"] == {"train": "train/", "test": "test.csv"}
    assert {name: split["row_count"] for name, split in body["split_statistics"].items()} == {"train": 300, "test": 103}
    assert body["quality"]["split_leakage"]["between"] == {"train/test": 3}
    leak = next(finding for finding in body["quality"]["findings"] if finding["code"] == "split_leakage")
    assert leak["severity"] == "error"
    assert "train/part-1.csv:" in leak["message"]


def test_splits_are_checked_at_registration_and_against_the_files(owner_client, dataset, storage_root):
    write_splits(storage_root / "splits", leak=False)
    refused = owner_client.post(
        versions_url(dataset),
        {"uri": str(storage_root / "splits"), "splits": {"train set": "train/", "test": "../elsewhere.csv"}},
        format="json",
    )
    nothing = register(owner_client, dataset, storage_root / "splits", splits={"holdout": "holdout/"})

    assert refused.status_code == 400
    messages = " ".join(refused.json()["errors"]["splits"])
    assert "'train set'" in messages
    assert "../elsewhere.csv" in messages
    failed = owner_client.get(f"/api/v1/versions/{nothing['id']}/").json()
    assert failed["status"] == "failed"
    assert "holdout" in failed["error"]


@pytest.mark.parametrize(("moment", "status"), [("2026-11-30T10:00:00+21:12", 200), ("0001-01-01T00:00:00+05:00", 400)])
def test_as_of_takes_any_offset_and_refuses_instants_before_the_year_1(owner_client, dataset, moment, status):
    response = owner_client.get(versions_url(dataset), {"as_of": moment})

    assert response.status_code == status


def test_verify_never_reads_through_a_link_or_a_hard_link_to_a_file_outside_the_roots(
    owner_client, dataset, storage_root, tmp_path
):
    path = write_table(storage_root / "v" / "data.csv", seed=1)
    version = register(owner_client, dataset, path)
    url = f"/api/v1/versions/{version['id']}/verify/"
    secret = tmp_path / "outside" / "secret.csv"
    secret.parent.mkdir()
    secret.write_text("amount,score,region,label\n1,2,patient-zero@example.org,ok\n")

    staged = path.with_name("staged")
    staged.symlink_to(secret)
    staged.replace(path)
    linked = owner_client.post(url).json()["verification"]
    os.link(secret, staged)
    staged.replace(path)
    hard_linked = owner_client.post(url).json()["verification"]

    assert linked["status"] == "unreadable"
    assert linked["detail"] == "data.csv resolves to a location outside the allowed storage roots."
    assert hard_linked["status"] == "unreadable"
    assert hard_linked["detail"].startswith("data.csv has other hard links")
    assert "patient-zero" not in repr((linked, hard_linked))
