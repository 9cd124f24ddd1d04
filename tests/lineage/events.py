"""OpenLineage events as the official clients send them, for the lineage tests."""

import uuid
from datetime import UTC, datetime, timedelta

PRODUCER = "https://github.com/example/trainer/v1"
BASE_TIME = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def facet(**members):
    return {"_producer": PRODUCER, "_schemaURL": "https://openlineage.io/spec/facets/1-0-0/Facet.json", **members}


def dataset(namespace, name, **facets):
    return {"namespace": namespace, "name": name, "facets": facets}


def schema(*fields):
    return facet(fields=[{"name": name, "type": kind} for name, kind in fields])


def column_lineage(mapping):
    """{output field: [(namespace, name, input field), ...]}"""
    return facet(
        fields={
            output: {
                "inputFields": [
                    {
                        "namespace": ns,
                        "name": name,
                        "field": field,
                        "transformations": [{"type": "DIRECT", "subtype": "TRANSFORMATION"}],
                    }
                    for ns, name, field in inputs
                ]
            }
            for output, inputs in mapping.items()
        }
    )


def run_event(
    *,
    inputs=(),
    outputs=(),
    job=("pipelines", "build-features"),
    run_id=None,
    event_type="COMPLETE",
    minutes=0,
    run_facets=None,
    job_facets=None,
):
    return {
        "eventType": event_type,
        "eventTime": (BASE_TIME + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(run_id or uuid.uuid4()), "facets": run_facets or {}},
        "job": {"namespace": job[0], "name": job[1], "facets": job_facets or {}},
        "inputs": list(inputs),
        "outputs": list(outputs),
    }
