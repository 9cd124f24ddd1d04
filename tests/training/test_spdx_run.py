"""`GET /api/v1/training-runs/{id}/spdx`: a run as an SPDX 3.0.1 document, an `ai_AIPackage` for its model
linked by `trainedOn` / `testedOn` to the dataset packages of the versions it read, valid by the
specification's JSON schema, the SPDX 3 Python bindings and its SHACL shapes (tests/spdx.py); inputs a
reader may not read, and purged ones, are left out and said to be."""

import hashlib
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Dataset, DatasetVersion
from governance.choices import OwnershipRole, Sensitivity
from tests.factories import DatasetFactory, OwnershipFactory, UserFactory, VersionFactory
from tests.profiling.media_folders import image_folder
from tests.spdx import assert_valid_spdx, by_id, by_type
from tests.training.recorded import register, write_rows
from training.services import training_run_record
from training.specs import ArtifactSpec, InputRef, ModelRef, RunSpec

pytestmark = pytest.mark.django_db

WEIGHTS = "ab" * 32


@pytest.fixture
def inputs(owner, dataset, storage_root, django_capture_on_commit_callbacks):
    """Three versions of three datasets from real files: train, validation and test."""
    versions = {}
    for role, name in (("train", "signs-train"), ("validation", "signs-validation"), ("test", "signs-test")):
        target = dataset if role == "train" else DatasetFactory(namespace="team-vision", name=name)
        if role != "train":
            OwnershipFactory(dataset=target, user=owner, role=OwnershipRole.OWNER)
        folder = storage_root / name
        write_rows(folder / "a.csv", offset=len(versions))
        write_rows(folder / "b.csv", rows=12, offset=7.0)
        versions[role] = register(django_capture_on_commit_callbacks, actor=owner, dataset=target, path=folder)
    return versions


def _record(owner, roles_versions, **fields):
    return training_run_record(
        actor=owner,
        spec=RunSpec(
            model=ModelRef(namespace="vision", name="sign-classifier"),
            status=fields.pop("status", "completed"),
            inputs=tuple(InputRef(version=version.pk, role=role) for role, version in roles_versions),
            **fields,
        ),
    )


@pytest.fixture
def run(owner, inputs):
    return _record(
        owner,
        list(inputs.items()),
        model_version="1.3.0",
        started_at=datetime(2026, 11, 2, 9, 0, 0, 250000, tzinfo=UTC),
        ended_at=datetime(2026, 11, 2, 9, 40, 0, tzinfo=UTC),
        code_repository="https://git.example.com/ml/signs.git",
        code_commit="4f2a9c1",
        code_entrypoint="python train.py --config conf.yaml",
        hyperparameters={"learning_rate": 0.001, "optimizer": {"name": "adam", "betas": [0.9, 0.999]}, "loss": "ce"},
        metrics={"accuracy": 0.93, "f1": 0.9},
        artifacts=(
            ArtifactSpec(uri="s3://models/sign-classifier/1.3.0/model.pt", sha256=WEIGHTS, size=1024),
            ArtifactSpec(uri="s3://models/sign-classifier/1.3.0/config.json"),
        ),
    )


def url(run) -> str:
    return f"/api/v1/training-runs/{run.pk}/spdx"


def _model(document):
    (package,) = by_type(document, "ai_AIPackage")
    return package


def _relationships(document, kind):
    return {
        rel["spdxId"].rsplit("/", 1)[1]: rel
        for rel in by_type(document, "Relationship")
        if rel["relationshipType"] == kind
    }


def _files_of(document, package_id):
    elements = by_id(document)
    return {
        elements[target]["name"]: elements[target]["verifiedUsing"][0]["hashValue"]
        for rel in by_type(document, "Relationship")
        if rel["relationshipType"] == "hasDataFile" and rel["from"] == package_id
        for target in rel["to"]
    }


