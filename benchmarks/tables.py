"""Rows per second of a table profiled by the catalog's own pipeline: the 5M-row, 15-column Parquet
file of `benchmarks.profile_bench` (200,000 rows with --smoke) registered and profiled (the chord of
its row groups, the parts stored in PostgreSQL, the merge, the stored profile and features) with 1
and then 2 Celery workers over Redis, each worker one process. The reference for 1 worker is the
engine in one process without Celery; for 2 workers, 1 worker.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.pipeline import profiled_by_workers, worker_environment
from benchmarks.profile_bench import ensure_dataset
from profiler import engine
from profiler.files import expand


def run(*, smoke: bool) -> list[dict]:
    rows, runs = (200_000, 1) if smoke else (5_000_000, 3)
    workdir = Path(tempfile.gettempdir()).resolve() / ("profile-bench-smoke" if smoke else "profile-bench")
    workdir.mkdir(exist_ok=True)
    # The formats profile_bench generates, so whichever runs first leaves the file for the other.
    path = ensure_dataset(workdir, rows, ("parquet", "csv")).path("parquet")
    env = worker_environment(workdir)
    engine_runs = []
    for _ in range(runs):
        started = time.perf_counter()
        profile = engine.profile_files(expand(path), "parquet", workers=1)
        engine_runs.append(time.perf_counter() - started)
        assert profile["row_count"] == rows
    in_process = statistics.median(engine_runs)
    print(f"tables: the engine in one process: {in_process:.2f} s", flush=True)
    with tempfile.TemporaryDirectory() as logs:
        one = statistics.median(profiled_by_workers(str(path), "parquet", rows, 1, env, Path(logs), runs=runs))
        print(f"tables: 1 worker: {one:.2f} s", flush=True)
        two = statistics.median(profiled_by_workers(str(path), "parquet", rows, 2, env, Path(logs), runs=runs))
        print(f"tables: 2 workers: {two:.2f} s", flush=True)
    name = f"table: {rows / 1e6:g}M-row Parquet profiled"
    return [
        {
            "name": f"{name}, 1 Celery worker",
            "measured": f"{one:.2f} s, {rows / one / 1000:,.0f}k rows/s",
            "reference": f"engine {in_process:.2f} s",
            "ratio": in_process / one,
            "target": "reported",
            "ok": True,
        },
        {
            "name": f"{name}, 2 Celery workers",
            "measured": f"{two:.2f} s, {rows / two / 1000:,.0f}k rows/s",
            "reference": f"1 worker {one:.2f} s",
            "ratio": one / two,
            "target": "> 1 (the workers share it)",
            "ok": one / two > 1.0 or smoke,
        },
    ]
