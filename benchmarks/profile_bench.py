"""Profiling targets of DESIGN §9: the profiling CLI against DuckDB SUMMARIZE and pandas on a generated
5M-row, 15-column Parquet file, and its peak memory on a ~3 GiB CSV.

    python -m benchmarks.profile_bench            full size: 5,000,000 rows, a 3 GiB CSV, medians of 3 runs
    python -m benchmarks.profile_bench --smoke    200,000 rows, a 0.05 GiB CSV, 1 run each, targets not enforced

Every tool runs as a whole process of its own (`python -m profiler FILE ...`, DuckDB and pandas in a
fresh interpreter), its runs interleaved round by round so machine noise falls on all alike, on files already in
the page cache. Wall time is measured around the child; peak RSS is the larger of the child's own ru_maxrss (from
wait4: the largest single process of its tree) and the sum over every process of its session, sampled every
0.1 s (PSS when there is more than one process).

The generated files are cached in --workdir under names that carry the generator version, row count and seed, so
a second run skips generation. The engine's row count, duplicate rows, label conflicts and class counts are
checked against the values the generator planted; those checks are exact and enforced even with --smoke.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

GENERATOR_VERSION = 1
SEED = 20_240_611
CHUNK_ROWS = 1_000_000  # one Parquet row group per chunk
LABEL = "label"
LABEL_CLASSES = ("ok", "review", "fraud", "chargeback", "bot")
LABEL_SHARES = (0.9, 0.06, 0.03, 0.009, 0.001)
CHANNELS = ("web", "app", "store", "phone")
CHANNEL_SHARES = (0.55, 0.3, 0.1, 0.05)
REGIONS = ("north", "south", "east", "west", "central", "coast", "mountain", "valley", "island", "metro", "rural", "x")
CATEGORY_COUNT = 60
SKU_COUNT = 200_000
DUPLICATE_SHARE = 100  # one row in 100 is an exact copy of another
CONFLICT_SHARE = 500  # one row in 500 copies another's features with a different label
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)

SUMMARIZE_RATIO_TARGET = 1.2  # engine time / DuckDB SUMMARIZE time, at most
PANDAS_RATIO_TARGET = 5.0  # pandas time / engine time, at least
RSS_LIMIT = int(1.5 * 2**30)  # engine peak RSS on the large CSV, below
CHILD_TIMEOUT = 3600.0
SAMPLE_INTERVAL = 0.1
GIB = 2**30


# --- data generation ---------------------------------------------------------------------------------------------


def dataset_stem(rows: int, seed: int) -> str:
    return f"profile-bench-v{GENERATOR_VERSION}-{rows}rows-seed{seed}"


class TableGenerator:
    """Yields the table chunk by chunk (CHUNK_ROWS rows each), so memory stays bounded by one chunk.

    Base rows carry a unique customer id, so they are all distinct. On top of them, rows // DUPLICATE_SHARE exact
    copies and rows // CONFLICT_SHARE copies with a different label are planted, each of a different base row,
    taken from the same or an earlier chunk (most copies land in another row group than their source): the table
    has exactly that many duplicate rows (copies beyond the first) and that many label-conflict groups of 2 rows.
    """

    def __init__(self, rows: int, seed: int) -> None:
        import numpy as np

        self.rows = rows
        self.seed = seed
        self.duplicates = rows // DUPLICATE_SHARE
        self.conflicts = rows // CONFLICT_SHARE
        bounds = [(start, min(start + CHUNK_ROWS, rows)) for start in range(0, rows, CHUNK_ROWS)]
        self.sizes = [end - start for start, end in bounds]
        # Copies spread over the chunks in proportion to their rows.
        self.dup_per_chunk = [self.duplicates * end // rows - self.duplicates * start // rows for start, end in bounds]
        self.conf_per_chunk = [self.conflicts * end // rows - self.conflicts * start // rows for start, end in bounds]
        self.base_sizes = [
            size - dup - conf
            for size, dup, conf in zip(self.sizes, self.dup_per_chunk, self.conf_per_chunk, strict=True)
        ]
        self.base_starts = [sum(self.base_sizes[:index]) for index in range(len(self.sizes))]
        # Every copy: the chunk it lands in, whether it conflicts, and the chunk its source row comes from.
        plan = np.random.default_rng([seed, 1])
        per_chunk = list(zip(self.dup_per_chunk, self.conf_per_chunk, strict=True))
        self.copy_target = np.repeat(np.arange(len(self.sizes)), [dup + conf for dup, conf in per_chunk])
        self.copy_conflicts = np.concatenate([np.repeat([False, True], [dup, conf]) for dup, conf in per_chunk])
        self.copy_source = plan.integers(0, self.copy_target + 1)
        self.pending: list[list[pa.Table]] = [[] for _ in self.sizes]
        sku_weights = 1.0 / np.arange(1, SKU_COUNT + 1)
        self.sku_p = sku_weights / sku_weights.sum()
        category_weights = 1.0 / np.arange(1, CATEGORY_COUNT + 1) ** 0.7
        self.category_p = category_weights / category_weights.sum()

    def chunks(self) -> Iterator[pa.Table]:
        for index in range(len(self.sizes)):
            yield self._chunk(index)

    def _chunk(self, index: int) -> pa.Table:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        rng = np.random.default_rng([self.seed, 2, index])
        table, label_codes = self._base_rows(rng, self.base_starts[index], self.base_sizes[index])
        # Rows of this chunk that later (or this) chunks copy, without replacement so each source is used once.
        from_here = np.flatnonzero(self.copy_source == index)
        positions = rng.choice(len(table), size=len(from_here), replace=False)
        label_at = table.schema.get_field_index(LABEL)
        for target in map(int, np.unique(self.copy_target[from_here])):
            in_target = self.copy_target[from_here] == target
            conflicting = self.copy_conflicts[from_here]
            self.pending[target].append(table.take(positions[in_target & ~conflicting]))
            sources = positions[in_target & conflicting]
            flipped = (label_codes[sources] + rng.integers(1, len(LABEL_CLASSES), len(sources))) % len(LABEL_CLASSES)
            copies = table.take(sources)
            labels = pc.take(pa.array(LABEL_CLASSES), pa.array(flipped))
            self.pending[target].append(copies.set_column(label_at, LABEL, labels))
        chunk = pa.concat_tables([table, *self.pending[index]])
        self.pending[index] = []
        return chunk.take(rng.permutation(len(chunk)))

    def _base_rows(self, rng: np.random.Generator, start: int, count: int) -> tuple[pa.Table, np.ndarray]:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        def nullable(values: np.ndarray, share: float, type_: pa.DataType | None = None) -> pa.Array:
            return pa.array(values, mask=rng.random(count) < share, type=type_)

        def pick(dictionary: Sequence[str], codes: pa.Array) -> pa.Array:
            return pc.take(pa.array(dictionary), codes)

        index = np.arange(start, start + count, dtype=np.int64)
        # A bijection of the row index onto 12-digit numbers: unique, in no visible order.
        ids = (index * 2_654_435_761 + self.seed) % 900_000_000_000 + 100_000_000_000
        year_start = np.datetime64("2024-01-01T00:00:00", "s").astype(np.int64)
        label_codes = rng.choice(len(LABEL_CLASSES), size=count, p=LABEL_SHARES)
        returned = np.where(rng.random(count) < 0.7, 0, rng.poisson(3.0, count) + 1)
        columns = {
            "customer_id": pc.binary_join_element_wise("C", pa.array(ids).cast(pa.string()), ""),
            "event_time": pa.array(year_start + rng.integers(0, 366 * 86_400, count), type=pa.timestamp("s")),
            "channel": pick(CHANNELS, pa.array(rng.choice(len(CHANNELS), size=count, p=CHANNEL_SHARES))),
            "region": pick(REGIONS, nullable(rng.integers(0, len(REGIONS), count), 0.01)),
            "category": pick(
                [f"cat-{code:02d}" for code in range(CATEGORY_COUNT)],
                pa.array(rng.choice(CATEGORY_COUNT, size=count, p=self.category_p)),
            ),
            "sku": pick(
                [f"SKU-{code:06d}" for code in range(SKU_COUNT)],
                pa.array(rng.choice(SKU_COUNT, size=count, p=self.sku_p)),
            ),
            "amount": nullable(np.round(rng.lognormal(3.0, 1.0, count), 2), 0.02),
            "price": nullable(np.round(rng.normal(50.0, 15.0, count), 2), 0.01),
            "session_seconds": nullable(np.round((rng.pareto(1.5, count) + 1.0) * 10.0, 3), 0.005),
            "items_returned": pa.array(returned, type=pa.int64()),
            "balance_delta": nullable(np.round(rng.normal(0.0, 100.0, count), 2), 0.003),
            "age": nullable(rng.integers(18, 91, count), 0.015, pa.int64()),
            "score": pa.array(np.round(rng.random(count), 4)),
            "is_member": pa.array(rng.random(count) < 0.35),
            LABEL: pick(LABEL_CLASSES, pa.array(label_codes)),
        }
        return pa.table(columns), label_codes


def write_dataset(rows: str, seed: str, workdir: str, formats: str) -> None:
    """Write the table in each of `formats` (comma-separated: parquet, csv) and, last, its metadata JSON:
    what the table holds by construction, which the benchmark checks the engine against."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    directory = Path(workdir)
    stem = dataset_stem(int(rows), int(seed))
    paths = {fmt: directory / f"{stem}.{fmt}" for fmt in formats.split(",")}
    partial = {fmt: path.with_name(path.name + ".partial") for fmt, path in paths.items()}
    generator = TableGenerator(int(rows), int(seed))
    writers: dict[str, Any] = {}
    class_counts: dict[str, int] = dict.fromkeys(LABEL_CLASSES, 0)
    null_counts: dict[str, int] = {}
    written = 0
    for chunk in generator.chunks():
        if not writers:
            if "parquet" in paths:
                writers["parquet"] = pq.ParquetWriter(partial["parquet"], chunk.schema, compression="snappy")
            if "csv" in paths:
                writers["csv"] = pa_csv.CSVWriter(partial["csv"], chunk.schema)
            null_counts = dict.fromkeys(chunk.column_names, 0)
        if "parquet" in writers:
            writers["parquet"].write_table(chunk, row_group_size=CHUNK_ROWS)
        if "csv" in writers:
            writers["csv"].write_table(chunk)
        for item in pc.value_counts(chunk.column(LABEL)).to_pylist():
            class_counts[item["values"]] += item["counts"]
        for name in chunk.column_names:
            null_counts[name] += chunk.column(name).null_count
        written += len(chunk)
        del chunk
    for writer in writers.values():
        writer.close()
    assert written == generator.rows, (written, generator.rows)
    for fmt, path in paths.items():
        os.replace(partial[fmt], path)
    meta = {
        "generator_version": GENERATOR_VERSION,
        "rows": generator.rows,
        "seed": generator.seed,
        "columns": len(null_counts),
        "duplicate_rows": generator.duplicates,
        "label_conflicts": {"groups": generator.conflicts, "rows": 2 * generator.conflicts},
        "class_counts": class_counts,
        "null_counts": null_counts,
        "files": {fmt: {"name": path.name, "bytes": path.stat().st_size} for fmt, path in paths.items()},
        "pyarrow": pa.__version__,
    }
    meta_path = directory / f"{stem}.json"
    meta_path.with_suffix(".json.partial").write_text(json.dumps(meta, indent=1))
    os.replace(meta_path.with_suffix(".json.partial"), meta_path)


