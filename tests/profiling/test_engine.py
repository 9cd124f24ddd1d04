"""The engine's statistics against pandas, where they are exact; sketches within their bounds."""

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from profiler import engine
from profiler.engine import Options, profile_files
from profiler.files import SourceError, expand

ROOT = Path(__file__).resolve().parents[2]


def profile(path, format, label=None, workers=1):
    return profile_files(expand(path), format, options=Options(label_column=label), workers=workers)


def feature(result, name):
    return next(item for item in result["features"] if item["name"] == name)


def assert_matches_pandas(result, frame):
    assert result["row_count"] == len(frame)
    for name in frame.columns:
        stats = feature(result, name)["statistics"]
        column = frame[name]
        assert stats["count"] == column.count(), name
        assert stats["null_count"] == column.isna().sum(), name
        assert stats["distinct_count"] == column.nunique(), name
        assert not stats["distinct_is_approximate"], name
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            assert stats["min"] == pytest.approx(column.min()), name
            assert stats["max"] == pytest.approx(column.max()), name
            assert stats["mean"] == pytest.approx(column.mean(), rel=1e-9), name
            assert stats["std"] == pytest.approx(column.std(), rel=1e-9), name
            assert stats["zeros"] == (column == 0).sum(), name
            assert stats["negatives"] == (column < 0).sum(), name
        counts = column.value_counts()
        for value, count in counts.head(3).items():
            if (counts == count).sum() == 1:  # ties may be ordered differently
                assert {"value": value, "count": count} in stats["top_values"], (name, value)


@pytest.fixture
def na_csv(tmp_path):
    path = tmp_path / "measurements.csv"
    path.write_text(
        "sensor,reading,site,label\n"
        "s1,1.5,north,ok\n"
        "s2,NA,south,ok\n"
        "s3,2.25,N/A,fault\n"
        "s4,null,north,ok\n"
        "s5,,east,ok\n"
        "s6,-3.0,north,fault\n"
        "s7,0,NaN,ok\n"
        "s8,10.5,south,ok\n"
    )
    return path


def test_a_numeric_column_with_na_tokens_stays_numeric_and_matches_pandas(na_csv):
    result = profile(na_csv, "csv")
    frame = pd.read_csv(na_csv)

    reading = feature(result, "reading")
    assert reading["logical_type"] == "numeric"
    assert reading["statistics"]["null_count"] == 3
    assert_matches_pandas(result, frame)
    assert result["quality"]["label_column"] == "label"
    assert result["quality"]["label_inferred"] is True
    assert result["quality"]["class_counts"] == {"ok": 6, "fault": 2}
    assert result["quality"]["imbalance_ratio"] == 3.0


def test_messy_parquet_column_names_are_kept_exactly(tmp_path):
    names = ["petal length (cm)", "Sepal.Width", 'quote"d', "ünïcode", "a,b;c", " padded ", "class"]
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            names[0]: rng.normal(5, 1, 500),
            names[1]: rng.integers(0, 40, 500),
            names[2]: rng.choice(["x", "y", None], 500),
            names[3]: rng.lognormal(size=500),
            names[4]: rng.choice([True, False], 500),
            names[5]: pd.date_range("2024-01-01", periods=500, freq="h"),
            names[6]: rng.choice(["setosa", "virginica"], 500),
        }
    )
    path = tmp_path / "messy.parquet"
    frame.to_parquet(path, row_group_size=128)

    result = profile(path, "parquet")

    assert [item["name"] for item in result["features"]] == names
    assert_matches_pandas(result, frame.drop(columns=[names[5]]))
    assert feature(result, names[5])["logical_type"] == "datetime"
    assert feature(result, names[5])["statistics"]["min"].startswith("2024-01-01")
    assert feature(result, names[4])["logical_type"] == "boolean"
    assert feature(result, names[4])["statistics"]["true_count"] == int(frame[names[4]].sum())


def dirty_frame():
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 90, 2000),
            "income": rng.lognormal(10, 1, 2000).round(2),
            "city": rng.choice(["paris", "lyon", "nice", "lille"], 2000),
            "label": rng.choice(["yes", "no", "maybe"], 2000, p=[0.7, 0.295, 0.005]),
        }
    )
    duplicates = frame.iloc[:40]
    conflicts = frame.iloc[100:110].copy()
    conflicts["label"] = conflicts["label"].map({"yes": "no", "no": "yes", "maybe": "yes"})
    return pd.concat([frame, duplicates, conflicts], ignore_index=True)


def expected_conflicts(frame, label):
    features = [column for column in frame.columns if column != label]
    per_group = frame.groupby(features, dropna=False)[label].nunique(dropna=False)
    conflicting = per_group[per_group > 1]
    rows = frame.merge(conflicting.reset_index()[features], on=features).shape[0]
    return len(conflicting), rows


