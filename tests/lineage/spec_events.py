"""Events built to the specification, valid as given, for the tests of validation against its schemas; and
the means to break them, to read the project's facet examples and to place facets in an event."""

import copy
import json
from pathlib import Path
from typing import Any

from lineage.openlineage import SPEC_VERSION, FacetLevel

EXAMPLES = Path(__file__).parent / "openlineage_examples"

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.30.0/client/python"
RUN_ID = "0195c2a4-6f1e-7d4b-9a8e-3c1f2b9d4e5a"


def facet(schema: str, /, **members: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"https://openlineage.io/spec/facets/1-0-0/{schema}.json", **members}


def run_event(**members: Any) -> dict[str, Any]:
    """A minimal valid RunEvent with one input and one output, each with room for facets."""
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2025-03-01T12:00:00.123456+00:00",
        "producer": PRODUCER,
        "schemaURL": f"https://openlineage.io/spec/{SPEC_VERSION}/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": RUN_ID, "facets": {}},
        "job": {"namespace": "airflow", "name": "daily.load", "facets": {}},
        "inputs": [{"namespace": "postgres://db:5432", "name": "public.orders", "facets": {}, "inputFacets": {}}],
        "outputs": [{"namespace": "postgres://db:5432", "name": "public.summary", "facets": {}, "outputFacets": {}}],
    }
    event.update(members)
    return event


def dataset_event(**facets: Any) -> dict[str, Any]:
    return {
        "eventTime": "2025-03-01T12:00:00Z",
        "producer": PRODUCER,
        "schemaURL": f"https://openlineage.io/spec/{SPEC_VERSION}/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {"namespace": "postgres://db:5432", "name": "public.orders", "facets": facets},
    }


def job_event(**facets: Any) -> dict[str, Any]:
    return {
        "eventTime": "2025-03-01T12:00:00Z",
        "producer": PRODUCER,
        "schemaURL": f"https://openlineage.io/spec/{SPEC_VERSION}/OpenLineage.json#/$defs/JobEvent",
        "job": {"namespace": "airflow", "name": "daily.load", "facets": facets},
        "inputs": [{"namespace": "postgres://db:5432", "name": "public.orders"}],
        "outputs": [{"namespace": "postgres://db:5432", "name": "public.summary"}],
    }


def realistic_event() -> dict[str, Any]:
    """What Spark or Airflow send: two inputs, one output with a 20-field schema and column lineage."""
    fields = [{"name": f"col_{index}", "type": "BIGINT" if index % 2 else "VARCHAR"} for index in range(20)]
    return run_event(
        run={
            "runId": RUN_ID,
            "facets": {
                "nominalTime": facet("NominalTimeRunFacet", nominalStartTime="2025-03-01T00:00:00Z"),
                "parent": facet("ParentRunFacet", run={"runId": RUN_ID}, job={"namespace": "airflow", "name": "daily"}),
                "processing_engine": facet("ProcessingEngineRunFacet", version="3.5.0", name="spark"),
            },
        },
        job={
            "namespace": "airflow",
            "name": "daily.load",
            "facets": {
                "jobType": facet("JobTypeJobFacet", processingType="BATCH", integration="SPARK", jobType="TASK"),
                "sql": facet("SQLJobFacet", query="INSERT INTO summary SELECT * FROM orders JOIN customers"),
            },
        },
        inputs=[
            {
                "namespace": "postgres://db:5432",
                "name": f"public.{name}",
                "facets": {"schema": facet("SchemaDatasetFacet", fields=fields[:10])},
                "inputFacets": {"inputStatistics": facet("InputStatisticsInputDatasetFacet", rowCount=1000)},
            }
            for name in ("orders", "customers")
        ],
        outputs=[
            {
                "namespace": "postgres://db:5432",
                "name": "public.summary",
                "facets": {
                    "schema": facet("SchemaDatasetFacet", fields=fields),
                    "columnLineage": facet(
                        "ColumnLineageDatasetFacet",
                        fields={
                            field["name"]: {
                                "inputFields": [
                                    {
                                        "namespace": "postgres://db:5432",
                                        "name": "public.orders",
                                        "field": field["name"],
                                        "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                                    }
                                ]
                            }
                            for field in fields
                        },
                    ),
                },
                "outputFacets": {"outputStatistics": facet("OutputStatisticsOutputDatasetFacet", rowCount=20)},
            }
        ],
    )


def without(event: dict[str, Any], member: str) -> dict[str, Any]:
    event.pop(member)
    return event


def changed(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = [int(part) if part.isdigit() else part for part in path.split("/")]
    owner: Any = event
    for part in parents:
        owner = owner[part]
    owner[last] = value
    return event


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def embed(facets: dict[str, Any], level: FacetLevel) -> dict[str, Any]:
    event = run_event()
    owner, member = {
        FacetLevel.RUN: (event["run"], "facets"),
        FacetLevel.JOB: (event["job"], "facets"),
        FacetLevel.DATASET: (event["outputs"][0], "facets"),
        FacetLevel.INPUT: (event["inputs"][0], "inputFacets"),
        FacetLevel.OUTPUT: (event["outputs"][0], "outputFacets"),
    }[level]
    owner[member] = copy.deepcopy(facets)
    return event