def csv_bytes_per_row(seed: int) -> float:
    """Bytes per CSV row of the generated table, from a 20,000-row sample (same for every run with one seed)."""
    import pyarrow.csv as pa_csv

    sample = next(TableGenerator(20_000, seed).chunks())
    with tempfile.TemporaryFile() as handle:
        pa_csv.write_csv(sample, handle, pa_csv.WriteOptions(include_header=False))
        return handle.tell() / len(sample)


# --- measuring a child process -----------------------------------------------------------------------------------


@dataclass
class Measurement:
    seconds: float
    returncode: int
    process_rss: int  # bytes: ru_maxrss from wait4, the largest single process of the child's tree
    tree_rss: int  # bytes: the largest sampled sum over the child's session
    processes: int  # the most processes seen at once in the child's session
    stdout: bytes
    stderr: str
    timed_out: bool = False
    leftover: int = 0  # processes still running when the child exited

    @property
    def peak_rss(self) -> int:
        return max(self.process_rss, self.tree_rss)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.leftover

    def failure(self) -> str:
        if self.timed_out:
            return f"timed out after {self.seconds:.0f} s"
        if self.returncode == 0 and self.leftover:
            return f"left {self.leftover} process(es) running after it exited"
        tail = self.stderr.strip().splitlines()[-3:]
        return f"exit {self.returncode}: " + " | ".join(tail)