def test_duplicates_and_label_conflicts_match_pandas(tmp_path):
    frame = dirty_frame()
    path = tmp_path / "dirty.csv"
    frame.to_csv(path, index=False)

    result = profile(path, "csv", label="label")

    quality = result["quality"]
    assert quality["duplicate_rows"] == int(frame.duplicated().sum()) == 40
    groups, rows = expected_conflicts(frame, "label")
    assert quality["label_conflicts"]["groups"] == groups == 10
    assert quality["label_conflicts"]["rows"] == rows
    example = quality["label_conflicts"]["examples"][0]
    first, second = (int(row.split(":")[1]) - 1 for row in example[:2])
    assert frame.drop(columns="label").iloc[first].equals(frame.drop(columns="label").iloc[second])
    assert frame["label"].iloc[first] != frame["label"].iloc[second]
    assert quality["class_counts"] == {key: int(value) for key, value in frame["label"].value_counts().items()}
    codes = {finding["code"] for finding in quality["findings"]}
    assert {"duplicate_rows", "label_conflicts", "class_imbalance"} <= codes
    message = next(f["message"] for f in quality["findings"] if f["code"] == "class_imbalance")
    assert message.startswith("label 'maybe' has ")


def test_a_feature_that_copies_the_label_is_a_leakage_finding(tmp_path):
    rng = np.random.default_rng(5)
    label = rng.choice(["cat", "dog"], 1000)
    frame = pd.DataFrame({"noise": rng.normal(size=1000), "hint": np.where(label == "cat", "c", "d"), "target": label})
    path = tmp_path / "leaky.parquet"
    frame.to_parquet(path)

    result = profile(path, "parquet")

    leaks = [f for f in result["quality"]["findings"] if f["code"] == "label_leakage"]
    assert [f["feature"] for f in leaks] == ["hint"]
    association = {item["feature"]: item["value"] for item in result["label_association"]}
    assert association["hint"] == pytest.approx(1.0)
    assert association["noise"] < 0.2


def test_personal_data_is_flagged_and_masked_in_the_sample(tmp_path):
    frame = pd.DataFrame(
        {"email": [f"person{i}@example.org" for i in range(50)], "score": np.arange(50), "label": ["a", "b"] * 25}
    )
    path = tmp_path / "people.jsonl"
    frame.to_json(path, orient="records", lines=True)

    result = profile(path, "jsonl")

    email = feature(result, "email")
    assert email["pii"] is True
    assert email["pii_kinds"] == ["email"]
    sample = result["sample"]
    assert sample["pii_columns"] == ["email"]
    assert all("@example.org" in row["values"]["email"] for row in sample["rows"])
    assert not any("person" in str(row["values"]["email"]) for row in sample["masked_rows"])


def test_distinct_counts_above_the_exact_limit_are_marked_and_within_two_percent(tmp_path):
    rng = np.random.default_rng(9)
    values = rng.integers(0, 10**9, 300_000)
    frame = pd.DataFrame({"key": [f"k{v}" for v in values], "x": values.astype(float)})
    path = tmp_path / "wide.parquet"
    frame.to_parquet(path, row_group_size=100_000)

    result = profile(path, "parquet")

    for name in ("key", "x"):
        stats = feature(result, name)["statistics"]
        assert stats["distinct_is_approximate"] is True
        exact = frame[name].nunique()
        assert abs(stats["distinct_count"] - exact) / exact < 0.02


def test_quantiles_of_a_heavy_tail_are_within_a_tenth_of_a_percent_in_rank(tmp_path):
    rng = np.random.default_rng(13)
    values = (rng.pareto(1.5, 1_000_000) + 1) * 10
    path = tmp_path / "tail.parquet"
    pd.DataFrame({"amount": values}).to_parquet(path, row_group_size=250_000)

    stats = feature(profile(path, "parquet"), "amount")["statistics"]

    ordered = np.sort(values)
    for key, rank in {"p1": 0.01, "p25": 0.25, "p50": 0.5, "p95": 0.95, "p99": 0.99}.items():
        found = np.searchsorted(ordered, stats["quantiles"][key], side="right") / len(ordered)
        assert abs(found - rank) < 0.001, (key, found)
    assert stats["quantiles_are_approximate"] is True
    assert sum(stats["histogram"]["counts"]) == len(values)


