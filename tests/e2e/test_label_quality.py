"""Label quality over HTTP with real Celery workers: a real dataset (palmerpenguins) with 5% of its
species flipped, a near-identical copy of a row with another species and an island cut down to a
few rows, registered with `group_features`; profiled, then analysed on a worker of its own."""

import time
import uuid

import numpy as np
import pandas as pd
import pytest

from tests.realdata_sources import penguins_file

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _planted(path) -> tuple[set[int], int]:
    """Write the penguins with Torgersen cut to 8 rows, a seeded 5% of species flipped to the next
    species, and one row copied with its bill 0.01 mm longer and another species (the last row).
    Returns the flipped data rows (1-based) and the copy's row."""
    frame = pd.read_csv(penguins_file("penguins.csv"))
    frame = frame.drop(frame.index[frame["island"] == "Torgersen"][8:]).reset_index(drop=True)
    rng = np.random.default_rng(11)
    flipped = rng.choice(len(frame), size=round(len(frame) * 0.05), replace=False)
    order = sorted(frame["species"].unique())
    values = frame["species"].to_numpy().copy()
    for index in flipped:
        values[index] = order[(order.index(values[index]) + 1) % len(order)]
    frame["species"] = values
    source = frame.loc[[int(np.setdiff1d(np.arange(len(frame)), flipped)[20])]].copy()
    source["bill_length_mm"] += 0.01
    source["species"] = order[(order.index(source["species"].iloc[0]) + 1) % len(order)]
    frame = pd.concat([frame, source], ignore_index=True)
    frame.to_csv(path, index=False)
    return {int(index) + 1 for index in flipped}, len(frame)


def test_planted_flips_near_conflict_and_groups_are_found_over_http(people, e2e_storage_root):
    path = e2e_storage_root / f"penguins-labels-{uuid.uuid4().hex[:6]}.csv"
    flipped, copy_row = _planted(path)

    created = people.owner.post(
        "/api/v1/datasets/",
        {
            "namespace": "zoo",
            "name": f"penguins-{uuid.uuid4().hex[:6]}",
            "source": {"uri": str(path), "label_column": "species", "group_features": ["island"]},
        },
    )
    assert created.status_code == 201, created.text
    version_id = created.json()["latest_version"]["id"]
    assert people.owner.wait(version_id)["status"] == "ready"
    deadline = time.monotonic() + 180
    body: dict = {}
    while time.monotonic() < deadline:
        body = people.owner.get(f"/api/v1/versions/{version_id}/").json()
        if body["label_quality_status"] in ("ready", "failed"):
            break
        time.sleep(0.5)
    assert body["label_quality_status"] == "ready", body.get("label_quality_error")

    quality = body["quality"]
    issues = quality["label_issues"]
    found = {int(example["row"].rsplit(":", 1)[1]) for example in issues["examples"]}
    assert issues["count"] == len(found)  # every flagged row is listed (fewer than 50)
    # The benchmark's penguins: precision 0.85, recall 1.00.
    assert len(found & flipped) / len(flipped) >= 0.9
    assert len(found & flipped) / len(found) >= 0.75
    near = quality["near_conflicts"]
    assert any(example["rows"][-1:] == [f"{path.name}:{copy_row}"] for example in near["examples"]), near
    findings = {(finding["code"], finding["feature"]) for finding in quality["findings"]}
    assert ("group_underrepresented", "island") in findings
    assert ("group_label_disparity", "island") in findings
    assert ("near_conflicts", "species") in findings
    # Another user may not read what they were not given: the dataset is internal, readable, but
    # a restricted one answers 404 as an unknown one.
    restricted = people.owner.patch(f"/api/v1/datasets/{body['dataset']}/", {"sensitivity": "restricted"})
    assert restricted.status_code == 200, restricted.text
    assert people.other.get(f"/api/v1/versions/{version_id}/").status_code == 404


def _label_quality(caller, version_id: str, *, until: tuple[str, ...], seconds: float = 180) -> dict:
    deadline = time.monotonic() + seconds
    body: dict = {}
    while time.monotonic() < deadline:
        body = caller.get(f"/api/v1/versions/{version_id}/").json()
        if body["label_quality_status"] in until:
            break
        time.sleep(0.5)
    return body


