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

The table is generated in benchmarks/profile_data.py, children are measured by benchmarks/measure.py, and the
references (DuckDB SUMMARIZE, pandas) are in benchmarks/profile_references.py.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.measure import PYTHON, ROOT, Measurement, measure, python_call
from benchmarks.profile_data import LABEL, SEED, csv_bytes_per_row, dataset_stem, write_dataset
from benchmarks.profile_references import duckdb_summarize, pandas_profile

SUMMARIZE_RATIO_TARGET = 1.2  # engine time / DuckDB SUMMARIZE time, at most
PANDAS_RATIO_TARGET = 5.0  # pandas time / engine time, at least
RSS_LIMIT = int(1.5 * 2**30)  # engine peak RSS on the large CSV, below
GIB = 2**30


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