def _session_members(session: int) -> list[tuple[int, int]]:
    """(pid, bytes resident) of the live processes of a session: the child started in a session of its own and
    whatever it started, even once reparented."""
    page = os.sysconf("SC_PAGE_SIZE")
    members: list[tuple[int, int]] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is stat's field 3 (state): the session is field 6, rss (pages) field 24.
        if int(fields[3]) == session and fields[0] != b"Z":
            members.append((int(entry), int(fields[21]) * page))
    return members


def _resident(members: list[tuple[int, int]]) -> int:
    """Bytes resident over processes: RSS for one, PSS for several (pages forked workers share count once)."""
    if len(members) <= 1:
        return sum(rss for _, rss in members)
    total = 0
    for pid, rss in members:
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
                pss = next(line for line in handle if line.startswith(b"Pss:"))
            total += int(pss.split()[1]) * 1024
        except (OSError, StopIteration):
            total += rss
    return total


def _kill_session(session: int) -> int:
    """Kill what is left of a child's session; how many processes that was."""
    members = _session_members(session)
    for pid, _ in members:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(members)


class _Watcher(threading.Thread):
    """Samples the child's session until stopped; kills the session past the deadline."""

    def __init__(self, pid: int, timeout: float) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.deadline = time.monotonic() + timeout
        self.done = threading.Event()
        self.tree_rss = 0
        self.processes = 0
        self.timed_out = False

    def run(self) -> None:
        while not self.done.wait(SAMPLE_INTERVAL):
            members = _session_members(self.pid)
            self.tree_rss = max(self.tree_rss, _resident(members))
            self.processes = max(self.processes, len(members))
            if time.monotonic() > self.deadline and not self.timed_out:
                self.timed_out = True
                _kill_session(self.pid)


