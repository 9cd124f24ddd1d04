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

Ingestion. `gunicorn config.wsgi:application` is started on the benchmark database with 1 and then
2 sync workers, and 4 client threads POST realistic OpenLineage RunEvents to it: each a distinct
run of one of ~50 jobs reading 2 datasets and writing 1, drawn from a pool of ~500 names (some new,
most already known), the output carrying a 20-field schema facet and a columnLineage facet. Every
answer must be 201. The figures are events/second and the mean latency; the 2-worker line is
compared with the 1-worker one (its ratio is the speed-up).
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client

from catalog.choices import Lifecycle
from catalog.models import Dataset
from governance.choices import Sensitivity
from governance.services import access_token_issue
from lineage.choices import EdgeOrigin, EdgeStatus, RunState
from lineage.models import Job, LineageEdge, Run
from lineage.selectors import DOWNSTREAM, UPSTREAM, lineage_walk, walk_sql

NAMESPACE = "bench-lineage"
PIPELINE = 200  # datasets per pipeline
OFFSETS = (1, 2, 3, 5, 8)  # a dataset reads these positions before it in its pipeline
HANDOFF = 8  # the first 8 positions read from the last 8 of the pipeline before ...
HANDOFF_INPUTS = 5  # ... 5 of them each
TARGETS_PER_JOB = 10
DEPTHS = (5, 20)
STARTS = 20
TARGET_RATIO = 1.5

PRODUCER = "https://github.com/example/catalog-benchmarks/lineage"
RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
SCHEMA_FACET = "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
COLUMN_LINEAGE_FACET = (
    "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
)
FIELDS = 20
CLIENT_THREADS = 4


# --- The graph ---------------------------------------------------------------------------------------


def _dataset_index_sql(expression: str) -> str:
    """A deterministic (version 4 looking) UUID for the dataset at a global index, in SQL."""
    return f"md5('{NAMESPACE}-dataset-' || ({expression}))::uuid"


def _job_index_sql(expression: str) -> str:
    return f"md5('{NAMESPACE}-job-' || ({expression}))::uuid"


def _run_index_sql(expression: str) -> str:
    return f"md5('{NAMESPACE}-run-' || ({expression}))::uuid"


def _dataset_name(pipeline: int, position: int) -> str:
    return f"pipe-{pipeline:04d}/ds-{position:03d}"


def _check_columns(cursor: Any, table: str, columns: list[str]) -> None:
    """Every column the database requires is given: a column added to the model later fails here, clearly."""
    required = {
        column.name
        for column in connection.introspection.get_table_description(cursor, table)
        if not column.null_ok and column.default is None and not getattr(column, "is_autofield", False)
    }
    missing = required - set(columns)
    assert not missing, f"the benchmark's INSERT into {table} leaves NOT NULL columns out: {sorted(missing)}"


