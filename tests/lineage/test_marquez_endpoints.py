"""Marquez's read API under /api/v1/marquez/: each answer checked field by field against Marquez's
openapi.yml, each read by a stranger who must learn nothing of a restricted dataset, and hostile
query parameters answered 400."""

import itertools

import pytest

from governance.choices import Sensitivity
from tests.lineage.events import dataset, run_event, schema
from tests.lineage.fixtures import fixture_event
from tests.lineage.marquez_schema import SERVER_SENDS, check, check_keys

pytestmark = pytest.mark.django_db

BASE = "/api/v1/marquez"
WAREHOUSE = "/opt/hive/data/warehouse/test.db/"
NAMESPACE_KEYS = {"name", "createdAt", "updatedAt", "ownerName", "description", "isHidden"}
DATASET_KEYS = SERVER_SENDS["DatasetData"] | {"facets", "currentVersion", "deleted"}
JOB_KEYS = SERVER_SENDS["JobData"] | {"latestRuns", "facets", "currentVersion", "labels", "tags"}


def get(client, path, **params):
    response = client.get(BASE + path, params)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def pipeline(send):
    send(
        run_event(
            inputs=[dataset("w", "raw", schema=schema(("id", "INTEGER")))],
            outputs=[dataset("w", "clean")],
            job=("p", "clean"),
        ),
        run_event(inputs=[dataset("w", "clean")], job=("p", "publish")),
    )


@pytest.fixture
def secret(send):
    """A restricted dataset in namespace w, written by zebra-extract and read by report."""
    from catalog.models import Dataset

    send(
        run_event(outputs=[dataset("w", "zebra-secret")], job=("p", "zebra-extract")),
        run_event(inputs=[dataset("w", "zebra-secret")], outputs=[dataset("w", "public")], job=("p", "report")),
        run_event(outputs=[dataset("zebra-ns", "zebra-only")], job=("p", "zebra-only-job")),
    )
    Dataset.objects.filter(name__startswith="zebra").update(sensitivity=Sensitivity.RESTRICTED)


def test_it_lists_namespaces_in_marquez_shape(owner_client, pipeline):
    answer = get(owner_client, "/namespaces")

    check("NamespaceList", answer)
    assert [item["name"] for item in answer["namespaces"]] == ["p", "w"]
    for item in answer["namespaces"]:
        assert set(item) == NAMESPACE_KEYS


def test_it_lists_a_namespace_s_datasets_in_marquez_shape(owner_client, pipeline):
    answer = get(owner_client, "/namespaces/w/datasets")

    check("DatasetList", answer)
    assert answer["totalCount"] == 2
    assert [item["name"] for item in answer["datasets"]] == ["clean", "raw"]
    for item in answer["datasets"]:
        check("Dataset", item)
        assert set(item) == DATASET_KEYS
    assert answer["datasets"][1]["fields"] == [{"name": "id", "type": "INTEGER", "tags": [], "description": None}]


def test_it_lists_a_namespace_s_jobs_in_marquez_shape(owner_client, pipeline):
    answer = get(owner_client, "/namespaces/p/jobs")

    check("JobList", answer)
    assert answer["totalCount"] == 2
    clean, publish = answer["jobs"]
    for item in answer["jobs"]:
        check("Job", item)
        assert set(item) == JOB_KEYS
        check("IncompleteRun", item["latestRun"])
        check_keys("Run", item["latestRun"])
    assert clean["inputs"] == [{"namespace": "w", "name": "raw"}]
    assert clean["outputs"] == [{"namespace": "w", "name": "clean"}]
    assert publish["outputs"] == []
    assert publish["latestRun"]["state"] == "COMPLETED"


