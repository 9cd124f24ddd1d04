"""The official OpenLineage Python client sends events to a running server; they come back as a graph."""

import csv
import uuid
from datetime import UTC, datetime

import pytest
import requests
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    column_lineage_dataset,
    dataset_version_dataset,
    documentation_dataset,
    job_type_job,
    schema_dataset,
)
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpCompression, HttpConfig, HttpTransport

from tests.factories import token_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _client(api, compression=None):
    token = token_for(api.owner)
    config = HttpConfig(url=api.url, auth=ApiKeyTokenProvider({"apiKey": token}), compression=compression, timeout=10)
    return OpenLineageClient(transport=HttpTransport(config))


def _event(state, job, run_id, inputs, outputs, minute, job_facets=None):
    return RunEvent(
        eventType=state,
        eventTime=datetime(2026, 11, 20, 9, minute, tzinfo=UTC).isoformat(),
        run=Run(runId=str(run_id)),
        job=Job(namespace=job[0], name=job[1], facets=job_facets or {}),
        producer="https://example.com/e2e",
        inputs=inputs,
        outputs=outputs,
    )


def test_the_official_clients_events_come_back_as_a_directed_graph(api, e2e_storage_root):
    # A training table registered by hand, profiled by the worker.
    path = e2e_storage_root / "lineage" / f"transactions-{uuid.uuid4().hex[:6]}.csv"
    path.parent.mkdir(exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["amount", "merchant", "label"])
        writer.writerows([[index % 97, f"m{index % 7}", ("fraud", "ok")[index % 5 > 0]] for index in range(500)])
    registered = api.register(f"transactions-{path.stem}", {"uri": str(path), "label_column": "label"})
    version = api.wait(registered["latest_version"]["id"])
    assert version["status"] == "ready", version

    client = _client(api, compression=HttpCompression.GZIP)
    vendor = InputDataset(namespace="s3://vendor-drop", name="fraud/raw.csv")
    # The pipeline names the registered table by its location, as Spark or a script would.
    table_by_location = OutputDataset(namespace="file", name=str(path))
    clean_run = uuid.uuid4()
    for state, minute in ((RunState.START, 0), (RunState.COMPLETE, 5)):
        client.emit(_event(state, ("etl", "fraud.clean"), clean_run, [vendor], [table_by_location], minute))

    training_run = uuid.uuid4()
    model_schema = schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name="score", type="DOUBLE")]
    )
    lineage_facet = column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={
            "score": column_lineage_dataset.Fields(
                inputFields=[
                    column_lineage_dataset.InputField(namespace="file", name=str(path), field="amount"),
                    column_lineage_dataset.InputField(namespace="file", name=str(path), field="merchant"),
                ]
            )
        }
    )
    training_input = InputDataset(
        namespace="file",
        name=str(path),
        facets={"version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion=version["fingerprint"])},
    )
    model = OutputDataset(
        namespace="models",
        name=f"fraud-scorer-{path.stem}",
        facets={
            "schema": model_schema,
            "columnLineage": lineage_facet,
            "documentation": documentation_dataset.DocumentationDatasetFacet(description="Scores card payments."),
        },
    )
    job_facets = {
        "jobType": job_type_job.JobTypeJobFacet(processingType="BATCH", integration="PYTORCH", jobType="TRAINING")
    }
    # Out of order: the run's COMPLETE arrives before its START; plain JSON this time.
    plain = _client(api)
    for state, minute in ((RunState.COMPLETE, 30), (RunState.START, 10)):
        plain.emit(
            _event(state, ("training", "fraud.fit"), training_run, [training_input], [model], minute, job_facets)
        )
    # Re-delivery changes nothing.
    plain.emit(
        _event(RunState.COMPLETE, ("training", "fraud.fit"), training_run, [training_input], [model], 30, job_facets)
    )
    # The answers came before the projection: a worker takes the events, oldest first.
    api.lineage_settled()
    events = api.get("/api/v1/lineage/events/", limit=10).json()["results"]
    assert [event["state"] for event in events] == ["projected"] * 4

    response = api.get("/api/v1/lineage", nodeId=f"dataset:models:fraud-scorer-{path.stem}", direction="upstream")
    assert response.status_code == 200, response.text
    nodes = {node["id"]: node for node in response.json()["graph"]}
    table = f"dataset:e2e:{registered['name']}"
    assert sorted(nodes) == sorted(
        [
            f"dataset:models:fraud-scorer-{path.stem}",
            "job:training:fraud.fit",
            table,
            "job:etl:fraud.clean",
            "dataset:s3://vendor-drop:fraud/raw.csv",
        ]
    )
    # Directed, and the hand-registered table and the pipeline's file are one node.
    assert [edge["origin"] for edge in nodes[table]["inEdges"]] == ["job:etl:fraud.clean"]
    assert [edge["destination"] for edge in nodes[table]["outEdges"]] == ["job:training:fraud.fit"]
    assert nodes[table]["outEdges"][0]["version_id"] == version["id"]
    assert nodes["dataset:s3://vendor-drop:fraud/raw.csv"]["inEdges"] == []
    assert nodes[f"dataset:models:fraud-scorer-{path.stem}"]["data"]["description"] == "Scores card payments."

    downstream = api.get("/api/v1/lineage", nodeId="dataset:s3://vendor-drop:fraud/raw.csv", direction="downstream")
    assert f"dataset:models:fraud-scorer-{path.stem}" in {node["id"] for node in downstream.json()["graph"]}

    runs = api.get("/api/v1/runs/", job_name="fraud.fit").json()["results"]
    assert len(runs) == 1
    assert runs[0]["state"] == "COMPLETE"
    assert runs[0]["inputs"][0]["version"] == version["id"]
    assert runs[0]["started_at"].startswith("2026-11-20T09:10")

    fields = api.get("/api/v1/column-lineage", nodeId=f"datasetField:models:fraud-scorer-{path.stem}:score").json()[
        "graph"
    ]
    assert sorted(node["id"] for node in fields) == sorted(
        [
            f"datasetField:models:fraud-scorer-{path.stem}:score",
            f"{table.replace('dataset:', 'datasetField:')}:amount",
            f"{table.replace('dataset:', 'datasetField:')}:merchant",
        ]
    )


def test_the_client_sees_a_refusal_for_an_invalid_event(api):
    client = _client(api)
    # A columnLineage facet without its required `fields`: the client sends it, the schema refuses it.
    broken = OutputDataset(namespace="models", name="broken", facets={"columnLineage": DatasetFacet()})
    event = _event(RunState.COMPLETE, ("etl", "broken"), uuid.uuid4(), [], [broken], 0)

    with pytest.raises(requests.HTTPError, match="400"):
        client.transport.emit(event)
    assert api.get("/api/v1/lineage", nodeId="dataset:models:broken").status_code == 404
