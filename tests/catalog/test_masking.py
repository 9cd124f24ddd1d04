"""Masking follows people's decisions: every feature whose `pii` is true now, by detection or by a
person, is masked for readers who neither own nor steward the dataset, wherever its values show."""

import csv

import pytest
from django.urls import reverse

from catalog.models import DatasetVersion, DriftReport, Feature
from tests.factories import DatasetFactory, OwnershipFactory, UserFactory
from tests.profiling.media_folders import image_folder, text_corpus

# Registration hands the version to profiling when its transaction commits: these tests commit.
pytestmark = pytest.mark.django_db(transaction=True)

DIAGNOSES = ("flu", "flu", "flu", "diabetes", "diabetes", "asthma")  # 30, 20 and 10 of 60 rows


def write_patients(path, *, rows=60, shift=0, older=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "age", "ward", "diagnosis"])
        for index in range(rows):
            age = 20 + (index * 7 + shift) % 12 * 5 + older
            writer.writerow([f"person{index}@example.org", age, ("north", "south")[index % 2], DIAGNOSES[index % 6]])
    return path


def register(client, dataset, path):
    response = client.post(
        f"/api/v1/datasets/{dataset.pk}/versions/", {"uri": str(path), "label_column": "diagnosis"}, format="json"
    )
    assert response.status_code == 201, response.json()
    version = DatasetVersion.objects.get(pk=response.json()["id"])
    assert version.status == "ready", version.error
    return version


def position(version, name):
    return Feature.objects.get(version=version, name=name).position


def decide(client, version, name, pii):
    response = client.patch(f"/api/v1/versions/{version.pk}/features/{position(version, name)}/", {"pii": pii})
    return response


@pytest.fixture
def patients(owner_client, dataset, storage_root):
    return register(owner_client, dataset, write_patients(storage_root / "v1" / "patients.csv"))


def everything_readable(client, version):
    """What a reader gets of a version and its dataset: detail, features, sample, card and exports."""
    dataset = version.dataset_id
    paths = [
        f"/api/v1/versions/{version.pk}/",
        f"/api/v1/versions/{version.pk}/features/",
        f"/api/v1/versions/{version.pk}/sample/",
        f"/api/v1/datasets/{dataset}/card/",
        f"/api/v1/datasets/{dataset}/card/markdown",
        f"/api/v1/datasets/{dataset}/card/croissant",
        f"/api/v1/versions/{version.pk}/spdx",
    ]
    answers = {path: client.get(path) for path in paths}
    assert all(answer.status_code == 200 for answer in answers.values()), answers
    return "\n".join(answer.content.decode() for answer in answers.values())


def test_it_masks_a_column_a_person_marked_as_personal_data_everywhere_for_other_readers(
    patients, owner_client, stranger_client, staff_client
):
    before = everything_readable(stranger_client, patients)
    assert "asthma" in before  # the engine does not take diagnoses for personal data

    assert decide(owner_client, patients, "diagnosis", True).status_code == 200

    for client in (stranger_client, staff_client):
        seen = everything_readable(client, patients)
        assert "asthma" not in seen
        assert "diabetes" not in seen
        sample = client.get(f"/api/v1/versions/{patients.pk}/sample/").json()
        assert {row["values"]["diagnosis"] for row in sample["rows"]} == {"***"}
        assert sample["masked"] is True
        assert sample["pii_columns"] == ["diagnosis", "email"]
    assert "asthma" in everything_readable(owner_client, patients)


def test_it_names_a_personal_data_label_s_classes_by_rank_with_their_counts(patients, owner_client, stranger_client):
    decide(owner_client, patients, "diagnosis", True)

    version = stranger_client.get(f"/api/v1/versions/{patients.pk}/").json()
    card = stranger_client.get(f"/api/v1/datasets/{patients.dataset_id}/card/").json()
    markdown = stranger_client.get(f"/api/v1/datasets/{patients.dataset_id}/card/markdown").content.decode()
    mine = owner_client.get(f"/api/v1/datasets/{patients.dataset_id}/card/").json()

    assert version["quality"]["class_counts"] == {"class 1": 30, "class 2": 20, "class 3": 10}
    assert card["facts"]["version"]["class_counts"] == {"class 1": 30, "class 2": 20, "class 3": 10}
    assert card["facts"]["version"]["class_names_masked"] is True
    assert "- class 3: 10 (16.7%)" in markdown
    assert mine["facts"]["version"]["class_counts"] == {"flu": 30, "diabetes": 20, "asthma": 10}


