"""Profiles made by real workers over the real broker, read over HTTP, checked against pandas."""

import os
import time

import numpy as np
import pandas as pd
import pytest
import requests

from profiler.engine import Options, profile_files
from profiler.files import expand

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def by_name(version):
    return {feature["name"]: feature for feature in version["features"]}


def test_a_csv_with_na_nulls_matches_pandas(api, e2e_storage_root):
    rng = np.random.default_rng(21)
    frame = pd.DataFrame(
        {
            "height cm": np.round(rng.normal(170, 10, 3000), 1),
            "weight": rng.integers(40, 120, 3000).astype(float),
            "team": rng.choice(["red", "blue", "green"], 3000),
            "label": rng.choice(["yes", "no"], 3000, p=[0.8, 0.2]),
        }
    )
    frame.loc[rng.choice(3000, 300, replace=False), "height cm"] = np.nan
    frame.loc[rng.choice(3000, 50, replace=False), "team"] = None
    path = e2e_storage_root / "people-na.csv"
    frame.to_csv(path, index=False, na_rep="NA")

    version = api.wait(
        api.register("people", {"uri": "people-na.csv", "label_column": "label"})["latest_version"]["id"]
    )

    assert version["status"] == "ready", version["error"]
    assert version["row_count"] == 3000
    truth = pd.read_csv(path)
    features = by_name(version)
    assert list(features) == list(frame.columns)
    for name in truth.columns:
        stats = features[name]["statistics"]
        assert stats["count"] == truth[name].count(), name
        assert stats["null_count"] == truth[name].isna().sum(), name
        assert stats["distinct_count"] == truth[name].nunique(), name
        if truth[name].dtype.kind == "f":
            assert features[name]["logical_type"] == "numeric"
            assert stats["min"] == truth[name].min()
            assert stats["max"] == truth[name].max()
            assert stats["mean"] == pytest.approx(truth[name].mean(), rel=1e-12)
            assert stats["std"] == pytest.approx(truth[name].std(), rel=1e-9)
    assert version["quality"]["class_counts"] == truth["label"].value_counts().to_dict()


def test_a_parquet_with_messy_names_keeps_them(api, e2e_storage_root):
    names = ["Sepal Length (cm)", "petal.width", "名前", "a/b", "#count"]
    frame = pd.DataFrame({name: np.arange(100) * (index + 1) for index, name in enumerate(names)})
    frame.to_parquet(e2e_storage_root / "messy.parquet")

    version = api.wait(api.register("messy", {"uri": "messy.parquet"})["latest_version"]["id"])

    assert version["status"] == "ready", version["error"]
    assert [feature["name"] for feature in version["features"]] == names
    found = requests.get(
        f"{api.url}/api/v1/datasets/", params={"feature": "名前"}, headers=api.headers(), timeout=10
    ).json()
    assert [item["name"] for item in found["results"]] == ["messy"]


def test_a_dirty_file_reports_duplicates_conflicts_and_masks_its_sample(api, e2e_storage_root):
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {
            "contact": [f"user{i}@example.com" for i in range(1000)],
            "visits": rng.integers(0, 30, 1000),
            "plan": rng.choice(["free", "pro"], 1000),
            "churned": rng.choice(["yes", "no"], 1000, p=[0.1, 0.9]),
        }
    )
    conflicting = frame.iloc[:5].copy()
    conflicting["churned"] = conflicting["churned"].map({"yes": "no", "no": "yes"})
    dirty = pd.concat([frame, frame.iloc[10:30], conflicting], ignore_index=True)
    dirty.to_json(e2e_storage_root / "dirty.jsonl", orient="records", lines=True)

    registered = api.register("dirty", {"uri": "dirty.jsonl", "label_column": "churned"})
    version = api.wait(registered["latest_version"]["id"])

    quality = version["quality"]
    assert quality["duplicate_rows"] == int(dirty.duplicated().sum()) == 20
    assert quality["label_conflicts"]["groups"] == 5
    assert quality["label_conflicts"]["rows"] == 10
    codes = {finding["code"] for finding in quality["findings"]}
    assert {"duplicate_rows", "label_conflicts", "pii_suspected"} <= codes
    contact = by_name(version)["contact"]
    assert contact["pii"] is True

    mine = api.get(f"/api/v1/versions/{version['id']}/sample/").json()
    theirs = api.get(f"/api/v1/versions/{version['id']}/sample/", user=api.stranger).json()
    assert mine["masked"] is False
    assert theirs["masked"] is True
    assert any("@example.com" in row["values"]["contact"] for row in mine["rows"])
    assert not any("user" in row["values"]["contact"] for row in theirs["rows"])
    stranger_view = api.get(f"/api/v1/versions/{version['id']}/", user=api.stranger).json()
    assert all(
        "user" not in str(item["value"]) for item in by_name(stranger_view)["contact"]["statistics"]["top_values"]
    )


