"""Every column type a reader can produce is profiled, and its exact statistics equal pandas'.

Files are written by pyarrow, pandas and DuckDB, and read as the catalog reads them; real files come
from the datasets shipped inside vega_datasets and palmerpenguins. pandas computes every expected value
independently of the engine.
"""

import datetime as dt
import decimal
import math
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from profiler import compute, report
from profiler.engine import Options, profile_files
from profiler.files import expand

QUANTILES = {"p1": 0.01, "p5": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95, "p99": 0.99}
ROWS = 400


def profile(path, format, label=None):
    return profile_files(expand(path), format, options=Options(label_column=label), workers=1)


def profile_table(table):
    partial = compute.profile_batches(
        table.to_batches(max_chunksize=150), table.schema, label_column=None, declared=False, relative_path="t"
    )
    return report.build(partial)


def feature(result, name):
    return next(item for item in result["features"] if item["name"] == name)


def findings_of(result, code):
    return {item["feature"] for item in result["quality"]["findings"] if item["code"] == code}


def with_nulls(values, every=7):
    return [None if index % every == 3 else value for index, value in enumerate(values)]


def arrow_table():
    rng = np.random.default_rng(20)
    days = rng.integers(15_000, 20_000, ROWS)
    seconds = rng.integers(1_500_000_000, 1_700_000_000, ROWS)
    nanos = seconds * 1_000_000_000 + rng.integers(0, 1_000_000_000, ROWS)
    of_day = rng.integers(0, 86_400, ROWS)
    columns = {
        "date32": pa.array(with_nulls([dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in days]), pa.date32()),
        "date64": pa.array(
            with_nulls([dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in days[::-1]]), pa.date64()
        ),
        "time32_s": pa.array(with_nulls(of_day.tolist()), pa.time32("s")),
        "time32_ms": pa.array(with_nulls((of_day * 1000 + 7).tolist()), pa.time32("ms")),
        "time64_us": pa.array(with_nulls((of_day * 1_000_000 + 11).tolist()), pa.time64("us")),
        "time64_ns": pa.array(with_nulls((of_day * 1_000_000_000 + 13).tolist()), pa.time64("ns")),
        "timestamp_s": pa.array(with_nulls(seconds.tolist()), pa.timestamp("s")),
        "timestamp_ms": pa.array(with_nulls((seconds * 1000 + 5).tolist()), pa.timestamp("ms")),
        "timestamp_us_utc": pa.array(with_nulls((seconds * 1_000_000).tolist()), pa.timestamp("us", tz="UTC")),
        "timestamp_ns_zone": pa.array(with_nulls(nanos.tolist()), pa.timestamp("ns", tz="America/New_York")),
        "duration_ms": pa.array(with_nulls(rng.integers(-10_000, 10_000, ROWS).tolist()), pa.duration("ms")),
        "decimal128": pa.array(
            with_nulls([decimal.Decimal(int(v)).scaleb(-2) for v in rng.integers(-99_999, 99_999, ROWS)]),
            pa.decimal128(9, 2),
        ),
        "decimal256": pa.array(
            with_nulls([decimal.Decimal(int(v)).scaleb(-3) for v in rng.integers(0, 10**9, ROWS)]),
            pa.decimal256(50, 3),
        ),
        "uint64": pa.array(with_nulls([2**63 + int(v) * 997 for v in rng.integers(0, 2**40, ROWS)]), pa.uint64()),
        "large_string": pa.array(with_nulls([f"v{v}" for v in rng.integers(0, 9, ROWS)]), pa.large_string()),
        "bool": pa.array(with_nulls((rng.random(ROWS) < 0.3).tolist())),
        "dict_strings": pa.array(with_nulls([f"c{v}" for v in rng.integers(0, 5, ROWS)])).dictionary_encode(),
        "dict_numbers": pa.array(with_nulls(rng.integers(0, 6, ROWS).tolist())).dictionary_encode(),
        # Not summarised: counted and hashed only.
        "binary": pa.array(with_nulls([bytes([v]) for v in rng.integers(0, 255, ROWS)]), pa.binary()),
        "large_binary": pa.array(with_nulls([bytes([v, 1]) for v in rng.integers(0, 255, ROWS)]), pa.large_binary()),
        "list": pa.array(with_nulls([[int(v), 1] for v in rng.integers(0, 9, ROWS)]), pa.list_(pa.int64())),
        "large_list": pa.array(with_nulls([[str(v)] for v in rng.integers(0, 9, ROWS)]), pa.large_list(pa.string())),
        "struct": pa.array(with_nulls([{"a": int(v), "b": str(v)} for v in rng.integers(0, 9, ROWS)])),
        "map": pa.array(
            with_nulls([[("k", int(v))] for v in rng.integers(0, 9, ROWS)]), pa.map_(pa.string(), pa.int64())
        ),
        "interval": pa.array(
            with_nulls([pa.MonthDayNano([int(v), 2, 3]) for v in rng.integers(0, 9, ROWS)]),
            pa.month_day_nano_interval(),
        ),
        "null": pa.nulls(ROWS),
    }
    return pa.table(columns)