def test_it_describes_the_model_its_training_and_its_inputs(owner_client, run, inputs, storage_root, settings):
    settings.ALLOWED_HOSTS = ["catalog.example.org"]
    response = owner_client.get(url(run), HTTP_HOST="catalog.example.org")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/spdx+json"
    document = response.json()
    model = _model(document)
    assert model["spdxId"] == f"http://catalog.example.org/spdx/training-runs/{run.pk}/model"
    assert model["name"] == "vision/sign-classifier"
    assert model["software_packageVersion"] == "1.3.0"
    assert model["software_primaryPurpose"] == "model"
    assert model["software_downloadLocation"] == "s3://models/sign-classifier/1.3.0/model.pt"
    assert model["builtTime"] == model["releaseTime"] == "2026-11-02T09:40:00Z"
    assert [(item["algorithm"], item["hashValue"]) for item in model["verifiedUsing"]] == [("sha256", WEIGHTS)]
    assert model["ai_hyperparameter"] == [
        {"type": "DictionaryEntry", "key": "learning_rate", "value": "0.001"},
        {"type": "DictionaryEntry", "key": "loss", "value": "ce"},
        {"type": "DictionaryEntry", "key": "optimizer", "value": '{"betas": [0.9, 0.999], "name": "adam"}'},
    ]
    assert model["ai_metric"] == [
        {"type": "DictionaryEntry", "key": "accuracy", "value": "0.93"},
        {"type": "DictionaryEntry", "key": "f1", "value": "0.9"},
    ]
    assert model["software_sourceInfo"] == (
        "Trained by the code at repository https://git.example.com/ml/signs.git, commit 4f2a9c1, "
        "entry point python train.py --config conf.yaml."
    )
    assert model["externalRef"][0]["locator"] == ["https://git.example.com/ml/signs.git"]
    # Nothing the catalog does not record is claimed.
    assert not {"ai_typeOfModel", "ai_domain", "ai_autonomyType"} & set(model)
    elements = by_id(document)
    (owner,) = [elements[agent] for agent in model["originatedBy"]]
    assert (owner["type"], owner["name"]) == ("Person", "olivia-owner")
    assert model["suppliedBy"] == owner["spdxId"]

    trained, tested = _relationships(document, "trainedOn"), _relationships(document, "testedOn")
    assert set(trained) == {"trainedOn-train", "trainedOn-validation"}
    assert set(tested) == {"testedOn-test"}
    linked = {
        "train": trained["trainedOn-train"],
        "validation": trained["trainedOn-validation"],
        "test": tested["testedOn-test"],
    }
    for role, rel in linked.items():
        version = inputs[role]
        assert rel["from"] == model["spdxId"]
        assert rel["completeness"] == "complete"
        (target,) = rel["to"]
        package = elements[target]
        assert package["type"] == "dataset_DatasetPackage"
        assert package["software_packageVersion"] == str(version.number)
        # The hashes are those of the pinned version's manifest, and of the bytes on disk.
        files = _files_of(document, target)
        assert files == {entry["path"]: entry["sha256"] for entry in version.manifest}
        folder = storage_root / f"signs-{role}"
        assert files == {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in ("a.csv", "b.csv")}
    assert "validation" in linked["validation"]["comment"]
    assert not by_type(document, "Annotation")
    (spdx_document,) = by_type(document, "SpdxDocument")
    assert spdx_document["rootElement"] == [model["spdxId"]]
    assert "ai" in spdx_document["profileConformance"]
    assert_valid_spdx(document)


def test_a_version_read_in_two_roles_is_one_package(owner_client, owner, inputs):
    run = _record(owner, [("train", inputs["train"]), ("test", inputs["train"]), ("train", inputs["test"])])

    document = owner_client.get(url(run)).json()

    packages = by_type(document, "dataset_DatasetPackage")
    assert len(packages) == 2
    spdx_ids = [element["spdxId"] for element in document["@graph"] if "spdxId" in element]
    assert len(spdx_ids) == len(set(spdx_ids))
    assert len(_relationships(document, "trainedOn")["trainedOn-train"]["to"]) == 2
    assert_valid_spdx(document)


