"""The OpenLineage project's dbt fixture events, sent through the official client's HTTP transport to gunicorn,
read back: every job with all it read and wrote, in the catalog's graph and in Marquez's shapes."""

import pytest
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpCompression, HttpConfig, HttpTransport

from tests.lineage.fixtures.dbt import FILES, dbt_events
from tests.lineage.test_dbt_fixtures import ends, expected_jobs

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_dbt_s_events_sent_by_the_official_client_read_back_whole(people):
    owner = people.owner
    config = HttpConfig(
        url=people.url,
        auth=ApiKeyTokenProvider({"apiKey": owner.token}),
        compression=HttpCompression.GZIP,
        timeout=10,
    )
    transport = HttpTransport(config)
    events = [event for name in FILES for event in dbt_events(name)]

    # The transport serialises what it is given as the dbt integration's client does (Serde.to_json).
    for event in events:
        response = transport.emit(event)  # type: ignore[arg-type]
        assert response.status_code in (200, 202), response.text
    # Answered once recorded; read back once a worker has projected them all.
    owner.lineage_settled()
    assert owner.get("/api/v1/lineage/events/", state="refused").json()["results"] == []

    jobs = expected_jobs(events)
    assert len(jobs) == 12
    for job, (inputs, outputs) in jobs.items():
        answer = owner.get("/api/v1/lineage", nodeId=job, depth="1")
        assert answer.status_code == 200, answer.text
        node = {item["id"]: item for item in answer.json()["graph"]}[job]
        assert (ends(node, "inEdges"), ends(node, "outEdges")) == (inputs, outputs), job
    marquez = owner.get("/api/v1/marquez/jobs", limit="100").json()
    assert marquez["totalCount"] == 12
    for item in marquez["jobs"]:
        job = f"job:{item['namespace']}:{item['name']}"
        listed = {f"dataset:{entry['namespace']}:{entry['name']}" for entry in item["inputs"]}
        written = {f"dataset:{entry['namespace']}:{entry['name']}" for entry in item["outputs"]}
        assert (listed, written) == jobs[job], job
    column = "datasetField:bigquery:example-bigquery-project.jaffle_shop.stg_locations:tax_rate"
    graph = owner.get("/api/v1/column-lineage", nodeId=column, depth="1").json()["graph"]
    node = {item["id"]: item for item in graph}[column]
    assert [(entry["name"], entry["field"]) for entry in node["data"]["input_fields"]] == [
        ("example-bigquery-project.raw.raw_stores", "tax_rate")
    ]
