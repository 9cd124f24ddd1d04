"""The audit a training run recorded with a purpose gets at once, from its recorder: its verdict is
on the run; a status update audits nothing again; a failed audit loses no run."""

import hashlib

import pytest
from django.db import connection

from governance.choices import OwnershipRole
from governance.models import Audit
from tests.factories import DatasetFactory, OwnershipFactory, VersionFactory
from training.models import TrainingRun
from training.services import training_run_record, training_run_update
from training.specs import InputRef, ModelRef, RunSpec

pytestmark = pytest.mark.django_db

COMMERCIAL = {"commercial": True, "distribute_model": False, "distribute_data": False}
MODEL = ModelRef(namespace="vision", name="classifier")


@pytest.fixture
def make(owner):
    def make(name, license="CC0-1.0", **fields):
        dataset = DatasetFactory(namespace="audit", name=name, license=license, **fields)
        OwnershipFactory(dataset=dataset, user=owner, role=OwnershipRole.OWNER)
        return VersionFactory(
            dataset=dataset, number=1, fingerprint="sha256:" + hashlib.sha256(name.encode()).hexdigest()
        )

    return make


def test_a_run_recorded_with_a_purpose_carries_its_verdict(owner, make):
    nc, free = make("nc", license="CC-BY-NC-4.0"), make("free")

    run = training_run_record(
        actor=owner,
        spec=RunSpec(
            model=MODEL,
            model_version="1.3.0",
            purpose=COMMERCIAL,
            inputs=(InputRef(version=nc.pk), InputRef(version=free.pk, role="validation")),
        ),
    )

    audit = run.audits.get()
    assert (audit.verdict, audit.created_by, audit.purpose) == ("fail", owner, COMMERCIAL)
    assert audit.requested == [
        {
            "training_run": str(run.pk),
            "model": "vision/classifier",
            "model_id": str(run.model_id),
            "model_version": "1.3.0",
        }
    ]
    assert {entry["version"] for entry in audit.checked} == {str(nc.pk), str(free.pk)}


def test_a_run_recorded_without_a_purpose_is_not_audited(owner, make):
    training_run_record(actor=owner, spec=RunSpec(model=MODEL, inputs=(InputRef(version=make("data").pk),)))

    assert not Audit.objects.exists()


def test_status_updates_audit_nothing_again(owner, make):
    spec = RunSpec(
        model=MODEL,
        purpose=COMMERCIAL,
        source="openlineage",
        external_id="r1",
        inputs=(InputRef(version=make("d").pk),),
    )
    run = training_run_record(actor=owner, spec=spec)
    training_run_record(
        actor=owner, spec=RunSpec(model=MODEL, source="openlineage", external_id="r1", status="completed")
    )
    training_run_update(actor=owner, run=run, status="failed")

    assert Audit.objects.count() == 1


def test_a_run_reported_first_without_inputs_is_audited_when_they_come(owner, make):
    version = make("late", license="CC-BY-NC-4.0")
    start = RunSpec(model=MODEL, purpose=COMMERCIAL, source="openlineage", external_id="r2")
    run = training_run_record(actor=owner, spec=start)
    assert not run.audits.exists()

    complete = RunSpec(
        model=MODEL,
        source="openlineage",
        external_id="r2",
        status="completed",
        inputs=(InputRef(namespace="audit", name="late"),),
    )
    run = training_run_record(actor=owner, spec=complete)

    assert run.audits.get().verdict == "fail"
    assert run.audits.get().checked[0]["version"] == str(version.pk)


def test_a_failed_audit_loses_no_run(owner, make, monkeypatch, caplog):
    # A statement of the audit fails in the database (the transaction is aborted up to the audit's
    # savepoint): the run is recorded all the same, with no audit.
    def broken(**kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

    monkeypatch.setattr("training.services.audits.audit_training_run", broken)

    run = training_run_record(
        actor=owner, spec=RunSpec(model=MODEL, purpose=COMMERCIAL, inputs=(InputRef(version=make("data").pk),))
    )

    assert TrainingRun.objects.filter(pk=run.pk).exists()
    assert run.inputs.count() == 1
    assert not Audit.objects.exists()
    assert f"The audit of training run {run.pk} failed" in caplog.text


def test_over_http_the_run_shows_its_verdict_and_another_use_does_not_change_it(owner_client, stranger_client, make):
    nc = make("nc-http", license="CC-BY-NC-4.0")
    response = owner_client.post(
        "/api/v1/training-runs/",
        {
            "model": {"namespace": "vision", "name": "classifier"},
            "model_version": "1.3.0",
            "status": "completed",
            "inputs": [{"version": str(nc.pk), "role": "train"}],
            "purpose": COMMERCIAL,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    run = response.json()
    audit = Audit.objects.get()
    assert run["audit"] == {"id": str(audit.pk), "verdict": "fail"}

    research = stranger_client.post(
        "/api/v1/audits/", {"models": [run["model"]["id"]], "purpose": {"commercial": False}}, format="json"
    )
    assert research.status_code == 201, research.content
    assert research.json()["verdict"] == "conditional"
    assert research.json()["training_runs"][0]["id"] == run["id"]

    for client in (owner_client, stranger_client):
        assert client.get(f"/api/v1/training-runs/{run['id']}/").json()["audit"] == run["audit"]
    # The report itself is its recorder's to read.
    assert stranger_client.get(f"/api/v1/audits/{audit.pk}/").status_code == 404
    assert owner_client.get(f"/api/v1/audits/{audit.pk}/markdown").status_code == 200