def _bulk_insert(table: str, columns: list[str], select: str, params: list[Any]) -> float:
    """INSERT ... SELECT with the table's secondary indexes and foreign keys dropped and then put back
    exactly as they were: rebuilding an index in one pass, and checking a foreign key with one join,
    is many times faster than maintaining a dozen random-UUID indexes and firing a trigger per row."""
    quoted = connection.ops.quote_name(table)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        _check_columns(cursor, table, columns)
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
            WHERE i.indrelid = %s::regclass AND NOT EXISTS (
                SELECT 1 FROM pg_constraint c
                WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x')
            )
            """,
            [table],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND contype = 'f'",
            [table],
        )
        foreign_keys = cursor.fetchall()
        for name, _ in foreign_keys:
            cursor.execute(f"ALTER TABLE {quoted} DROP CONSTRAINT {connection.ops.quote_name(name)}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        cursor.execute(f"INSERT INTO {quoted} ({', '.join(columns)}) {select}", params)
        for _, definition in indexes:
            cursor.execute(definition)
        for name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {quoted} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}")
    return time.perf_counter() - started


def _generate_graph(pipelines: int) -> dict[str, float]:
    datasets = pipelines * PIPELINE
    timings = {}
    timings["datasets"] = _bulk_insert(
        Dataset._meta.db_table,
        [
            "id",
            "namespace",
            "name",
            "description",
            "license",
            "sensitivity",
            "lifecycle",
            "created_at",
            "updated_at",
            "deprecation_reason",
            "origin",
            "origin_terms",
        ],
        f"""
        SELECT {_dataset_index_sql("i")}, %s,
               'pipe-' || lpad((i / {PIPELINE})::text, 4, '0') || '/ds-' || lpad(mod(i, {PIPELINE})::text, 3, '0'),
               '', '', %s, %s, now(), now(), '', '', ''
        FROM generate_series(0, %s) AS i
        """,  # noqa: S608 - only this module's constants enter the text; values are parameters
        [NAMESPACE, Sensitivity.INTERNAL, Lifecycle.ACTIVE, datasets - 1],
    )
    jobs_per_pipeline = PIPELINE // TARGETS_PER_JOB
    timings["jobs"] = _bulk_insert(
        Job._meta.db_table,
        [
            "id",
            "namespace",
            "name",
            "description",
            "job_type",
            "integration",
            "processing_type",
            "facets",
            "facet_times",
            "created_at",
            "updated_at",
        ],
        f"""
        SELECT {_job_index_sql("k")}, %s,
               'pipe-' || lpad((k / {jobs_per_pipeline})::text, 4, '0')
                   || '/step-' || lpad(mod(k, {jobs_per_pipeline})::text, 2, '0'),
               '', 'JOB', 'SPARK', 'BATCH', '{{}}'::jsonb, '{{}}'::jsonb, now(), now()
        FROM generate_series(0, %s) AS k
        """,  # noqa: S608 - only this module's constants enter the text; values are parameters
        [NAMESPACE, datasets // TARGETS_PER_JOB - 1],
    )
    # One (latest) run per job, as events leave them: every edge carries its job's run, as ingestion sets it.
    timings["runs"] = _bulk_insert(
        Run._meta.db_table,
        [
            "id",
            "job_id",
            "state",
            "state_event_time",
            "started_at",
            "ended_at",
            "facets",
            "facet_times",
            "created_at",
            "updated_at",
        ],
        f"""
        SELECT {_run_index_sql("k")}, {_job_index_sql("k")}, %s, now(), now(), now(), '{{}}'::jsonb, '{{}}'::jsonb,
               now(), now()
        FROM generate_series(0, %s) AS k
        """,  # noqa: S608 - only this module's constants enter the text; values are parameters
        [RunState.COMPLETE, datasets // TARGETS_PER_JOB - 1],
    )
    jobs, runs = (connection.ops.quote_name(model._meta.db_table) for model in (Job, Run))
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {jobs} AS j SET latest_run_id = r.id FROM {runs} AS r WHERE r.job_id = j.id"  # noqa: S608
        )
    timings["jobs"] += time.perf_counter() - started
    # Within a pipeline: t reads t - o for each offset. Across: position q < 8 of pipeline p reads
    # positions 192 + (q + k) % 8, k < 5, of pipeline p - 1. Each edge's job is its target's.
    offsets = ", ".join(str(offset) for offset in OFFSETS)
    last = PIPELINE - HANDOFF
    timings["edges"] = _bulk_insert(
        LineageEdge._meta.db_table,
        [
            "origin",
            "description",
            "created_at",
            "updated_at",
            "source_id",
            "target_id",
            "job_id",
            "run_id",
            "run_event_time",
            "status",
        ],
        f"""
        SELECT %s, '', now(), now(), {_dataset_index_sql("s")}, {_dataset_index_sql("t")},
               {_job_index_sql(f"t / {TARGETS_PER_JOB}")}, {_run_index_sql(f"t / {TARGETS_PER_JOB}")}, now(), %s
        FROM (
            SELECT t, t - o AS s
            FROM generate_series(0, %s) AS t, unnest(ARRAY[{offsets}]) AS o
            WHERE mod(t, {PIPELINE}) >= o
            UNION ALL
            SELECT t, (t / {PIPELINE} - 1) * {PIPELINE} + {last} + mod(mod(t, {PIPELINE}) + k, {HANDOFF})
            FROM generate_series({PIPELINE}, %s) AS t, generate_series(0, {HANDOFF_INPUTS - 1}) AS k
            WHERE mod(t, {PIPELINE}) < {HANDOFF}
        ) AS pairs
        """,  # noqa: S608 - only this module's constants enter the text; values are parameters
        # Reported by the pipelines' owners: confirmed, as the audits' walks need.
        [EdgeOrigin.OPENLINEAGE, EdgeStatus.CONFIRMED, datasets - 1, datasets - 1],
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for model in (Dataset, Job, Run, LineageEdge):
            # VACUUM as well: the visibility map lets the walks use index-only scans, as they would on a
            # table autovacuum has seen, and no autovacuum starts in the middle of the timings.
            cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(model._meta.db_table)}")
    timings["vacuum analyze"] = time.perf_counter() - started
    return timings


def _starts(pipelines: int, direction: str) -> list[tuple[str, uuid.UUID]]:
    """20 start datasets spread over the pipelines: late positions for upstream walks, early ones for
    downstream walks, about half close enough to a pipeline's end for a depth-20 walk to cross it."""
    wanted = []
    for index in range(STARTS):
        pipeline = 1 + index * (pipelines - 2) // STARTS
        offset = index * 37 % 100
        position = PIPELINE - 1 - offset if direction == UPSTREAM else offset
        wanted.append(_dataset_name(pipeline, position))
    found = dict(Dataset.objects.filter(namespace=NAMESPACE, name__in=wanted).values_list("name", "id"))
    return [(name, found[name]) for name in wanted]


