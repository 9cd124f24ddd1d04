"""Each event reaches a real receiver on loopback from what really happens: a version profiled or failed, an audit
stored, a model's training data found changed, relicensed, deprecated or retired, a contract check that failed."""

import pytest

from catalog import pipeline
from catalog import services as catalog_services
from catalog.models import Dataset
from governance.choices import OwnershipRole
from lineage.services import edge_declare, lineage_event_ingest, lineage_pending_project
from tests.factories import DatasetFactory, OwnershipFactory, VersionFactory
from tests.lineage.fixtures import fixture_event
from tests.training.recorded import record, register, write_rows
from webhooks import receivers
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db


def test_a_version_that_becomes_ready_is_told(
    webhook, receiver, dataset, iris_csv, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        version = catalog_services.version_create(actor=owner, dataset=dataset, uri=str(iris_csv))

    [received] = receiver.wait_for(1, event="version.ready")
    assert received.verified
    data = received.json["data"]
    assert data["status"] == "ready"
    assert data["dataset"] == {"id": str(dataset.pk), "namespace": dataset.namespace, "name": dataset.name}
    assert data["version"]["id"] == str(version.pk)
    assert data["version"]["number"] == 1
    assert data["version"]["fingerprint"].startswith("sha256:")
    assert WebhookDelivery.objects.get().status == "succeeded"


def test_a_version_that_fails_is_told_with_its_error(
    webhook, receiver, dataset, storage_root, owner, django_capture_on_commit_callbacks
):
    broken = storage_root / "broken.csv"
    broken.write_bytes(b"\x00\x01\x02" * 10)

    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.version_create(actor=owner, dataset=dataset, uri=str(broken), format="csv")

    [received] = receiver.wait_for(1, event="version.failed")
    assert received.json["data"]["version"]["status"] == "failed"
    assert received.json["data"]["version"]["error"]


def test_an_audit_stored_is_told_with_its_verdict(
    webhook, receiver, owner, owner_client, django_capture_on_commit_callbacks
):
    unlicensed = DatasetFactory(namespace="audit", name="anon", license="")
    OwnershipFactory(dataset=unlicensed, user=owner, role=OwnershipRole.OWNER)
    VersionFactory(dataset=unlicensed, number=1, fingerprint="sha256:" + "a" * 64)

    with django_capture_on_commit_callbacks(execute=True):
        answer = owner_client.post(
            "/api/v1/audits/", {"datasets": [str(unlicensed.pk)], "purpose": {"commercial": False}}, format="json"
        )

    assert answer.status_code == 201, answer.json()
    [received] = receiver.wait_for(1, event="audit.completed")
    audit = received.json["data"]["audit"]
    assert audit["id"] == answer.json()["id"]
    assert audit["verdict"] == "fail" == answer.json()["verdict"]
    assert audit["counts"]["blocker"] >= 1
    assert "license_unknown" in audit["finding_codes"]
    assert audit["created_by"] == owner.username


def test_a_model_whose_training_data_changed_is_told(
    webhook, receiver, owner, dataset, storage_root, django_capture_on_commit_callbacks
):
    path = write_rows(storage_root / "signs" / "train.csv")
    version = register(django_capture_on_commit_callbacks, actor=owner, dataset=dataset, path=path)
    run = record(owner, "sign-classifier", version)
    write_rows(path, offset=1.0)

    with django_capture_on_commit_callbacks(execute=True):
        pipeline.version_verify(version_id=version.pk)

    [changed] = receiver.wait_for(1, event="version.source_changed")
    assert changed.json["data"]["version"]["id"] == str(version.pk)
    [affected] = receiver.wait_for(1, event="model.affected")
    data = affected.json["data"]
    assert data["model"] == {"id": str(run.model_id), "namespace": "ml", "name": "sign-classifier"}
    assert "upstream_source_changed" in data["finding_codes"]
    assert data["reason"] == "source_changed"
    assert data["version"]["id"] == str(version.pk)
    assert data["dataset"]["id"] == str(dataset.pk)


def test_a_model_that_did_not_learn_from_the_changed_data_is_not_told(
    webhook, receiver, owner, dataset, storage_root, django_capture_on_commit_callbacks
):
    read = register(
        django_capture_on_commit_callbacks, actor=owner, dataset=dataset, path=write_rows(storage_root / "a.csv")
    )
    other = DatasetFactory(namespace="team", name="unread")
    OwnershipFactory(dataset=other, user=owner, role=OwnershipRole.OWNER)
    unread_path = write_rows(storage_root / "b.csv", rows=40)
    unread = register(django_capture_on_commit_callbacks, actor=owner, dataset=other, path=unread_path)
    record(owner, "reader-of-a", read)
    write_rows(unread_path, rows=41)

    with django_capture_on_commit_callbacks(execute=True):
        pipeline.version_verify(version_id=unread.pk)

    assert receiver.wait_for(1, event="version.source_changed")
    assert receiver.wait_for(1, timeout=0.5, event="model.affected") == []


def test_a_failed_contract_check_is_told_and_a_passed_one_is_not(
    webhook, receiver, dataset, django_capture_on_commit_callbacks
):
    version = VersionFactory(dataset=dataset, number=1)

    with django_capture_on_commit_callbacks(execute=True):
        receivers.contract_checked_received(
            sender=None, status="passed", dataset_id=dataset.pk, version_id=version.pk, anomalies=[]
        )
        receivers.contract_checked_received(
            sender=None,
            status="failed",
            dataset_id=dataset.pk,
            version_id=version.pk,
            check_id="c-1",
            anomalies=[{"code": "row_count"}, {"code": "null_fraction"}, "not an anomaly"],
        )

    [received] = receiver.wait_for(1, event="contract.failed")
    data = received.json["data"]
    assert data["status"] == "failed"
    assert data["anomaly_codes"] == ["null_fraction", "row_count"]
    assert data["check"] == "c-1"
    assert data["version"]["id"] == str(version.pk)
    assert len(receiver.received) == 1


# --- A model told when data it learned from is relicensed, deprecated or retired ------------------------

COMMERCIAL = {"commercial": True, "distribute_model": False, "distribute_data": False}


@pytest.fixture
def trained(owner, storage_root, django_capture_on_commit_callbacks):
    """raw -> clean (CC-BY-4.0, files on disk); a model trained on clean for commercial use, one for research."""

    def made(name):
        dataset = DatasetFactory(namespace="lab", name=name, license="CC-BY-4.0")
        OwnershipFactory(dataset=dataset, user=owner, role=OwnershipRole.OWNER)
        path = write_rows(storage_root / name / "data.csv")
        return dataset, register(django_capture_on_commit_callbacks, actor=owner, dataset=dataset, path=path)

    (raw, _), (clean, clean_v1) = made("raw"), made("clean")
    edge_declare(actor=owner, source=raw, target=clean)
    commercial = record(owner, "commercial", clean_v1, purpose=COMMERCIAL)
    research = record(owner, "research", clean_v1)
    return {"raw": raw, "clean": clean, "clean_v1": clean_v1, "commercial": commercial, "research": research}


def _affected(receiver, count, timeout=5.0):
    return {
        item.json["data"]["model"]["name"]: item.json["data"]
        for item in receiver.wait_for(count, event="model.affected", timeout=timeout)
    }


def test_an_upstream_license_that_now_forbids_a_model_s_purpose_tells_that_model_only(
    webhook, receiver, owner, trained, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.dataset_update(actor=owner, dataset=trained["raw"], license="CC-BY-NC-4.0")

    affected = _affected(receiver, 1)
    assert set(affected) == {"commercial"}
    data = affected["commercial"]
    assert data["reason"] == "license_changed"
    assert data["finding_codes"] == ["upstream_license_changed"]
    assert data["dataset"] == {"id": str(trained["raw"].pk)}
    assert data["version"] is None
    # The research model is not told: CC-BY-NC-4.0 does not forbid research.
    assert len(receiver.wait_for(2, timeout=0.5, event="model.affected")) == 1


def test_a_license_change_that_forbids_nothing_tells_no_model(
    webhook, receiver, owner, trained, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.dataset_update(actor=owner, dataset=trained["raw"], license="CC0-1.0")

    assert receiver.wait_for(1, timeout=0.5, event="model.affected") == []


def test_a_deprecated_dataset_tells_every_model_that_learned_from_it(
    webhook, receiver, owner, trained, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.dataset_update(
            actor=owner, dataset=trained["raw"], lifecycle="deprecated", deprecation_reason="Use raw-v2."
        )

    affected = _affected(receiver, 2)
    assert set(affected) == {"commercial", "research"}
    assert {data["reason"] for data in affected.values()} == {"deprecated"}
    assert all("upstream_deprecated" in data["finding_codes"] for data in affected.values())
    assert affected["research"]["dataset"] == {"id": str(trained["raw"].pk)}


def test_a_deprecated_version_tells_the_models_that_read_it_with_the_version(
    webhook, receiver, owner, trained, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.version_update(
            actor=owner, version=trained["clean_v1"], deprecated=True, deprecation_reason="Mislabelled rows."
        )

    affected = _affected(receiver, 2)
    assert set(affected) == {"commercial", "research"}
    data = affected["research"]
    assert data["reason"] == "deprecated"
    assert data["finding_codes"] == ["upstream_deprecated"]
    assert data["version"]["id"] == str(trained["clean_v1"].pk)
    assert data["dataset"]["id"] == str(trained["clean"].pk)


def test_a_retired_dataset_tells_the_models_and_a_second_retirement_tells_nothing(
    webhook, receiver, owner, trained, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.dataset_retire(actor=owner, dataset=trained["clean"])
    affected = _affected(receiver, 2)
    assert {data["reason"] for data in affected.values()} == {"retired"}
    assert all("upstream_retired" in data["finding_codes"] for data in affected.values())

    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.dataset_retire(actor=owner, dataset=trained["clean"])

    assert len(receiver.wait_for(3, timeout=0.5, event="model.affected")) == 2


def test_a_model_whose_deprecation_finding_is_about_another_dataset_is_not_told_again(
    webhook, receiver, owner, trained, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.dataset_update(
            actor=owner, dataset=trained["raw"], lifecycle="deprecated", deprecation_reason="Use raw-v2."
        )
    assert len(_affected(receiver, 2)) == 2
    unread = DatasetFactory(namespace="lab", name="unread", license="CC-BY-4.0")

    with django_capture_on_commit_callbacks(execute=True):
        catalog_services.dataset_update(
            actor=owner, dataset=unread, lifecycle="deprecated", deprecation_reason="Nobody reads it."
        )

    assert len(receiver.wait_for(3, timeout=0.5, event="model.affected")) == 2


def test_an_openlineage_drop_of_a_dataset_a_model_learned_from_tells_the_model(
    webhook, receiver, owner, storage_root, django_capture_on_commit_callbacks
):
    event = fixture_event("pysparkV2DropTableCompleteEvent", job="drop_table.iceberg_drop_table_test")
    [output] = event["outputs"]
    dropped = DatasetFactory(namespace=output["namespace"], name=output["name"], license="CC-BY-4.0")
    OwnershipFactory(dataset=dropped, user=owner, role=OwnershipRole.OWNER)
    path = write_rows(storage_root / "iceberg" / "data.csv")
    version = register(django_capture_on_commit_callbacks, actor=owner, dataset=dropped, path=path)
    record(owner, "iceberg-reader", version)

    with django_capture_on_commit_callbacks(execute=True):
        lineage_event_ingest(actor=owner, payload=event)
        lineage_pending_project()

    assert Dataset.objects.get(pk=dropped.pk).lifecycle == "deprecated"
    affected = _affected(receiver, 1)
    assert affected["iceberg-reader"]["reason"] == "deprecated"
    assert affected["iceberg-reader"]["dataset"] == {"id": str(dropped.pk)}
    assert "upstream_deprecated" in affected["iceberg-reader"]["finding_codes"]