def test_it_masks_again_after_reprofile_and_in_a_version_that_inherits_the_decision(
    patients, owner_client, stranger_client, dataset, storage_root
):
    decide(owner_client, patients, "diagnosis", True)

    assert owner_client.post(f"/api/v1/versions/{patients.pk}/reprofile/").status_code == 202
    patients.refresh_from_db()
    assert patients.status == "ready"
    second = register(owner_client, dataset, write_patients(storage_root / "v2" / "patients.csv", shift=3))

    for version in (patients, second):
        assert Feature.objects.get(version=version, name="diagnosis").pii is True
        assert "asthma" not in everything_readable(stranger_client, version)


def test_it_gives_other_readers_no_exact_min_max_or_quantiles_of_numeric_personal_data(
    patients, owner_client, stranger_client
):
    decide(owner_client, patients, "age", True)
    url = f"/api/v1/versions/{patients.pk}/features/{position(patients, 'age')}/"

    theirs = stranger_client.get(url).json()["statistics"]
    mine = owner_client.get(url).json()["statistics"]

    assert (mine["min"], mine["max"]) == (20, 75)
    assert theirs["min"] is None
    assert theirs["max"] is None
    assert all(value % 10 == 0 for value in theirs["quantiles"].values())
    assert theirs["mean"] % 10 == 0
    assert "lower_fence" not in theirs["outliers"]
    assert theirs["count"] == mine["count"] == 60


def test_it_leaves_personal_data_out_of_drift_against_a_version_the_caller_may_not_see_unmasked(
    patients, owner_client, stranger, stranger_client, storage_root
):
    decide(owner_client, patients, "diagnosis", True)
    # The stranger's own table: only the guessed value, in a column of the same name, as the label too.
    theirs = DatasetFactory(namespace="guess", name="guess")
    OwnershipFactory(dataset=theirs, user=stranger, role="owner")
    path = storage_root / "guess" / "guess.csv"
    path.parent.mkdir()
    path.write_text("ward,diagnosis\n" + "".join(f"{('north', 'south')[i % 2]},asthma\n" for i in range(60)))
    guess = register(stranger_client, theirs, path)

    drift = stranger_client.get(f"/api/v1/versions/{guess.pk}/drift/", {"against": str(patients.pk)})
    reverse_drift = stranger_client.get(f"/api/v1/versions/{patients.pk}/drift/", {"against": str(guess.pk)})

    for answer in (drift, reverse_drift):
        assert answer.status_code == 200, answer.json()
        body = answer.json()
        assert [feature["name"] for feature in body["features"]] == ["ward"]
        assert body["label"] is None
        assert body["masked_features"] == ["diagnosis", "email"]
        assert "diagnosis" not in str(body["schema"])
    owner_view = owner_client.get(f"/api/v1/versions/{patients.pk}/drift/", {"against": str(guess.pk)}).json()
    assert "diagnosis" in [feature["name"] for feature in owner_view["features"]]


def test_it_leaves_personal_data_out_of_the_default_drift_stored_in_quality_for_other_readers(
    patients, owner_client, stranger_client, dataset, storage_root
):
    decide(owner_client, patients, "age", True)
    second = register(owner_client, dataset, write_patients(storage_root / "v2" / "patients.csv", older=30))
    mine = owner_client.get(f"/api/v1/versions/{second.pk}/").json()["quality"]
    theirs = stranger_client.get(f"/api/v1/versions/{second.pk}/").json()["quality"]
    default = stranger_client.get(f"/api/v1/versions/{second.pk}/drift/").json()

    assert "age" in mine["drift"]["drifted_features"]
    assert "age" not in theirs["drift"]["drifted_features"]
    assert not [finding for finding in theirs["findings"] if finding["feature"] == "age" and "drift" in finding["code"]]
    assert "age" not in [feature["name"] for feature in default["features"]]


def test_it_lets_only_owners_and_stewards_dismiss_personal_data_and_their_dismissal_unmasks(
    patients, owner_client, steward_client, staff_client, stranger_client
):
    refused = decide(staff_client, patients, "email", False)
    assert refused.status_code == 403
    assert "owners and stewards" in refused.json()["detail"]
    assert decide(staff_client, patients, "email", True).status_code == 200  # confirming is fine

    assert decide(steward_client, patients, "email", False).status_code == 200

    sample = stranger_client.get(f"/api/v1/versions/{patients.pk}/sample/").json()
    assert any("@example.org" in row["values"]["email"] for row in sample["rows"])