def _reference_sql(direction: str) -> str:
    """The walk of `lineage_walk`, kept to what it must find: each dataset reached and its least depth."""
    table = connection.ops.quote_name(LineageEdge._meta.db_table)
    near, far = ("target_id", "source_id") if direction == UPSTREAM else ("source_id", "target_id")
    return f"""
        WITH RECURSIVE walk(node, depth) AS (
            SELECT %s, 0
            UNION
            SELECT e.{far}, w.depth + 1 FROM {table} e JOIN walk w ON e.{near} = w.node WHERE w.depth < %s
        )
        SELECT node, MIN(depth) FROM walk GROUP BY node
    """  # noqa: S608 - our own table and column names, as in lineage/selectors.py


def _reference(direction: str, start: uuid.UUID, depth: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(_reference_sql(direction), [start, depth])
        return len(cursor.fetchall())


def _bare_walk(direction: str, start: uuid.UUID, depth: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(walk_sql(direction), [start, depth, depth])
        return len(cursor.fetchall())


def _seconds(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _compare(
    starts: list[tuple[str, uuid.UUID]],
    reference: Callable[[uuid.UUID], Any],
    ours: Callable[[uuid.UUID], Any],
    repeat: int,
) -> tuple[float, float]:
    """Sums over the starts of each one's median time, ours and the reference's, alternated run by run."""
    reference_total = ours_total = 0.0
    for _, start in starts:
        reference(start)  # warm up
        ours(start)
        reference_times, our_times = [], []
        for run in range(repeat):
            if run % 2:
                our_times.append(_seconds(lambda start=start: ours(start)))
                reference_times.append(_seconds(lambda start=start: reference(start)))
            else:
                reference_times.append(_seconds(lambda start=start: reference(start)))
                our_times.append(_seconds(lambda start=start: ours(start)))
        reference_total += statistics.median(reference_times)
        ours_total += statistics.median(our_times)
    return reference_total, ours_total


def _graph_reads(*, smoke: bool, headers: dict[str, str]) -> list[dict]:
    pipelines = 10 if smoke else 1000
    print(f"lineage: generating {pipelines * PIPELINE:,} datasets in {pipelines:,} pipelines ...", flush=True)
    timings = _generate_graph(pipelines)
    edges = LineageEdge.objects.count()
    print(
        f"lineage: {edges:,} edges, {Job.objects.count():,} jobs; generated in {sum(timings.values()):.1f} s ("
        + ", ".join(f"{part} {seconds:.1f} s" for part, seconds in timings.items())
        + ")",
        flush=True,
    )
    repeat, http_repeat = (3, 2) if smoke else (7, 3)
    client = Client()
    results = []
    for direction in (UPSTREAM, DOWNSTREAM):
        starts = _starts(pipelines, direction)
        names = {start: name for name, start in starts}
        for depth in DEPTHS:
            reached = [_reference(direction, start, depth) for _, start in starts]
            walks = [lineage_walk(start, depth=depth, direction=direction) for _, start in starts]
            assert [len(walk.depths) for walk in walks] == reached, "the selector and the bare walk disagree"
            reference_s, selector_s = _compare(
                starts,
                lambda start, direction=direction, depth=depth: _bare_walk(direction, start, depth),
                lambda start, direction=direction, depth=depth: lineage_walk(start, depth=depth, direction=direction),
                repeat,
            )
            reachability_s, selector_again_s = _compare(
                starts,
                lambda start, direction=direction, depth=depth: _reference(direction, start, depth),
                lambda start, direction=direction, depth=depth: lineage_walk(start, depth=depth, direction=direction),
                repeat,
            )

            def http(start: uuid.UUID, direction: str = direction, depth: int = depth, names: dict = names) -> Any:
                query = {"nodeId": f"dataset:{NAMESPACE}:{names[start]}", "depth": depth, "direction": direction}
                response = client.get("/api/v1/lineage", query, **headers)
                assert response.status_code == 200, response.content[:300]
                return response

            graph_nodes = [http(start).json()["graph"] for _, start in starts]
            dataset_nodes = statistics.mean(sum(node["type"] == "DATASET" for node in graph) for graph in graph_nodes)
            job_nodes = statistics.mean(sum(node["type"] == "JOB" for node in graph) for graph in graph_nodes)
            http_reference_s, http_s = _compare(
                starts,
                lambda start, direction=direction, depth=depth: _reference(direction, start, depth),
                http,
                http_repeat,
            )
            mean_reached = statistics.mean(reached)
            mean_edges = statistics.mean(len(walk.edges) for walk in walks)
            print(
                f"lineage: {direction} depth {depth}: {mean_reached:.0f} datasets and {mean_edges:.0f} edges "
                f"reached on average; the HTTP graph holds {dataset_nodes:.0f} dataset and {job_nodes:.0f} job "
                f"nodes on average",
                flush=True,
            )
            ratio = selector_s / reference_s
            label = f"lineage {direction} depth {depth}, {edges:,} edges"
            results.append(
                {
                    "name": f"{label} (lineage_walk)",
                    "measured": f"{selector_s / STARTS * 1000:.2f} ms, {mean_reached:.0f} ds",
                    "reference": f"bare CTE {reference_s / STARTS * 1000:.2f} ms",
                    "ratio": ratio,
                    "target": f"<= {TARGET_RATIO:.2f}",
                    "ok": ratio <= TARGET_RATIO,
                }
            )
            results.append(
                {
                    "name": f"{label} (vs reachability)",
                    "measured": f"{selector_again_s / STARTS * 1000:.2f} ms",
                    "reference": f"nodes-only CTE {reachability_s / STARTS * 1000:.2f} ms",
                    "ratio": selector_again_s / reachability_s,
                    "target": "report",
                    "ok": True,
                }
            )
            results.append(
                {
                    "name": f"{label} (HTTP GET)",
                    "measured": f"{http_s / STARTS * 1000:.1f} ms, {dataset_nodes + job_nodes:.0f} nodes",
                    "reference": f"bare CTE {http_reference_s / STARTS * 1000:.2f} ms",
                    "ratio": http_s / http_reference_s,
                    "target": "report",
                    "ok": True,
                }
            )
    return results


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url() -> str:
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user else ""
    return f"postgres://{credentials}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


class _Server:
    """`gunicorn config.wsgi:application` on the benchmark database, on a free local port."""

    def __init__(self, workers: int, log: Path, env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        base = {key: value for key, value in os.environ.items() if key != "CELERY_BROKER_URL"}
        env = {
            **base,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": _database_url(),
            "SECRET_KEY": "bench-only",
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            **(env or {}),
        }
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi:application",
                    "-w",
                    str(workers),
                    "-b",
                    f"127.0.0.1:{self.port}",
                    "--log-level",
                    "warning",
                ],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, headers: dict[str, str], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                response = requests.get(f"{self.url}/api/v1/jobs/?limit=1", headers=headers, timeout=10)
            except requests.ConnectionError:  # not listening yet
                time.sleep(0.2)
                continue
            if response.status_code == 200:
                return
            raise RuntimeError(
                f"gunicorn answered {response.status_code}: {response.text[:300]}\n{self.log.read_text()[-3000:]}"
            )
        raise RuntimeError(f"gunicorn did not answer in {timeout:.0f} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # a graceful stop: the workers close their connections
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _post_all(url: str, headers: dict[str, str], events: list[bytes]) -> tuple[float, list[float], list[str]]:
    """POST the events from the client threads, each with its own session; wall time, latencies, failures."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def client(share: list[bytes]) -> None:
        with requests.Session() as session:
            session.headers.update({**headers, "Content-Type": "application/json"})
            for body in share:
                started = time.perf_counter()
                try:
                    response = session.post(url, data=body, timeout=120)
                    status, text = response.status_code, response.text[:300]
                except requests.RequestException as exc:
                    status, text = 0, repr(exc)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if status != 201:
                        failures.append(f"{status}: {text}")

    threads = [
        threading.Thread(target=client, args=(events[index::CLIENT_THREADS],)) for index in range(CLIENT_THREADS)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, failures


def _ingestion(*, smoke: bool, token: str) -> list[dict]:
    count, pool, jobs = (100, 50, 10) if smoke else (2000, 500, 50)
    headers = {"Authorization": f"Bearer {token}"}
    figures = {}
    with tempfile.TemporaryDirectory() as root:
        for workers in (1, 2):
            # Each server size gets its own names, so both see the same mix of new and known datasets.
            prefix = f"w{workers}"
            warm_up = _events(4 * CLIENT_THREADS, seed=100 + workers, pool=pool, jobs=jobs, prefix=f"{prefix}-warm")
            events = _events(count, seed=workers, pool=pool, jobs=jobs, prefix=prefix)
            server = _Server(workers, Path(root) / f"gunicorn-{workers}.log")
            try:
                server.wait_ready(headers)
                url = f"{server.url}/api/v1/lineage"
                _, _, failures = _post_all(url, headers, warm_up)
                assert not failures, failures[:3]
                print(f"lineage: POSTing {count:,} OpenLineage events to gunicorn -w {workers} ...", flush=True)
                wall, latencies, failures = _post_all(url, headers, events)
            finally:
                server.stop()
            assert not failures, f"{len(failures)} of {count} events were not answered 201: {failures[:3]}"
            figures[workers] = (count / wall, statistics.mean(latencies), statistics.median(latencies))
            print(
                f"lineage: gunicorn -w {workers}: {count / wall:.1f} events/s, latency mean "
                f"{figures[workers][1] * 1000:.1f} ms, median {figures[workers][2] * 1000:.1f} ms",
                flush=True,
            )
    one, two = figures[1], figures[2]
    return [
        {
            "name": f"OpenLineage ingest, {count:,} events, gunicorn -w 1",
            "measured": f"{one[0]:.1f} ev/s, {one[1] * 1000:.0f} ms",
            "reference": f"{one[0]:.1f} ev/s",
            "ratio": 1.0,
            "target": "report",
            "ok": True,
        },
        {
            "name": f"OpenLineage ingest, {count:,} events, gunicorn -w 2",
            "measured": f"{two[0]:.1f} ev/s, {two[1] * 1000:.0f} ms",
            "reference": f"-w 1 {one[0]:.1f} ev/s",
            "ratio": two[0] / one[0],
            "target": "report",
            "ok": True,
        },
    ]


def run(*, smoke: bool) -> list[dict]:
    user = get_user_model().objects.create_user("lineage-bench")
    token = access_token_issue(user=user)
    results = _graph_reads(smoke=smoke, headers={"HTTP_AUTHORIZATION": f"Token {token.key}"})
    return results + _ingestion(smoke=smoke, token=token.key)
