"""How an MLflow run reads as a RunSpec, on MLflow's own entities (no server: those tests are in
test_mlflow_import.py), and which tracking URIs are taken."""

from datetime import UTC, datetime

import pytest
from mlflow.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunTag,
)
from mlflow.entities.model_registry import ModelVersion

from training.mlflow import redacted, run_spec, tracking_namespace, tracking_uri_checked

STARTED = 1_796_000_000_000


def _run(status="FINISHED", metrics=(), params=(), tags=(), inputs=(), end_time=STARTED + 60_000) -> Run:
    info = RunInfo(
        run_id="0123abcd",
        experiment_id="7",
        user_id="ada",
        status=status,
        start_time=STARTED,
        end_time=end_time,
        lifecycle_stage="active",
        artifact_uri="file:///runs/0123abcd/artifacts",
        run_name="brave-owl",
    )
    data = RunData(metrics=list(metrics), params=list(params), tags=list(tags))
    return Run(info, data, RunInputs(dataset_inputs=list(inputs)))


def _input(source: str, context: str | None, **fields) -> DatasetInput:
    dataset = Dataset(
        name=fields.get("name", "dataset"),
        digest=fields.get("digest", "3b80f8a0"),
        source_type=fields.get("source_type", "local"),
        source=source,
    )
    tags = [InputTag("mlflow.data.context", context)] if context is not None else []
    return DatasetInput(dataset, tags + [InputTag(key, value) for key, value in fields.get("tags", {}).items()])


def test_it_reads_params_as_strings_and_the_latest_metric_of_each_key():
    run = _run(
        params=[Param("learning_rate", "0.01"), Param("layers", "3")],
        metrics=[Metric("loss", 0.25, STARTED + 2, 9), Metric("accuracy", float("nan"), STARTED, 0)],
    )

    spec = run_spec(run, experiment="flowers", namespace="mlflow://tracking:5000").spec

    assert spec.hyperparameters == {"learning_rate": "0.01", "layers": "3"}
    assert spec.metrics == {"loss": 0.25, "accuracy": "NaN"}
    assert (spec.source, spec.external_id) == ("mlflow", "0123abcd")
    assert spec.started_at == datetime.fromtimestamp(STARTED / 1000, tz=UTC)
    assert spec.ended_at == datetime.fromtimestamp((STARTED + 60_000) / 1000, tz=UTC)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("FINISHED", "completed"),
        ("FAILED", "failed"),
        ("KILLED", "failed"),
        ("RUNNING", "running"),
        ("SCHEDULED", "running"),
    ],
)
def test_it_maps_mlflow_statuses(status, expected):
    assert run_spec(_run(status=status), experiment="e", namespace="mlflow://h").spec.status == expected


def test_it_reads_the_code_from_the_source_tags():
    tags = [
        RunTag("mlflow.source.git.commit", "9fceb02"),
        RunTag("mlflow.source.name", "train.py"),
        RunTag("mlflow.source.git.repoURL", "https://git.example.org/vision/flowers"),
        RunTag("team", "vision"),
    ]

    spec = run_spec(_run(tags=tags), experiment="flowers", namespace="mlflow://h").spec

    assert (spec.code_commit, spec.code_entrypoint, spec.code_repository) == (
        "9fceb02",
        "train.py",
        "https://git.example.org/vision/flowers",
    )
    assert spec.environment["mlflow"]["tags"] == {"team": "vision"}
    assert spec.environment["mlflow"]["run_name"] == "brave-owl"


def test_a_run_without_a_registered_model_is_one_of_a_model_named_after_its_experiment():
    spec = run_spec(_run(), experiment="flowers", namespace="mlflow://tracking:5000").spec

    assert (spec.model.namespace, spec.model.name, spec.model_version) == ("mlflow://tracking:5000", "flowers", "")


def test_the_first_registered_model_version_of_the_run_names_the_model_and_its_version():
    later = ModelVersion("flowers-prod", "4", creation_timestamp=STARTED + 9, run_id="0123abcd", source="s3://b/m2")
    first = ModelVersion("flower-classifier", "2", creation_timestamp=STARTED + 5, run_id="0123abcd", source="s3://b/m")

    spec = run_spec(_run(), experiment="flowers", namespace="mlflow://h", registered=[later, first]).spec

    assert (spec.model.name, spec.model_version) == ("flower-classifier", "2")
    assert [artifact.uri for artifact in spec.artifacts] == ["s3://b/m"]


def test_it_reads_each_logged_dataset_with_its_role_digest_and_source():
    inputs = [
        _input('{"uri": "file:///data/train.csv"}', "training", name="train"),
        _input('{"uri": "file:///data/valid.csv"}', "validation"),
        _input('{"uri": "file:///data/test.csv"}', "testing"),
        _input('{"path": "/data/extra parquet"}', "eval"),
        _input('{"uri": "s3://bucket/x"}', None, tags={"catalog.fingerprint": "sha256:" + "a" * 64}),
    ]

    read = run_spec(_run(inputs=inputs), experiment="e", namespace="mlflow://h").inputs

    assert [(item.role, item.source_uri) for item in read] == [
        ("train", "file:///data/train.csv"),
        ("validation", "file:///data/valid.csv"),
        ("test", "file:///data/test.csv"),
        ("other", "file:///data/extra%20parquet"),
        ("other", "s3://bucket/x"),
    ]
    assert read[0].reported() == {
        "name": "train",
        "digest": "3b80f8a0",
        "source_type": "local",
        "source": "file:///data/train.csv",
        "context": "training",
        "role": "train",
    }
    assert read[4].fingerprint == "sha256:" + "a" * 64


def test_the_namespace_of_a_tracking_server_carries_no_credentials():
    uri = "https://ada:s3cret@mlflow.example.org:8443/tracking/?token=x#frag"

    assert tracking_namespace(uri) == "mlflow://mlflow.example.org:8443/tracking"
    assert "s3cret" not in redacted(uri)
    assert "token" not in redacted(uri)


@pytest.mark.parametrize(
    "uri",
    ["sqlite:///mlflow.db", "file:///srv/mlruns", "/srv/mlruns", "databricks", "http://", "postgresql://db/mlflow", ""],
)
def test_it_takes_only_the_url_of_a_tracking_server(uri):
    with pytest.raises(ValueError, match=r"tracking server|not a URL"):
        tracking_uri_checked(uri)