def test_a_folder_profiled_as_a_chord_on_two_workers_equals_one_process(api, e2e_storage_root):
    rng = np.random.default_rng(8)
    folder = e2e_storage_root / "sharded"
    folder.mkdir()
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=6000),
            "k": rng.integers(0, 50, 6000),
            "s": rng.choice(list("abcdefgh"), 6000),
            "label": rng.choice(["p", "q"], 6000),
        }
    )
    frame = pd.concat([frame, frame.iloc[:60]], ignore_index=True)
    for index in range(4):
        frame.iloc[index * 1515 : (index + 1) * 1515].to_parquet(folder / f"part-{index}.parquet")

    version = api.wait(api.register("sharded", {"uri": "sharded", "label_column": "label"})["latest_version"]["id"])
    local = profile_files(expand(folder), "parquet", options=Options(label_column="label"), workers=1)

    assert version["status"] == "ready", version["error"]
    assert version["file_count"] == 4
    logs = "".join(path.read_text() for path in api_logs())
    assert "catalog.tasks.version_profile_part" in logs  # it really went through the chord
    assert version["row_count"] == local["row_count"] == len(frame)
    assert version["quality"]["duplicate_rows"] == local["quality"]["duplicate_rows"] == 60
    remote_features, local_features = by_name(version), {f["name"]: f for f in local["features"]}
    for name in frame.columns:
        a, b = remote_features[name]["statistics"], local_features[name]["statistics"]
        for key in ("count", "null_count", "distinct_count", "min", "max", "top_values"):
            assert a[key] == b[key], (name, key)
        if a["histogram"]["kind"] == "equal_width":
            # Histograms come from randomised KLL sketches: equal within the stated rank error.
            tolerance = 4 * a["quantile_rank_error"] * a["count"] + 1
            cumulative = np.abs(np.cumsum(a["histogram"]["counts"]) - np.cumsum(b["histogram"]["counts"]))
            assert cumulative.max() <= tolerance, (name, cumulative.max(), tolerance)
        else:
            assert a["histogram"] == b["histogram"], name


def api_logs():
    from tests.e2e.conftest import ARTIFACTS

    return sorted(ARTIFACTS.glob("e2e-worker-*.log"))


@pytest.mark.parametrize(
    ("filename", "content", "format", "message"),
    [
        ("not-parquet.parquet", b"a,b\n1,2\n", "parquet", "Parquet"),
        ("broken.jsonl", b'{"a": 1}\n{"a": \n', "jsonl", "line 2"),
        ("header-only.csv", b"a,b,c\n", "csv", "no data rows"),
        ("empty.csv", b"", "csv", "empty"),
    ],
)
def test_a_bad_source_fails_with_a_reason_and_leaves_other_versions_alone(
    api, e2e_storage_root, filename, content, format, message
):
    (e2e_storage_root / "good.csv").write_bytes(b"a,b\n1,2\n3,4\n")
    registered = api.register(f"bad-{format}-{len(content)}", {"uri": "good.csv"})
    good = api.wait(registered["latest_version"]["id"])
    (e2e_storage_root / filename).write_bytes(content)

    response = requests.post(
        f"{api.url}/api/v1/datasets/{registered['id']}/versions/",
        json={"uri": filename, "format": format},
        headers=api.headers(),
        timeout=10,
    )
    failed = api.wait(response.json()["id"])

    assert failed["status"] == "failed"
    assert message in failed["error"], failed["error"]
    assert api.get(f"/api/v1/versions/{good['id']}/").json()["status"] == "ready"