def test_it_masks_the_documents_of_a_text_corpus_flagged_as_personal_data(
    owner_client, dataset, stranger_client, storage_root
):
    corpus = text_corpus(storage_root / "reviews")

    response = owner_client.post(f"/api/v1/datasets/{dataset.pk}/versions/", {"uri": str(corpus)}, format="json")
    version = DatasetVersion.objects.get(pk=response.json()["id"])
    assert Feature.objects.get(version=version, name="text").pii is True

    sample = stranger_client.get(f"/api/v1/versions/{version.pk}/sample/").json()

    assert "text" in sample["pii_columns"]
    assert {row["values"]["text"] for row in sample["rows"]} <= {"***", None}


def test_it_masks_quality_profile_and_drift_in_the_admin_for_staff_who_do_not_answer_for_it(
    client, patients, owner_client, dataset, storage_root
):
    decide(owner_client, patients, "diagnosis", True)
    second = register(owner_client, dataset, write_patients(storage_root / "v2" / "patients.csv", shift=3))
    client.force_login(UserFactory(username="ada-admin", is_staff=True, is_superuser=True))

    pages = [
        reverse("admin:catalog_dataset_change", args=[dataset.pk]),
        reverse("admin:catalog_datasetversion_change", args=[second.pk]),
        reverse("admin:catalog_driftreport_change", args=[DriftReport.objects.get(version=second).pk]),
    ]
    for page in pages:
        answer = client.get(page)
        assert answer.status_code == 200
        text = answer.content.decode()
        assert "asthma" not in text, page
        assert "diabetes" not in text, page
        assert "person1@example.org" not in text, page
    overview = client.get(pages[0]).content.decode()
    assert "numbered by size" in overview
    assert "class 3" in overview


def test_it_names_the_classes_of_a_personal_data_label_by_rank_beside_their_thumbnails(
    owner_client, dataset, stranger_client, storage_root
):
    # Folders named after people: the owner decides the label is personal data.
    response = owner_client.post(
        f"/api/v1/datasets/{dataset.pk}/versions/", {"uri": str(image_folder(storage_root / "faces"))}, format="json"
    )
    version = DatasetVersion.objects.get(pk=response.json()["id"])
    assert version.status == "ready", version.error
    decide(owner_client, version, "label", True)

    theirs = stranger_client.get(f"/api/v1/versions/{version.pk}/thumbnails/").json()
    mine = owner_client.get(f"/api/v1/versions/{version.pk}/thumbnails/").json()
    quality = stranger_client.get(f"/api/v1/versions/{version.pk}/").json()["quality"]

    assert {item["label"] for item in mine} == {"cat", "dog"}
    assert {item["label"] for item in theirs} == {"class 1", "class 2"}
    assert set(quality["class_counts"]) == {"class 1", "class 2"}
    # The class folders are the classes: every path names them by their alias too.
    assert {item["path"].split("/")[1] for item in theirs} == {"class 1", "class 2"}
    seen = everything_readable(stranger_client, version) + str(theirs)
    assert "/cat/" not in seen
    assert "/dog/" not in seen
    assert "/cat/" in everything_readable(owner_client, version)


def test_it_keeps_a_feature_masked_when_staff_untick_it_in_the_admin(client, patients):
    email = Feature.objects.get(version=patients, name="email")
    client.force_login(UserFactory(username="ada-admin", is_staff=True, is_superuser=True))
    url = reverse("admin:catalog_datasetversion_change", args=[patients.pk])
    features = list(Feature.objects.filter(version=patients).order_by("position"))
    form = {
        "notes": "",
        "features-TOTAL_FORMS": str(len(features)),
        "features-INITIAL_FORMS": str(len(features)),
        "features-MIN_NUM_FORMS": "0",
        "features-MAX_NUM_FORMS": "1000",
    }
    for index, feature in enumerate(features):
        form |= {
            f"features-{index}-id": str(feature.pk),
            f"features-{index}-version": str(patients.pk),
            f"features-{index}-role": feature.role,
            f"features-{index}-description": "",
        }
        if feature.pii and feature.pk != email.pk:
            form[f"features-{index}-pii"] = "on"

    response = client.post(url, form, follow=True)

    assert response.status_code == 200
    assert "only the dataset&#x27;s owners and stewards" in response.content.decode()
    email.refresh_from_db()
    assert email.pii is True
    assert email.curated == []
