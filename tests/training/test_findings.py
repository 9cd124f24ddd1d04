"""Findings on a model: what has gone wrong since with the data its latest confirmed run learned from."""

import pytest
from django.urls import reverse
from django.utils import timezone

from catalog.models import Dataset, DatasetVersion
from catalog.services import dataset_update
from governance.choices import OwnershipRole, Sensitivity
from lineage.services import edge_declare
from tests.factories import DatasetFactory, OwnershipFactory, UserFactory
from tests.training.recorded import record, register, write_rows
from training.impact import model_findings

pytestmark = pytest.mark.django_db

COMMERCIAL = {"commercial": True, "distribute_model": False, "distribute_data": False}


@pytest.fixture
def lab(owner, storage_root, django_capture_on_commit_callbacks):
    """raw -> clean, both CC-BY-4.0 with files on disk; a model trained on clean for commercial use, another for research."""

    def dataset(name):
        made = DatasetFactory(namespace="lab", name=name, license="CC-BY-4.0")
        OwnershipFactory(dataset=made, user=owner, role=OwnershipRole.OWNER)
        path = write_rows(storage_root / name / "data.csv")
        return made, register(django_capture_on_commit_callbacks, actor=owner, dataset=made, path=path)

    (raw, _raw_v1), (clean, clean_v1) = dataset("raw"), dataset("clean")
    edge_declare(actor=owner, source=raw, target=clean)
    commercial = record(owner, "commercial", clean_v1, purpose=COMMERCIAL)
    research = record(owner, "research", clean_v1)
    return {"raw": raw, "clean": clean, "clean_v1": clean_v1, "commercial": commercial, "research": research}


def findings(client, run):
    response = client.get(f"/api/v1/models/{run.model_id}/")
    assert response.status_code == 200, response.content
    return response.json()["findings"]


def test_a_model_with_nothing_wrong_has_no_finding(owner_client, lab):
    assert findings(owner_client, lab["commercial"]) == []


def test_an_upstream_license_changed_to_non_commercial_is_a_finding_on_the_commercial_model(owner, owner_client, lab):
    dataset_update(actor=owner, dataset=lab["raw"], license="CC-BY-NC-4.0")

    [finding] = findings(owner_client, lab["commercial"])

    assert finding["code"] == "upstream_license_changed"
    assert finding["severity"] == "blocker"
    assert finding["dataset"] == str(lab["raw"].pk)
    assert finding["run"] == str(lab["commercial"].pk)
    assert finding["path"] == ["dataset:lab:clean", "dataset:lab:raw"]
    assert "CC-BY-4.0 to CC-BY-NC-4.0" in finding["message"]
    # Research is not what CC-BY-NC-4.0 forbids.
    assert findings(owner_client, lab["research"]) == []


def test_the_input_dataset_license_is_compared_with_the_one_recorded_on_the_run(owner, owner_client, lab):
    dataset_update(actor=owner, dataset=lab["clean"], license="CC-BY-NC-4.0")

    [finding] = findings(owner_client, lab["commercial"])

    assert (finding["code"], finding["dataset"], finding["path"]) == (
        "upstream_license_changed",
        str(lab["clean"].pk),
        ["dataset:lab:clean"],
    )
    assert lab["commercial"].inputs.get().license == "CC-BY-4.0"


def test_deprecated_retired_restricted_and_changed_bytes_are_findings(owner, owner_client, lab, storage_root):
    dataset_update(actor=owner, dataset=lab["clean"], lifecycle="deprecated", deprecation_reason="Use v2.")
    Dataset.objects.filter(pk=lab["raw"].pk).update(lifecycle="retired", sensitivity=Sensitivity.RESTRICTED)
    DatasetVersion.objects.filter(pk=lab["clean_v1"].pk).update(source_changed_at=timezone.now())

    codes = {(item["code"], item["dataset"]) for item in findings(owner_client, lab["commercial"])}

    assert codes == {
        ("upstream_deprecated", str(lab["clean"].pk)),
        ("upstream_source_changed", str(lab["clean"].pk)),
        ("upstream_retired", str(lab["raw"].pk)),
        ("upstream_restricted", str(lab["raw"].pk)),
    }


def test_a_reader_who_may_not_read_an_upstream_dataset_sees_a_placeholder(owner, stranger_client, lab):
    dataset_update(actor=owner, dataset=lab["raw"], license="CC-BY-NC-4.0")
    Dataset.objects.filter(pk=lab["raw"].pk).update(sensitivity=Sensitivity.RESTRICTED)

    shown = findings(stranger_client, lab["commercial"])

    assert {item["code"] for item in shown} == {"upstream_license_changed", "upstream_restricted"}
    for item in shown:
        assert item["dataset"] is None
        assert item["version"] is None
        assert item["dataset_name"] == "a restricted dataset you may not read"
        assert item["path"] == ["dataset:lab:clean", "dataset:restricted:#1"]
    assert "raw" not in str(shown)
    assert "NC" not in str(shown)


def test_only_confirmed_runs_count(owner, stranger, lab):
    dataset_update(actor=owner, dataset=lab["raw"], license="CC-BY-NC-4.0")
    model = lab["commercial"].model
    assert model_findings(model, owner)
    # A later run reported by someone who may not write the model waits for its owners: the findings
    # stay those of the latest confirmed run.
    reported = record(
        stranger,
        "commercial",
        lab["clean_v1"],
        purpose=COMMERCIAL,
        model_version="9.9",
        source="openlineage",
        external_id="7d1c8a55-0000-4000-8000-000000000001",
    )
    assert reported.confirmed is False
    assert {item["run"] for item in model_findings(model, owner)} == {lab["commercial"].pk}


def test_the_query_count_does_not_grow_with_the_upstream(
    owner, owner_client, lab, storage_root, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    dataset_update(actor=owner, dataset=lab["raw"], license="CC-BY-NC-4.0")
    with django_assert_max_num_queries(40) as few:
        findings(owner_client, lab["commercial"])
    below = lab["raw"]
    for index in range(4):
        above = DatasetFactory(namespace="lab", name=f"above-{index}", license="CC-BY-4.0")
        OwnershipFactory(dataset=above, user=owner, role=OwnershipRole.OWNER)
        edge_declare(actor=owner, source=above, target=below)
        dataset_update(actor=owner, dataset=above, license="CC-BY-NC-4.0")
        below = above

    with django_assert_max_num_queries(len(few.captured_queries)):
        shown = findings(owner_client, lab["commercial"])

    assert len([item for item in shown if item["code"] == "upstream_license_changed"]) == 5


def test_the_model_admin_page_shows_its_findings(client, owner, lab):
    dataset_update(actor=owner, dataset=lab["raw"], license="CC-BY-NC-4.0")
    client.force_login(UserFactory(username="ada-admin", is_staff=True, is_superuser=True))

    page = client.get(reverse("admin:training_model_change", args=[lab["commercial"].model_id])).content.decode()

    section = page[page.index("Findings on its latest confirmed run") :]
    assert "upstream_license_changed" in section
    assert "CC-BY-4.0 to CC-BY-NC-4.0" in section