def test_a_reader_who_may_not_read_an_input_gets_the_rest_and_a_note(owner_client, stranger_client, run, inputs):
    hidden = inputs["validation"]
    Dataset.objects.filter(pk=hidden.dataset_id).update(sensitivity=Sensitivity.RESTRICTED)

    theirs = stranger_client.get(url(run))
    mine = owner_client.get(url(run)).json()

    assert theirs.status_code == 200
    document = theirs.json()
    text = theirs.content.decode()
    assert "signs-validation" not in text
    assert str(hidden.pk) not in text
    assert str(hidden.dataset_id) not in text
    assert hidden.fingerprint.removeprefix("sha256:") not in text
    # Its own file (b.csv holds the same bytes in every input, so its hash is in the others' packages).
    (own,) = [entry["sha256"] for entry in hidden.manifest if entry["path"] == "a.csv"]
    assert own not in text
    assert len(by_type(document, "dataset_DatasetPackage")) == 2
    assert set(_relationships(document, "trainedOn")) == {"trainedOn-train"}
    (note,) = by_type(document, "Annotation")
    assert note["subject"] == _model(document)["spdxId"]
    assert note["annotationType"] == "other"
    assert "1 input of this run (1 read as validation)" in note["statement"]
    assert "may not read" in note["statement"]
    # The owner still reads all three.
    assert len(by_type(mine, "dataset_DatasetPackage")) == 3
    assert not by_type(mine, "Annotation")
    assert_valid_spdx(document)


def test_a_withheld_input_of_a_role_makes_its_relationship_incomplete(owner, stranger_client, inputs):
    salaries = DatasetFactory(namespace="hr", name="salaries", sensitivity=Sensitivity.RESTRICTED)
    OwnershipFactory(dataset=salaries, user=owner, role=OwnershipRole.OWNER)
    secret = VersionFactory(
        dataset=salaries,
        manifest=[{"path": "salaries.csv", "size": 1, "sha256": "9" * 64}],
        fingerprint="sha256:" + "9" * 64,
    )
    run = _record(owner, [("train", inputs["train"]), ("train", secret)])

    document = stranger_client.get(url(run)).json()

    rel = _relationships(document, "trainedOn")["trainedOn-train"]
    assert rel["completeness"] == "incomplete"
    assert "1 more input of this role not described here" in rel["comment"]
    assert "salaries" not in str(document)
    assert "9" * 64 not in str(document)
    assert_valid_spdx(document)


def test_a_purged_input_is_left_out_and_said_to_be(owner_client, run, inputs):
    DatasetVersion.objects.filter(pk=inputs["test"].pk).delete()

    document = owner_client.get(url(run)).json()

    assert "testedOn" not in {rel["relationshipType"] for rel in by_type(document, "Relationship")}
    assert len(by_type(document, "dataset_DatasetPackage")) == 2
    (note,) = by_type(document, "Annotation")
    assert "1 input of this run (1 read as test) were purged" in note["statement"]
    assert_valid_spdx(document)


def test_a_run_without_artifacts_inputs_or_end_is_still_valid(owner_client, owner, settings):
    settings.ALLOWED_HOSTS = ["catalog.example.org"]
    run = _record(owner, [], status="running")

    document = owner_client.get(url(run), HTTP_HOST="catalog.example.org").json()

    model = _model(document)
    assert model["software_downloadLocation"] == f"http://catalog.example.org/api/v1/training-runs/{run.pk}/"
    assert not {"builtTime", "releaseTime", "verifiedUsing", "ai_hyperparameter", "ai_metric"} & set(model)
    assert not {"software_packageVersion", "software_sourceInfo"} & set(model)
    # No owner but its recorder's: the model's owner supplies it.
    assert model["suppliedBy"].endswith("/agents/users/olivia-owner")
    assert not by_type(document, "dataset_DatasetPackage")
    assert_valid_spdx(document)


def test_an_artifact_that_is_no_uri_is_not_the_download_location(owner_client, owner, settings):
    settings.ALLOWED_HOSTS = ["catalog.example.org"]
    run = _record(owner, [], artifacts=(ArtifactSpec(uri="weights/model final.pt", sha256=WEIGHTS),))

    document = owner_client.get(url(run), HTTP_HOST="catalog.example.org").json()

    model = _model(document)
    assert model["software_downloadLocation"].endswith(f"/api/v1/training-runs/{run.pk}/")
    assert model["verifiedUsing"][0]["comment"] == "The sha256 of weights/model final.pt"
    assert_valid_spdx(document)


def test_every_authenticated_user_reads_it_and_no_one_else(client_for, anonymous_client, run):
    reader = client_for(UserFactory(username="reader"))

    assert reader.get(url(run)).status_code == 200
    refused = anonymous_client.get(url(run))
    assert refused.status_code == 401
    assert "sign-classifier" not in refused.content.decode()


