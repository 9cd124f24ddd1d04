"""The OpenLineage specification's own examples are accepted over HTTP and land in the catalog."""

import json
import uuid
from pathlib import Path

import pytest

from catalog.models import Dataset
from lineage.models import Job, LineageEvent, ReportedDataset, Run, RunDataset
from lineage.openlineage import FacetLevel, known_facets
from tests.lineage.events import dataset, run_event

pytestmark = pytest.mark.django_db

EXAMPLES = Path(__file__).parent / "openlineage_examples"


def _level(folder: str, key: str, facet: dict) -> str:
    """Where an example facet goes: the one level whose schema defines its key, or, for keys defined at
    several (ownership, tags, subset, lineage...), the level its folder and schema URL name."""
    candidates = [level for level in FacetLevel if key in known_facets(level)]
    if len(candidates) == 1:
        return LEVELS[candidates[0]]
    hint = (folder + " " + facet.get("_schemaURL", "")).lower()
    for word, level in (("input", "input"), ("output", "output"), ("job", "job"), ("run", "run")):
        if word in hint:
            return level
    return "dataset"


LEVELS = {
    FacetLevel.RUN: "run",
    FacetLevel.JOB: "job",
    FacetLevel.INPUT: "input",
    FacetLevel.OUTPUT: "output",
    FacetLevel.DATASET: "dataset",
}


FACET_EXAMPLES = sorted(path for path in EXAMPLES.glob("*/*.json"))


@pytest.mark.parametrize("path", FACET_EXAMPLES, ids=[f"{p.parent.name}/{p.stem}" for p in FACET_EXAMPLES])
def test_each_facet_example_is_accepted_and_kept(owner_client, path):
    facets = json.loads(path.read_text())
    key, facet = next(iter(facets.items()))
    level = _level(path.parent.name, key, facet)
    event = run_event(inputs=[dataset("examples", "source")], outputs=[dataset("examples", "target")])
    if level == "run":
        event["run"]["facets"] = facets
    elif level == "job":
        event["job"]["facets"] = facets
    elif level == "input":
        event["inputs"][0]["inputFacets"] = facets
    elif level == "output":
        event["outputs"][0]["outputFacets"] = facets
    else:
        event["outputs"][0]["facets"] = facets

    response = owner_client.post("/api/v1/lineage", event, format="json")

    assert response.status_code == 201, response.content
    if level == "run":
        assert key in Run.objects.get().facets
    elif level == "job":
        assert key in Job.objects.get().facets
    elif level in ("input", "output"):
        assert key in RunDataset.objects.get(direction=level).facets
    else:
        assert key in ReportedDataset.objects.get(dataset__name="target").facets


def test_the_full_example_event_is_accepted(owner_client):
    event = json.loads((EXAMPLES / "example_full_event.json").read_text())

    response = owner_client.post("/api/v1/lineage", event, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "RunEvent"
    stored = LineageEvent.objects.get()
    assert stored.payload == event
    assert Job.objects.get().facets["sql"]["query"] == "SELECT 1"
    assert str(Run.objects.get().pk) == event["run"]["runId"]


def test_a_dataset_event_and_a_job_event_are_projected(owner_client):
    dataset_event = {
        "eventTime": "2026-11-01T10:00:00Z",
        "producer": "https://example.com/catalog",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": dataset("lake", "orders", datasetType={"_producer": "x", "_schemaURL": "y", "datasetType": "TABLE"}),
    }
    job_event = {
        "eventTime": "2026-11-01T10:00:00Z",
        "producer": "https://example.com/scheduler",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent",
        "job": {"namespace": "etl", "name": "orders.daily", "facets": {}},
        "inputs": [dataset("lake", "orders")],
        "outputs": [dataset("lake", "orders_daily")],
    }

    assert owner_client.post("/api/v1/lineage", dataset_event, format="json").json()["kind"] == "DatasetEvent"
    assert owner_client.post("/api/v1/lineage", job_event, format="json").json()["kind"] == "JobEvent"

    assert ReportedDataset.objects.get(dataset__name="orders").dataset_type == "TABLE"
    # A job event declares the job's lineage without a run.
    graph = owner_client.get("/api/v1/lineage", {"nodeId": "dataset:lake:orders_daily", "direction": "upstream"}).json()
    assert sorted(node["id"] for node in graph["graph"]) == [
        "dataset:lake:orders",
        "dataset:lake:orders_daily",
        "job:etl:orders.daily",
    ]
    assert not Run.objects.exists()
    assert Dataset.objects.count() == 2
    assert uuid.UUID(str(Job.objects.get().pk))
