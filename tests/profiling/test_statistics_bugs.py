"""Regression tests of the statistics bugs found on real data: histogram counts, boolean extremes,
numeric top values past exact counting, profiles that differ run to run, and the quantile convention.
pandas/numpy compute every expected value."""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from profiler import engine
from profiler.engine import Options, profile_files
from profiler.files import expand
from profiler.state import PartialProfile

QUANTILES = {"p1": 0.01, "p5": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95, "p99": 0.99}


def profile(path, format, label=None, workers=1):
    return profile_files(expand(path), format, options=Options(label_column=label), workers=workers)


def feature(result, name):
    return next(item for item in result["features"] if item["name"] == name)


@pytest.fixture
def installed():
    def path_of(package, *parts):
        module = pytest.importorskip(package)
        return Path(module.__file__).parent.joinpath(*parts)

    return path_of


def test_it_gives_one_count_per_histogram_bin_and_numpys_counts_on_penguins(installed):
    path = installed("palmerpenguins", "data", "penguins.csv")
    result = profile(path, "csv")
    frame = pd.read_csv(path)

    for name in ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"):
        histogram = feature(result, name)["statistics"]["histogram"]
        values = frame[name].dropna().to_numpy(float)
        counts, edges = np.histogram(values, bins=20)
        assert len(histogram["counts"]) == len(histogram["edges"]) - 1 == 20, name
        assert histogram["counts"] == counts.tolist(), name
        assert histogram["edges"] == pytest.approx(edges.tolist()), name
        assert sum(histogram["counts"]) == frame[name].count(), name


def test_it_counts_only_finite_values_in_the_histogram_even_past_exact_counting(tmp_path):
    rng = np.random.default_rng(3)
    values = rng.lognormal(size=60_000)  # past the exact limit: the histogram comes from the sketch
    values[:40] = np.inf
    values[40:55] = -np.inf
    values[55:80] = np.nan
    path = tmp_path / "tail.parquet"
    pq.write_table(pa.table({"x": values, "few": np.round(values, 0)}), path)
    result = profile(path, "parquet")

    for name in ("x", "few"):
        stats = feature(result, name)["statistics"]
        column = pd.Series(values if name == "x" else np.round(values, 0))
        finite = column[np.isfinite(column)]
        assert stats["infinite_count"] == 55, name
        assert stats["count"] == column.count(), name  # infinities are values, NaN is missing
        assert len(stats["histogram"]["counts"]) == len(stats["histogram"]["edges"]) - 1 == 20, name
        assert sum(stats["histogram"]["counts"]) == len(finite), name
    expected, _ = np.histogram(np.round(values, 0)[np.isfinite(values)], bins=20)
    assert feature(result, "few")["statistics"]["histogram"]["counts"] == expected.tolist()
    sketched = feature(result, "x")["statistics"]
    assert sketched["histogram"]["approximate"]
    expected, _ = np.histogram(values[np.isfinite(values)], bins=20)
    assert np.abs(np.array(sketched["histogram"]["counts"]) - expected).max() <= 0.002 * len(values)


def test_it_gives_the_date_histogram_one_count_per_bin(installed):
    path = installed("vega_datasets", "_data", "seattle-weather.csv")
    histogram = feature(profile(path, "csv"), "date")["statistics"]["histogram"]
    days = pd.to_datetime(pd.read_csv(path)["date"]).astype("datetime64[s]").astype(np.int64).to_numpy()

    counts, _ = np.histogram(days.astype(float), bins=20)
    assert len(histogram["counts"]) == len(histogram["edges"]) - 1 == 20
    assert histogram["counts"] == counts.tolist()
    assert sum(histogram["counts"]) == len(days)


def test_it_makes_a_boolean_columns_min_false_when_it_holds_false(tmp_path):
    path = tmp_path / "flags.parquet"
    pq.write_table(
        pa.table(
            {
                "mixed": [True, False, True, None],
                "all_true": [True, True, None, True],
                "all_false": [False, False, False, None],
            }
        ),
        path,
    )
    result = profile(path, "parquet")
    frame = pd.read_parquet(path)

    for name in frame.columns:
        stats = feature(result, name)["statistics"]
        present = frame[name].dropna().astype(bool)
        assert (stats["min"], stats["max"]) == (bool(present.min()), bool(present.max())), name


def test_it_gives_approximate_top_values_of_a_numeric_column_with_many_distinct_values(tmp_path):
    rng = np.random.default_rng(11)
    values = np.concatenate([rng.integers(0, 10**9, 80_000), np.full(3_000, 42), np.full(2_000, 7), np.full(1_000, -5)])
    rng.shuffle(values)
    floats = values / 4.0
    path = tmp_path / "many.parquet"
    pq.write_table(pa.table({"n": values, "f": floats}), path, row_group_size=20_000)
    result = profile(path, "parquet")

    for name, column in (("n", pd.Series(values)), ("f", pd.Series(floats))):
        stats = feature(result, name)["statistics"]
        assert stats["top_values_are_approximate"], name
        top = stats["top_values"][:3]
        expected = column.value_counts().head(3)
        assert [entry["value"] for entry in top] == expected.index.tolist(), name
        bound = stats["top_values_error_bound"]
        for entry, count in zip(top, expected.tolist(), strict=True):
            assert count <= entry["count"] <= count + bound, name
    assert isinstance(feature(result, "n")["statistics"]["top_values"][0]["value"], int)


