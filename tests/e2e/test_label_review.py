"""The review of flagged rows over HTTP with real Celery workers: the penguins with 5% of their species
flipped are profiled and analysed; every flagged row is listed with its values; another user may read
but not decide, and not even read once the dataset is restricted; the owner confirms and dismisses
rows; the corrections CSV has the confirmed ones; the next version (the same rows in another order)
takes the decisions by row content."""

import csv
import io
import time
import uuid

import pandas as pd
import pytest

from tests.e2e.test_label_quality import _planted

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _analysed(caller, version_id: str) -> dict:
    assert caller.wait(version_id)["status"] == "ready"
    deadline = time.monotonic() + 180
    body: dict = {}
    while time.monotonic() < deadline:
        body = caller.get(f"/api/v1/versions/{version_id}/").json()
        if body["label_quality_status"] in ("ready", "failed"):
            break
        time.sleep(0.5)
    assert body["label_quality_status"] == "ready", body.get("label_quality_error")
    return body


def _flagged(caller, version_id: str, **params) -> list[dict]:
    response = caller.get(f"/api/v1/versions/{version_id}/label-issues/", limit=500, **params)
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["next"] is None
    return page["results"]


def test_flagged_rows_are_reviewed_exported_and_carried_over_http(people, e2e_storage_root):
    path = e2e_storage_root / f"penguins-review-{uuid.uuid4().hex[:6]}.csv"
    flipped, _ = _planted(path)
    created = people.owner.post(
        "/api/v1/datasets/",
        {
            "namespace": "zoo",
            "name": f"penguins-{uuid.uuid4().hex[:6]}",
            "source": {"uri": str(path), "label_column": "species"},
        },
    )
    assert created.status_code == 201, created.text
    dataset_id = created.json()["id"]
    version_id = created.json()["latest_version"]["id"]
    body = _analysed(people.owner, version_id)

    rows = _flagged(people.owner, version_id)
    assert len(rows) == body["quality"]["label_issues"]["count"]
    lines = {int(row["row"].rsplit(":", 1)[1]) for row in rows}
    assert len(lines & flipped) / len(flipped) >= 0.9
    assert all(row["values"]["species"] == row["given"] for row in rows)

    # Another user reads the internal dataset's flagged rows but may not decide.
    assert len(_flagged(people.other, version_id)) == len(rows)
    # Rows with every value present: rows missing most of theirs are flagged or not depending on the
    # order of the rows (the folds), and the next version reorders them.
    confirm, dismiss = [row for row in rows if None not in row["values"].values()][:2]
    refused = people.other.post(
        f"/api/v1/versions/{version_id}/label-issues/", [{"row_hash": confirm["row_hash"], "decision": "dismissed"}]
    )
    assert refused.status_code == 403, refused.text
    hostile = people.owner.post(f"/api/v1/versions/{version_id}/label-issues/", [{"row_hash": "a\x00", "decision": 1}])
    assert hostile.status_code == 400, hostile.text

    decided = people.owner.post(
        f"/api/v1/versions/{version_id}/label-issues/",
        [
            {"row_hash": confirm["row_hash"], "decision": "confirmed", "label": confirm["suggested"]},
            {"row_hash": dismiss["row_hash"], "decision": "dismissed"},
        ],
    )
    assert decided.status_code == 200, decided.text
    exported = people.owner.get(f"/api/v1/versions/{version_id}/label-issues/corrections.csv")
    assert exported.status_code == 200
    assert exported.headers["Content-Type"].startswith("text/csv")
    lines_out = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(line["row"], line["corrected"]) for line in lines_out] == [(confirm["row"], confirm["suggested"])]

    # The next version holds the same rows in reverse order.
    moved = e2e_storage_root / f"penguins-review-v2-{uuid.uuid4().hex[:6]}.csv"
    pd.read_csv(path).iloc[::-1].to_csv(moved, index=False)
    second = people.owner.post(
        f"/api/v1/datasets/{dataset_id}/versions/", {"uri": str(moved), "label_column": "species"}
    )
    assert second.status_code == 201, second.text
    second_id = second.json()["id"]
    _analysed(people.owner, second_id)
    carried = {row["row_hash"]: row for row in _flagged(people.owner, second_id) if row["carried_from"]}
    assert carried[confirm["row_hash"]]["decision"] == "confirmed"
    assert carried[confirm["row_hash"]]["carried_from"] == version_id
    assert carried[dismiss["row_hash"]]["decision"] == "dismissed"

    # Restricted, the dataset's flagged rows are not found by the other user, nor decided.
    restricted = people.owner.patch(f"/api/v1/datasets/{dataset_id}/", {"sensitivity": "restricted"})
    assert restricted.status_code == 200, restricted.text
    assert people.other.get(f"/api/v1/versions/{second_id}/label-issues/").status_code == 404
    assert people.other.get(f"/api/v1/versions/{second_id}/label-issues/corrections.csv").status_code == 404
    hidden = people.other.post(
        f"/api/v1/versions/{second_id}/label-issues/", [{"row_hash": confirm["row_hash"], "decision": "dismissed"}]
    )
    assert hidden.status_code == 404