NOT_SUMMARISED = ("binary", "large_binary", "list", "large_list", "struct", "map", "interval")


# --- what pandas says --------------------------------------------------------------------------------


def iso_date_or_time(value):
    """pandas/Python's own ISO text of a temporal value; a zone's in UTC."""
    if isinstance(value, pd.Timestamp):
        return (value.tz_convert("UTC") if value.tzinfo else value).isoformat()
    return value.isoformat()


def expected_temporal_quantile(series, form, rank, unit):
    """pandas' linear quantile of a temporal column (cut to whole ticks of the column's unit)."""
    unit = "s" if unit == "D" else unit
    if form == "time":
        deltas = pd.Series(pd.to_timedelta([value.isoformat() for value in series.dropna()])).astype(f"m8[{unit}]")
        return pd.Timestamp(0) + deltas.quantile(rank)
    stamps = pd.to_datetime(pd.Series(series.dropna()))
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("UTC")
    return stamps.astype(stamps.dtype.name.replace("[ns", f"[{unit}").replace("[us", f"[{unit}")).quantile(rank)


def parsed(text, form):
    """The engine's ISO text as a pandas Timestamp (times of day on 1970-01-01), to compare with pandas."""
    point = pd.Timestamp(f"1970-01-01T{text}" if form == "time" else text)
    return point.tz_convert("UTC") if point.tzinfo else point


def assert_temporal_matches(column, series, form):
    stats = column["statistics"]
    unit = re.search(r"date32|\[(s|ms|us|ns)", column["dtype"])
    unit = "D" if unit.group(0) == "date32" else unit.group(1)
    present = series.dropna()
    assert stats["count"] == len(present)
    assert stats["min"] == iso_date_or_time(present.min())
    assert stats["max"] == iso_date_or_time(present.max())
    assert not stats["quantiles_are_approximate"]
    # Finer than milliseconds, a quantile is read from float seconds: to the nearest microsecond.
    tolerance = pd.Timedelta(1, "us") if unit in ("us", "ns") else pd.Timedelta(0)
    for key, rank in QUANTILES.items():
        expected = expected_temporal_quantile(series, form, rank, unit)
        assert abs(parsed(stats["quantiles"][key], form) - expected) <= tolerance, (key, expected)
        if form == "date" and expected == expected.normalize():
            assert stats["quantiles"][key] == expected.date().isoformat()
    histogram = stats["histogram"]
    assert len(histogram["counts"]) == len(histogram["edges"]) - 1 == 20
    assert sum(histogram["counts"]) == len(present)
    step = pd.Timedelta(1, "us")
    assert abs(parsed(histogram["edges"][0], form) - parsed(stats["min"], form)) <= step
    assert abs(parsed(histogram["edges"][-1], form) - parsed(stats["max"], form)) <= step


