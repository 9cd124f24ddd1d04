"""Lineage: graph reads against the bare recursive query, and OpenLineage ingestion through real servers.

Graph reads. A lineage graph shaped like real pipelines is written straight into the tables with
INSERT ... SELECT over generate_series: 1,000 pipelines of 200 datasets (10 with --smoke), each
dataset reading the positions 1, 2, 3, 5 and 8 before it in its pipeline, and the first 8 positions
of each pipeline reading 5 of the last 8 of the pipeline before, so walks cross pipelines: 200,000
datasets, ~1,000,000 edges, one job per 10 target datasets, each job with one run that all its edges
carry (as ingestion leaves them). Indexes and foreign keys are dropped for the load and put back
after it, then the tables are vacuumed and analysed. For upstream and downstream walks at depths 5
and 20 from 20 fixed start datasets (upstream: positions 100-199 of pipelines spread over the graph;
downstream: positions 0-99; about half of the depth-20 walks cross into another pipeline), three
timings are taken, each the median of repeated runs per start, summed over the starts:

  (a) the reference: the bare recursive CTE run directly with a cursor, answering what a graph read
      needs (each dataset reached, its least depth, and the edges followed): the text of
      `lineage.selectors.walk_sql`, its rows fetched and nothing more;
  (b) `lineage_walk`, the selector behind the API: the same query through Django, its rows turned
      into the walk's datasets and edges. Target: at most 1.5 times (a);
  (c) GET /api/v1/lineage through the Django test client: the walk, the datasets and jobs it reached
      loaded and rendered in Marquez's graph format. Reported with the average number of graph nodes
      returned, for the reader to judge.
  Also reported: (b) against the smallest recursive CTE, the one that finds the datasets reached and
  their depth without the edges between them (what returning the graph costs beyond reachability).

Ingestion. gunicorn is started as the image starts it (config/gunicorn.conf.py: gevent workers) on
the benchmark database with 1 and then 2 workers, its broker a Redis database of its own
(CATALOG_LINEAGE_BROKER), and 4 client threads, each over a kept-alive connection, POST realistic
OpenLineage RunEvents to it: each a distinct run of one of ~50 jobs reading 2 datasets and writing 1,
drawn from a pool of ~500 names (some new, most already known), the output carrying a 20-field schema
facet and a columnLineage facet. Every answer must be 202 (recorded, to be projected). The figures are
events/second recorded, the mean latency, and the web workers' CPU per event (from /proc: what the
rate would be on a core of this machine's own, whatever else runs on it); the 2-worker line is
compared with the 1-worker one (its ratio is the speed-up). Then one Celery worker (one process) is
started, and once it is ready the projection is asked for: the time until no event is left pending
gives the projection's rate, reported beside the rate of recording. The same for the batch endpoint,
with 2 client threads per web worker, on 1 web worker and then on 2 as the image runs the service
(GUNICORN_WORKERS, default 2): the batch target is the service's, on 2; the events the 2-worker run
records are not projected. No worker projects while the web worker records, so the web worker's
figure is its own on this machine.

The graph reads are in benchmarks/lineage_graph.py, the gunicorn server in benchmarks/server.py.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
import requests
from django.contrib.auth import get_user_model

from benchmarks.lineage_graph import graph_reads
from benchmarks.load import celery_worker
from benchmarks.server import Server, database_url
from config.celery_app import app
from governance.services import access_token_issue
from lineage.choices import ProjectionState
from lineage.models import LineageEvent

PRODUCER = "https://github.com/example/catalog-benchmarks/lineage"
RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
SCHEMA_FACET = "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
COLUMN_LINEAGE_FACET = (
    "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
)
FIELDS = 20
CLIENT_THREADS = 4
# The batch endpoint's figures: batches of this many events, gzip-compressed as OpenLineage's HTTP
# transport may send them, from this many client threads.
BATCH_SIZE = 1000
BATCH_THREADS = 2  # per web worker
SINGLE_TARGET = 300.0  # events/s on one web worker, one event per request
BATCH_TARGET = 2000.0  # events/s through POST /api/v1/lineage/batch, on the image's 2 web workers
# The broker the web workers ask for the projection through, and the projecting worker reads.
BROKER = os.environ.get("CATALOG_LINEAGE_BROKER", "redis://127.0.0.1:6379/9")


# --- Ingestion ---------------------------------------------------------------------------------------


def _facet(schema_url: str, **members: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": schema_url, **members}


def _field_names(dataset: int) -> list[str]:
    return [f"col_{(dataset + index) % 37:02d}_{index:02d}" for index in range(FIELDS)]


def _schema(dataset: int) -> dict[str, Any]:
    kinds = ("string", "bigint", "double", "timestamp", "boolean")
    return _facet(
        SCHEMA_FACET,
        fields=[{"name": name, "type": kinds[index % len(kinds)]} for index, name in enumerate(_field_names(dataset))],
    )


def _events(count: int, *, seed: int, pool: int, jobs: int, prefix: str) -> list[bytes]:
    """Distinct runs, each reading 2 datasets of the pool and writing a third, already serialised."""
    rng = random.Random(seed)
    base = datetime(2026, 11, 1, tzinfo=UTC)
    namespace = "s3://bench-lake"

    def name(dataset: int) -> str:
        return f"{prefix}/zone-{dataset % 5}/table-{dataset:04d}"

    events = []
    for index in range(count):
        first, second, output = rng.sample(range(pool), 3)
        inputs = (first, second)
        mapping = {}
        for position, output_field in enumerate(_field_names(output)):
            sources = [rng.choice(inputs)] if rng.random() < 0.6 else list(inputs)
            mapping[output_field] = {
                "inputFields": [
                    {
                        "namespace": namespace,
                        "name": name(source),
                        "field": _field_names(source)[(position + offset) % FIELDS],
                        "transformations": [
                            {"type": "DIRECT", "subtype": "IDENTITY" if len(sources) == 1 else "TRANSFORMATION"}
                        ],
                    }
                    for offset, source in enumerate(sources)
                ]
            }
        event = {
            "eventType": "COMPLETE",
            "eventTime": (base + timedelta(seconds=index)).isoformat().replace("+00:00", "Z"),
            "producer": PRODUCER,
            "schemaURL": RUN_EVENT_SCHEMA,
            "run": {"runId": str(uuid.UUID(int=rng.getrandbits(128), version=4))},
            "job": {"namespace": "bench-ingest", "name": f"{prefix}.etl.step-{rng.randrange(jobs):02d}"},
            "inputs": [
                {"namespace": namespace, "name": name(source), "facets": {"schema": _schema(source)}}
                for source in inputs
            ],
            "outputs": [
                {
                    "namespace": namespace,
                    "name": name(output),
                    "facets": {
                        "schema": _schema(output),
                        "columnLineage": _facet(COLUMN_LINEAGE_FACET, fields=mapping),
                    },
                }
            ],
        }
        events.append(json.dumps(event).encode())
    return events


def _post_all(url: str, headers: dict[str, str], events: list[bytes]) -> tuple[float, list[float], list[str]]:
    """POST the events from the client threads, each over a kept-alive connection of its own; wall time,
    latencies, failures. The standard library's client: `requests` took 1.2 ms of CPU per event on the
    client's side (http.client 0.3 ms), on the same two vCPUs as the server it measures."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    address = urlsplit(url)
    sent = {**headers, "Content-Type": "application/json"}

    def client(share: list[bytes]) -> None:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
        try:
            for body in share:
                started = time.perf_counter()
                try:
                    connection.request("POST", address.path, body=body, headers=sent)
                    response = connection.getresponse()
                    status, text = response.status, response.read()[:300].decode(errors="replace")
                except (OSError, http.client.HTTPException) as exc:
                    connection.close()  # opened again by the next request
                    status, text = 0, repr(exc)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if status != 202:
                        failures.append(f"{status}: {text}")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=client, args=(events[index::CLIENT_THREADS],)) for index in range(CLIENT_THREADS)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, failures


