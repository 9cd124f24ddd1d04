"""OpenLineage events posted to /api/v1/lineage become training runs: one per run, pinned to the
catalog versions they name, with their hyperparameters and code; what matches nothing is listed."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Dataset
from governance.choices import Sensitivity
from governance.models import ModelOwnership
from lineage.models import LineageEvent, Run
from tests.factories import DatasetFactory, OwnershipFactory, VersionFactory
from training.models import Model, TrainingRun
from training.services import training_run_record
from training.specs import MAX_JSON_BYTES, ModelRef, RunSpec

pytestmark = pytest.mark.django_db

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python"
FIRST = "sha256:" + "1" * 64
SECOND = "sha256:" + "2" * 64


def facet(**members):
    return {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/Facet.json", **members}


def model_output(namespace="models", name="fraud-scorer", version="", **facets):
    facets = {"datasetType": facet(datasetType="MODEL"), **facets}
    if version:
        facets["version"] = facet(datasetVersion=version)
    return {"namespace": namespace, "name": name, "facets": facets}


def source(namespace, name, version=""):
    return {
        "namespace": namespace,
        "name": name,
        "facets": {"version": facet(datasetVersion=version)} if version else {},
    }


def event(state, run_id, moment, *, inputs=(), outputs=(), run_facets=None, job_facets=None, job=("ml", "fraud.fit")):
    return {
        "eventType": state,
        "eventTime": moment.isoformat(),
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(run_id), "facets": run_facets or {}},
        "job": {"namespace": job[0], "name": job[1], "facets": job_facets or {}},
        "inputs": list(inputs),
        "outputs": list(outputs),
    }


@pytest.fixture
def post(client_for):
    def send(user, *events, expect=(200, 201)):
        client = client_for(user)
        for item in events:
            response = client.post("/api/v1/lineage", item, format="json")
            assert response.status_code in expect, response.content
        return response

    return send


@pytest.fixture
def catalog(owner):
    """Two datasets of the owner: `transactions` with two ready versions, `holdout` with one."""
    transactions = DatasetFactory(namespace="finance", name="transactions")
    holdout = DatasetFactory(namespace="finance", name="holdout")
    for item in (transactions, holdout):
        OwnershipFactory(dataset=item, user=owner)
    first = VersionFactory(dataset=transactions, number=1, fingerprint=FIRST, uri="file:///data/tx/1.csv")
    second = VersionFactory(dataset=transactions, number=2, fingerprint=SECOND, uri="file:///data/tx/2.csv")
    held = VersionFactory(dataset=holdout, number=1, fingerprint="sha256:" + "3" * 64, uri="file:///data/holdout.csv")
    return {"transactions": transactions, "holdout": holdout, "first": first, "second": second, "held": held}


def training_events(run_id, start, **extra):
    """What a training script reports: START with its inputs, parameters and code, COMPLETE with its model."""
    begin = event(
        "START",
        run_id,
        start,
        inputs=[
            source("finance", "transactions", FIRST),
            # Named by its location, as a script reading the file would: the catalog knows it by its alias.
            {
                **source("file", "/data/holdout.csv"),
                "inputFacets": {"trainingRole": facet(role="validation")},
            },
        ],
        run_facets={
            "executionParameters": facet(
                parameters=[{"key": "learning_rate", "value": "0.01"}, {"key": "epochs", "value": "20"}]
            ),
            "hyperparameters": facet(optimizer={"name": "adam", "betas": [0.9, 0.999]}, max_depth=8),
        },
        job_facets={
            "sourceCodeLocation": facet(
                type="git",
                url="https://github.com/example/fraud/blob/4f2a9c1/train.py",
                repoUrl="https://github.com/example/fraud.git",
                version="4f2a9c1e8b7d",
                path="train.py",
            )
        },
        **extra,
    )
    end = event("COMPLETE", run_id, start + timedelta(minutes=35), outputs=[model_output(version="1.3.0")], **extra)
    return begin, end


@pytest.mark.parametrize("order", ["start-then-complete", "complete-then-start", "twice"])
def test_a_run_reported_by_start_and_complete_is_one_training_run(owner, catalog, post, order):
    run_id = uuid.uuid4()
    start = timezone.now() + timedelta(seconds=1)
    begin, end = training_events(run_id, start)
    events = {"start-then-complete": [begin, end], "complete-then-start": [end, begin], "twice": [begin, end, end]}

    post(owner, *events[order])

    run = TrainingRun.objects.get()
    assert (run.source, run.external_id, run.lineage_run_id) == ("openlineage", str(run_id), run_id)
    assert (run.model.namespace, run.model.name, run.model_version) == ("models", "fraud-scorer", "1.3.0")
    assert (run.status, run.started_at, run.ended_at) == ("completed", start, start + timedelta(minutes=35))
    assert run.confirmed
    assert run.hyperparameters == {
        "learning_rate": "0.01",
        "epochs": "20",
        "optimizer": {"name": "adam", "betas": [0.9, 0.999]},
        "max_depth": 8,
    }
    assert (run.code_repository, run.code_commit, run.code_entrypoint) == (
        "https://github.com/example/fraud.git",
        "4f2a9c1e8b7d",
        "train.py",
    )
    inputs = [(item.version_id, item.fingerprint, item.role, item.pinned) for item in run.inputs.order_by("position")]
    assert inputs == [
        (catalog["first"].pk, FIRST, "train", True),
        (catalog["held"].pk, catalog["held"].fingerprint, "validation", False),
    ]
    assert run.unmatched_inputs == []


def test_the_training_run_answers_over_the_api(owner, owner_client, catalog, post):
    run_id = uuid.uuid4()
    post(owner, *training_events(run_id, timezone.now() + timedelta(seconds=1)))

    body = owner_client.get("/api/v1/training-runs/").json()

    [item] = body["results"]
    assert (item["source"], item["status"], item["model_version"]) == ("openlineage", "completed", "1.3.0")
    assert item["hyperparameters"]["learning_rate"] == "0.01"
    assert [(entry["version"], entry["fingerprint"], entry["pinned"]) for entry in item["inputs"]] == [
        (str(catalog["first"].pk), FIRST, True),
        (str(catalog["held"].pk), catalog["held"].fingerprint, False),
    ]


def test_an_input_named_without_a_version_is_the_latest_ready_one_not_pinned(owner, catalog, post):
    start = timezone.now() + timedelta(seconds=1)
    post(
        owner,
        event(
            "COMPLETE",
            uuid.uuid4(),
            start,
            # A version facet that names no catalog version (a Delta table's) pins nothing.
            inputs=[source("finance", "transactions"), source("finance", "holdout", "delta-17")],
            outputs=[model_output()],
        ),
    )

    run = TrainingRun.objects.get()
    assert [(item.version_id, item.pinned) for item in run.inputs.order_by("position")] == [
        (catalog["second"].pk, False),
        (catalog["held"].pk, False),
    ]


def test_a_version_registered_after_the_run_started_is_not_what_it_read(owner, catalog, post):
    post(
        owner,
        event(
            "COMPLETE",
            uuid.uuid4(),
            timezone.now() - timedelta(days=1),
            inputs=[source("finance", "transactions")],
            outputs=[model_output()],
        ),
    )

    run = TrainingRun.objects.get()
    assert not run.inputs.exists()
    assert run.unmatched_inputs == [
        {
            "namespace": "finance",
            "name": "transactions",
            "role": "train",
            "reason": "no ready version when the run started",
        }
    ]


def test_inputs_matching_nothing_are_listed_as_reported(owner, catalog, post):
    pending = VersionFactory(dataset=catalog["holdout"], number=2, status="pending", fingerprint="")
    post(
        owner,
        event(
            "COMPLETE",
            uuid.uuid4(),
            timezone.now() + timedelta(seconds=1),
            inputs=[
                source("s3://vendor-drop", "fraud/raw.parquet", "v7"),
                source("finance", "holdout", str(pending.pk)),
                source("finance", "transactions", FIRST),
            ],
            outputs=[model_output()],
        ),
    )

    run = TrainingRun.objects.get()
    assert [item.version_id for item in run.inputs.all()] == [catalog["first"].pk]
    assert run.unmatched_inputs == [
        {
            "namespace": "s3://vendor-drop",
            "name": "fraud/raw.parquet",
            "role": "train",
            "version": "v7",
            "reason": "no ready version when the run started",
        },
        {
            "namespace": "finance",
            "name": "holdout",
            "role": "train",
            "version": str(pending.pk),
            "reason": "version 2 is pending",
        },
    ]
    # The lineage has the whole event, as always.
    assert LineageEvent.objects.count() == 1


def test_an_input_the_sender_may_not_read_is_listed_not_resolved(owner, stranger, catalog, post):
    Dataset.objects.filter(pk=catalog["holdout"].pk).update(sensitivity=Sensitivity.RESTRICTED)
    post(
        stranger,
        event(
            "COMPLETE",
            uuid.uuid4(),
            timezone.now() + timedelta(seconds=1),
            inputs=[source("finance", "holdout", catalog["held"].fingerprint)],
            outputs=[model_output(name="strangers-model")],
        ),
    )

    run = TrainingRun.objects.get()
    assert not run.inputs.exists()
    assert [item["reason"] for item in run.unmatched_inputs] == ["no dataset of the catalog the sender may read"]


def test_a_stranger_s_run_of_someone_else_s_model_is_recorded_unconfirmed(owner, stranger, catalog, post):
    model = training_run_record(
        actor=owner, spec=RunSpec(model=ModelRef(namespace="models", name="fraud-scorer", description="Ours."))
    ).model
    owners = list(ModelOwnership.objects.filter(model=model).values_list("user_id", "role"))
    start = timezone.now() + timedelta(seconds=1)

    post(
        stranger,
        event(
            "COMPLETE",
            uuid.uuid4(),
            start,
            inputs=[source("finance", "transactions", FIRST)],
            outputs=[model_output(documentation=facet(description="Taken over."))],
            run_facets={"hyperparameters": facet(lr=1)},
        ),
    )

    reported = TrainingRun.objects.get(source="openlineage")
    assert reported.model_id == model.pk
    assert not reported.confirmed
    assert reported.hyperparameters == {"lr": 1}
    model.refresh_from_db()
    assert model.description == "Ours."
    assert list(ModelOwnership.objects.filter(model=model).values_list("user_id", "role")) == owners


def test_a_training_job_without_a_model_output_names_the_model_by_the_job(owner, catalog, post):
    run_id = uuid.uuid4()
    start = timezone.now() + timedelta(seconds=1)
    training = {"jobType": facet(processingType="BATCH", integration="SKLEARN", jobType="TRAINING")}

    post(owner, event("START", run_id, start, inputs=[source("finance", "transactions", "2")], job_facets=training))
    # Its model may yet be named by a MODEL output when it ends.
    assert not TrainingRun.objects.exists()
    post(owner, event("FAIL", run_id, start + timedelta(minutes=3), job_facets=training))

    run = TrainingRun.objects.get()
    assert (run.model.namespace, run.model.name, run.status) == ("ml", "fraud.fit", "failed")
    assert (run.started_at, run.ended_at) == (start, start + timedelta(minutes=3))
    assert [(item.version_id, item.pinned) for item in run.inputs.all()] == [(catalog["second"].pk, True)]


def test_other_runs_record_no_training(owner, catalog, post):
    post(
        owner,
        event(
            "COMPLETE",
            uuid.uuid4(),
            timezone.now(),
            inputs=[source("finance", "transactions")],
            outputs=[{"namespace": "finance", "name": "features", "facets": {}}],
        ),
    )

    assert Run.objects.count() == 1
    assert not TrainingRun.objects.exists()
    assert not Model.objects.exists()


@pytest.mark.parametrize("shape", ["deep", "huge"])
def test_hostile_hyperparameters_are_bounded_and_the_event_stands(owner, catalog, post, shape):
    deep: dict = {"leaf": 1}
    for _ in range(80):
        deep = {"next": deep}
    huge = {f"p{index}": "x" * 1000 for index in range(MAX_JSON_BYTES // 1000 + 10)}
    post(
        owner,
        event(
            "COMPLETE",
            uuid.uuid4(),
            timezone.now(),
            outputs=[model_output()],
            run_facets={"hyperparameters": facet(**({"deep": deep} if shape == "deep" else huge))},
        ),
    )

    run = TrainingRun.objects.get()
    assert run.hyperparameters == {}
    assert "hyperparameters" in run.environment["openlineage_omitted"]
    # The lineage run keeps the facet whole.
    assert "hyperparameters" in Run.objects.get().facets


def test_a_training_run_that_cannot_be_recorded_never_costs_the_event(owner, stranger, catalog, post):
    # The stranger's run id is the owner's training run already: the stranger may not report it again.
    _, end = training_events(uuid.uuid4(), timezone.now() + timedelta(seconds=1))
    post(owner, end)
    other = event("COMPLETE", uuid.uuid4(), timezone.now() + timedelta(seconds=2), outputs=[model_output()])
    TrainingRun.objects.update(external_id=other["run"]["runId"])

    post(stranger, other)

    assert LineageEvent.objects.count() == 2
    assert TrainingRun.objects.get().created_by == owner
