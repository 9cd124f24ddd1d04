"""Importing training runs from a real MLflow tracking server (`mlflow server`, SQLite backend, started
once for the session), with runs logged by the `mlflow` client: params, metrics, git tags, datasets
logged with `mlflow.log_input` and registered model versions.

The server is a process of its own from its own venv, as PostgreSQL and Redis are (`make install`
builds .venv-mlflow from requirements/mlflow-server-lock.txt; CATALOG_TEST_MLFLOW_SERVER names another
`mlflow` executable). The runs are logged with the service's own client, mlflow-skinny.

Marked e2e, as the tests that start gunicorn are: the server takes seconds to start, which make
test-fast leaves out. The catalog side stays in-process (tasks eager, data rolled back)."""

from __future__ import annotations

import csv
import io
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from django.core.management import CommandError, call_command
from mlflow.tracking import MlflowClient

from catalog.models import Dataset
from config import errors
from config.celery_app import app as celery_app
from governance.choices import Sensitivity
from governance.models import Change
from tests.e2e.processes import free_port
from training.choices import ImportStatus
from training.mlflow import TrackingServerError
from training.models import MlflowImport, TrainingRun
from training.services.mlflow import mlflow_import
from training.tasks import mlflow_import_scheduled_task

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db,
    # The client's own chatter while it logs the datasets: which source class it picked for a file URI,
    # and pandas' notice about a call inside mlflow.
    pytest.mark.filterwarnings("ignore:The specified dataset source can be interpreted in multiple ways"),
    pytest.mark.filterwarnings("ignore:Starting with pandas version 4.0"),
]


