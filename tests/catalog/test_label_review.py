"""The review of flagged rows: every flagged row kept with its content hash and values, decisions by the
dataset's owners and stewards only (all of a request or none, in the change log), carried to the next
version by content hash, the corrections CSV, masking for other readers, and the audit that counts
what was reviewed."""

from __future__ import annotations

import csv
import io
import json
import re

import pandas as pd
import pytest

from catalog.models import DatasetVersion, Feature, LabelIssue
from governance.models import Change
from tests.catalog.test_label_quality import register, write_penguins
from tests.factories import DatasetFactory, OwnershipFactory
from tests.hostile import deep

pytestmark = pytest.mark.django_db(transaction=True)


def flagged(client, version_id, **params) -> list[dict]:
    rows: list[dict] = []
    offset = 0
    while True:
        response = client.get(f"/api/v1/versions/{version_id}/label-issues/", {**params, "offset": offset})
        assert response.status_code == 200, response.content
        page = response.json()
        rows += page["results"]
        if not page["next"]:
            return rows
        offset += len(page["results"])


def decide(client, version_id, decisions):
    return client.post(f"/api/v1/versions/{version_id}/label-issues/", decisions, format="json")


def corrections(client, version_id) -> list[dict]:
    response = client.get(f"/api/v1/versions/{version_id}/label-issues/corrections.csv")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


@pytest.fixture
def noisy(owner_client, dataset, storage_root):
    path = storage_root / "penguins" / "penguins.csv"
    planted = write_penguins(path, flip_share=0.08)
    version_id = register(owner_client, dataset, path)
    return {"version_id": version_id, "planted": planted, "path": path}


def test_it_keeps_every_flagged_row_with_its_content_hash_and_values(owner_client, noisy):
    version = DatasetVersion.objects.get(pk=noisy["version_id"])
    issues = version.quality["label_issues"]

    rows = flagged(owner_client, version.pk)

    assert len(rows) == issues["count"] == issues["review"]["stored"] > 0
    assert issues["review"] == {"stored": len(rows), "carried": 0, "limit": 10_000, "capped": False}
    assert all(re.fullmatch(r"[0-9a-f]{64}", row["row_hash"]) for row in rows)
    assert [row["confidence"] for row in rows] == sorted((row["confidence"] for row in rows), reverse=True)
    assert {row["decision"] for row in rows} == {"unreviewed"}
    # The row's values are those of the source's line the position names.
    source = pd.read_csv(noisy["path"])
    for row in rows[:5]:
        line = int(row["row"].rsplit(":", 1)[1])
        assert row["values"]["species"] == source["species"][line - 1] == row["given"]
        assert row["values"]["island"] == source["island"][line - 1]
    # The examples in quality stay what they were: the first of the flagged rows.
    assert {example["row"] for example in issues["examples"]} <= {row["row"] for row in rows}
    assert len({int(row["row"].rsplit(":", 1)[1]) for row in rows} & noisy["planted"]) >= 0.7 * len(noisy["planted"])


def test_owner_confirms_and_steward_dismisses_and_the_csv_has_the_confirmed(owner_client, steward_client, noisy):
    version_id = noisy["version_id"]
    first, second, *_ = flagged(owner_client, version_id)

    confirmed = decide(
        owner_client,
        version_id,
        [{"row_hash": first["row_hash"], "decision": "confirmed", "label": first["suggested"], "note": "checked"}],
    )
    dismissed = decide(steward_client, version_id, [{"row_hash": second["row_hash"], "decision": "dismissed"}])

    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["decided"] >= 1
    assert confirmed.json()["rows"][0]["decision"] == "confirmed"
    assert dismissed.status_code == 200, dismissed.content
    by_hash = {row["row_hash"]: row for row in flagged(owner_client, version_id)}
    assert by_hash[first["row_hash"]]["label"] == first["suggested"]
    assert by_hash[first["row_hash"]]["decided_by"] == "olivia-owner"
    assert by_hash[second["row_hash"]]["decision"] == "dismissed"
    assert by_hash[second["row_hash"]]["decided_by"] == "sam-steward"
    assert [row["row_hash"] for row in flagged(owner_client, version_id, decision="confirmed")] == [first["row_hash"]]
    assert len(flagged(owner_client, version_id, decision="unreviewed")) == len(by_hash) - 2
    exported = corrections(owner_client, version_id)
    assert [(row["row"], row["given"], row["corrected"], row["decided_by"]) for row in exported] == [
        (first["row"], first["given"], first["suggested"], "olivia-owner")
    ]
    # Each decision is in the append-only change log, about the version.
    logged = Change.objects.filter(object_type="version", object_id=str(version_id), after__has_key="label_issue")
    assert {entry.after["label_issue"]["decision"] for entry in logged} == {"confirmed", "dismissed"}
    assert {entry.actor_name for entry in logged} == {"olivia-owner", "sam-steward"}