def test_the_same_bytes_give_the_same_profile_in_one_process_and_as_parts(tmp_path):
    rng = np.random.default_rng(5)
    rows = 120_000
    table = pa.table(
        {
            "heavy": rng.pareto(1.5, rows),
            "many": rng.integers(0, 10**8, rows),
            "when": pa.array(rng.integers(1_500_000_000, 1_700_000_000, rows), pa.timestamp("s")),
            "label": rng.choice(["a", "b", "c"], rows),
        }
    )
    folder = tmp_path / "same"
    folder.mkdir()
    for part in range(3):
        pq.write_table(table.slice(part * 40_000, 40_000), folder / f"part-{part}.parquet")
    path = folder / "part-0.parquet"

    first, second = profile(path, "parquet"), profile(path, "parquet")
    assert feature(first, "heavy")["statistics"]["quantiles_are_approximate"]
    assert first == second

    def as_parts():
        # As the workers of a chord: each part profiled and serialised on its own, merged in order.
        files = expand(folder)
        partitions, label, declared = engine.plan(files, "parquet", None)
        assert len(partitions) == 3
        parts = [
            engine.profile_partition(
                partition, file_index=index, label_column=label, declared=declared, options=Options()
            )
            for index, partition in enumerate(partitions)
        ]
        return engine.merge_and_build([PartialProfile.from_bytes(part.to_bytes()) for part in parts])

    whole = as_parts()
    assert feature(whole, "heavy")["statistics"]["quantiles_are_approximate"]
    assert whole == as_parts()
    assert profile(folder, "parquet", workers=2) == profile(folder, "parquet", workers=2)


def test_exact_quantiles_equal_pandas_linear_interpolation_on_real_columns(installed):
    frames = []
    path = installed("palmerpenguins", "data", "penguins.csv")
    frames.append((path, pd.read_csv(path)))
    path = installed("vega_datasets", "_data", "seattle-weather.csv")
    frames.append((path, pd.read_csv(path)))
    checked = 0
    for path, frame in frames:
        result = profile(path, "csv")
        for name in frame.select_dtypes("number").columns:
            stats = feature(result, name)["statistics"]
            assert not stats["quantiles_are_approximate"], name
            for key, rank in QUANTILES.items():
                assert stats["quantiles"][key] == pytest.approx(frame[name].quantile(rank), rel=1e-12), (name, key)
            assert stats["quantiles"]["p50"] == pytest.approx(frame[name].median(), rel=1e-12), name
            checked += 1
    assert checked == 9


def test_a_date_column_with_few_distinct_values_has_exact_quantiles_however_many_rows(tmp_path):
    rng = np.random.default_rng(9)
    days = pd.Series(pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 700, 30_000), unit="D"))
    stamps = pd.Series(pd.to_datetime(rng.integers(1_600_000_000, 1_600_009_000, 30_000), unit="s"))
    path = tmp_path / "days.parquet"
    pq.write_table(
        pa.table({"day": pa.array(days.dt.date, pa.date32()), "stamp": stamps.astype("datetime64[s]")}), path
    )
    result = profile(path, "parquet")

    # Parquet keeps second timestamps as milliseconds: pandas reads them so, and interpolates in them.
    assert pq.read_schema(path).field("stamp").type == pa.timestamp("ms")
    for name, column in (("day", days.astype("datetime64[s]")), ("stamp", stamps.astype("datetime64[ms]"))):
        stats = feature(result, name)["statistics"]
        assert not stats["quantiles_are_approximate"], name
        for key, rank in QUANTILES.items():
            expected = column.quantile(rank)
            text = expected.date().isoformat() if name == "day" and expected == expected.normalize() else None
            assert stats["quantiles"][key] == (text or expected.isoformat()), (name, key)
        counts, _ = np.histogram(column.astype(np.int64).to_numpy(float), bins=20)
        assert stats["histogram"]["counts"] == counts.tolist(), name


def test_a_missing_boolean_is_not_taken_for_false_in_duplicate_rows(tmp_path):
    # DuckDB hashes false to 0, the mark of a missing value: these rows differ, as pandas says.
    table = pa.table({"flag": [None, False, True, None, False], "n": [1, 1, 1, 1, 1]})
    path = tmp_path / "flags.parquet"
    pq.write_table(table, path)

    result = profile(path, "parquet")

    assert result["quality"]["duplicate_rows"] == int(table.to_pandas().duplicated().sum()) == 2
