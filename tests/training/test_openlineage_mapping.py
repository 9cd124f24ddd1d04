"""The plain mapping of an OpenLineage RunEvent to a training run, on events as the official client
builds them (serialised by its own Serde) and as the lineage demo sends them."""

import json
import uuid
from datetime import UTC, datetime

import pytest
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    dataset_type_dataset,
    dataset_version_dataset,
    documentation_dataset,
    execution_parameters_run,
    job_type_job,
    output_statistics_output_dataset,
    processing_engine_run,
    source_code_job,
    source_code_location_job,
)
from openlineage.client.serde import Serde

from lineage.openlineage import validate_event
from training.openlineage import (
    ReportedArtifact,
    ReportedInput,
    event_training_report,
    execution_parameters,
    status_of,
)
from training.specs import MAX_JSON_BYTES, MAX_JSON_DEPTH

RUN_ID = "0195c2a4-6f1e-7d4b-9a8e-3c1f2b9d4e5a"
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python"


def _client_event(*, state=RunState.COMPLETE, inputs=None, outputs=None, run_facets=None, job_facets=None):
    event = RunEvent(
        eventType=state,
        eventTime=datetime(2026, 11, 20, 9, 30, tzinfo=UTC).isoformat(),
        run=Run(runId=RUN_ID, facets=run_facets or {}),
        job=Job(namespace="ml-training", name="fraud.fit", facets=job_facets or {}),
        producer=PRODUCER,
        inputs=inputs or [],
        outputs=outputs or [],
    )
    payload = json.loads(json.dumps(Serde.to_dict(event)))
    # What the catalog is handed is what its validation accepts.
    validate_event(payload)
    return payload


def _model(name="fraud-scorer", namespace="models", **facets):
    return OutputDataset(
        namespace=namespace,
        name=name,
        facets={"datasetType": dataset_type_dataset.DatasetTypeDatasetFacet(datasetType="MODEL"), **facets},
    )


def _parameters(**values):
    return execution_parameters_run.ExecutionParametersRunFacet(
        parameters=[execution_parameters_run.ExecutionParameter(key=key, value=value) for key, value in values.items()]
    )


def test_it_reads_a_training_run_from_the_official_clients_event():
    event = _client_event(
        inputs=[
            InputDataset(
                namespace="s3://training-data",
                name="fraud/2026-11.parquet",
                facets={
                    "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="sha256:" + "a" * 64)
                },
            ),
            InputDataset(namespace="postgres://db:5432", name="public.holdout"),
        ],
        outputs=[
            _model(
                namespace="s3://models",
                name="fraud-scorer/1.3.0",
                version=dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="1.3.0"),
                documentation=documentation_dataset.DocumentationDatasetFacet(description="Scores card payments."),
            )
        ],
        run_facets={
            "executionParameters": _parameters(learning_rate="0.01", epochs="20"),
            "processingEngine": processing_engine_run.ProcessingEngineRunFacet(version="2.5.1", name="pytorch"),
        },
        job_facets={
            "sourceCodeLocation": source_code_location_job.SourceCodeLocationJobFacet(
                type="git",
                url="https://github.com/example/fraud/blob/4f2a9c1/train.py",
                repoUrl="https://github.com/example/fraud.git",
                path="train.py",
                version="4f2a9c1e8b7d",
                branch="main",
            ),
            "sourceCode": source_code_job.SourceCodeJobFacet(language="python", sourceCode="fit()"),
        },
    )

    report = event_training_report(event)

    assert report is not None
    assert (report.run_id, report.model_namespace, report.model_name) == (RUN_ID, "s3://models", "fraud-scorer/1.3.0")
    assert (report.model_version, report.model_description, report.status) == (
        "1.3.0",
        "Scores card payments.",
        "completed",
    )
    # The specification's list of parameters becomes an object; the values stay as sent (strings).
    assert report.hyperparameters == {"learning_rate": "0.01", "epochs": "20"}
    assert (report.code_repository, report.code_commit, report.code_entrypoint) == (
        "https://github.com/example/fraud.git",
        "4f2a9c1e8b7d",
        "train.py",
    )
    assert report.environment == {
        "engine": "pytorch",
        "engine_version": "2.5.1",
        "language": "python",
        "source_url": "https://github.com/example/fraud/blob/4f2a9c1/train.py",
        "source_branch": "main",
        "source_type": "git",
    }
    assert report.inputs == (
        ReportedInput("s3://training-data", "fraud/2026-11.parquet", "train", "sha256:" + "a" * 64),
        ReportedInput("postgres://db:5432", "public.holdout", "train", ""),
    )
    # A model written to an object store is also the run's artifact.
    assert report.artifacts == (ReportedArtifact("s3://models/fraud-scorer/1.3.0"),)
    assert report.omitted == {}


