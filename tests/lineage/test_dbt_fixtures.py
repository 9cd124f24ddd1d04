"""The OpenLineage project's own dbt fixture events (tests/lineage/fixtures/dbt/README.md) read back: every job
of every event, each with all it read and wrote whichever way it is reached, and dbt's column lineage."""

import pytest

from tests.lineage.fixtures.dbt import FILES, dbt_events

pytestmark = pytest.mark.django_db

POSTGRES = "postgres://POSTGRES_HOST:1234"


def expected_jobs(events):
    """Each job of the events with the datasets its events name, as node ids: {job: (inputs, outputs)}."""
    jobs: dict[str, tuple[set[str], set[str]]] = {}
    for event in events:
        job = f"job:{event['job']['namespace']}:{event['job']['name']}"
        inputs, outputs = jobs.setdefault(job, (set(), set()))
        inputs.update(f"dataset:{item['namespace']}:{item['name']}" for item in event.get("inputs") or [])
        outputs.update(f"dataset:{item['namespace']}:{item['name']}" for item in event.get("outputs") or [])
    return jobs


def ends(node, way):
    key = "origin" if way == "inEdges" else "destination"
    return {edge[key] for edge in node[way]}


def graph(client, node, **params):
    response = client.get("/api/v1/lineage", {"nodeId": node, **params})
    assert response.status_code == 200, response.content
    return {item["id"]: item for item in response.json()["graph"]}


@pytest.mark.parametrize("name", FILES)
def test_every_job_of_a_dbt_fixture_reads_back_with_all_it_read_and_wrote(owner_client, send, name):
    events = dbt_events(name)
    send(*events)

    jobs = expected_jobs(events)
    for job, (inputs, outputs) in jobs.items():
        node = graph(owner_client, job)[job]
        assert (ends(node, "inEdges"), ends(node, "outEdges")) == (inputs, outputs), job
        # Reached from any of its datasets, whichever way, the job lists them all.
        for start in sorted(inputs | outputs):
            reached = graph(owner_client, start, direction="both", depth=1)[job]
            assert (ends(reached, "inEdges"), ends(reached, "outEdges")) == (inputs, outputs), (job, start)
        namespace, _, short = job.removeprefix("job:").partition(":")
        marquez = owner_client.get(f"/api/v1/marquez/namespaces/{namespace}/jobs/{short}")
        assert marquez.status_code == 200, marquez.content
        listed = {f"dataset:{item['namespace']}:{item['name']}" for item in marquez.json()["inputs"]}
        written = {f"dataset:{item['namespace']}:{item['name']}" for item in marquez.json()["outputs"]}
        assert (listed, written) == (inputs, outputs), job


def test_the_jaffle_shop_models_and_tests_are_all_there(owner_client, send):
    send(*dbt_events("postgres"), *dbt_events("test"), *dbt_events("bigquery_run"))

    customers = graph(owner_client, f"dataset:{POSTGRES}:postgres.public.stg_orders", direction="downstream")[
        "job:job-namespace:postgres.public.jaffle_shop.customers"
    ]
    staging = graph(owner_client, "job:job-namespace:postgres.public.jaffle_shop.stg_customers")[
        "job:job-namespace:postgres.public.jaffle_shop.stg_customers"
    ]
    answer = owner_client.get("/api/v1/marquez/jobs", {"limit": "100"}).json()

    # customers reads the three staging models, whichever one the walk came through.
    assert ends(customers, "inEdges") == {
        f"dataset:{POSTGRES}:postgres.public.stg_customers",
        f"dataset:{POSTGRES}:postgres.public.stg_orders",
        f"dataset:{POSTGRES}:postgres.public.stg_payments",
    }
    # A staging model reports no input: it is a node all the same, with its output.
    assert ends(staging, "inEdges") == set()
    assert ends(staging, "outEdges") == {f"dataset:{POSTGRES}:postgres.public.stg_customers"}
    # 5 models, 5 tests that only read, the dbt run with neither inputs nor outputs, and stg_locations.
    assert answer["totalCount"] == 12
    states = {job["name"]: job["latestRun"]["state"] for job in answer["jobs"]}
    assert states["random-gcp-project.dbt_test1.dbt_bigquery_test.test_first_dbt_model.test"] == "FAILED"
    assert states["dbt-run-jaffle_shop"] == "COMPLETED"
    assert states["postgres.public.jaffle_shop.customers"] == "COMPLETED"


def test_dbt_s_column_lineage_reads_back(owner_client, send):
    send(*dbt_events("bigquery_run"))

    node_id = "datasetField:bigquery:example-bigquery-project.jaffle_shop.stg_locations:location_id"
    answer = owner_client.get("/api/v1/column-lineage", {"nodeId": node_id, "depth": 1})
    whole = owner_client.get(
        "/api/v1/column-lineage",
        {"nodeId": "dataset:bigquery:example-bigquery-project.jaffle_shop.stg_locations", "depth": 1},
    )

    assert answer.status_code == 200, answer.content
    node = {item["id"]: item for item in answer.json()["graph"]}[node_id]
    assert [(entry["name"], entry["field"]) for entry in node["data"]["input_fields"]] == [
        ("example-bigquery-project.raw.raw_stores", "id")
    ]
    fields = {
        item["data"]["field"] for item in whole.json()["graph"] if item["data"]["dataset"].endswith("stg_locations")
    }
    assert fields == {"location_id", "location_name", "tax_rate"}