def test_a_numeric_column_counted_exactly_keeps_exact_quantiles_and_hands_them_on_when_it_overflows(tmp_path):
    rng = np.random.default_rng(21)
    few = rng.integers(0, 50, 30_000).astype(float)  # counted exactly: exact quantiles, no sketch
    many = rng.lognormal(3, 1, 200_000)  # past the exact limit in the second file
    folder = tmp_path / "parts"
    folder.mkdir()
    pd.DataFrame({"amount": few}).to_parquet(folder / "a.parquet", row_group_size=10_000)
    pd.DataFrame({"amount": many}).to_parquet(folder / "b.parquet", row_group_size=50_000)

    alone = feature(profile(folder / "a.parquet", "parquet"), "amount")["statistics"]
    both = feature(profile(folder, "parquet"), "amount")["statistics"]

    assert alone["quantiles_are_approximate"] is False
    assert alone["quantiles"]["p50"] == np.quantile(few, 0.5, method="higher")
    assert sum(alone["histogram"]["counts"]) == len(few)
    assert both["quantiles_are_approximate"] is True
    assert sum(both["histogram"]["counts"]) == len(few) + len(many)
    ordered = np.sort(np.concatenate([few, many]))
    for key, rank in {"p1": 0.01, "p25": 0.25, "p50": 0.5, "p95": 0.95, "p99": 0.99}.items():
        found = np.searchsorted(ordered, both["quantiles"][key], side="right") / len(ordered)
        assert abs(found - rank) < 0.001, (key, found)


def test_outliers_are_the_values_strictly_beyond_the_iqr_fences(tmp_path):
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"visits": rng.poisson(3, 100_000), "spend": rng.lognormal(2, 1, 100_000)})
    path = tmp_path / "visits.parquet"
    frame.to_parquet(path)

    result = profile(path, "parquet")

    for name, tolerance in (("visits", 0), ("spend", 0.001 * len(frame))):
        outliers = feature(result, name)["statistics"]["outliers"]
        values = frame[name]
        beyond = ((values < outliers["lower_fence"]) | (values > outliers["upper_fence"])).sum()
        assert abs(outliers["count"] - beyond) <= tolerance, name
    visits = feature(result, "visits")["statistics"]
    q1, q3 = np.quantile(frame["visits"], [0.25, 0.75], method="higher")
    assert visits["outliers"]["upper_fence"] == q3 + 1.5 * (q3 - q1)


def test_a_folder_of_files_profiles_as_one_source_in_parallel(tmp_path):
    frame = dirty_frame()
    folder = tmp_path / "parts"
    folder.mkdir()
    bounds = [0, 700, 1400, len(frame)]
    for index in range(3):
        frame.iloc[bounds[index] : bounds[index + 1]].to_csv(folder / f"part-{index}.csv", index=False)

    parallel = profile(folder, "csv", label="label", workers=2)
    whole_path = tmp_path / "whole.csv"
    frame.to_csv(whole_path, index=False)
    whole = profile(whole_path, "csv", label="label")

    assert parallel["file_count"] == 3
    assert parallel["quality"]["duplicate_rows"] == whole["quality"]["duplicate_rows"]
    assert parallel["quality"]["label_conflicts"]["groups"] == whole["quality"]["label_conflicts"]["groups"]
    for name in frame.columns:
        a, b = feature(parallel, name)["statistics"], feature(whole, name)["statistics"]
        for key in ("count", "null_count", "distinct_count", "min", "max", "top_values"):
            assert a[key] == b[key], (name, key)
        if a.get("mean") is not None:
            assert a["mean"] == pytest.approx(b["mean"], rel=1e-12)
            assert a["std"] == pytest.approx(b["std"], rel=1e-9)


def test_a_parquet_file_shared_among_processes_inside_its_row_groups_profiles_as_in_one(tmp_path, monkeypatch):
    frame = dirty_frame()
    # Nearly unique (an identifier, hashed value by value), yet equal in the repeated rows.
    customer = "c-" + frame["age"].astype(str) + "-" + frame["income"].astype(str)
    frame["customer"] = customer.where(frame["age"] % 7 > 0, "")
    path = tmp_path / "dirty.parquet"
    frame.to_parquet(path, row_group_size=500)  # 5 row groups, none of which 2 processes share evenly
    monkeypatch.setattr(engine, "MIN_SHARE_ROWS", 100)

    parallel = profile(path, "parquet", label="label", workers=2)
    single = profile(path, "parquet", label="label", workers=1)

    assert parallel["quality"]["duplicate_rows"] == single["quality"]["duplicate_rows"] == 40
    assert parallel["quality"]["label_conflicts"] == single["quality"]["label_conflicts"]
    for name in frame.columns:
        a, b = feature(parallel, name)["statistics"], feature(single, name)["statistics"]
        for key in ("count", "null_count", "distinct_count", "min", "max", "top_values", "quantiles"):
            assert a.get(key) == b.get(key), (name, key)
    assert_matches_pandas(parallel, frame.drop(columns="customer"))


