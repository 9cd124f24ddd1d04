"""The realistic event of the lineage benchmark, built the same way for the tests: a distinct run of a
job reading `inputs` datasets and writing `outputs`, each with a 20-field schema facet, every output with
a columnLineage facet drawing each field from one or two inputs."""

import random
import uuid
from datetime import timedelta

from tests.lineage.events import BASE_TIME, PRODUCER

NAMESPACE = "s3://bench-lake"
FIELDS = 20
SCHEMA_FACET = "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
COLUMN_LINEAGE_FACET = (
    "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
)


def field_names(dataset: int) -> list[str]:
    return [f"col_{(dataset + index) % 37:02d}_{index:02d}" for index in range(FIELDS)]


def table(dataset: int) -> str:
    return f"zone-{dataset % 5}/table-{dataset:04d}"


def schema(dataset: int) -> dict:
    kinds = ("string", "bigint", "double", "timestamp", "boolean")
    return {
        "_producer": PRODUCER,
        "_schemaURL": SCHEMA_FACET,
        "fields": [{"name": name, "type": kinds[index % 5]} for index, name in enumerate(field_names(dataset))],
    }


def realistic_event(*, inputs=(1, 2), outputs=(3,), job="etl.step-01", seconds=0, seed=0) -> dict:
    rng = random.Random(seed)
    result = []
    for output in outputs:
        mapping = {}
        for position, output_field in enumerate(field_names(output)):
            sources = [rng.choice(inputs)] if rng.random() < 0.6 else list(inputs[:2])
            mapping[output_field] = {
                "inputFields": [
                    {
                        "namespace": NAMESPACE,
                        "name": table(source),
                        "field": field_names(source)[(position + offset) % FIELDS],
                        "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                    }
                    for offset, source in enumerate(sources)
                ]
            }
        result.append(
            {
                "namespace": NAMESPACE,
                "name": table(output),
                "facets": {
                    "schema": schema(output),
                    "columnLineage": {"_producer": PRODUCER, "_schemaURL": COLUMN_LINEAGE_FACET, "fields": mapping},
                },
            }
        )
    return {
        "eventType": "COMPLETE",
        "eventTime": (BASE_TIME + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z"),
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.UUID(int=rng.getrandbits(128), version=4))},
        "job": {"namespace": "bench-ingest", "name": job},
        "inputs": [
            {"namespace": NAMESPACE, "name": table(source), "facets": {"schema": schema(source)}} for source in inputs
        ],
        "outputs": result,
    }