@pytest.fixture(autouse=True)
def catalog_in_process():
    """The catalog's own tasks (profiling a registered version) run in-process here, as in the unit
    tests: only the tracking server is a process of its own."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def experiment(mlflow_server) -> str:
    """An experiment of the test's own: the server lives for the session, the catalog's data for a test."""
    name = f"flowers-{uuid.uuid4().hex[:10]}"
    mlflow.set_experiment(name)
    return name


def _write_csv(path: Path, rows: int, offset: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["petal length", "petal width", "species"])
        for index in range(rows):
            writer.writerow([1.0 + (index + offset) / 10, 0.2 + index / 50, ("setosa", "versicolor")[index % 2]])
    return path


@pytest.fixture
def register(owner_client, django_capture_on_commit_callbacks):
    """Register a file as a dataset through the API and profile it: its ready version."""

    def register(path: Path, name: str):
        with django_capture_on_commit_callbacks(execute=True):
            response = owner_client.post(
                "/api/v1/datasets/",
                {"namespace": "garden", "name": name, "source": {"uri": str(path), "label_column": "species"}},
                format="json",
            )
        assert response.status_code == 201, response.content
        version = Dataset.objects.get(pk=response.json()["id"]).latest_version
        assert version.status == "ready", version.error
        return version

    return register


def _frame(path: Path) -> pd.DataFrame:
    return pd.read_csv(path)


def _register_model_version(run_id: str, name: str) -> str:
    client = MlflowClient()
    client.create_registered_model(name)
    run = client.get_run(run_id)
    return client.create_model_version(name, source=f"{run.info.artifact_uri}/model", run_id=run_id).version


@pytest.fixture
def trained(experiment, storage_root, register):
    """A finished run of the experiment: params, metrics, git tags, three datasets (the training one
    pinned by its catalog fingerprint, the validation one known by its URI, a third the catalog does
    not have) and a registered model version."""
    train = register(_write_csv(storage_root / "flowers" / "train.csv", 40), "flowers-train")
    valid = register(_write_csv(storage_root / "flowers" / "valid.csv", 12, offset=100), "flowers-valid")
    scratch = _write_csv(storage_root.parent / "scratch" / "test.csv", 5)
    tags = {
        "mlflow.source.git.commit": "9fceb02d0ae598e95dc970b74767f19372d61af8",
        "mlflow.source.name": "train.py",
        "mlflow.source.git.repoURL": "https://git.example.org/vision/flowers",
    }
    with mlflow.start_run(tags=tags) as run:
        mlflow.log_params({"learning_rate": 0.01, "layers": 3, "optimizer": "adam"})
        mlflow.log_metric("loss", 0.9, step=0)
        mlflow.log_metric("loss", 0.35, step=1)
        mlflow.log_metric("accuracy", 0.93)
        mlflow.log_input(
            mlflow.data.from_pandas(_frame(Path(train.uri.removeprefix("file://"))), source=train.uri, name="train"),
            context="training",
            tags={"catalog.fingerprint": train.fingerprint},
        )
        mlflow.log_input(
            mlflow.data.from_pandas(_frame(Path(valid.uri.removeprefix("file://"))), source=valid.uri),
            context="validation",
        )
        mlflow.log_input(
            mlflow.data.from_pandas(_frame(scratch), source=scratch.as_uri(), name="scratch"), context="testing"
        )
        mlflow.log_text("weights", "model/weights.txt")
    model = f"flower-classifier-{uuid.uuid4().hex[:8]}"
    version = _register_model_version(run.info.run_id, model)
    return {
        "run_id": run.info.run_id,
        "train": train,
        "valid": valid,
        "scratch": scratch,
        "model": model,
        "version": version,
    }


def test_it_imports_a_run_with_its_pinned_inputs_hyperparameters_metrics_code_and_registered_model(
    mlflow_server, experiment, trained, owner, owner_client
):
    summary = mlflow_import(actor=owner, tracking_uri=mlflow_server, experiments=[experiment])

    assert (summary.read, summary.created, summary.failed, summary.unmatched_inputs) == (1, 1, 0, 1)
    run = TrainingRun.objects.get(source="mlflow", external_id=trained["run_id"])
    assert (run.model.namespace, run.model.name, run.model_version) == (
        f"mlflow://{mlflow_server.removeprefix('http://')}",
        trained["model"],
        trained["version"],
    )
    assert run.status == "completed"
    assert run.started_at <= run.ended_at
    assert (run.code_commit, run.code_entrypoint, run.code_repository) == (
        "9fceb02d0ae598e95dc970b74767f19372d61af8",
        "train.py",
        "https://git.example.org/vision/flowers",
    )

    body = owner_client.get(f"/api/v1/training-runs/{run.pk}/").json()

    assert body["source"] == "mlflow"
    assert body["hyperparameters"] == {"learning_rate": "0.01", "layers": "3", "optimizer": "adam"}
    assert body["metrics"] == {"loss": 0.35, "accuracy": 0.93}
    train, valid = trained["train"], trained["valid"]
    assert [
        (item["version"], item["version_number"], item["fingerprint"], item["role"], item["pinned"])
        for item in body["inputs"]
    ] == [
        (str(train.pk), train.number, train.fingerprint, "train", True),
        (str(valid.pk), valid.number, valid.fingerprint, "validation", False),
    ]
    [unmatched] = run.unmatched_inputs
    assert unmatched["source"] == trained["scratch"].as_uri()
    assert (unmatched["name"], unmatched["role"], unmatched["context"]) == ("scratch", "test", "testing")
    assert "no version you may read is registered at this source URI" in unmatched["reason"]
    assert [artifact.uri for artifact in run.artifacts.all()] == [
        f"{MlflowClient().get_run(trained['run_id']).info.artifact_uri}/model"
    ]


def test_importing_twice_changes_nothing(mlflow_server, experiment, trained, owner):
    mlflow_import(actor=owner, tracking_uri=mlflow_server, experiments=[experiment])
    run = TrainingRun.objects.get(source="mlflow", external_id=trained["run_id"])
    changes, artifacts = Change.objects.count(), list(run.artifacts.values_list("pk", flat=True))

    again = mlflow_import(actor=owner, tracking_uri=mlflow_server, experiments=[experiment])

    assert (again.read, again.created, again.updated, again.unchanged) == (1, 0, 0, 1)
    assert TrainingRun.objects.filter(source="mlflow").count() == 1
    assert Change.objects.count() == changes
    run.refresh_from_db()
    assert TrainingRun.objects.get(pk=run.pk).updated_at == run.updated_at
    assert list(run.artifacts.values_list("pk", flat=True)) == artifacts


def test_a_run_that_goes_on_is_updated_when_it_ends_and_only_then(
    mlflow_server, experiment, owner, storage_root, register
):
    version = register(_write_csv(storage_root / "flowers" / "train.csv", 20), "flowers-train")
    client = MlflowClient()
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    # A digest of at least 32 hex digits of the fingerprint pins the input (MLflow keeps 36 characters).
    digest = version.fingerprint.removeprefix("sha256:")[:36]
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_param("epochs", 10)
        mlflow.log_metric("loss", 0.8)
        mlflow.log_input(
            mlflow.data.from_pandas(_frame(storage_root / "flowers" / "train.csv"), digest=digest), context="train"
        )
        run_id = run.info.run_id
        client.set_tag(run_id, "team", "vision")

        first = mlflow_import(actor=owner, tracking_uri=mlflow_server, experiments=[experiment])
        recorded = TrainingRun.objects.get(external_id=run_id)
        assert (first.created, recorded.status, recorded.ended_at) == (1, "running", None)
        assert (recorded.model.name, recorded.model_version) == (experiment, "")
        assert [(item.version_id, item.pinned) for item in recorded.inputs.all()] == [(version.pk, True)]
        assert mlflow_import(actor=owner, tracking_uri=mlflow_server, experiments=[experiment]).unchanged == 1

        mlflow.log_metric("loss", 0.2)
    client.set_terminated(run_id, "FAILED")

    last = mlflow_import(actor=owner, tracking_uri=mlflow_server, experiments=[experiment])

    recorded.refresh_from_db()
    assert (last.updated, recorded.status, recorded.metrics) == (1, "failed", {"loss": 0.2})
    assert recorded.ended_at is not None
    assert recorded.hyperparameters == {"epochs": "10"}


def test_it_imports_only_the_runs_that_started_or_ended_since_a_moment(mlflow_server, experiment, owner):
    client = MlflowClient()
    experiment_id = client.get_experiment_by_name(experiment).experiment_id
    long_ago = datetime.now(UTC) - timedelta(days=30)
    old = client.create_run(experiment_id, start_time=int(long_ago.timestamp() * 1000))
    client.set_terminated(old.info.run_id, "FINISHED", end_time=int((long_ago + timedelta(hours=2)).timestamp() * 1000))
    ended_lately = client.create_run(experiment_id, start_time=int(long_ago.timestamp() * 1000))
    client.set_terminated(ended_lately.info.run_id, "FINISHED")
    recent = client.create_run(experiment_id)

    summary = mlflow_import(
        actor=owner, tracking_uri=mlflow_server, experiments=[experiment], since=datetime.now(UTC) - timedelta(days=1)
    )

    assert summary.read == 2
    assert set(TrainingRun.objects.values_list("external_id", flat=True)) == {
        ended_lately.info.run_id,
        recent.info.run_id,
    }


def test_the_command_imports_and_prints_a_summary(mlflow_server, experiment, trained, owner):
    out = io.StringIO()

    call_command(
        "import_mlflow", "--tracking-uri", mlflow_server, "--experiment", experiment, "--as", owner.username, stdout=out
    )

    assert (
        "1 runs read, 1 recorded, 0 updated, 0 unchanged, 0 failed; 1 inputs matched no catalog version."
        in out.getvalue()
    )
    assert TrainingRun.objects.filter(external_id=trained["run_id"]).exists()


def test_an_unknown_experiment_is_refused_naming_it_and_nothing_is_imported(mlflow_server, experiment, trained, owner):
    with pytest.raises(errors.Invalid, match="no experiment 'nowhere'") as refused:
        mlflow_import(actor=owner, tracking_uri=mlflow_server, experiments=[experiment, "nowhere"])

    assert refused.value.field == "experiments"
    assert not TrainingRun.objects.exists()


def test_a_tracking_server_that_is_down_is_a_clear_error_and_nothing_is_written(owner):
    down = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()

    with pytest.raises(TrackingServerError, match=f"The MLflow tracking server at {down} could not be read"):
        mlflow_import(actor=owner, tracking_uri=down)
    with pytest.raises(CommandError, match="could not be read"):
        call_command("import_mlflow", "--tracking-uri", down, "--as", owner.username)

    assert time.monotonic() - started < 30
    assert not TrainingRun.objects.exists()
    assert set(MlflowImport.objects.values_list("status", flat=True)) == {ImportStatus.FAILED}


def test_the_command_refuses_what_is_not_a_tracking_server_and_a_bad_date(owner, tmp_path):
    with pytest.raises(CommandError, match="not a tracking server's URL"):
        call_command("import_mlflow", "--tracking-uri", f"sqlite:///{tmp_path}/mlflow.db", "--as", owner.username)
    with pytest.raises(CommandError, match="--since 'yesterday' is not a date"):
        call_command(
            "import_mlflow", "--tracking-uri", "http://127.0.0.1:5000", "--since", "yesterday", "--as", owner.username
        )
    with pytest.raises(CommandError, match="There is no user 'nobody'"):
        call_command("import_mlflow", "--tracking-uri", "http://127.0.0.1:5000", "--as", "nobody")
    assert not MlflowImport.objects.exists()


def test_a_run_imported_by_another_user_is_theirs_to_report_again(mlflow_server, experiment, trained, owner, stranger):
    mlflow_import(actor=owner, tracking_uri=mlflow_server, experiments=[experiment])
    MlflowClient().log_metric(trained["run_id"], "accuracy", 0.95)

    summary = mlflow_import(actor=stranger, tracking_uri=mlflow_server, experiments=[experiment])

    assert (summary.failed, summary.updated) == (1, 0)
    assert "recorded by another sender" in summary.errors[0]["error"]
    assert TrainingRun.objects.get(external_id=trained["run_id"]).metrics["accuracy"] == 0.93


def test_the_periodic_import_reads_the_runs_since_the_last_one(mlflow_server, experiment, trained, owner, settings):
    settings.CATALOG_MLFLOW_TRACKING_URI = mlflow_server
    settings.CATALOG_MLFLOW_EXPERIMENTS = [experiment]
    settings.CATALOG_MLFLOW_IMPORT_USER = owner.username

    first = mlflow_import_scheduled_task()
    second = mlflow_import_scheduled_task()

    assert (first["since"], first["created"]) == (None, 1)
    [latest, earlier] = MlflowImport.objects.all()
    assert datetime.fromisoformat(second["since"]) == earlier.started_at - timedelta(hours=1)
    assert (second["read"], second["unchanged"], latest.status) == (1, 1, ImportStatus.SUCCEEDED)


def test_the_periodic_import_fails_loudly_without_a_user_and_does_nothing_without_a_server(
    mlflow_server, settings, caplog
):
    settings.CATALOG_MLFLOW_TRACKING_URI = ""
    assert mlflow_import_scheduled_task() is None

    settings.CATALOG_MLFLOW_TRACKING_URI = mlflow_server
    settings.CATALOG_MLFLOW_IMPORT_USER = "nobody"
    with pytest.raises(errors.Invalid, match="CATALOG_MLFLOW_IMPORT_USER names no user"):
        mlflow_import_scheduled_task()
    assert "The periodic MLflow import failed" in caplog.text


def test_a_dataset_the_importer_may_not_read_is_not_matched_nor_shown(
    mlflow_server, experiment, storage_root, register, stranger
):
    secret = register(_write_csv(storage_root / "clinic" / "patients.csv", 10), "patients")
    Dataset.objects.filter(pk=secret.dataset_id).update(sensitivity=Sensitivity.RESTRICTED)
    frame = _frame(storage_root / "clinic" / "patients.csv")
    with mlflow.start_run() as run:
        mlflow.log_input(
            mlflow.data.from_pandas(frame, source=secret.uri),
            context="training",
            tags={"catalog.fingerprint": secret.fingerprint},
        )
        # Another part of the file (MLflow keeps one input per dataset digest).
        mlflow.log_input(mlflow.data.from_pandas(frame.head(5), source=secret.uri), context="validation")

    mlflow_import(actor=stranger, tracking_uri=mlflow_server, experiments=[experiment])

    recorded = TrainingRun.objects.get(external_id=run.info.run_id)
    assert not recorded.inputs.exists()
    assert [item["reason"].split(",")[0] for item in recorded.unmatched_inputs] == [
        f"the input tag catalog.fingerprint names '{secret.fingerprint}'",
        "no version you may read is registered at this source URI",
    ]


def test_a_run_registered_after_its_import_stays_a_run_of_its_experiment_s_model(mlflow_server, experiment, owner):
    with mlflow.start_run() as run:
        mlflow.log_param("epochs", 3)
    mlflow_import(actor=owner, tracking_uri=mlflow_server, experiments=[experiment])
    model = f"flower-classifier-{uuid.uuid4().hex[:8]}"
    _register_model_version(run.info.run_id, model)

    summary = mlflow_import(actor=owner, tracking_uri=mlflow_server, experiments=[experiment])

    recorded = TrainingRun.objects.get(external_id=run.info.run_id)
    assert (recorded.model.name, recorded.model_version) == (experiment, "")
    assert (summary.failed, summary.registered_later[0]["registered"]) == (0, f"{model} version 1")
    assert f"registered as {model} version 1 after it was imported" in "\n".join(summary.lines())


def test_without_experiments_named_it_imports_every_active_one(mlflow_server, experiment, owner):
    client = MlflowClient()
    other = client.create_experiment(f"street-signs-{uuid.uuid4().hex[:10]}")
    first = client.create_run(client.get_experiment_by_name(experiment).experiment_id)
    second = client.create_run(other)
    client.delete_experiment(client.create_experiment(f"deleted-{uuid.uuid4().hex[:10]}"))

    summary = mlflow_import(actor=owner, tracking_uri=mlflow_server)

    assert summary.failed == 0
    imported = set(TrainingRun.objects.values_list("external_id", flat=True))
    assert {first.info.run_id, second.info.run_id} <= imported
    assert summary.read == len(imported)