def assert_numeric_matches(stats, values, name):
    values = values[~np.isnan(values)]
    assert stats["count"] == values.size, name
    assert stats["min"] == pytest.approx(values.min()), name
    assert stats["max"] == pytest.approx(values.max()), name
    assert stats["mean"] == pytest.approx(values.mean(), rel=1e-9), name
    assert stats["std"] == pytest.approx(values.std(ddof=1), rel=1e-9), name
    assert stats["zeros"] == int((values == 0).sum()), name
    assert stats["negatives"] == int((values < 0).sum()), name
    for key, rank in QUANTILES.items():
        assert stats["quantiles"][key] == pytest.approx(float(pd.Series(values).quantile(rank)), rel=1e-12), key
    counts, _ = np.histogram(values, bins=20)
    assert stats["histogram"]["counts"] == counts.tolist(), name


# --- tests ----------------------------------------------------------------------------------------------


def test_it_profiles_every_arrow_type_and_matches_pandas():
    table = arrow_table()
    result = profile_table(table)
    frame = table.drop_columns(["time64_ns"]).to_pandas()  # pandas has no time of day finer than microseconds

    for name in table.column_names:
        stats = feature(result, name)["statistics"]
        assert stats["null_count"] == table[name].null_count, name
        assert stats["count"] + stats["null_count"] == ROWS, name

    forms = {"date32": "date", "date64": "date", "timestamp_s": "timestamp", "timestamp_ms": "timestamp"}
    forms |= {"timestamp_us_utc": "timestamp", "timestamp_ns_zone": "timestamp"}
    forms |= {name: "time" for name in ("time32_s", "time32_ms", "time64_us")}
    for name, form in forms.items():
        assert feature(result, name)["logical_type"] == "datetime", name
        assert_temporal_matches(feature(result, name), frame[name], form)
    ns_time = feature(result, "time64_ns")["statistics"]
    ticks = table["time64_ns"].combine_chunks().drop_null().cast(pa.int64()).to_numpy()
    for key, ticks_at in (("min", ticks.min()), ("max", ticks.max())):
        point = pd.Timestamp(0) + pd.Timedelta(int(ticks_at), "ns")
        assert ns_time[key] == point.isoformat().split("T")[1], key  # nanoseconds kept, as pandas writes them

    assert_numeric_matches(
        feature(result, "duration_ms")["statistics"], frame["duration_ms"].dt.total_seconds().to_numpy() * 1000, "d"
    )
    for name in ("decimal128", "decimal256"):
        values = frame[name].astype(float).to_numpy()
        assert_numeric_matches(feature(result, name)["statistics"], values, name)
    big = feature(result, "uint64")["statistics"]
    present = [value for value in table["uint64"].to_pylist() if value is not None]
    assert (big["min"], big["max"]) == (min(present), max(present))  # exact beyond 2**63
    assert big["distinct_count"] == len(set(present))

    strings = feature(result, "large_string")["statistics"]
    assert strings["distinct_count"] == frame["large_string"].nunique()
    assert {entry["value"]: entry["count"] for entry in strings["top_values"]} == frame[
        "large_string"
    ].value_counts().to_dict()
    flags = feature(result, "bool")["statistics"]
    assert (flags["min"], flags["max"], flags["true_count"]) == (False, True, int(frame["bool"].sum()))
    dictionary = feature(result, "dict_strings")["statistics"]
    assert {entry["value"]: entry["count"] for entry in dictionary["top_values"]} == frame[
        "dict_strings"
    ].value_counts().to_dict()
    numbers = feature(result, "dict_numbers")
    assert numbers["statistics"]["mean"] == pytest.approx(frame["dict_numbers"].astype(float).mean())
    assert {entry["value"]: entry["count"] for entry in numbers["statistics"]["top_values"]} == frame[
        "dict_numbers"
    ].value_counts().to_dict()

    assert findings_of(result, "not_summarised") == set(NOT_SUMMARISED)
    for name in NOT_SUMMARISED:
        stats = feature(result, name)["statistics"]
        assert stats["count"] == frame[name].notna().sum(), name
        assert stats["mean"] is None, name
        assert stats["histogram"] is None, name
    assert feature(result, "null")["statistics"]["count"] == 0
    assert "null" in findings_of(result, "all_missing")