def test_it_searches_as_marquez_does(owner_client, pipeline):
    answer = get(owner_client, "/search", q="cl%n")

    check("SearchResultList", answer)
    assert answer == {
        "totalCount": 2,
        "results": [
            {
                "type": "DATASET",
                "name": "clean",
                "updatedAt": answer["results"][0]["updatedAt"],
                "namespace": "w",
                "nodeId": "dataset:w:clean",
            },
            {
                "type": "JOB",
                "name": "clean",
                "updatedAt": answer["results"][1]["updatedAt"],
                "namespace": "p",
                "nodeId": "job:p:clean",
            },
        ],
    }
    assert [item["type"] for item in get(owner_client, "/search", q="clean", filter="JOB")["results"]] == ["JOB"]
    assert get(owner_client, "/search", q="c_ean", sort="UPDATE_AT", namespace="w")["totalCount"] == 1
    assert get(owner_client, "/search", q="c.ean")["totalCount"] == 0  # a dot is a dot, not a regex


def test_it_lists_events_as_received(owner_client, send):
    first = fixture_event("cllSimpleQueryIndirect", job="test.xxx_from_t1", event_time="2026-11-02T09:30:00Z")
    second = fixture_event("cllMultiInsertsComplete", job="test.multi_insert", event_time="2026-11-03T09:30:00Z")
    send(first, second)

    answer = get(owner_client, "/events/lineage")
    oldest = get(owner_client, "/events/lineage", sortDirection="asc", limit="1")
    window = get(owner_client, "/events/lineage", after="2026-11-02T12:00:00+00:00")

    check("LineageEventList", answer)
    assert answer["totalCount"] == 2
    assert answer["events"] == [second, first]
    assert oldest["events"] == [first]
    assert window["events"] == [second]


def test_the_marquez_graph_and_column_lineage_answer_in_marquez_shapes(owner_client, send):
    send(fixture_event("cllSimpleQueryIndirect", job="test.xxx_from_t1"))

    graph = get(owner_client, "/lineage", nodeId="job:hive-namespace:test.xxx_from_t1")["graph"]
    columns = get(owner_client, "/column-lineage", nodeId=f"dataset:file:{WAREHOUSE}xxx", withDownstream="true")

    job = {node["id"]: node for node in graph}["job:hive-namespace:test.xxx_from_t1"]
    check_keys("JobData", job["data"])
    assert job["data"]["outputs"] == [{"namespace": "file", "name": f"{WAREHOUSE}xxx"}]
    for node in columns["graph"]:
        check_keys("ColumnLineageNodeData", node["data"])


def test_a_stranger_learns_nothing_of_a_restricted_dataset(client_for, stranger, secret):
    client = client_for(stranger)
    answers = [
        client.get(BASE + "/namespaces"),
        client.get(BASE + "/namespaces/w/datasets"),
        client.get(BASE + "/namespaces/zebra-ns/datasets"),
        client.get(BASE + "/namespaces/p/jobs"),
        client.get(BASE + "/search", {"q": "zebra"}),
        client.get(BASE + "/search", {"q": "%"}),
        client.get(BASE + "/events/lineage"),
        client.get(BASE + "/lineage", {"nodeId": "dataset:w:public"}),
    ]

    for answer in answers:
        assert answer.status_code == 200, answer.content
        assert "zebra" not in answer.content.decode(), answer.request["PATH_INFO"]
    jobs = {job["name"]: job for job in answers[3].json()["jobs"]}
    # report read the secret: listed, its input a placeholder, its description and latest run withheld.
    assert jobs["report"]["inputs"] == [{"namespace": "restricted", "name": "#1"}]
    assert jobs["report"]["latestRun"] is None
    assert "zebra-extract" not in jobs
    assert [item["name"] for item in answers[1].json()["datasets"]] == ["public"]
    assert answers[6].json() == {"events": [], "totalCount": 0}
    hidden = client.get(BASE + "/lineage", {"nodeId": "dataset:w:zebra-secret"})
    unknown = client.get(BASE + "/lineage", {"nodeId": "dataset:w:nowhere"})
    assert hidden.status_code == unknown.status_code == 404


