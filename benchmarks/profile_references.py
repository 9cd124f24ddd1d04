"""The references of the profiling benchmark (benchmarks/profile_bench.py), each run as a child of its own: DuckDB
SUMMARIZE, and the engine's full profile computed in pandas."""

from __future__ import annotations

import json
import os
from typing import Any

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


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