def test_beats_sweep_examines_a_version_profiled_before_the_analysis_and_one_whose_worker_died(
    people, e2e_storage_root
):
    from datetime import timedelta

    from django.utils import timezone

    from catalog.models import DatasetVersion

    path = e2e_storage_root / f"penguins-sweep-{uuid.uuid4().hex[:6]}.csv"
    flipped, _ = _planted(path)
    created = people.owner.post(
        "/api/v1/datasets/",
        {
            "namespace": "zoo",
            "name": f"sweep-{uuid.uuid4().hex[:6]}",
            "source": {"uri": str(path), "label_column": "species"},
        },
    )
    assert created.status_code == 201, created.text
    version_id = created.json()["latest_version"]["id"]
    assert people.owner.wait(version_id)["status"] == "ready"
    assert _label_quality(people.owner, version_id, until=("ready", "failed"))["label_quality_status"] == "ready"

    # As if profiled a month ago, before label quality existed: waiting, its result never stored.
    version = DatasetVersion.objects.get(pk=version_id)
    quality = {key: value for key, value in version.quality.items() if key not in ("label_issues", "groups")}
    DatasetVersion.objects.filter(pk=version_id).update(
        quality=quality,
        label_quality_status="pending",
        label_quality_changed_at=None,
        profiled_at=timezone.now() - timedelta(days=30),
    )
    body = _label_quality(people.owner, version_id, until=("ready", "failed"))
    assert body["label_quality_status"] == "ready", body["label_quality_error"]
    found = {int(example["row"].rsplit(":", 1)[1]) for example in body["quality"]["label_issues"]["examples"]}
    assert len(found & flipped) / len(flipped) >= 0.9

    # A worker that died mid-analysis an hour ago: queued again and finished by a live one.
    DatasetVersion.objects.filter(pk=version_id).update(
        label_quality_status="running", label_quality_changed_at=timezone.now() - timedelta(hours=1)
    )
    body = _label_quality(people.owner, version_id, until=("ready", "failed"))
    assert body["label_quality_status"] == "ready", body["label_quality_error"]
    assert DatasetVersion.objects.get(pk=version_id).label_quality_attempts == 2
    # Another user still cannot read it once the dataset is restricted.
    restricted = people.owner.patch(f"/api/v1/datasets/{body['dataset']}/", {"sensitivity": "restricted"})
    assert restricted.status_code == 200, restricted.text
    assert people.other.get(f"/api/v1/versions/{version_id}/").status_code == 404


def test_an_image_folder_has_its_groups_examined_on_a_worker(people, e2e_storage_root):
    from tests.catalog.test_label_quality_images import manifest_folder

    root = e2e_storage_root / f"pets-{uuid.uuid4().hex[:6]}"
    expected = manifest_folder(root)

    created = people.owner.post(
        "/api/v1/datasets/",
        {
            "namespace": "zoo",
            "name": f"pets-{uuid.uuid4().hex[:6]}",
            "source": {"uri": str(root), "group_features": ["camera", "split"]},
        },
    )
    assert created.status_code == 201, created.text
    version_id = created.json()["latest_version"]["id"]
    assert people.owner.wait(version_id)["status"] == "ready"
    deadline = time.monotonic() + 180
    body: dict = {}
    while time.monotonic() < deadline:
        body = people.owner.get(f"/api/v1/versions/{version_id}/").json()
        if body["label_quality_status"] in ("ready", "failed"):
            break
        time.sleep(0.5)
    assert body["label_quality_status"] == "ready", body.get("label_quality_error")

    quality = body["quality"]
    cameras = {entry["value"]: entry["rows"] for entry in quality["groups"]["camera"]}
    assert cameras == expected["camera"].value_counts().to_dict()
    assert quality["label_issues"]["share"] is None
    findings = {(finding["code"], finding["feature"]) for finding in quality["findings"]}
    assert ("group_underrepresented", "camera") in findings
    assert ("group_label_disparity", "camera") in findings
    # Nothing flagged to review; another user may not hide the folder's results by deciding.
    assert people.owner.get(f"/api/v1/versions/{version_id}/label-issues/").json()["results"] == []
    refused = people.other.post(
        f"/api/v1/versions/{version_id}/label-issues/", [{"row_hash": "0" * 64, "decision": "dismissed"}]
    )
    assert refused.status_code == 403