def test_it_profiles_the_rarer_arrow_types():
    rng = np.random.default_rng(4)
    labels = rng.choice(["north", "south", "east"], ROWS)
    table = pa.table(
        {
            "float16": pa.array(rng.integers(-50, 50, ROWS).astype(np.float16)),
            "decimal64": pa.array(
                [decimal.Decimal(int(v)).scaleb(-2) for v in rng.integers(0, 999, ROWS)], pa.decimal64(9, 2)
            ),
            "string_view": pa.array(with_nulls(labels.tolist()), pa.string_view()),
            "run_end_encoded": pc.run_end_encode(pa.array(np.sort(labels))),
            "binary_view": pa.array([label.encode() for label in labels], pa.binary_view()),
            "fixed_size_list": pa.array([[int(v), 1] for v in rng.integers(0, 9, ROWS)], pa.list_(pa.int32(), 2)),
            "list_view": pa.array([[int(v)] for v in rng.integers(0, 9, ROWS)], pa.list_view(pa.int64())),
            "union": pa.UnionArray.from_sparse(
                pa.array(rng.integers(0, 2, ROWS), pa.int8()),
                [pa.array(rng.integers(0, 9, ROWS)), pa.array(labels)],
            ),
            "uuid": pa.ExtensionArray.from_storage(
                pa.uuid(), pa.array([rng.bytes(16) for _ in range(ROWS)], pa.binary(16))
            ),
        }
    )
    result = profile_table(table)

    for name in ("float16", "decimal64"):
        values = np.array(table[name].to_pylist(), dtype=float)
        assert_numeric_matches(feature(result, name)["statistics"], values, name)
    expected = pd.Series(labels).value_counts().to_dict()
    for name in ("string_view", "run_end_encoded"):
        stats = feature(result, name)["statistics"]
        counted = pd.Series(table[name].to_pylist()).value_counts().to_dict()
        assert {entry["value"]: entry["count"] for entry in stats["top_values"]} == counted, name
    assert feature(result, "run_end_encoded")["statistics"]["top_values"][0]["count"] == max(expected.values())
    assert findings_of(result, "not_summarised") == {"binary_view", "fixed_size_list", "list_view", "union", "uuid"}
    for name in table.column_names:
        assert feature(result, name)["statistics"]["count"] == len(table[name]) - table[name].null_count, name


def test_a_parquet_file_written_by_pyarrow_profiles_every_type_it_holds(tmp_path):
    table = arrow_table().drop_columns(["interval"])  # Parquet has no month-day-nano interval
    path = tmp_path / "types.parquet"
    pq.write_table(table, path, row_group_size=150)
    result = profile(path, "parquet")
    frame = pd.read_parquet(path, columns=[name for name in table.column_names if name != "time64_ns"])

    assert result["row_count"] == ROWS
    for name, form in (("date32", "date"), ("date64", "date"), ("timestamp_ms", "timestamp"), ("time64_us", "time")):
        assert_temporal_matches(feature(result, name), frame[name], form)
    assert_numeric_matches(
        feature(result, "decimal128")["statistics"], frame["decimal128"].astype(float).to_numpy(), "decimal128"
    )
    assert findings_of(result, "not_summarised") >= {"binary", "list", "struct", "map"}