def test_a_training_job_type_names_the_model_by_the_job():
    event = _client_event(
        state=RunState.START,
        outputs=[OutputDataset(namespace="models", name="scores")],
        job_facets={
            "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="PYTORCH", jobType="TRAINING")
        },
    )

    report = event_training_report(event)

    assert report is not None
    assert (report.model_namespace, report.model_name, report.status) == ("ml-training", "fraud.fit", "running")
    assert report.environment == {"integration": "PYTORCH"}
    assert report.artifacts == ()


@pytest.mark.parametrize("job_type", ["MODEL", "training"])
def test_a_model_job_type_also_reports_a_training(job_type):
    event = _client_event(
        job_facets={
            "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="DBT", jobType=job_type)
        }
    )

    assert event_training_report(event) is not None


def test_a_training_job_s_start_without_outputs_waits_for_the_model():
    training = job_type_job.JobTypeJobFacet(processingType="BATCH", integration="PYTORCH", jobType="TRAINING")
    started = _client_event(state=RunState.START, job_facets={"jobType": training})

    assert event_training_report(started) is None
    # Ended without naming a model: the job names it.
    report = event_training_report(started, state="FAIL")
    assert report is not None
    assert (report.model_name, report.status) == ("fraud.fit", "failed")


def test_other_runs_report_no_training():
    query = job_type_job.JobTypeJobFacet(processingType="BATCH", integration="SPARK", jobType="QUERY")
    table = OutputDataset(
        namespace="s3://lake",
        name="orders",
        facets={"datasetType": dataset_type_dataset.DatasetTypeDatasetFacet(datasetType="TABLE")},
    )

    assert event_training_report(_client_event(outputs=[table], job_facets={"jobType": query})) is None
    assert event_training_report(_client_event()) is None


def test_a_model_among_other_outputs_names_the_run_s_model():
    event = _client_event(
        outputs=[OutputDataset(namespace="s3://lake", name="predictions"), _model(name="churn")],
        job_facets={
            "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="SPARK", jobType="TRAINING")
        },
    )

    report = event_training_report(event)

    assert report is not None
    assert (report.model_namespace, report.model_name) == ("models", "churn")


def test_the_demo_s_hyperparameters_facet_merges_over_execution_parameters():
    # load_lineage_demo sends {"hyperparameters": {"_producer", "_schemaURL", "max_depth": 8, ...}}.
    event = _client_event(outputs=[_model()], run_facets={"executionParameters": _parameters(max_depth="6", seed="7")})
    event["run"]["facets"]["hyperparameters"] = {
        "_producer": PRODUCER,
        "_schemaURL": "https://example.com/HyperparametersRunFacet.json",
        "max_depth": 8,
        "optimizer": {"name": "adam", "betas": [0.9, 0.999]},
    }
    validate_event(event)

    report = event_training_report(event)

    assert report is not None
    assert report.hyperparameters == {
        "max_depth": 8,
        "seed": "7",
        "optimizer": {"name": "adam", "betas": [0.9, 0.999]},
    }


def test_execution_parameters_keep_values_as_sent():
    facets = {
        "executionParameters": {
            "_producer": PRODUCER,
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/ExecutionParametersRunFacet.json",
            "parameters": [
                {"key": "batch_size", "value": "64", "name": "Batch size", "description": "Rows a step"},
                {"key": "dropout"},
                {"name": "no key"},
                "not a parameter",
            ],
        }
    }

    assert execution_parameters(facets) == {"batch_size": "64", "dropout": None}
    # An object in place of the list (as some producers send) is read as {key: value} already.
    assert execution_parameters({"executionParameters": {"parameters": {"lr": 0.1}}}) == {"lr": 0.1}
    assert execution_parameters({"executionParameters": "nonsense"}) == {}


