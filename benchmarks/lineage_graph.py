"""The graph reads of the lineage benchmark (benchmarks/lineage.py says what is measured): a graph shaped like
real pipelines written straight into the tables, and walks over it timed against the bare recursive query."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.test import Client

from catalog.choices import Lifecycle
from catalog.models import Dataset
from governance.choices import Sensitivity
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


def graph_reads(*, smoke: bool, headers: dict[str, str]) -> list[dict]:
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