def test_staff_read_every_event(client_for, staff, secret):
    answer = client_for(staff).get(BASE + "/events/lineage")

    assert answer.json()["totalCount"] == 3


def test_it_refuses_an_anonymous_reader(client):
    for path in ("/namespaces", "/namespaces/w/jobs", "/search?q=a", "/events/lineage"):
        assert client.get(BASE + path).status_code in (401, 403)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/namespaces", {"limit": "0"}),
        ("/namespaces", {"limit": "9" * 40}),
        ("/namespaces/w/datasets", {"offset": "-1"}),
        ("/namespaces/p/jobs", {"limit": "ten"}),
        ("/search", {}),
        ("/search", {"q": "a\x00"}),
        ("/search", {"q": "a" * 5000}),
        ("/search", {"q": "a", "filter": "RUN"}),
        ("/search", {"q": "a", "sort": "size"}),
        ("/search", {"q": "a", "before": "yesterday"}),
        ("/events/lineage", {"sortDirection": "sideways"}),
        ("/events/lineage", {"before": "2026-13-45T00:00:00Z"}),
        ("/events/lineage", {"after": "2026-11-02T00:00:00"}),
        ("/events/lineage", {"after": "\x00"}),
        ("/events/lineage", {"unknown": "1"}),
        ("/lineage", {"nodeId": "job:\x00"}),
        ("/lineage", {"nodeId": "dataset:w:raw", "depth": "1e9"}),
        ("/column-lineage", {"nodeId": "dataset:w:raw", "withDownstream": "maybe"}),
    ],
)
def test_it_rejects_hostile_query_parameters(owner_client, pipeline, path, params):
    response = owner_client.get(BASE + path, params)

    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/problem+json")


def test_a_page_of_jobs_costs_the_same_queries_whatever_its_size(owner_client, send):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def jobs(namespace, count):
        for index in range(count):
            send(
                run_event(
                    inputs=[dataset(namespace, f"in{index}")],
                    outputs=[dataset(namespace, f"out{index}")],
                    job=(namespace, f"job{index}"),
                )
            )

    jobs("few", 2)
    jobs("many", 20)

    def queries(path, **params):
        with CaptureQueriesContext(connection) as captured:
            answer = get(owner_client, path, **params)
        return len(captured.captured_queries), answer

    few, _ = queries("/namespaces/few/jobs")
    many, answer = queries("/namespaces/many/jobs")
    graph_few, _ = queries("/lineage", nodeId="dataset:few:in0")
    graph_many, _ = queries("/lineage", nodeId="job:many:job19")

    assert len(answer["jobs"]) == 20
    assert few == many
    # Authentication, the page and its count, what the jobs read and wrote, those datasets, which of
    # them the reader may not read, which jobs ran on them, which latest runs are hidden.
    assert many <= 8
    # A graph both ways (a walk query each way): from a dataset or from a job, the same.
    assert graph_few <= 11
    assert graph_many <= 11


# --- One dataset, one job, every namespace's jobs -------------------------------------------------------


def test_it_reads_one_dataset_in_marquez_shape(owner_client, pipeline):
    answer = get(owner_client, "/namespaces/w/datasets/raw")

    check("Dataset", answer)
    assert set(answer) == DATASET_KEYS
    assert answer["id"] == {"namespace": "w", "name": "raw"}
    assert answer["fields"] == [{"name": "id", "type": "INTEGER", "tags": [], "description": None}]
    assert answer == get(owner_client, "/namespaces/w/datasets")["datasets"][1]


def test_a_dataset_whose_name_holds_slashes_and_the_collection_s_name_is_read(owner_client, send):
    name = "/data/datasets/2026/events"
    send(run_event(outputs=[dataset("s3://bucket", name)], job=("p", "landing")))

    answer = get(owner_client, f"/namespaces/s3://bucket/datasets/{name}")

    check("Dataset", answer)
    assert answer["id"] == {"namespace": "s3://bucket", "name": name}