def test_it_answers_json_when_asked_and_refuses_what_it_cannot_write(owner_client, run):
    assert owner_client.get(url(run), HTTP_ACCEPT="application/json")["Content-Type"] == "application/json"
    assert owner_client.get(url(run), HTTP_ACCEPT="text/html").status_code == 406
    assert owner_client.get(url(run), {"unknown": "1"}).status_code == 400
    assert owner_client.get(url(run), {"format": "spdx\x00"}).status_code == 400
    assert owner_client.get(url(run), {"x" * 5000: "1"}).status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/training-runs/not-a-uuid/spdx",
        "/api/v1/training-runs/%00/spdx",
        "/api/v1/training-runs/5f0c5a52-8a7e-4c1e-9a43-2b1f0e6d7c11%00/spdx",
        "/api/v1/training-runs/5f0c5a52-8a7e-4c1e-9a43-2b1f0e6d7c11/spdx",
        f"/api/v1/training-runs/{'9' * 5000}/spdx",
        "/api/v1/training-runs/../models/spdx",
    ],
)
def test_hostile_ids_are_refused_or_not_found(owner_client, path):
    # NUL bytes are refused before routing (400); anything else is no run (404).
    assert owner_client.get(path).status_code in (400, 404)


def test_no_one_changes_a_run_through_its_export(owner_client, stranger_client, run):
    for client in (owner_client, stranger_client):
        for method in (client.post, client.put, client.patch, client.delete):
            assert method(url(run), {"@graph": []}, format="json").status_code == 405
    assert run.inputs.count() == 3


def test_the_query_count_does_not_grow_with_the_inputs(client_for, owner):
    reader = client_for(UserFactory(username="reader"))

    def versions(count):
        made = []
        for index in range(count):
            dataset = DatasetFactory(namespace="team-vision", name=f"part-{count}-{index}")
            OwnershipFactory(dataset=dataset, user=owner, role=OwnershipRole.OWNER)
            made.append(
                VersionFactory(
                    dataset=dataset,
                    manifest=[{"path": f"{n}.csv", "size": 1, "sha256": f"{index:032x}{n:032x}"} for n in range(3)],
                    fingerprint=f"sha256:{index:064x}",
                )
            )
        return made

    counts = []
    for count in (1, 8):
        run = _record(owner, [(("train", "validation", "test")[n % 3], v) for n, v in enumerate(versions(count))])
        with CaptureQueriesContext(connection) as captured:
            response = reader.get(url(run))
        assert response.status_code == 200
        assert len(by_type(response.json(), "dataset_DatasetPackage")) == count
        counts.append(len(captured))

    assert counts[0] == counts[1]


def test_the_run_page_of_the_admin_links_to_the_export(client, run):
    client.force_login(UserFactory(username="ada-admin", is_staff=True, is_superuser=True))

    page = client.get(reverse("admin:training_trainingrun_change", args=[run.pk])).content.decode()

    assert f'<a href="{url(run)}">SPDX 3.0.1 JSON-LD</a>' in page
    response = client.get(url(run))
    assert response.status_code == 200
    assert _model(response.json())["spdxId"].endswith(f"/spdx/training-runs/{run.pk}/model")


def test_the_class_folders_of_a_personal_data_label_go_by_their_aliases(
    owner, owner_client, stranger_client, dataset, storage_root, django_capture_on_commit_callbacks
):
    version = register(
        django_capture_on_commit_callbacks, actor=owner, dataset=dataset, path=image_folder(storage_root / "faces")
    )
    position = version.features.get(name="label").position
    assert owner_client.patch(f"/api/v1/versions/{version.pk}/features/{position}/", {"pii": True}).status_code == 200
    run = _record(owner, [("train", version)])

    theirs = stranger_client.get(url(run)).json()
    mine = owner_client.get(url(run)).json()

    def classes(document):
        return {
            file["name"].split("/")[1] for file in by_type(document, "software_File") if file["name"].count("/") == 2
        }

    assert classes(theirs) == {"class 1", "class 2"}
    assert "/cat/" not in str(theirs)
    assert classes(mine) == {"cat", "dog"}
    assert_valid_spdx(theirs)