def measure(command: Sequence[str], timeout: float = CHILD_TIMEOUT) -> Measurement:
    """Run `command` as a child in a session of its own; wall time, peak RSS, exit status and output.
    Processes it leaves running after it exits are killed, and the run counts as failed."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, cwd=ROOT, start_new_session=True)
        watcher = _Watcher(child.pid, timeout)
        watcher.start()
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not yet reaped: its pid stays ours
        seconds = time.perf_counter() - start
        watcher.done.set()
        watcher.join()
        leftover = _kill_session(child.pid)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measurement(
            seconds=seconds,
            returncode=child.returncode,
            process_rss=usage.ru_maxrss * 1024,
            tree_rss=watcher.tree_rss,
            processes=watcher.processes,
            stdout=out.read(),
            stderr=err.read().decode(errors="replace"),
            timed_out=watcher.timed_out,
            leftover=leftover,
        )


def python_call(function: Callable[..., None], *arguments: object) -> list[str]:
    """A command running `function(*arguments)` of this module in a fresh interpreter (arguments as strings)."""
    code = f"import sys; from benchmarks.profile_bench import {function.__name__} as f; f(*sys.argv[1:])"
    return [PYTHON, "-c", code, *map(str, arguments)]


# --- the children: references ------------------------------------------------------------------------------------


def duckdb_summarize(path: str, fmt: str) -> None:
    """DuckDB SUMMARIZE over every column, on every core; prints the row count it saw."""
    import duckdb

    connection = duckdb.connect()
    connection.execute(f"SET threads = {os.cpu_count() or 1}")
    connection.execute("SET enable_progress_bar = false")  # it would write to stdout
    reader = "read_parquet" if fmt == "parquet" else "read_csv"
    literal = "'" + path.replace("'", "''") + "'"
    rows = connection.execute(f"SUMMARIZE SELECT * FROM {reader}({literal})").fetchall()  # noqa: S608
    names = [column[0] for column in connection.description or []]
    print(json.dumps({"row_count": max(int(row[names.index("count")]) for row in rows), "columns": len(rows)}))


def pandas_profile(path: str, label: str) -> None:
    """The engine's full profile in pandas: per column count, nulls, distinct, min/max/mean/std, 7 quantiles,
    a 20-bin histogram (numerics), top-10 values; duplicate rows, class counts and label conflicts."""
    import numpy as np
    import pandas as pd

    frame = pd.read_parquet(path)
    profile: dict[str, dict[str, Any]] = {}
    for name in frame.columns:
        series = frame[name]
        stats: dict[str, Any] = {
            "count": int(series.count()),
            "null_count": int(series.isna().sum()),
            "distinct_count": int(series.nunique()),
        }
        if pd.api.types.is_bool_dtype(series):
            stats["mean"] = float(series.mean())
        elif pd.api.types.is_numeric_dtype(series):
            values = series.dropna()
            stats.update(
                min=float(values.min()),
                max=float(values.max()),
                mean=float(values.mean()),
                std=float(values.std()),
                quantiles=[float(q) for q in values.quantile(list(QUANTILES))],
            )
            counts, edges = np.histogram(values.to_numpy(dtype=float), bins=20)
            stats["histogram"] = {"counts": counts.tolist(), "edges": edges.tolist()}
        elif pd.api.types.is_datetime64_any_dtype(series):
            values = series.dropna()
            stats.update(
                min=str(values.min()),
                max=str(values.max()),
                quantiles=[str(q) for q in values.quantile(list(QUANTILES))],
            )
        top = series.value_counts().head(10)
        stats["top_values"] = [{"value": str(value), "count": int(count)} for value, count in top.items()]
        profile[name] = stats
    duplicate_rows = int(frame.duplicated().sum())
    class_counts = {str(key): int(value) for key, value in frame[label].value_counts().items()}
    features = [name for name in frame.columns if name != label]
    groups = frame.groupby(features, dropna=False, sort=False, observed=True)[label].agg(["nunique", "size"])
    conflicting = groups[groups["nunique"] > 1]
    summary = {
        "row_count": len(frame),
        "duplicate_rows": duplicate_rows,
        "class_counts": class_counts,
        "label_conflicts": {"groups": len(conflicting), "rows": int(conflicting["size"].sum())},
        "columns": len(profile),
    }
    print(json.dumps(summary))


# --- the benchmark -----------------------------------------------------------------------------------------------


@dataclass
class DataSet:
    directory: Path
    rows: int
    meta: dict[str, Any]
    generated_seconds: float | None  # None: taken from the cache
    generated_rss: int

    def path(self, fmt: str) -> Path:
        return self.directory / self.meta["files"][fmt]["name"]

    def size(self, fmt: str) -> int:
        return int(self.meta["files"][fmt]["bytes"])


def ensure_dataset(workdir: Path, rows: int, formats: tuple[str, ...]) -> DataSet:
    """The table of `rows` rows in each of `formats`, from the cache when it holds them whole."""
    stem = dataset_stem(rows, SEED)
    meta_path = workdir / f"{stem}.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        files = meta.get("files", {})
        paths = {fmt: workdir / f"{stem}.{fmt}" for fmt in formats}

        def whole(fmt: str, path: Path) -> bool:
            recorded = files.get(fmt, {})
            return recorded.get("name") == path.name and path.exists() and path.stat().st_size == recorded.get("bytes")

        if all(whole(fmt, path) for fmt, path in paths.items()):
            return DataSet(workdir, rows, meta, None, 0)
        meta_path.unlink()
    print(f"generating {rows:,} rows ({', '.join(formats)}) in {workdir} ...", flush=True)
    run = measure(python_call(write_dataset, rows, SEED, workdir, ",".join(formats)))
    if not run.ok:
        raise SystemExit(f"generating the table failed: {run.failure()}")
    os.sync()  # write back now, not during the timed runs
    return DataSet(workdir, rows, json.loads(meta_path.read_text()), run.seconds, run.peak_rss)


def warm(path: Path) -> None:
    """Read a file once, so every tool finds it in the page cache."""
    with path.open("rb") as handle:
        while handle.read(16 * 2**20):
            pass


def engine_command(path: Path, fmt: str) -> list[str]:
    return [PYTHON, "-m", "profiler", str(path), "--format", fmt, "--label-column", LABEL]


def engine_available() -> tuple[bool, str]:
    try:
        run = subprocess.run(
            [PYTHON, "-m", "profiler", "--help"], cwd=ROOT, capture_output=True, timeout=120, check=False
        )
    except subprocess.TimeoutExpired:
        return False, "`python -m profiler --help` timed out"
    if run.returncode != 0:
        tail = run.stderr.decode(errors="replace").strip().splitlines()[-1:]
        return False, f"`python -m profiler --help` exit {run.returncode}: {' '.join(tail)}"
    return True, ""


@dataclass
class Series:
    """The runs of one tool on one file."""

    key: str  # e.g. "engine parquet"
    file: str
    rows: int
    command: list[str]
    expected: dict[str, Any]  # exact values its output must show (at least "rows")
    unavailable: str = ""
    runs: list[Measurement] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unavailable and bool(self.runs) and all(run.ok for run in self.runs)

    @property
    def seconds(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def peak_rss(self) -> int:
        return max(run.peak_rss for run in self.runs)

    def run(self, total: int) -> None:
        if self.unavailable:
            return
        run = measure(self.command)
        self.runs.append(run)
        state = "" if run.ok else f"  FAILED {run.failure()}"
        print(
            f"  {self.key:<22} run {len(self.runs)}/{total}: {run.seconds:7.2f} s  peak RSS {_size(run.peak_rss)}"
            f" ({run.processes} process{'es' if run.processes > 1 else ''}){state}",
            flush=True,
        )

    def output(self) -> dict[str, Any] | None:
        """The first run's stdout as JSON, if it is."""
        if not self.ok:
            return None
        try:
            parsed = json.loads(self.runs[0].stdout)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None

    def status(self) -> str:
        if self.unavailable:
            return "not available"
        failed = [run for run in self.runs if not run.ok]
        return f"failed ({failed[0].failure()})" if failed else ""

    def checks(self) -> list[Check]:
        if self.unavailable:
            return []
        if not self.ok:
            return [Check(f"{self.key}: exit status", self.status(), "exit 0")]
        output = self.output()
        if output is None:
            return [Check(f"{self.key}: JSON on stdout", "unreadable", "a JSON object")]
        return output_checks(self.key, output, self.expected)