def test_decisions_are_all_or_nothing_and_name_each_bad_entry(owner_client, noisy):
    version_id = noisy["version_id"]
    first, second, third, *_ = flagged(owner_client, version_id)

    response = decide(
        owner_client,
        version_id,
        [
            {"row_hash": first["row_hash"], "decision": "dismissed"},
            {"row_hash": "0" * 64, "decision": "dismissed"},
            {"row_hash": second["row_hash"], "decision": "confirmed", "label": "Emperor"},
            {"row_hash": third["row_hash"], "decision": "confirmed"},
            {"row_hash": first["row_hash"], "decision": "dismissed"},
        ],
    )

    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert set(errors) == {"1.row_hash", "2.label", "3.label", "4.row_hash"}
    assert "unknown" in errors["1.row_hash"][0]
    assert "'Emperor' is not a class" in errors["2.label"][0]
    assert "needs its corrected label" in errors["3.label"][0]
    assert not LabelIssue.objects.filter(version_id=version_id).exclude(decision="unreviewed").exists()


def test_a_reader_reads_masked_rows_but_may_not_decide(owner_client, stranger_client, staff_client, noisy):
    version_id = noisy["version_id"]
    first = flagged(owner_client, version_id)[0]
    for name in ("island", "species"):
        feature = Feature.objects.get(version_id=version_id, name=name)
        answer = owner_client.patch(f"/api/v1/versions/{version_id}/features/{feature.position}/", {"pii": True})
        assert answer.status_code == 200, answer.content

    seen = flagged(stranger_client, version_id)
    refused = decide(stranger_client, version_id, [{"row_hash": first["row_hash"], "decision": "dismissed"}])
    # Staff govern the catalog; the rows of a dataset are its owners' and stewards' to judge.
    staff_refused = decide(staff_client, version_id, [{"row_hash": first["row_hash"], "decision": "dismissed"}])

    assert refused.status_code == 403
    assert "owners and stewards" in refused.json()["detail"]
    assert staff_refused.status_code == 403
    assert not LabelIssue.objects.filter(version_id=version_id).exclude(decision="unreviewed").exists()
    text = json.dumps(seen)
    for secret in ("Biscoe", "Dream", "Torgersen", "Adelie", "Gentoo", "Chinstrap"):
        assert secret not in text
    assert {row["given"] for row in seen} <= {"class 1", "class 2", "class 3"}
    assert seen[0]["values"]["bill_length_mm"] == flagged(owner_client, version_id)[0]["values"]["bill_length_mm"]
    # The owner confirms with the real class name; the stranger's CSV names it by its alias.
    decide(owner_client, version_id, [{"row_hash": first["row_hash"], "decision": "confirmed", "label": "Adelie"}])
    exported = corrections(stranger_client, version_id)
    assert exported
    assert exported[0]["corrected"].startswith("class ")
    assert corrections(owner_client, version_id)[0]["corrected"] == "Adelie"


