"""Finding 5 and the drift item of finding 7 of the security review, against gunicorn and a real worker:
personal data the catalog itself marked (by detection or by a person's decision) never shows to a
reader who neither owns nor stewards the dataset, in the sample, statistics, card and exports, nor
through drift against a column the reader controls."""

import uuid

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DIAGNOSES = ("flu", "flu", "flu", "diabetes", "diabetes", "asthma")


def patients_csv(older: int = 0) -> str:
    lines = ["email,age,ward,diagnosis"]
    for index in range(60):
        age = 20 + index * 7 % 12 * 5 + older
        lines.append(f"person{index}@example.org,{age},{('north', 'south')[index % 2]},{DIAGNOSES[index % 6]}")
    return "\n".join(lines) + "\n"


def feature(caller, version_id: str, name: str) -> dict:
    features = caller.get(f"/api/v1/versions/{version_id}/features/").json()
    return next(item for item in features if item["name"] == name)


def readable(caller, dataset_id: str, version_id: str) -> str:
    paths = [
        f"/api/v1/versions/{version_id}/",
        f"/api/v1/versions/{version_id}/features/",
        f"/api/v1/versions/{version_id}/sample/",
        f"/api/v1/datasets/{dataset_id}/card/",
        f"/api/v1/datasets/{dataset_id}/card/markdown",
        f"/api/v1/datasets/{dataset_id}/card/croissant",
    ]
    answers = [caller.get(path) for path in paths]
    assert [answer.status_code for answer in answers] == [200] * len(paths), [a.text[:300] for a in answers]
    return "\n".join(answer.text for answer in answers)


@pytest.fixture
def patients(people, e2e_storage_root):
    """The owner's table of patients, profiled by the worker: `email` is detected as personal data,
    the diagnoses (the label) are not."""
    folder = e2e_storage_root / f"mask-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    (folder / "v1.csv").write_text(patients_csv())
    (folder / "v2.csv").write_text(patients_csv(older=30))
    created = people.owner.post(
        "/api/v1/datasets/",
        {
            "namespace": "mask",
            "name": folder.name,
            "source": {"uri": f"{folder.name}/v1.csv", "label_column": "diagnosis"},
        },
    )
    assert created.status_code == 201, created.text
    dataset = created.json()
    version = people.owner.wait(dataset["latest_version"]["id"])
    assert version["status"] == "ready", version
    return {"dataset": dataset["id"], "version": version["id"], "folder": folder}


def test_it_masks_a_column_the_owner_marked_as_personal_data_for_the_other_user(people, patients):
    dataset, version = patients["dataset"], patients["version"]
    assert "asthma" in readable(people.other, dataset, version)  # the attack: the diagnoses are readable

    diagnosis = feature(people.owner, version, "diagnosis")
    decided = people.owner.patch(f"/api/v1/versions/{version}/features/{diagnosis['position']}/", {"pii": True})
    assert decided.status_code == 200, decided.text

    seen = readable(people.other, dataset, version)
    assert "asthma" not in seen
    assert "diabetes" not in seen
    assert "person1@example.org" not in seen
    sample = people.other.get(f"/api/v1/versions/{version}/sample/").json()
    assert {row["values"]["diagnosis"] for row in sample["rows"]} == {"***"}
    assert "asthma" in readable(people.owner, dataset, version)

    # The label's classes go by rank for the other user, with their counts; the owner sees the names.
    theirs = people.other.get(f"/api/v1/versions/{version}/").json()["quality"]["class_counts"]
    mine = people.owner.get(f"/api/v1/versions/{version}/").json()["quality"]["class_counts"]
    assert theirs == {"class 1": 30, "class 2": 20, "class 3": 10}
    assert mine == {"flu": 30, "diabetes": 20, "asthma": 10}

    # Profiled again by the worker, and in a new version that inherits the decision: still masked.
    assert people.owner.post(f"/api/v1/versions/{version}/reprofile/").status_code == 202
    assert people.owner.wait(version)["status"] == "ready"
    second = people.owner.post(
        f"/api/v1/datasets/{dataset}/versions/",
        {"uri": f"{patients['folder'].name}/v2.csv", "label_column": "diagnosis"},
    )
    assert second.status_code == 201, second.text
    assert people.owner.wait(second.json()["id"])["status"] == "ready"
    for each in (version, second.json()["id"]):
        assert feature(people.owner, each, "diagnosis")["pii"] is True
        assert "asthma" not in readable(people.other, dataset, each)


def test_it_shows_numeric_personal_data_to_the_other_user_without_exact_min_max_or_quantiles(people, patients):
    version = patients["version"]
    age = feature(people.owner, version, "age")
    people.owner.patch(f"/api/v1/versions/{version}/features/{age['position']}/", {"pii": True})

    theirs = feature(people.other, version, "age")["statistics"]
    mine = feature(people.owner, version, "age")["statistics"]

    assert (mine["min"], mine["max"]) == (20, 75)
    assert theirs["min"] is None
    assert theirs["max"] is None
    assert [value % 10 for value in theirs["quantiles"].values()] == [0] * 7  # rounded to tens


def test_it_tells_the_other_user_nothing_about_a_masked_column_through_drift(people, patients, e2e_storage_root):
    version = patients["version"]
    diagnosis = feature(people.owner, version, "diagnosis")
    people.owner.patch(f"/api/v1/versions/{version}/features/{diagnosis['position']}/", {"pii": True})
    # The attack: the other user's own table holds only the guessed value, in a column of the same name.
    folder = e2e_storage_root / f"guess-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    (folder / "guess.csv").write_text("ward,diagnosis\n" + "north,asthma\nsouth,asthma\n" * 30)
    created = people.other.post(
        "/api/v1/datasets/",
        {
            "namespace": "mask",
            "name": folder.name,
            "source": {"uri": f"{folder.name}/guess.csv", "label_column": "diagnosis"},
        },
    )
    assert created.status_code == 201, created.text
    guess = people.other.wait(created.json()["latest_version"]["id"])
    assert guess["status"] == "ready", guess

    for path, against in ((guess["id"], version), (version, guess["id"])):
        drift = people.other.get(f"/api/v1/versions/{path}/drift/", against=against)
        assert drift.status_code == 200, drift.text
        body = drift.json()
        assert [item["name"] for item in body["features"]] == ["ward"]
        assert body["label"] is None
        assert "diagnosis" not in str(body["schema"])
        assert body["masked_features"] == ["diagnosis", "email"]
    # The owner, who may see the values, compares the column.
    mine = people.owner.get(f"/api/v1/versions/{version}/drift/", against=guess["id"]).json()
    assert "diagnosis" in [item["name"] for item in mine["features"]]


def test_it_refuses_staff_unmasking_personal_data_by_dismissing_it(people, patients):
    version = patients["version"]
    email = feature(people.owner, version, "email")

    refused = people.staff.patch(f"/api/v1/versions/{version}/features/{email['position']}/", {"pii": False})
    sample = people.staff.get(f"/api/v1/versions/{version}/sample/").json()

    assert refused.status_code == 403, refused.text
    assert feature(people.owner, version, "email")["pii"] is True
    assert "person" not in str([row["values"]["email"] for row in sample["rows"]])