def _post_batches(url: str, headers: dict[str, str], batches: list[bytes], threads: int) -> tuple[float, list[str]]:
    """POST gzip-compressed batches from the batch client threads; wall time and failures (an answer
    other than 200, or an event of a batch not created)."""
    failures: list[str] = []
    lock = threading.Lock()

    def client(share: list[bytes]) -> None:
        with requests.Session() as session:
            # A connection per batch, as many senders would open them: a kept-alive connection stays with
            # the web worker that accepted it, and a few of them may all land on one.
            session.headers.update(
                {**headers, "Content-Type": "application/json", "Content-Encoding": "gzip", "Connection": "close"}
            )
            for body in share:
                try:
                    response = session.post(url, data=body, timeout=600)
                    status, text = response.status_code, response.text
                except requests.RequestException as exc:
                    status, text = 0, repr(exc)
                bad = [text[:300]] if status != 200 else []
                if not bad:
                    bad = [json.dumps(item)[:300] for item in response.json()["results"] if item["status"] != "created"]
                with lock:
                    failures.extend(bad)

    clients = [threading.Thread(target=client, args=(batches[index::threads],)) for index in range(threads)]
    started = time.perf_counter()
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    return time.perf_counter() - started, failures


def _batch_ingest(
    root: Path, workers: int, headers: dict[str, str], warm_up: list[bytes], batches: list[bytes], count: int
) -> float:
    """The batches POSTed to a gunicorn of `workers` web workers, from BATCH_THREADS client threads per
    worker: events/second recorded."""
    _broker_reset()
    server = Server(workers, root / f"gunicorn-batch-{workers}.log", env={"CELERY_BROKER_URL": BROKER})
    threads = BATCH_THREADS * workers
    try:
        server.wait_ready(headers)
        url = f"{server.url}/api/v1/lineage/batch"
        _, failures = _post_batches(url, headers, warm_up, threads)
        assert not failures, failures[:3]
        print(
            f"lineage: POSTing {count:,} events in batches of {BATCH_SIZE} to gunicorn -w {workers} ...",
            flush=True,
        )
        wall, failures = _post_batches(url, headers, batches, threads)
    finally:
        server.stop()
    assert not failures, f"{len(failures)} events of the batches were not created: {failures[:3]}"
    print(
        f"lineage: batch endpoint, gunicorn -w {workers}: {count / wall:.1f} events/s recorded",
        flush=True,
    )
    return count / wall