def test_a_parquet_file_written_by_pandas_profiles_and_matches_pandas(tmp_path):
    rng = np.random.default_rng(7)
    n = 300
    frame = pd.DataFrame(
        {
            "when": pd.to_datetime(rng.integers(1_500_000_000, 1_700_000_000, n), unit="s"),
            "when_zone": pd.to_datetime(rng.integers(1_500_000_000, 1_700_000_000, n), unit="s").tz_localize(
                "Europe/Paris"
            ),
            "took": pd.to_timedelta(rng.integers(0, 10_000, n), unit="s"),
            "kind": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "flag": rng.random(n) < 0.5,
            "count": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 50, n)), dtype="Int64"),
            "big": np.array([2**63 + int(v) for v in rng.integers(0, 10**6, n)], dtype=np.uint64),
            "price": [decimal.Decimal(int(v)).scaleb(-2) for v in rng.integers(0, 10**5, n)],
        }
    )
    frame.loc[5, "when"] = pd.NaT
    path = tmp_path / "pandas.parquet"
    frame.to_parquet(path, engine="pyarrow")
    result = profile(path, "parquet")
    frame = pd.read_parquet(path)

    assert_temporal_matches(feature(result, "when"), frame["when"], "timestamp")
    assert_temporal_matches(feature(result, "when_zone"), frame["when_zone"], "timestamp")
    took = feature(result, "took")["statistics"]
    unit = pq.read_schema(path).field("took").type.unit  # durations are counted in their own unit
    assert feature(result, "took")["dtype"] == f"duration[{unit}]"
    assert_numeric_matches(took, frame["took"].to_numpy().astype(f"timedelta64[{unit}]").astype(np.int64) * 1.0, "t")
    kind = feature(result, "kind")["statistics"]
    assert {entry["value"]: entry["count"] for entry in kind["top_values"]} == frame["kind"].value_counts().to_dict()
    flag = feature(result, "flag")["statistics"]
    assert (flag["min"], flag["max"]) == (bool(frame["flag"].min()), bool(frame["flag"].max()))
    assert_numeric_matches(feature(result, "count")["statistics"], frame["count"].to_numpy(float, na_value=np.nan), "c")
    big = feature(result, "big")["statistics"]
    assert (big["min"], big["max"]) == (int(frame["big"].min()), int(frame["big"].max()))
    assert_numeric_matches(feature(result, "price")["statistics"], frame["price"].astype(float).to_numpy(), "price")


def test_a_parquet_file_written_by_duckdb_profiles_every_type_it_holds(tmp_path):
    path = tmp_path / "duck.parquet"
    with duckdb.connect() as connection:
        connection.execute(
            f"""
            COPY (
                SELECT
                    DATE '2020-01-01' + (i * 7 % 900)::INTEGER AS day,
                    TIME '00:00:00' + INTERVAL (i * 37 % 86400) SECOND AS clock,
                    TIMESTAMP '2021-03-04 05:06:07' + INTERVAL (i * 3001) SECOND AS stamp,
                    TIMESTAMPTZ '2021-03-04 05:06:07+00' + INTERVAL (i * 3001) SECOND AS stamp_zone,
                    INTERVAL (i % 5) DAY AS span,
                    (i * 1.25)::DECIMAL(18, 3) AS amount,
                    (9223372036854775808 + i)::UBIGINT AS huge,
                    (i * 1000)::HUGEINT AS wide,
                    encode(i::VARCHAR) AS blob,
                    [i, i + 1] AS pair,
                    {{'a': i, 'b': i::VARCHAR}} AS record,
                    MAP {{'k': i}} AS mapping,
                    gen_random_uuid() AS id,
                    i % 3 = 0 AS flag,
                    CASE WHEN i % 11 = 0 THEN NULL ELSE i % 9 END AS code
                FROM range(500) t(i)
            ) TO '{path}' (FORMAT parquet)
            """  # noqa: S608 (the path is the test's own temporary file)
        )
    result = profile(path, "parquet")
    frame = pd.read_parquet(path)

    assert result["row_count"] == 500
    for name in frame.columns:
        stats = feature(result, name)["statistics"]
        assert stats["count"] == frame[name].notna().sum(), name
    assert_temporal_matches(feature(result, "day"), frame["day"], "date")
    assert_temporal_matches(feature(result, "stamp"), frame["stamp"], "timestamp")
    assert_temporal_matches(feature(result, "stamp_zone"), frame["stamp_zone"], "timestamp")
    assert_temporal_matches(feature(result, "clock"), frame["clock"], "time")
    assert_numeric_matches(feature(result, "amount")["statistics"], frame["amount"].astype(float).to_numpy(), "a")
    huge = feature(result, "huge")["statistics"]
    assert (huge["min"], huge["max"]) == (2**63, 2**63 + 499)
    assert_numeric_matches(feature(result, "code")["statistics"], frame["code"].to_numpy(float), "code")
    flag = feature(result, "flag")["statistics"]
    assert (flag["min"], flag["max"], flag["true_count"]) == (False, True, int(frame["flag"].sum()))
    assert findings_of(result, "not_summarised") >= {"blob", "pair", "record", "mapping"}


