"""A training run reported with the official OpenLineage Python client, over gunicorn with real workers:
START with its inputs, executionParameters and code, COMPLETE with its MODEL output, make one training
run pinned to the fingerprinted version it read."""

import csv
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    dataset_type_dataset,
    dataset_version_dataset,
    execution_parameters_run,
    job_type_job,
    source_code_location_job,
)
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _client(caller) -> OpenLineageClient:
    config = HttpConfig(url=caller.url, auth=ApiKeyTokenProvider({"apiKey": caller.token}), timeout=10)
    return OpenLineageClient(transport=HttpTransport(config))


def test_the_official_client_reports_a_training_run(people, e2e_storage_root):
    suffix = people.owner.user.username
    path = e2e_storage_root / f"training-{suffix}" / "transactions.csv"
    path.parent.mkdir()
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["amount", "merchant", "label"])
        writer.writerows([[index % 97, f"m{index % 7}", ("fraud", "ok")[index % 5 > 0]] for index in range(300)])
    created = people.owner.post(
        "/api/v1/datasets/",
        {"namespace": "e2e-training", "name": f"transactions-{suffix}", "source": {"uri": str(path)}},
    )
    assert created.status_code == 201, created.text
    version = people.owner.wait(created.json()["latest_version"]["id"])
    assert version["status"] == "ready", version

    client = _client(people.owner)
    run_id = str(uuid.uuid4())
    started = datetime.now(UTC) + timedelta(seconds=1)
    job_facets = {
        "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="PYTORCH", jobType="TRAINING"),
        "sourceCodeLocation": source_code_location_job.SourceCodeLocationJobFacet(
            type="git",
            url="https://github.com/example/fraud/blob/4f2a9c1/train.py",
            repoUrl="https://github.com/example/fraud.git",
            version="4f2a9c1e8b7d",
            path="train.py",
        ),
    }
    parameters = execution_parameters_run.ExecutionParametersRunFacet(
        parameters=[
            execution_parameters_run.ExecutionParameter(key="learning_rate", value="0.01"),
            execution_parameters_run.ExecutionParameter(key="epochs", value="20"),
        ]
    )
    # The script names the table by where it read it, pinned by the fingerprint the catalog gave it.
    table = InputDataset(
        namespace="file",
        name=str(path),
        facets={"version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version["fingerprint"])},
    )
    model = OutputDataset(
        namespace="models",
        name=f"fraud-scorer-{suffix}",
        facets={
            "datasetType": dataset_type_dataset.DatasetTypeDatasetFacet(datasetType="MODEL"),
            "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="1.3.0"),
        },
    )
    for state, moment, inputs, outputs, run_facets in (
        (RunState.START, started, [table], [], {"executionParameters": parameters}),
        (RunState.COMPLETE, started + timedelta(minutes=20), [], [model], {}),
    ):
        client.emit(
            RunEvent(
                eventType=state,
                eventTime=moment.isoformat(),
                run=Run(runId=run_id, facets=run_facets),
                job=Job(namespace="e2e-training", name=f"fraud.fit-{suffix}", facets=job_facets),
                producer="https://example.com/e2e",
                inputs=inputs,
                outputs=outputs,
            )
        )
    # The run is recorded as its events are projected, by a worker, after the answers.
    people.owner.lineage_settled()

    response = people.owner.get("/api/v1/training-runs/")
    assert response.status_code == 200, response.text
    runs = [item for item in response.json()["results"] if item["source"] == "openlineage"]
    assert len(runs) == 1
    [run] = runs
    assert (run["status"], run["model_version"]) == ("completed", "1.3.0")
    assert run["hyperparameters"] == {"learning_rate": "0.01", "epochs": "20"}
    assert run["code"] == {
        "repository": "https://github.com/example/fraud.git",
        "commit": "4f2a9c1e8b7d",
        "entrypoint": "train.py",
    }
    assert [(item["version"], item["fingerprint"], item["role"], item["pinned"]) for item in run["inputs"]] == [
        (version["id"], version["fingerprint"], "train", True)
    ]