def paired_ratio(numerator: Series, denominator: Series) -> float | None:
    """Median over rounds of the per-round ratio (runs of a round ran back to back, under the same noise)."""
    if not (numerator.ok and denominator.ok):
        return None
    return statistics.median(
        top.seconds / bottom.seconds for top, bottom in zip(numerator.runs, denominator.runs, strict=True)
    )


# --- checks and report -------------------------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    got: object
    expected: object

    @property
    def ok(self) -> bool:
        return self.got == self.expected


def _lookup(profile: dict[str, Any], key: str) -> Any:
    """A dataset-level field at the top level or under "quality" (DESIGN §8 places it there in the API)."""
    if key in profile:
        return profile[key]
    quality = profile.get("quality")
    return quality.get(key) if isinstance(quality, dict) else None


def output_checks(who: str, output: dict[str, Any], expected: dict[str, Any]) -> list[Check]:
    """Exact values an output must show: row count and, where planted, duplicate rows, label conflicts and
    class counts (classes with no rows may be left out)."""
    checks = [Check(f"{who}: row_count", output.get("row_count"), expected["rows"])]
    if "duplicate_rows" not in expected:
        return checks
    checks.append(Check(f"{who}: duplicate_rows", _lookup(output, "duplicate_rows"), expected["duplicate_rows"]))
    conflicts = _lookup(output, "label_conflicts")
    for part in ("groups", "rows"):
        value = conflicts.get(part) if isinstance(conflicts, dict) else None
        checks.append(Check(f"{who}: label_conflicts.{part}", value, expected["label_conflicts"][part]))
    counts = _lookup(output, "class_counts")
    got = {str(k): v for k, v in counts.items() if v} if isinstance(counts, dict) else counts
    checks.append(Check(f"{who}: class_counts", got, {k: v for k, v in expected["class_counts"].items() if v}))
    return checks


