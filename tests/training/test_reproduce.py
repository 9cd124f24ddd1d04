"""A run's recipe (JSON and Markdown) and the check that its inputs still hold the bytes it read."""

import hashlib

import pytest

from catalog.models import Dataset, DatasetVersion
from governance.choices import OwnershipRole, Sensitivity
from tests.factories import DatasetFactory, OwnershipFactory
from tests.hostile import deep
from tests.training.recorded import record, register, write_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(storage_root):
    """Two files of one dataset version."""
    write_rows(storage_root / "flowers" / "a.csv")
    write_rows(storage_root / "flowers" / "b.csv", offset=1.0)
    return storage_root / "flowers"


@pytest.fixture
def run(owner, dataset, folder, django_capture_on_commit_callbacks):
    version = register(django_capture_on_commit_callbacks, actor=owner, dataset=dataset, path=folder)
    return record(
        owner,
        "flower-classifier",
        version,
        code_repository="https://git.example.com/ml/flowers.git",
        code_commit="4f2a9c1",
        code_entrypoint="python train.py --config conf.yaml",
        hyperparameters={"optimizer": {"name": "adam", "lr": 0.001}, "epochs": 12},
        environment={"python": "3.12", "torch": "2.4.0"},
    )


def url(run, action: str) -> str:
    return f"/api/v1/training-runs/{run.pk}/{action}"


@pytest.fixture
def verify(django_capture_on_commit_callbacks):
    """Ask for the check, run the task it queues when the request's transaction commits, and read the
    outcome as the client sees it on the run's recipe."""

    def post(client, run):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url(run, "verify/"))
        assert response.status_code == 202, response.content
        assert response.json()["verification_status"] == "pending"
        return client.get(url(run, "reproduce")).json()["verification"]

    return post


def test_it_lists_every_file_of_every_input_with_the_bytes_on_disk(owner_client, run, folder):
    body = owner_client.get(url(run, "reproduce")).json()

    [item] = body["inputs"]
    assert body["run"]["id"] == str(run.pk)
    assert body["model"]["name"] == "flower-classifier"
    assert body["code"] == {
        "repository": "https://git.example.com/ml/flowers.git",
        "commit": "4f2a9c1",
        "entrypoint": "python train.py --config conf.yaml",
    }
    assert body["hyperparameters"] == {"optimizer": {"name": "adam", "lr": 0.001}, "epochs": 12}
    assert body["environment"] == {"python": "3.12", "torch": "2.4.0"}
    assert item["uri"] == folder.as_uri()
    assert item["fingerprint"].startswith("sha256:")
    assert {entry["path"]: entry["sha256"] for entry in item["manifest"]} == {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in ("a.csv", "b.csv")
    }


def test_the_markdown_report_says_what_to_fetch_and_how_to_check_it(owner_client, run, folder):
    response = owner_client.get(url(run, "reproduce"), {"format": "markdown"})

    text = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    assert "# Reproducing ml/flower-classifier 1.0.0" in text
    assert "git checkout 4f2a9c1" in text
    assert f"{hashlib.sha256((folder / 'a.csv').read_bytes()).hexdigest()}  a.csv" in text
    assert '"lr": 0.001' in text


def test_an_input_of_a_dataset_the_reader_may_not_read_is_a_placeholder(owner, stranger_client, run, folder):
    Dataset.objects.filter(pk=run.inputs.get().dataset_id).update(sensitivity=Sensitivity.RESTRICTED)

    body = stranger_client.get(url(run, "reproduce")).json()
    text = stranger_client.get(url(run, "reproduce"), {"format": "markdown"}).content.decode()

    [item] = body["inputs"]
    assert (item["dataset"], item["version"], item["uri"], item["manifest"], item["fingerprint"]) == (
        None,
        None,
        None,
        None,
        None,
    )
    assert item["dataset_name"] == "a restricted dataset you may not read"
    assert "street-signs" not in str(body)
    assert "street-signs" not in text
    assert "a.csv" not in text
    assert str(folder) not in text
    assert str(folder) not in str(body)


def test_a_purged_input_is_listed_from_the_run_record_without_manifest(owner_client, stranger_client, run):
    recorded = run.inputs.get()
    DatasetVersion.objects.filter(pk=recorded.version_id).delete()

    [item] = owner_client.get(url(run, "reproduce")).json()["inputs"]
    [withheld] = stranger_client.get(url(run, "reproduce")).json()["inputs"]

    assert item["version"] is None
    assert item["manifest"] is None
    assert (item["dataset_name"], item["fingerprint"], item["uri"]) == (
        recorded.dataset_label,
        recorded.fingerprint,
        recorded.uri,
    )
    assert "purged" in item["note"]
    assert withheld["uri"] is None
    assert "purged" in withheld["note"]