def test_reprofile_runs_a_finished_version_again(api, e2e_storage_root):
    path = e2e_storage_root / "again.csv"
    path.write_text("a,label\n1,x\n2,y\n")
    version = api.wait(api.register("again", {"uri": "again.csv"})["latest_version"]["id"])
    assert version["status"] == "ready"

    response = requests.post(f"{api.url}/api/v1/versions/{version['id']}/reprofile/", headers=api.headers(), timeout=10)
    refused = requests.post(
        f"{api.url}/api/v1/versions/{version['id']}/reprofile/", headers=api.headers(api.stranger), timeout=10
    )
    again = api.wait(version["id"])

    assert response.status_code == 202, response.text
    assert refused.status_code == 403
    assert again["status"] == "ready"
    assert again["profiled_at"] > version["profiled_at"]


def test_a_worker_killed_mid_profile_leaves_the_version_to_be_finished(api, e2e_storage_root, celery_workers):
    rng = np.random.default_rng(2)
    rows = 3_000_000
    pd.DataFrame(
        {"a": rng.normal(size=rows), "b": rng.integers(0, 10**9, rows), "label": rng.choice(["u", "v"], rows)}
    ).to_parquet(e2e_storage_root / "slow.parquet", row_group_size=rows)
    version_id = api.register("slow", {"uri": "slow.parquet"})["latest_version"]["id"]
    api.wait(version_id, statuses=("profiling",), timeout=30)

    celery_workers.kill()
    celery_workers.start()
    finished = api.wait(version_id, timeout=180)

    assert finished["status"] == "ready", finished["error"]
    assert finished["row_count"] == rows
    assert os.path.exists(e2e_storage_root / "slow.parquet")


def test_beat_profiles_a_version_whose_message_never_left(api, e2e_storage_root, monkeypatch):
    from catalog import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("the broker is down")

    (e2e_storage_root / "lost.csv").write_text("a,b\n1,2\n")
    monkeypatch.setattr(tasks.version_profile_task, "delay", broker_down)
    registered = api.register("lost-message", {"uri": "lost.csv"})
    monkeypatch.undo()
    assert api.get(f"/api/v1/versions/{registered['latest_version']['id']}/").json()["status"] == "pending"

    # Beat runs beside the workers: its sweeper sends the version again past CATALOG_PENDING_REQUEUE_AFTER.
    version = api.wait(registered["latest_version"]["id"], timeout=30)

    assert version["status"] == "ready"
    assert version["row_count"] == 1


def test_beat_profiles_a_version_whose_message_the_broker_lost_and_leaves_one_profiled_in_process(
    api, e2e_storage_root, monkeypatch
):
    """A message the broker took and then lost (a Redis restarted without persistence) is sent again by
    beat. A version some process profiles itself, with no broker, is that process's: however long it
    waits, the sweeper never hands it to these workers."""
    from catalog import tasks
    from catalog.models import DatasetVersion
    from tests.factories import VersionFactory

    (e2e_storage_root / "dropped.csv").write_text("a,b\n1,2\n3,4\n")
    monkeypatch.setattr(tasks.version_profile_task, "delay", lambda *args, **kwargs: None)
    registered = api.register("dropped-message", {"uri": "dropped.csv"})
    monkeypatch.undo()
    registered_at = DatasetVersion.objects.get(pk=registered["latest_version"]["id"]).status_changed_at
    in_process = VersionFactory(
        status="pending",
        uri=(e2e_storage_root / "dropped.csv").as_uri(),
        status_changed_at=registered_at,
        queued_at=None,
    )

    version = api.wait(registered["latest_version"]["id"], timeout=30)

    assert version["status"] == "ready", version["error"]
    assert version["row_count"] == 2
    in_process.refresh_from_db()
    assert in_process.status == "pending"
    assert in_process.profile_attempts == 0


def test_a_version_queued_twice_is_profiled_once(api, e2e_storage_root):
    from catalog import tasks
    from catalog.models import DatasetVersion

    rng = np.random.default_rng(5)
    pd.DataFrame({"v": rng.normal(size=400_000)}).to_parquet(e2e_storage_root / "twice.parquet")
    version_id = api.register("twice", {"uri": "twice.parquet"})["latest_version"]["id"]
    # A re-queued copy of the message, as the sweeper or a redelivery could send, while the first runs.
    tasks.version_profile_task.delay(version_id)
    tasks.version_profile_task.delay(version_id)
    version = api.wait(version_id)

    assert version["status"] == "ready"
    time.sleep(1)  # let the copies reach the workers and be turned away
    stored = DatasetVersion.objects.get(pk=version_id)
    assert stored.profile_attempts == 1
    logs = "".join(path.read_text() for path in api_logs())
    assert f"Version {version_id} is not waiting for profiling; skipped" in logs