def test_it_reads_one_job_with_all_it_read_and_wrote(owner_client, pipeline):
    answer = get(owner_client, "/namespaces/p/jobs/clean")

    check("Job", answer)
    assert set(answer) == JOB_KEYS
    check("IncompleteRun", answer["latestRun"])
    assert answer["inputs"] == [{"namespace": "w", "name": "raw"}]
    assert answer["outputs"] == [{"namespace": "w", "name": "clean"}]
    assert answer == get(owner_client, "/namespaces/p/jobs")["jobs"][0]


def test_it_lists_the_jobs_of_every_namespace_and_filters_by_their_last_run_state(owner_client, pipeline, send):
    send(run_event(inputs=[dataset("w", "raw")], job=("q", "broken"), event_type="FAIL"))

    answer = get(owner_client, "/jobs")
    only_failed = get(owner_client, "/jobs", lastRunStates="FAILED")
    both = owner_client.get(BASE + "/jobs?lastRunStates=FAILED&lastRunStates=COMPLETED")

    check("JobList", answer)
    assert [(job["namespace"], job["name"]) for job in answer["jobs"]] == [
        ("p", "clean"),
        ("p", "publish"),
        ("q", "broken"),
    ]
    assert answer["totalCount"] == 3
    for item in answer["jobs"]:
        check("Job", item)
        assert set(item) == JOB_KEYS
    assert [job["name"] for job in only_failed["jobs"]] == ["broken"]
    assert only_failed["jobs"][0]["latestRun"]["state"] == "FAILED"
    assert both.json()["totalCount"] == 3
    assert get(owner_client, "/jobs", lastRunStates="NEW")["totalCount"] == 0
    assert get(owner_client, "/jobs", limit="1", offset="2")["jobs"][0]["name"] == "broken"


def test_a_stranger_cannot_read_a_restricted_dataset_or_a_job_only_on_it(client_for, stranger, owner, secret):
    client = client_for(stranger)

    hidden = client.get(BASE + "/namespaces/w/datasets/zebra-secret")
    unknown = client.get(BASE + "/namespaces/w/datasets/nowhere")
    hidden_job = client.get(BASE + "/namespaces/p/jobs/zebra-extract")
    report = client.get(BASE + "/namespaces/p/jobs/report")
    every = client.get(BASE + "/jobs")
    failed_or_done = client.get(BASE + "/jobs", {"lastRunStates": "COMPLETED"})

    assert hidden.status_code == unknown.status_code == hidden_job.status_code == 404
    assert hidden.json()["detail"] == unknown.json()["detail"]
    for answer in (hidden, hidden_job, report, every, failed_or_done):
        assert "zebra" not in answer.content.decode(), answer.request["PATH_INFO"]
    # report read the secret: readable, its input a placeholder, its description and latest run withheld.
    assert report.status_code == 200
    assert report.json()["inputs"] == [{"namespace": "restricted", "name": "#1"}]
    assert report.json()["latestRun"] is None
    assert "report" not in {job["name"] for job in failed_or_done.json()["jobs"]}
    assert "zebra-only-job" not in {job["name"] for job in every.json()["jobs"]}
    # The owner reads them.
    assert client_for(owner).get(BASE + "/namespaces/w/datasets/zebra-secret").status_code == 200
    assert client_for(owner).get(BASE + "/namespaces/p/jobs/zebra-extract").status_code == 200


def test_one_dataset_or_job_refuses_an_anonymous_reader_and_hostile_paths(client, owner_client, pipeline):
    for path in ("/namespaces/w/datasets/raw", "/namespaces/p/jobs/clean", "/jobs", "/stats/jobs?period=DAY"):
        assert client.get(BASE + path).status_code in (401, 403)
    assert owner_client.get(BASE + "/namespaces/w/datasets/" + "a" * 5000).status_code == 404
    assert owner_client.get(BASE + "/namespaces/w/datasets/raw%00").status_code in (400, 404)
    assert owner_client.get(BASE + "/namespaces/w/datasets/raw", {"unknown": "1"}).status_code == 400
    assert owner_client.get(BASE + "/jobs", {"lastRunStates": "SLEEPING"}).status_code == 400
    assert owner_client.get(BASE + "/jobs", {"lastRunStates": "\x00"}).status_code == 400