def test_a_restricted_version_s_flagged_rows_are_not_found_by_a_stranger(
    owner_client, stranger_client, owner, storage_root
):
    secret = DatasetFactory(namespace="zoo", name="secret", sensitivity="restricted")
    OwnershipFactory(dataset=secret, user=owner)
    path = storage_root / "penguins" / "penguins.csv"
    write_penguins(path, flip_share=0.08)
    version_id = register(owner_client, secret, path)
    first = flagged(owner_client, version_id)[0]

    assert stranger_client.get(f"/api/v1/versions/{version_id}/label-issues/").status_code == 404
    assert stranger_client.get(f"/api/v1/versions/{version_id}/label-issues/corrections.csv").status_code == 404
    hidden = decide(stranger_client, version_id, [{"row_hash": first["row_hash"], "decision": "dismissed"}])
    assert hidden.status_code == 404
    assert not LabelIssue.objects.filter(version_id=version_id).exclude(decision="unreviewed").exists()


@pytest.mark.parametrize(
    "body",
    [
        {"row_hash": "x", "decision": "dismissed"},
        [],
        [["nested"]],
        [{"row_hash": "a\x00b", "decision": "dismissed"}],
        [{"row_hash": "x" * 100_000, "decision": "dismissed"}],
        [{"row_hash": 7, "decision": "dismissed"}],
        [{"row_hash": "x", "decision": "maybe"}],
        [{"row_hash": "x", "decision": "dismissed", "labels": "typo"}],
        [{"row_hash": "x", "decision": "dismissed"}] * 1001,
    ],
    ids=["object", "empty", "nested", "nul", "huge", "number", "bad-decision", "unknown-field", "too-many"],
)
def test_hostile_decisions_get_a_clear_400(owner_client, noisy, body):
    response = decide(owner_client, noisy["version_id"], body)

    assert response.status_code == 400, response.content
    assert response.json()["errors"]


def test_deeply_nested_decisions_get_a_400(owner_client, noisy):
    response = owner_client.post(
        f"/api/v1/versions/{noisy['version_id']}/label-issues/", deep(10_000), content_type="application/json"
    )

    assert response.status_code == 400


def test_an_unknown_decision_filter_is_a_400_naming_it(owner_client, noisy):
    response = owner_client.get(f"/api/v1/versions/{noisy['version_id']}/label-issues/", {"decision": "maybe"})
    unknown = owner_client.get(f"/api/v1/versions/{noisy['version_id']}/label-issues/", {"decisions": "x"})

    assert response.status_code == 400
    assert "decision" in response.json()["errors"]
    assert unknown.status_code == 400


def test_decisions_are_carried_to_the_next_version_by_row_content(owner_client, dataset, noisy, storage_root):
    # Rows with every value present: rows missing most of theirs are flagged or not depending on the
    # order of the rows (the folds), and the next version reorders them.
    rows = [row for row in flagged(owner_client, noisy["version_id"]) if None not in row["values"].values()]
    confirm, dismiss = rows[0], rows[1]
    assert (
        decide(
            owner_client,
            noisy["version_id"],
            [
                {"row_hash": confirm["row_hash"], "decision": "confirmed", "label": confirm["suggested"]},
                {"row_hash": dismiss["row_hash"], "decision": "dismissed", "note": "a real outlier"},
            ],
        ).status_code
        == 200
    )
    # The next version holds the same rows in reverse order: every row is at another line.
    source = pd.read_csv(noisy["path"])
    moved = storage_root / "penguins-v2" / "penguins.csv"
    moved.parent.mkdir()
    source.iloc[::-1].to_csv(moved, index=False)

    second_id = register(owner_client, dataset, moved)

    second = {row["row_hash"]: row for row in flagged(owner_client, second_id)}
    assert confirm["row_hash"] in second
    assert dismiss["row_hash"] in second
    carried = second[confirm["row_hash"]]
    assert carried["decision"] == "confirmed"
    assert carried["label"] == confirm["suggested"]
    assert carried["carried_from"] == str(noisy["version_id"])
    assert carried["decided_by"] == "olivia-owner"
    assert carried["row"] != confirm["row"]  # the same content, at another line
    assert second[dismiss["row_hash"]]["decision"] == "dismissed"
    assert second[dismiss["row_hash"]]["note"] == "a real outlier"
    assert DatasetVersion.objects.get(pk=second_id).quality["label_issues"]["review"]["carried"] == 2
    assert [row["row_hash"] for row in corrections(owner_client, second_id)] == [confirm["row_hash"]]
    # A decision made on the new version replaces the carried one there, and only there.
    assert (
        decide(owner_client, second_id, [{"row_hash": confirm["row_hash"], "decision": "dismissed"}]).status_code == 200
    )
    assert flagged(owner_client, second_id, decision="confirmed") == []
    assert flagged(owner_client, noisy["version_id"], decision="confirmed")[0]["row_hash"] == confirm["row_hash"]


