"""What checking a contract's regular expressions on every value adds to profiling a table.

The profiling benchmark's table (1M rows; 200k with --smoke) is written as Parquet and profiled by
the engine in one process, without patterns (the reference) and with a pattern on three columns: an
identifier (`customer_id`, every value distinct: one match a row), a category (`channel`, a handful of
values: one match a value per batch) and a number (`price`, matched as its text). Medians of three runs.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from benchmarks.profile_data import TableGenerator
from profiler import engine
from profiler.files import expand
from profiler.plan import Options

PATTERNS = {"customer_id": r"C\d+", "channel": r"[a-z_]+", "price": r"-?\d+\.\d{1,2}"}


def _profiled(path: Path, options: Options, runs: int) -> tuple[float, dict]:
    timings, profile = [], {}
    for _ in range(runs):
        started = time.perf_counter()
        profile = engine.profile_files(expand(path), "parquet", options=options, workers=1)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), profile


def run(*, smoke: bool) -> list[dict]:
    rows, runs = (200_000, 1) if smoke else (1_000_000, 3)
    with tempfile.TemporaryDirectory() as root:
        path = Path(root) / "table.parquet"
        writer = None
        for chunk in TableGenerator(rows, 21).chunks():
            if writer is None:
                writer = pq.ParquetWriter(path, chunk.schema)
            writer.write_table(chunk)
        assert writer is not None
        writer.close()
        plain, _ = _profiled(path, Options(), runs)
        print(f"patterns: profiled without patterns: {plain:.2f} s", flush=True)
        checked, profile = _profiled(path, Options(patterns=PATTERNS), runs)
        print(f"patterns: profiled with {len(PATTERNS)} patterns: {checked:.2f} s", flush=True)
    counted = {
        feature["name"]: feature["statistics"]["pattern"]
        for feature in profile["features"]
        if feature["name"] in PATTERNS
    }
    for name, count in counted.items():
        assert count["checked"] + count["unchecked"] == feature_count(profile, name), (name, count)
    return [
        {
            "name": f"patterns: {rows / 1e6:g}M rows, 3 columns checked",
            "measured": f"{checked:.2f} s",
            "reference": f"no pattern {plain:.2f} s",
            "ratio": plain / checked,
            "target": "reported",
            "ok": True,
        }
    ]


def feature_count(profile: dict, name: str) -> int:
    return next(int(feature["statistics"]["count"]) for feature in profile["features"] if feature["name"] == name)
