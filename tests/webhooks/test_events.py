"""Each event reaches a real receiver on loopback from what really happens: a version profiled or failed, an audit
stored, a model's training data found changed, a contract check that failed."""

import pytest

from catalog import pipeline
from catalog import services as catalog_services
from governance.choices import OwnershipRole
from tests.factories import DatasetFactory, OwnershipFactory, VersionFactory
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