def test_a_corrected_row_does_not_take_the_decision_about_its_old_label(owner_client, dataset, noisy, storage_root):
    first = flagged(owner_client, noisy["version_id"])[0]
    decide(owner_client, noisy["version_id"], [{"row_hash": first["row_hash"], "decision": "dismissed"}])
    source = pd.read_csv(noisy["path"])
    line = int(first["row"].rsplit(":", 1)[1])
    source.loc[line - 1, "species"] = first["suggested"]
    corrected = storage_root / "penguins-v2" / "penguins.csv"
    corrected.parent.mkdir()
    source.to_csv(corrected, index=False)

    second_id = register(owner_client, dataset, corrected)

    assert first["row_hash"] not in {row["row_hash"] for row in flagged(owner_client, second_id)}
    assert not LabelIssue.objects.filter(version_id=second_id, row_hash=first["row_hash"]).exists()


def test_a_reanalysis_of_the_same_version_keeps_its_decisions(owner_client, noisy):
    first = flagged(owner_client, noisy["version_id"])[0]
    decide(owner_client, noisy["version_id"], [{"row_hash": first["row_hash"], "decision": "dismissed"}])

    answer = owner_client.post(f"/api/v1/versions/{noisy['version_id']}/reprofile/")

    assert answer.status_code == 202, answer.content
    again = {row["row_hash"]: row for row in flagged(owner_client, noisy["version_id"])}
    assert again[first["row_hash"]]["decision"] == "dismissed"
    assert again[first["row_hash"]]["carried_from"] is None


def test_the_audit_stops_warning_once_most_flagged_rows_are_reviewed(owner_client, dataset, noisy):
    from tests.catalog.test_label_audit import audit_codes

    assert "label_issues_unreviewed" in audit_codes(owner_client, dataset)
    hashes = list(dict.fromkeys(row["row_hash"] for row in flagged(owner_client, noisy["version_id"])))
    few = hashes[: max(1, len(hashes) // 4)]
    decide(owner_client, noisy["version_id"], [{"row_hash": value, "decision": "dismissed"} for value in few])
    warned = audit_codes(owner_client, dataset)["label_issues_unreviewed"]
    reviewed = LabelIssue.objects.filter(version_id=noisy["version_id"], row_hash__in=few).count()
    share = reviewed / LabelIssue.objects.filter(version_id=noisy["version_id"]).count()
    assert f"{share:.0%} of the flagged rows are reviewed" in warned["message"]

    rest = hashes[len(few) :]
    decide(owner_client, noisy["version_id"], [{"row_hash": value, "decision": "dismissed"} for value in rest])

    assert "label_issues_unreviewed" not in audit_codes(owner_client, dataset)


def test_it_keeps_at_most_the_cap_of_flagged_rows_and_says_so(owner_client, dataset, storage_root, monkeypatch):
    from profiler import label_rows

    monkeypatch.setattr(label_rows, "MAX_STORED", 5)
    path = storage_root / "penguins" / "penguins.csv"
    write_penguins(path, flip_share=0.08)

    version_id = register(owner_client, dataset, path)

    issues = DatasetVersion.objects.get(pk=version_id).quality["label_issues"]
    rows = flagged(owner_client, version_id)
    assert issues["count"] > 5
    assert issues["review"] == {"stored": 5, "carried": 0, "limit": 5, "capped": True}
    # The five most likely mislabelled: the first of the examples, which stay as many as before.
    assert {row["row"] for row in rows} == {example["row"] for example in issues["examples"][:5]}
    assert len(issues["examples"]) == min(issues["count"], 50)