def test_a_csv_read_by_duckdb_gives_dates_times_and_timestamps(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(
        "day,clock,stamp,stamp_zone\n"
        + "".join(
            f"2020-01-{1 + i % 28:02d},{i % 24:02d}:{i % 60:02d}:05,2020-02-03 04:{i % 60:02d}:06,"
            f"2020-02-03 04:{i % 60:02d}:06+01:00\n"
            for i in range(90)
        )
    )
    result = profile(path, "csv")
    frame = pd.read_csv(path)

    # (DuckDB's CSV reader leaves timestamps with a UTC offset as text: the reader's matter, not the engine's.)
    assert {feature(result, name)["logical_type"] for name in ("day", "clock", "stamp")} == {"datetime"}
    day = feature(result, "day")["statistics"]
    assert (day["min"], day["max"]) == (frame["day"].min(), frame["day"].max())
    for key, rank in QUANTILES.items():
        expected = pd.to_datetime(frame["day"]).quantile(rank).round("us")
        text = expected.date().isoformat() if expected == expected.normalize() else expected.isoformat()
        assert day["quantiles"][key] == text, key
    assert_temporal_matches(feature(result, "stamp"), pd.to_datetime(frame["stamp"]), "timestamp")
    clock = pd.to_datetime(frame["clock"], format="%H:%M:%S").dt.time
    assert_temporal_matches(feature(result, "clock"), clock, "time")


@pytest.fixture
def installed():
    def path_of(package, *parts):
        module = pytest.importorskip(package)
        return Path(module.__file__).parent.joinpath(*parts)

    return path_of


def test_seattle_weather_profiles_its_date_column_as_pandas_reads_it(installed):
    path = installed("vega_datasets", "_data", "seattle-weather.csv")
    result = profile(path, "csv")
    frame = pd.read_csv(path)

    date = feature(result, "date")
    assert date["logical_type"] == "datetime"
    assert_temporal_matches(date, pd.to_datetime(frame["date"]).dt.date, "date")
    for name in ("precipitation", "temp_max", "temp_min", "wind"):
        assert_numeric_matches(feature(result, name)["statistics"], frame[name].to_numpy(float), name)


def test_penguins_raw_profiles_its_egg_dates_as_pandas_reads_them(installed):
    path = installed("palmerpenguins", "data", "penguins-raw.csv")
    result = profile(path, "csv")
    frame = pd.read_csv(path)

    eggs = feature(result, "Date Egg")
    assert eggs["logical_type"] == "datetime"
    assert_temporal_matches(eggs, pd.to_datetime(frame["Date Egg"]).dt.date, "date")
    for name in ("Culmen Length (mm)", "Body Mass (g)", "Delta 15 N (o/oo)"):
        assert_numeric_matches(feature(result, name)["statistics"], frame[name].to_numpy(float), name)
    assert not math.isnan(feature(result, "Body Mass (g)")["statistics"]["quantiles"]["p50"])