def test_a_share_that_fails_leaves_no_row_hash_files_behind(tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # inherited by the forked processes
    monkeypatch.setattr(engine, "MIN_SHARE_ROWS", 100)
    folder = tmp_path / "parts"
    folder.mkdir()
    rng = np.random.default_rng(2)
    for name in ("a", "b"):
        frame = pd.DataFrame({"x": rng.normal(size=2_000), "label": rng.choice(["u", "v"], 2_000)})
        frame.to_parquet(folder / f"{name}.parquet", compression=None)
    broken = bytearray((folder / "b.parquet").read_bytes())
    broken[4:400] = b"\xff" * 396  # the first page's header, not the footer: the file plans but does not read
    (folder / "b.parquet").write_bytes(bytes(broken))

    with pytest.raises(SourceError, match=r"b\.parquet"):
        profile(folder, "parquet", label="label", workers=2)

    assert list(scratch.iterdir()) == []


def test_pearson_correlations_over_pairwise_complete_rows_match_pandas(tmp_path):
    rng = np.random.default_rng(8)
    rows = 50_000  # several batches, each several blocks of rows
    x = rng.normal(size=rows)
    frame = pd.DataFrame(
        {
            "x": x,
            "tail": np.exp(3 * x + rng.normal(size=rows)) * 1e6,
            "count": rng.poisson(4, rows) + (x > 1),
        }
    )
    frame.loc[rng.random(rows) < 0.1, "x"] = np.nan
    frame.loc[rng.random(rows) < 0.2, "tail"] = np.nan
    frame["count"] = frame["count"].astype("Int64").mask(rng.random(rows) < 0.05)
    path = tmp_path / "numbers.parquet"
    frame.to_parquet(path, row_group_size=20_000)

    pearson = profile(path, "parquet")["correlations"]["pearson"]

    expected = frame.astype(float).corr()
    assert len(pearson) == 3
    for item in pearson:
        both = frame[[item["a"], item["b"]]].dropna()
        assert item["n"] == len(both)
        assert item["r"] == pytest.approx(expected.loc[item["a"], item["b"]], abs=1e-6)


def test_an_identifier_column_is_profiled_exactly_without_a_dictionary(tmp_path):
    rng = np.random.default_rng(5)
    ids = [f"id-{value}-é" if value % 3 else f"{value}" for value in rng.permutation(60_000)]
    ids[::97] = [""] * len(ids[::97])
    ids[5::101] = [None] * len(ids[5::101])
    frame = pd.DataFrame({"id": ids, "kind": rng.choice(["a", "b"], len(ids))})
    path = tmp_path / "ids.parquet"
    frame.to_parquet(path, row_group_size=20_000)

    stats = feature(profile(path, "parquet"), "id")["statistics"]

    present = frame["id"].dropna()
    assert stats["null_count"] == frame["id"].isna().sum()
    assert (stats["min"], stats["max"]) == (present.min(), present.max())
    assert stats["empty_strings"] == (present == "").sum()
    lengths = present.str.len()
    assert stats["string_length"]["min"] == lengths.min()
    assert stats["string_length"]["max"] == lengths.max()
    assert stats["string_length"]["mean"] == pytest.approx(lengths.mean())
    assert abs(stats["distinct_count"] - present.nunique()) / present.nunique() < 0.02


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("a,b,label\n", "no data rows"),
    ],
)
def test_it_explains_a_source_with_no_rows(tmp_path, content, message):
    path = tmp_path / "nothing.csv"
    path.write_text(content)

    with pytest.raises(SourceError, match=message):
        profile(path, "csv")


def test_it_rejects_a_declared_label_that_is_not_a_column(na_csv):
    with pytest.raises(SourceError, match="The label column 'species' is not among the columns: 'sensor'"):
        profile(na_csv, "csv", label="species")


# `python -m catalog.profiling` is the command's name from when the engine lived in the catalog.
@pytest.mark.parametrize("module", ["profiler", "catalog.profiling"])
def test_the_cli_prints_the_profile_with_its_fingerprint(na_csv, module):
    result = subprocess.run(
        [sys.executable, "-m", module, str(na_csv), "--label-column", "label"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["row_count"] == 8
    assert output["fingerprint"].startswith("sha256:")
    assert output["quality"]["label_column"] == "label"
    assert math.isclose(feature(output, "reading")["statistics"]["mean"], (1.5 + 2.25 - 3.0 + 0 + 10.5) / 5)


def test_the_cli_explains_a_bad_source(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "profiler", str(tmp_path / "missing.csv")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "does not exist" in result.stderr