# --- Marquez's dashboard figures -----------------------------------------------------------------------


def _now_event(job, event_type, inputs=(), outputs=()):
    from django.utils import timezone

    event = run_event(inputs=list(inputs), outputs=list(outputs), job=job, event_type=event_type)
    event["eventTime"] = timezone.now().isoformat().replace("+00:00", "Z")
    return event


def test_the_dashboard_counts_the_day_s_events_jobs_and_datasets(owner_client, send):
    send(
        _now_event(("p", "a"), "START", outputs=[dataset("w", "x")]),
        _now_event(("p", "a"), "COMPLETE", outputs=[dataset("w", "x")]),
        _now_event(("p", "b"), "FAIL", inputs=[dataset("w", "x")]),
    )

    events = get(owner_client, "/stats/lineage-events", period="DAY")
    jobs = get(owner_client, "/stats/jobs", period="DAY")
    datasets = get(owner_client, "/stats/datasets", period="DAY")
    week = get(owner_client, "/stats/jobs", period="WEEK", timezone="Pacific/Auckland")

    assert len(events) == len(jobs) == len(datasets) == 24
    for item in events:
        assert set(item) == {"startInterval", "endInterval", "fail", "start", "complete", "abort"}
    assert events[-1] | {"startInterval": None, "endInterval": None} == {
        "startInterval": None,
        "endInterval": None,
        "fail": 1,
        "start": 1,
        "complete": 1,
        "abort": 0,
    }
    assert sum(item["start"] for item in events[:-1]) == 0
    assert [item["count"] for item in jobs][-1] == 2
    assert [item["count"] for item in datasets][-1] == 1
    assert len(week) == 7
    assert week[-1]["count"] == 2
    # Each interval ends where the next begins, in UTC.
    assert all(a["endInterval"] == b["startInterval"] for a, b in itertools.pairwise(jobs))
    assert jobs[-1]["endInterval"].endswith(":00:00Z")


def test_a_stranger_s_dashboard_counts_nothing_of_a_restricted_dataset(client_for, stranger, send):
    from catalog.models import Dataset

    send(_now_event(("p", "zebra-job"), "COMPLETE", outputs=[dataset("w", "zebra")]))
    Dataset.objects.filter(name="zebra").update(sensitivity=Sensitivity.RESTRICTED)
    client = client_for(stranger)

    events = client.get(BASE + "/stats/lineage-events", {"period": "DAY"}).json()
    jobs = client.get(BASE + "/stats/jobs", {"period": "DAY"}).json()
    datasets = client.get(BASE + "/stats/datasets", {"period": "WEEK", "timezone": "UTC"}).json()

    assert sum(item["complete"] for item in events) == 0
    assert jobs[-1]["count"] == 0
    assert datasets[-1]["count"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"period": "MONTH"},
        {"period": "WEEK"},
        {"period": "WEEK", "timezone": "Mars/Olympus"},
        {"period": "WEEK", "timezone": "../../etc/passwd"},
        {"period": "WEEK", "timezone": "UTC\x00"},
        {"period": "WEEK", "timezone": "x" * 5000},
        {"period": "DAY", "unknown": "1"},
    ],
)
def test_the_dashboard_refuses_a_period_or_time_zone_it_cannot_read(owner_client, params):
    for kind in ("lineage-events", "jobs", "datasets"):
        response = owner_client.get(f"{BASE}/stats/{kind}", params)

        assert response.status_code == 400, (kind, params, response.content)
        assert response["Content-Type"].startswith("application/problem+json")