def _size(count: float) -> str:
    return f"{count / GIB:.2f} GiB" if count >= GIB else f"{count / 2**20:.0f} MiB"


def _millions(rows: int) -> str:
    return f"{rows / 1e6:g}M rows"


def _seconds(series: Series) -> str:
    return series.status() or f"{series.seconds:.2f} s"


def _text(value: object) -> str:
    if isinstance(value, dict):
        return " ".join(f"{key}={item}" for key, item in value.items())
    return f"{value:,}" if isinstance(value, int) else str(value)


@dataclass
class Result:
    name: str
    measured: str
    reference: str
    ratio: float | None
    target: str  # "-": reported only
    ok: bool


def print_series(all_series: list[Series]) -> None:
    print(f"\n{'measurement':<22} {'file':<24} {'runs':>4} {'median s':>9} {'rows/s':>12} {'peak RSS':>10}  note")
    for series in all_series:
        if not series.ok:
            print(f"{series.key:<22} {series.file:<24} {len(series.runs):>4}  {series.status()}")
            continue
        worst = max(series.runs, key=lambda run: run.peak_rss)
        note = f"largest process {_size(worst.process_rss)}, at most {worst.processes} process(es)"
        print(
            f"{series.key:<22} {series.file:<24} {len(series.runs):>4} {series.seconds:>9.2f} "
            f"{series.rows / series.seconds:>12,.0f} {_size(series.peak_rss):>10}  {note}"
        )