def test_verify_says_reproducible_then_names_the_file_that_changed(owner_client, run, folder, verify):
    same = verify(owner_client, run)
    write_rows(folder / "b.csv", offset=7.0)
    verification = verify(owner_client, run)

    assert same["status"] == "reproducible"
    assert verification["status"] == "changed"
    assert verification["changed"][0]["version"] == str(run.inputs.get().version_id)
    assert verification["changed"][0]["paths"] == ["b.csv"]
    run.refresh_from_db()
    assert run.verification_status == "changed"
    assert run.inputs.get().version.source_changed_at is not None  # the catalog's own mark


def test_verify_of_a_deleted_file_says_what_the_catalog_verification_says(owner_client, run, folder, verify):
    (folder / "a.csv").unlink()
    gone_file = verify(owner_client, run)
    (folder / "b.csv").unlink()
    folder.rmdir()
    gone_source = verify(owner_client, run)

    assert gone_file["status"] == "changed"
    assert gone_file["changed"][0]["removed"] == ["a.csv"]
    assert gone_file["changed"][0]["paths"] == ["a.csv"]
    assert gone_source["status"] == "unreadable"


def test_a_reader_who_may_not_read_the_input_learns_no_path_from_verify(stranger_client, run, folder, verify):
    Dataset.objects.filter(pk=run.inputs.get().dataset_id).update(sensitivity=Sensitivity.RESTRICTED)
    write_rows(folder / "b.csv", offset=3.0)

    verification = verify(stranger_client, run)

    assert verification["status"] == "changed"
    assert verification["changed"] == [{"version": None, "restricted": True, "paths": []}]


def test_no_one_signed_out_reads_or_verifies_a_run(anonymous_client, run):
    assert anonymous_client.get(url(run, "reproduce")).status_code == 401
    assert anonymous_client.post(url(run, "verify/")).status_code == 401


def test_an_unknown_run_is_a_404_and_hostile_input_a_4xx(owner_client, run):
    assert owner_client.get("/api/v1/training-runs/00000000-0000-0000-0000-000000000000/reproduce").status_code == 404
    assert owner_client.get(url(run, "reproduce"), {"format": "xml"}).status_code == 400
    assert owner_client.get(url(run, "reproduce"), {"depth": "\x00"}).status_code == 400
    # The check takes no body: one is not read, however deep.
    hostile = owner_client.generic("POST", url(run, "verify/"), deep(100_000), content_type="application/json")
    assert hostile.status_code == 202


def test_reading_a_recipe_costs_the_same_whatever_the_number_of_inputs(
    owner, owner_client, dataset, storage_root, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    versions = []
    for index in range(4):
        other = DatasetFactory(namespace="team-vision", name=f"part-{index}")
        OwnershipFactory(dataset=other, user=owner, role=OwnershipRole.OWNER)
        path = write_rows(storage_root / f"part-{index}" / "data.csv")
        versions.append(register(django_capture_on_commit_callbacks, actor=owner, dataset=other, path=path))
    one = record(owner, "one", versions[0])
    many = record(owner, "many", *versions)

    with django_assert_max_num_queries(8) as few:
        owner_client.get(url(one, "reproduce"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        owner_client.get(url(many, "reproduce"))


def test_the_report_quotes_what_a_sender_wrote_for_the_shell(
    owner, owner_client, dataset, folder, django_capture_on_commit_callbacks
):
    version = register(django_capture_on_commit_callbacks, actor=owner, dataset=dataset, path=folder)
    run = record(owner, "quoted", version, code_repository="$(touch /tmp/pwned)", code_commit="`id`")

    text = owner_client.get(url(run, "reproduce"), {"format": "markdown"}).content.decode()

    assert "git clone '$(touch /tmp/pwned)' code" in text
    assert "git checkout '`id`'" in text


def test_a_run_whose_input_was_purged_is_unreadable(owner_client, run, verify):
    DatasetVersion.objects.filter(pk=run.inputs.get().version_id).delete()

    verification = verify(owner_client, run)

    assert verification["status"] == "unreadable"
    assert verification["unreadable"] == [
        {"version": None, "position": 0, "detail": "The version was purged from the catalog."}
    ]
