"""From data to model, over gunicorn with real Celery workers: three models trained on a real public
dataset (palmerpenguins) and one derived from it, one recorded through REST, one reported by the
official OpenLineage client, one imported from a real MLflow tracking server. Each is pinned to the
fingerprinted versions it read; the recipe matches the files; a changed file makes the REST run no
longer reproducible; the upstream dataset's impact reaches all three; a license that forbids the
commercial purpose puts a finding on the commercially trained model, and its audit fails."""

import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta

import mlflow
import pandas as pd
import pytest
from django.core.management import call_command
from mlflow.tracking import MlflowClient
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    dataset_type_dataset,
    dataset_version_dataset,
    execution_parameters_run,
    job_type_job,
)
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

from tests.realdata_sources import penguins_file

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:The specified dataset source can be interpreted in multiple ways"),
    pytest.mark.filterwarnings("ignore:Starting with pandas version 4.0"),
]


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _ready(caller, created) -> dict:
    assert created.status_code == 201, created.text
    version = caller.wait(created.json()["latest_version"]["id"])
    assert version["status"] == "ready", version
    return version


def _openlineage_run(caller, *, job: str, table: dict, model_name: str) -> None:
    client = OpenLineageClient(
        transport=HttpTransport(
            HttpConfig(url=caller.url, auth=ApiKeyTokenProvider({"apiKey": caller.token}), timeout=10)
        )
    )
    run_id = str(uuid.uuid4())
    started = datetime.now(UTC)
    training = {
        "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="SKLEARN", jobType="TRAINING")
    }
    parameters = execution_parameters_run.ExecutionParametersRunFacet(
        parameters=[
            execution_parameters_run.ExecutionParameter(key="n_estimators", value="200"),
            execution_parameters_run.ExecutionParameter(key="max_depth", value="6"),
        ]
    )
    source = InputDataset(
        namespace="file",
        name=table["path"],
        facets={"version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=table["fingerprint"])},
    )
    model = OutputDataset(
        namespace="models",
        name=model_name,
        facets={
            "datasetType": dataset_type_dataset.DatasetTypeDatasetFacet(datasetType="MODEL"),
            "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="2.0.0"),
        },
    )
    for state, moment, inputs, outputs, facets in (
        (RunState.START, started, [source], [], {"executionParameters": parameters}),
        (RunState.COMPLETE, started + timedelta(minutes=3), [], [model], {}),
    ):
        client.emit(
            RunEvent(
                eventType=state,
                eventTime=moment.isoformat(),
                run=Run(runId=run_id, facets=facets),
                job=Job(namespace="e2e-models", name=job, facets=training),
                producer="https://example.com/e2e",
                inputs=inputs,
                outputs=outputs,
            )
        )
    # The training run is recorded as a worker projects the events, after the answers.
    caller.lineage_settled()


def _mlflow_run(tracking_uri: str, *, table: dict, experiment: str, model_name: str) -> None:
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    tags = {"mlflow.source.git.commit": "0b1c2d3e4f", "mlflow.source.name": "fit_boosting.py"}
    with mlflow.start_run(tags=tags) as run:
        mlflow.log_params({"learning_rate": 0.05, "subsample": 0.8})
        mlflow.log_metric("accuracy", 0.97)
        mlflow.log_input(
            mlflow.data.from_pandas(pd.read_csv(table["path"]), source=table["uri"], name="penguins-clean"),
            context="training",
            tags={"catalog.fingerprint": table["fingerprint"]},
        )
    client = MlflowClient()
    client.create_registered_model(model_name)
    client.create_model_version(model_name, source=f"{run.info.artifact_uri}/model", run_id=run.info.run_id)


def _runs_of(caller, model_id: str) -> list[dict]:
    response = caller.get("/api/v1/training-runs/", model=model_id)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_three_models_pinned_reproduced_verified_impacted_and_audited(people, e2e_storage_root, mlflow_server):
    owner = people.owner
    suffix = owner.user.username
    penguins = pd.read_csv(penguins_file("penguins.csv"))
    raw = e2e_storage_root / f"penguins-{suffix}"
    raw.mkdir()
    half = len(penguins) // 2
    penguins.iloc[:half].to_csv(raw / "part-1.csv", index=False)
    penguins.iloc[half:].to_csv(raw / "part-2.csv", index=False)
    clean_path = e2e_storage_root / f"penguins-clean-{suffix}.csv"
    penguins.dropna().to_csv(clean_path, index=False)

    raw_version = _ready(
        owner,
        owner.post(
            "/api/v1/datasets/",
            {
                "namespace": "e2e-models",
                "name": f"penguins-{suffix}",
                "license": "CC0-1.0",
                "source": {"uri": str(raw), "label_column": "species"},
            },
        ),
    )
    raw_id = raw_version["dataset"]
    clean_version = _ready(
        owner,
        owner.post(
            "/api/v1/datasets/",
            {
                "namespace": "e2e-models",
                "name": f"penguins-clean-{suffix}",
                "license": "CC0-1.0",
                "source": {"uri": str(clean_path), "label_column": "species"},
            },
        ),
    )
    clean_id = clean_version["dataset"]
    derived = owner.post("/api/v1/lineage/edges/", {"source": raw_id, "target": clean_id})
    assert derived.status_code == 201, derived.text
    clean = {"path": str(clean_path), "uri": clean_version["uri"], "fingerprint": clean_version["fingerprint"]}

    # 1. Through REST, on two versions, for commercial use.
    hyperparameters = {"C": 0.5, "penalty": "l2", "solver": {"name": "lbfgs", "max_iter": 200}}
    recorded = owner.post(
        "/api/v1/training-runs/",
        {
            "model": {"namespace": "e2e-models", "name": f"species-logreg-{suffix}"},
            "model_version": "1.0.0",
            "status": "completed",
            "code": {"repository": "https://git.example.com/penguins.git", "commit": "a1b2c3d", "entrypoint": "fit.py"},
            "hyperparameters": hyperparameters,
            "metrics": {"accuracy": 0.96},
            "inputs": [
                {"version": raw_version["id"], "role": "train"},
                {"dataset": clean_id, "role": "validation"},
            ],
            "purpose": {"commercial": True},
        },
    )
    assert recorded.status_code == 201, recorded.text
    rest_run = recorded.json()
    assert rest_run["hyperparameters"] == hyperparameters
    assert [(item["version"], item["fingerprint"], item["role"]) for item in rest_run["inputs"]] == [
        (raw_version["id"], raw_version["fingerprint"], "train"),
        (clean_version["id"], clean_version["fingerprint"], "validation"),
    ]
    assert rest_run["audit"]["verdict"] == "pass", rest_run["audit"]

    # 2. Reported by the official OpenLineage client.
    _openlineage_run(owner, job=f"penguins.fit-forest-{suffix}", table=clean, model_name=f"species-forest-{suffix}")
    # 3. Imported from a real MLflow tracking server.
    experiment = f"penguins-{suffix}"
    _mlflow_run(mlflow_server, table=clean, experiment=experiment, model_name=f"species-boosting-{suffix}")
    call_command("import_mlflow", tracking_uri=mlflow_server, experiments=[experiment], username=suffix)

    def model_named(name: str) -> dict:
        [model] = owner.get("/api/v1/models/", name=name).json()["results"]
        return model

    logreg = model_named(f"species-logreg-{suffix}")
    forest = model_named(f"species-forest-{suffix}")
    boosting = model_named(f"species-boosting-{suffix}")
    [forest_run] = _runs_of(owner, forest["id"])
    assert (forest_run["source"], forest_run["model_version"]) == ("openlineage", "2.0.0")
    assert forest_run["hyperparameters"] == {"n_estimators": "200", "max_depth": "6"}
    [boosting_run] = _runs_of(owner, boosting["id"])
    assert boosting_run["source"] == "mlflow"
    assert boosting_run["hyperparameters"] == {"learning_rate": "0.05", "subsample": "0.8"}
    for run in (forest_run, boosting_run):
        assert [(item["version"], item["fingerprint"], item["pinned"]) for item in run["inputs"]] == [
            (clean_version["id"], clean_version["fingerprint"], True)
        ]

    # The recipe lists manifests that match the files.
    recipe = owner.get(f"/api/v1/training-runs/{rest_run['id']}/reproduce").json()
    assert recipe["hyperparameters"] == hyperparameters
    assert {entry["path"]: entry["sha256"] for entry in recipe["inputs"][0]["manifest"]} == {
        name: _sha256(raw / name) for name in ("part-1.csv", "part-2.csv")
    }
    assert [entry["sha256"] for entry in recipe["inputs"][1]["manifest"]] == [_sha256(clean_path)]
    report = owner.get(f"/api/v1/training-runs/{rest_run['id']}/reproduce", format="markdown")
    assert report.status_code == 200
    assert _sha256(raw / "part-2.csv") in report.text

    # A file of an input changes on disk: the run is no longer reproducible, and the file is named.
    penguins.iloc[half:].assign(body_mass_g=penguins["body_mass_g"] + 1).to_csv(raw / "part-2.csv", index=False)
    assert owner.post(f"/api/v1/training-runs/{rest_run['id']}/verify/").status_code == 202
    deadline = time.monotonic() + 60
    verification: dict = {}
    while time.monotonic() < deadline:
        verification = owner.get(f"/api/v1/training-runs/{rest_run['id']}/").json()["verification"] or {}
        if verification.get("status") not in (None, "pending"):
            break
        time.sleep(0.3)
    assert verification["status"] == "changed", verification
    assert [(item["version"], item["paths"]) for item in verification["changed"]] == [
        (raw_version["id"], ["part-2.csv"])
    ]

    # The upstream dataset's impact reaches all three models, with the lineage path to each.
    impact = owner.get(f"/api/v1/datasets/{raw_id}/impact/").json()
    assert {item["name"] for item in impact["models"]} == {logreg["name"], forest["name"], boosting["name"]}
    raw_node, clean_node = f"dataset:e2e-models:penguins-{suffix}", f"dataset:e2e-models:penguins-clean-{suffix}"
    paths = {item["id"]: item["path"] for item in impact["training_runs"]}
    assert paths == {
        rest_run["id"]: [raw_node],
        forest_run["id"]: [raw_node, clean_node],
        boosting_run["id"]: [raw_node, clean_node],
    }

    # The upstream dataset's license changes to one that forbids commercial use.
    changed = owner.patch(f"/api/v1/datasets/{raw_id}/", {"license": "CC-BY-NC-4.0"})
    assert changed.status_code == 200, changed.text
    findings = owner.get(f"/api/v1/models/{logreg['id']}/").json()["findings"]
    assert "upstream_license_changed" in {finding["code"] for finding in findings}, findings
    for model in (forest, boosting):
        assert "upstream_license_changed" not in {
            finding["code"] for finding in owner.get(f"/api/v1/models/{model['id']}/").json()["findings"]
        }

    audit = owner.post("/api/v1/audits/", {"models": [logreg["id"]], "purpose": {"commercial": True}})
    assert audit.status_code == 201, audit.text
    assert audit.json()["verdict"] == "fail"
    assert "non_commercial" in {finding["code"] for finding in audit.json()["findings"]}
    assert logreg["name"] in owner.get(f"/api/v1/audits/{audit.json()['id']}/markdown").text