def print_checks(checks: list[Check]) -> None:
    print(f"\n{'check (exact)':<44} {'got':>14} {'expected':>14}")
    for check in checks:
        got, expected = _text(check.got), _text(check.expected)
        mark = "ok" if check.ok else "DIFFERS"
        if max(len(got), len(expected)) <= 14:
            print(f"{check.name:<44} {got:>14} {expected:>14}  {mark}")
        else:
            print(f"{check.name:<44} {mark}\n    got      {got}\n    expected {expected}")


def print_results(results: list[Result], *, smoke: bool) -> None:
    print(f"\n{'benchmark':<46} {'measured':>22} {'reference':>22} {'ratio':>8}  target")
    for result in results:
        if result.target == "-":
            mark = "(reported)"
        else:
            mark = "ok" if result.ok else ("missed (not enforced: --smoke)" if smoke else "MISSED")
        ratio = "-" if result.ratio is None else f"{result.ratio:.2f}"
        print(f"{result.name:<46} {result.measured:>22} {result.reference:>22} {ratio:>8}  {result.target} {mark}")


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _report_dataset(data: DataSet) -> None:
    files = ", ".join(f"{fmt} {_size(info['bytes'])}" for fmt, info in data.meta["files"].items())
    if data.generated_seconds is None:
        how = "cached"
    else:
        how = f"generated in {data.generated_seconds:.1f} s, peak RSS {_size(data.generated_rss)}"
    planted = f"{data.meta['duplicate_rows']:,} duplicate rows, {data.meta['label_conflicts']['groups']:,} conflicts"
    print(f"table {data.rows:,} rows x {data.meta['columns']} columns ({planted}): {files}; {how}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, help="rows of the Parquet/CSV table (default 5,000,000; smoke 200,000)")
    parser.add_argument("--csv-gb", type=float, help="size of the large CSV in GiB (default 3; smoke 0.05)")
    parser.add_argument("--smoke", action="store_true", help="small sizes, 1 run each, targets not enforced")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "profile-bench")
    args = parser.parse_args(argv)
    rows: int = args.rows or (200_000 if args.smoke else 5_000_000)
    csv_gb: float = args.csv_gb or (0.05 if args.smoke else 3.0)
    rounds = 1 if args.smoke else 3
    workdir: Path = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    versions = ", ".join(f"{name} {_version(name)}" for name in ("duckdb", "pandas", "pyarrow", "numpy"))
    print(f"profiling benchmark: {os.cpu_count()} cores, Python {sys.version.split()[0]}, {versions}")

    # 1. The table, as Parquet and CSV.
    table = ensure_dataset(workdir, rows, ("parquet", "csv"))
    _report_dataset(table)
    available, why = engine_available()
    if not available:
        print(f"engine: not available ({why})")
    no_engine = "" if available else why
    no_pandas = "" if importlib.util.find_spec("pandas") is not None else "pandas is not installed"
    if no_pandas:
        print("pandas: not available (.venv/bin/pip install pandas)")
    parquet, csv = table.path("parquet"), table.path("csv")
    pq_name, csv_name = f"{rows:,} rows .parquet", f"{rows:,} rows .csv"
    only_rows = {"rows": rows}
    engine_pq = Series(
        "engine parquet", pq_name, rows, engine_command(parquet, "parquet"), table.meta, unavailable=no_engine
    )
    summarize_pq = Series(
        "SUMMARIZE parquet", pq_name, rows, python_call(duckdb_summarize, parquet, "parquet"), only_rows
    )
    pandas_pq = Series(
        "pandas parquet", pq_name, rows, python_call(pandas_profile, parquet, LABEL), table.meta, unavailable=no_pandas
    )
    engine_csv = Series("engine csv", csv_name, rows, engine_command(csv, "csv"), table.meta, unavailable=no_engine)
    summarize_csv = Series("SUMMARIZE csv", csv_name, rows, python_call(duckdb_summarize, csv, "csv"), only_rows)

    # 2. Timed runs, interleaved round by round, on files in the page cache.
    for path in (parquet, csv):
        warm(path)
    print(f"\ntimed runs, {rounds} round(s), tools interleaved:", flush=True)
    for _ in range(rounds):
        for series in (engine_pq, summarize_pq, pandas_pq, engine_csv, summarize_csv):
            series.run(rounds)

    # 3. The large CSV: the engine's peak memory, with DuckDB SUMMARIZE's for reference.
    large_rows = max(100_000, round(csv_gb * GIB / csv_bytes_per_row(SEED), -5))
    large = ensure_dataset(workdir, int(large_rows), ("csv",))
    _report_dataset(large)
    large_csv = large.path("csv")
    large_name = f"{large.rows:,} rows .csv"
    engine_large = Series(
        "engine large csv", large_name, large.rows, engine_command(large_csv, "csv"), large.meta, unavailable=no_engine
    )
    summarize_large = Series(
        "SUMMARIZE large csv",
        large_name,
        large.rows,
        python_call(duckdb_summarize, large_csv, "csv"),
        {"rows": large.rows},
    )
    warm(large_csv)
    print(f"large CSV ({_size(large.size('csv'))}), 1 run each:", flush=True)
    engine_large.run(1)
    summarize_large.run(1)

    # 4. Report.
    all_series = [engine_pq, summarize_pq, pandas_pq, engine_csv, summarize_csv, engine_large, summarize_large]
    print_series(all_series)
    checks = [check for series in all_series for check in series.checks()]
    if checks:
        print_checks(checks)
    summarize_ratio = paired_ratio(engine_pq, summarize_pq)
    pandas_ratio = paired_ratio(pandas_pq, engine_pq)
    results = [
        Result(
            f"Parquet {_millions(rows)}: engine / SUMMARIZE (s)",
            _seconds(engine_pq),
            _seconds(summarize_pq),
            summarize_ratio,
            f"<= {SUMMARIZE_RATIO_TARGET:.2f}",
            summarize_ratio is not None and summarize_ratio <= SUMMARIZE_RATIO_TARGET,
        ),
        Result(
            f"Parquet {_millions(rows)}: pandas / engine (s)",
            _seconds(engine_pq),
            _seconds(pandas_pq),
            pandas_ratio,
            f">= {PANDAS_RATIO_TARGET:.2f}",
            pandas_ratio is not None and pandas_ratio >= PANDAS_RATIO_TARGET,
        ),
        Result(
            f"engine peak RSS, {_size(large.size('csv'))} CSV, {_millions(large.rows)}",
            _size(engine_large.peak_rss) if engine_large.ok else engine_large.status(),
            f"limit {_size(RSS_LIMIT)}",
            engine_large.peak_rss / RSS_LIMIT if engine_large.ok else None,
            "< 1.00",
            engine_large.ok and engine_large.peak_rss < RSS_LIMIT,
        ),
        Result(
            f"CSV {_millions(rows)}: engine / SUMMARIZE (s)",
            _seconds(engine_csv),
            _seconds(summarize_csv),
            paired_ratio(engine_csv, summarize_csv),
            "-",
            engine_csv.ok,
        ),
        Result(
            f"CSV {_millions(large.rows)}: engine / SUMMARIZE (s)",
            _seconds(engine_large),
            _seconds(summarize_large),
            paired_ratio(engine_large, summarize_large),
            "-",
            engine_large.ok,
        ),
    ]
    print_results(results, smoke=args.smoke)
    missed = any(not result.ok for result in results if result.target != "-")
    wrong = any(not check.ok for check in checks)
    return 1 if wrong or (missed and not args.smoke) else 0


if __name__ == "__main__":
    sys.exit(main())