@pytest.mark.parametrize(
    ("state", "status"),
    [("START", "running"), ("RUNNING", "running"), ("COMPLETE", "completed"), ("FAIL", "failed"), ("ABORT", "failed")],
)
def test_run_states_map_to_statuses(state, status):
    assert status_of(state) == status
    assert event_training_report(_client_event(outputs=[_model()]), state=state).status == status


def test_roles_come_from_an_input_facet():
    event = _client_event(
        outputs=[_model()],
        inputs=[
            InputDataset(namespace="file", name="/data/train.csv"),
            InputDataset(namespace="file", name="/data/valid.csv"),
            InputDataset(namespace="file", name="/data/test.csv"),
            InputDataset(namespace="file", name="/data/other.csv"),
        ],
    )
    roles = [None, {"trainingRole": {"role": "val"}}, {"role": {"split": "TEST"}}, {"trainingRole": {"role": "x"}}]
    for item, facets in zip(event["inputs"], roles, strict=True):
        if facets:
            item["inputFacets"] = {key: {"_producer": PRODUCER, "_schemaURL": "x", **v} for key, v in facets.items()}
    validate_event(event)

    report = event_training_report(event)

    assert report is not None
    assert [item.role for item in report.inputs] == ["train", "validation", "test", "other"]


def test_a_local_model_file_is_an_artifact_with_its_size():
    model = _model(namespace="file", name="/models/fraud.pt")
    model.outputFacets = {
        "outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=1, size=2048)
    }
    report = event_training_report(_client_event(outputs=[model]))

    assert report is not None
    assert report.artifacts == (ReportedArtifact("file:///models/fraud.pt", 2048),)


def test_hostile_hyperparameters_are_left_out_and_said_so():
    deep: dict = {"leaf": 1}
    for _ in range(MAX_JSON_DEPTH + 5):
        deep = {"next": deep}
    huge = {f"p{index}": "x" * 1000 for index in range(MAX_JSON_BYTES // 1000 + 1)}
    for facet, reason in ((deep, "levels deep"), (huge, "larger than")):
        event = _client_event(outputs=[_model()])
        event["run"]["facets"]["hyperparameters"] = {"_producer": PRODUCER, "_schemaURL": "x", **facet}

        report = event_training_report(event)

        assert report is not None
        assert report.hyperparameters == {}
        assert reason in report.omitted["hyperparameters"]


def test_over_long_code_references_are_left_out_not_cut():
    event = _client_event(
        outputs=[_model()],
        job_facets={
            "sourceCodeLocation": source_code_location_job.SourceCodeLocationJobFacet(
                type="git", url="https://example.com/" + "a" * 3000, version="b" * 300, path="train.py"
            )
        },
    )

    report = event_training_report(event)

    assert report is not None
    assert (report.code_repository, report.code_commit, report.code_entrypoint) == ("", "", "train.py")


def test_the_run_id_is_kept_as_sent():
    run_id = str(uuid.uuid4())
    event = _client_event(outputs=[_model()])
    event["run"]["runId"] = run_id

    assert event_training_report(event).run_id == run_id


def test_a_model_named_by_an_earlier_event_makes_any_event_of_the_run_a_training():
    # A START arriving after the COMPLETE that named the model: it carries the inputs and parameters.
    event = _client_event(
        state=RunState.START,
        inputs=[InputDataset(namespace="finance", name="transactions")],
        outputs=[OutputDataset(namespace="s3://lake", name="predictions")],
        run_facets={"executionParameters": _parameters(lr="0.1")},
    )

    assert event_training_report(event) is None
    report = event_training_report(event, model=("models", "fraud-scorer"))
    assert report is not None
    assert (report.model_namespace, report.model_name, report.model_version) == ("models", "fraud-scorer", "")
    assert (report.hyperparameters, report.artifacts) == ({"lr": "0.1"}, ())
    assert [item.name for item in report.inputs] == ["transactions"]