def _batched(events: list[bytes]) -> list[bytes]:
    return [
        gzip.compress(b"[" + b",".join(events[start : start + BATCH_SIZE]) + b"]", compresslevel=5)
        for start in range(0, len(events), BATCH_SIZE)
    ]


def _broker_reset() -> None:
    """The benchmark's broker emptied: no message or projection request an earlier step left."""
    redis.Redis.from_url(BROKER).flushdb()


def _projection(root: Path, name: str) -> tuple[int, float]:
    """The events left pending, projected by one Celery worker (one process) started for it: their
    number and the seconds from asking for the projection to none left pending. The worker is started
    and ready before the clock starts; the request is the message a web request sends."""
    pending = LineageEvent.objects.filter(state=ProjectionState.PENDING)
    count = pending.count()
    _broker_reset()
    worker = celery_worker(
        {**os.environ, "CELERY_BROKER_URL": BROKER, "DATABASE_URL": database_url(), "SECRET_KEY": "bench-only",
         "DEBUG": "0"},
        root / f"worker-{name}.log",
        f"lineage-{name}",
    )  # fmt: skip
    try:
        started = time.perf_counter()
        with app.connection_for_write(BROKER) as connection:
            app.send_task("lineage.tasks.lineage_pending_project", connection=connection)
        deadline = started + 1800
        while pending.exists():
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{pending.count()} events still pending after 30 minutes")
            time.sleep(0.05)
        return count, time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def _ingestion(*, smoke: bool, token: str) -> list[dict]:
    count, pool, jobs = (100, 50, 10) if smoke else (2000, 500, 50)
    batch_count = 200 if smoke else 10_000
    headers = {"Authorization": f"Bearer {token}"}
    figures = {}
    projected = {}
    with tempfile.TemporaryDirectory() as root:
        for workers in (1, 2):
            # Each server size gets its own names, so both see the same mix of new and known datasets.
            prefix = f"w{workers}"
            warm_up = _events(4 * CLIENT_THREADS, seed=100 + workers, pool=pool, jobs=jobs, prefix=f"{prefix}-warm")
            events = _events(count, seed=workers, pool=pool, jobs=jobs, prefix=prefix)
            _broker_reset()
            server = Server(workers, Path(root) / f"gunicorn-{workers}.log", env={"CELERY_BROKER_URL": BROKER})
            try:
                server.wait_ready(headers)
                url = f"{server.url}/api/v1/lineage"
                _, _, failures = _post_all(url, headers, warm_up)
                assert not failures, failures[:3]
                print(
                    f"lineage: POSTing {count:,} OpenLineage events to gunicorn -w {workers} ...",
                    flush=True,
                )
                cpu_before = server.workers_cpu()
                wall, latencies, failures = _post_all(url, headers, events)
                cpu_after = server.workers_cpu()
            finally:
                server.stop()
            assert not failures, f"{len(failures)} of {count} events were not answered 202: {failures[:3]}"
            cpu = (cpu_after - cpu_before) / count if cpu_before is not None and cpu_after is not None else None
            figures[workers] = (count / wall, statistics.mean(latencies), statistics.median(latencies), cpu)
            print(
                f"lineage: gunicorn -w {workers}: {count / wall:.1f} events/s recorded, latency mean "
                f"{figures[workers][1] * 1000:.1f} ms, median {figures[workers][2] * 1000:.1f} ms"
                + (f", web workers' CPU {cpu * 1000:.2f} ms per event" if cpu is not None else ""),
                flush=True,
            )
            if workers == 1:
                projected["single"] = _projection(Path(root), "single")
                print(
                    f"lineage: {projected['single'][0]:,} events projected by one worker in "
                    f"{projected['single'][1]:.1f} s",
                    flush=True,
                )
            else:
                _projection(Path(root), "single-2")
        # The same kind of events, through the batch endpoint: the same pool size of datasets per 2,000
        # events, so as many are new and known as above. First on one web worker (its projection timed),
        # then on two, as the image runs the service (GUNICORN_WORKERS): the target is the service's.
        batch_rates = {}
        for workers in (1, 2):
            prefix = f"batch-w{workers}"
            events = _events(batch_count, seed=6 + workers, pool=pool * batch_count // count, jobs=jobs, prefix=prefix)
            warm_up = _batched(_events(50 * workers, seed=8 + workers, pool=pool, jobs=jobs, prefix=f"{prefix}-warm"))
            batch_rates[workers] = _batch_ingest(Path(root), workers, headers, warm_up, _batched(events), batch_count)
            if workers == 1:
                projected["batch"] = _projection(Path(root), "batch")
                print(
                    f"lineage: {projected['batch'][0]:,} events projected by one worker in {projected['batch'][1]:.1f} s",
                    flush=True,
                )
        # The events the two-worker run recorded are left pending: the database is dropped at the end.
    one, two = figures[1], figures[2]
    (single_count, single_time), (batch_projected, batch_time) = projected["single"], projected["batch"]
    return [
        {
            "name": f"OpenLineage ingest, {count:,} events, gunicorn -w 1",
            "measured": f"{one[0]:.1f} ev/s, {one[1] * 1000:.0f} ms" + _cpu(one[3]),
            "reference": f"{one[0]:.1f} ev/s",
            "ratio": 1.0,
            "target": f">= {SINGLE_TARGET:.0f} ev/s",
            "ok": one[0] >= SINGLE_TARGET,
        },
        {
            "name": f"OpenLineage ingest, {count:,} events, gunicorn -w 2",
            "measured": f"{two[0]:.1f} ev/s, {two[1] * 1000:.0f} ms" + _cpu(two[3]),
            "reference": f"-w 1 {one[0]:.1f} ev/s",
            "ratio": two[0] / one[0],
            "target": "report",
            "ok": True,
        },
        {
            "name": f"OpenLineage projection of {single_count:,} single events, one worker",
            "measured": f"{single_count / single_time:.1f} ev/s",
            "reference": f"recorded {one[0]:.1f} ev/s",
            "ratio": single_count / single_time / one[0],
            "target": "report",
            "ok": True,
        },
        {
            "name": f"OpenLineage batch ingest, {batch_count:,} events, gunicorn -w 1",
            "measured": f"{batch_rates[1]:.1f} ev/s",
            "reference": f"single -w 1 {one[0]:.1f} ev/s",
            "ratio": batch_rates[1] / one[0],
            "target": "report",
            "ok": True,
        },
        {
            "name": f"OpenLineage batch ingest, {batch_count:,} events, gunicorn -w 2",
            "measured": f"{batch_rates[2]:.1f} ev/s",
            "reference": f"batch -w 1 {batch_rates[1]:.1f} ev/s",
            "ratio": batch_rates[2] / batch_rates[1],
            "target": f">= {BATCH_TARGET:.0f} ev/s",
            "ok": batch_rates[2] >= BATCH_TARGET,
        },
        {
            "name": f"OpenLineage projection of {batch_projected:,} batched events, one worker",
            "measured": f"{batch_projected / batch_time:.1f} ev/s",
            "reference": f"recorded {batch_rates[1]:.1f} ev/s",
            "ratio": batch_projected / batch_time / batch_rates[1],
            "target": "report",
            "ok": True,
        },
    ]


def _cpu(per_event: float | None) -> str:
    """The web workers' CPU per event, when /proc tells it."""
    return f", {per_event * 1000:.2f} ms CPU/ev" if per_event is not None else ""


def run(*, smoke: bool) -> list[dict]:
    user = get_user_model().objects.create_user("lineage-bench")
    token = access_token_issue(user=user)
    # BENCH_LINEAGE=ingest measures the ingestion alone (the graph load takes most of a full run).
    if os.environ.get("BENCH_LINEAGE", "") == "ingest":
        return _ingestion(smoke=smoke, token=token.key)
    results = graph_reads(smoke=smoke, headers={"HTTP_AUTHORIZATION": f"Token {token.key}"})
    return results + _ingestion(smoke=smoke, token=token.key)
