"""Versions over HTTP with real workers: drift of a second version, immutability, verification."""

import time

import numpy as np
import pandas as pd
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROWS = 50_000


def transactions(seed, *, shift=0.0, drop_class=None, rename=None):
    rng = np.random.default_rng(seed)
    label = rng.choice(["ok", "review", "fraud"], size=ROWS, p=[0.85, 0.1, 0.05])
    if drop_class:
        label = np.where(label == drop_class, "ok", label)
    frame = pd.DataFrame(
        {
            "amount": np.round(rng.lognormal(3.0, 0.8, ROWS) + shift, 2),
            "quantity": rng.integers(1, 20, ROWS),
            "score": rng.normal(0.0, 1.0, ROWS),
            "channel": rng.choice(["web", "app", "store"], size=ROWS, p=[0.6, 0.3, 0.1]),
            "label": label,
        }
    )
    return frame.rename(columns=rename or {})


def test_a_second_version_reports_exactly_its_shift_dropped_class_and_rename(api, e2e_storage_root):
    first_path = e2e_storage_root / "orders-2026-01.csv"
    second_path = e2e_storage_root / "orders-2026-02.csv"
    transactions(1).to_csv(first_path, index=False)
    transactions(2, shift=25.0, drop_class="fraud", rename={"channel": "sales_channel"}).to_csv(
        second_path, index=False
    )
    dataset = api.register("orders", {"uri": first_path.name, "label_column": "label"})
    first = api.wait(dataset["latest_version"]["id"])
    created = api.post(
        f"/api/v1/datasets/{dataset['id']}/versions/", {"uri": second_path.name, "label_column": "label"}
    )
    assert created.status_code == 201, created.text
    second = api.wait(created.json()["id"])
    assert (first["status"], second["status"]) == ("ready", "ready")

    report = api.get(f"/api/v1/versions/{second['id']}/drift/")

    assert report.status_code == 200, report.text
    body = report.json()
    assert body["against"] == first["id"]
    assert body["schema"]["renamed"] == [
        {"from": "channel", "to": "sales_channel", "distance": pytest.approx(0, abs=0.02)}
    ]
    assert body["schema"]["added"] == []
    assert body["schema"]["removed"] == []
    assert body["schema"]["changed"] == []
    # Exactly the shifted column and the label whose class vanished.
    assert body["drifted_features"] == ["amount", "label"]
    assert body["label"]["removed_classes"] == ["fraud"]
    assert body["row_count_change"]["change"] == 0
    findings = {(item["code"], item["feature"]) for item in second["quality"]["findings"]}
    assert {("feature_drift", "amount"), ("label_drift", "label"), ("schema_change", None)} <= findings
    assert ("feature_drift", "quantity") not in findings

    refused = api.patch(f"/api/v1/versions/{second['id']}/", {"uri": first_path.name})
    assert refused.status_code == 400
    assert "uri" in refused.json()["errors"]
    assert api.get(f"/api/v1/versions/{second['id']}/").json()["uri"].endswith(second_path.name)


def test_verification_by_a_worker_marks_changed_bytes(api, e2e_storage_root):
    path = e2e_storage_root / "verify-me.csv"
    transactions(3).head(1000).to_csv(path, index=False)
    dataset = api.register("verify-me", {"uri": path.name})
    version = api.wait(dataset["latest_version"]["id"])
    assert version["status"] == "ready", version["error"]
    transactions(4).head(1000).to_csv(path, index=False)

    accepted = api.post(f"/api/v1/versions/{version['id']}/verify/")

    assert accepted.status_code == 202, accepted.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body = api.get(f"/api/v1/versions/{version['id']}/").json()
        if body["verification"]:
            break
        time.sleep(0.2)
    assert body["verification"].get("status") == "changed", body["verification"]
    assert body["source_changed"] is True


def test_splits_profiled_as_a_chord_on_two_workers(api, e2e_storage_root):
    root = e2e_storage_root / "split-source"
    (root / "train").mkdir(parents=True)
    frames = {
        "train/part-1.csv": transactions(5).head(20_000),
        "train/part-2.csv": transactions(6).head(20_000),
        "test.csv": pd.concat([transactions(7).head(5_000), transactions(5).head(4)], ignore_index=True),
    }
    for name, frame in frames.items():
        frame.to_csv(root / name, index=False)

    dataset = api.register(
        "split-source",
        {
            "uri": "split-source/",
            "format": "csv",
            "label_column": "label",
            "splits": {"train": "train/", "test": "test.csv"},
        },
    )
    version = api.wait(dataset["latest_version"]["id"])

    assert version["status"] == "ready", version["error"]
    assert version["split_statistics"]["train"]["row_count"] == 40_000
    assert version["split_statistics"]["test"]["row_count"] == 5_004
    assert version["quality"]["split_leakage"]["between"] == {"train/test": 4}
    assert version["row_count"] == 45_004
