"""Label leakage: what one feature alone predicts of the label, out of sample, on a deterministic
sample of rows collected during the scan. Each kind of leak on a small constructed table, and the
real cases of the issue (iris, statsmodels' randhie and fair) with pandas as the oracle."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from profiler import columns, engine, leakage, quality
from profiler.engine import Options, profile_files
from profiler.files import expand
from profiler.rowsample import RowSample
from profiler.state import PartialProfile

sklearn_datasets = pytest.importorskip("sklearn.datasets")
statsmodels_datasets = pytest.importorskip("statsmodels.datasets")


def profile(path, format="csv", label=None, workers=1, task_type=None):
    return profile_files(
        expand(path), format, options=Options(label_column=label, task_type=task_type), workers=workers
    )


def leaks(result, severity):
    return sorted(
        f["feature"]
        for f in result["quality"]["findings"]
        if f["code"] == "label_leakage" and f["severity"] == severity
    )


def measured(result, name):
    return next(item for item in result["quality"]["leakage"] if item["feature"] == name)


@pytest.fixture
def leaky(tmp_path):
    """2,000 rows, a binary label, and one feature of each kind of leak beside honest ones."""
    rng = np.random.default_rng(20)
    n = 2_000
    label = rng.choice(["churned", "stayed"], n, p=[0.3, 0.7])
    churned = label == "churned"
    changed = label.copy()
    flip = rng.choice(n, 10, replace=False)  # half a percent of the rows changed
    changed[flip] = np.where(changed[flip] == "churned", "stayed", "churned")
    good = np.where(churned, rng.normal(1.0, 1.0, n), rng.normal(-1.0, 1.0, n))  # about 84% alone
    frame = pd.DataFrame(
        {
            "copy": label,
            "copy_with_changes": changed,
            "score": np.where(churned, rng.uniform(0.7, 1.0, n), rng.uniform(0.0, 0.7, n)),
            "closing_fee": np.where(churned, np.nan, rng.gamma(2.0, 30.0, n)),
            "exit_note": np.where(churned, [f"note {i}" for i in range(n)], None),
            "good_feature": good,
            "noise": rng.normal(size=n),
            "region": rng.choice(["north", "south", "east", "west"], n),
            "label": label,
        }
    )
    path = tmp_path / "customers.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_it_calls_each_kind_of_leak_an_error(leaky):
    path, frame = leaky
    # The premises, by pandas: each leak is what its name says.
    churned = frame["label"] == "churned"
    assert ((frame["score"] > 0.7) == churned).all()
    assert (frame["closing_fee"].isna() == churned).all()
    assert (frame["exit_note"].notna() == churned).all()
    assert frame["exit_note"].dropna().is_unique
    assert (frame["copy_with_changes"] != frame["label"]).sum() == 10

    result = profile(path, label="label")

    assert leaks(result, "error") == ["closing_fee", "copy", "copy_with_changes", "exit_note", "score"]
    assert measured(result, "copy")["value"] == 1.0
    assert measured(result, "copy_with_changes")["value"] >= 0.99
    assert measured(result, "noise")["skill"] < 0.2
    assert measured(result, "region")["skill"] < 0.2
    assert measured(result, "copy")["baseline"] == pytest.approx(frame["label"].value_counts(normalize=True).max())


def test_it_never_calls_a_merely_good_feature_an_error(leaky):
    path, _ = leaky
    result = profile(path, label="label")
    good = measured(result, "good_feature")
    assert 0.75 < good["value"] < 0.95
    assert "good_feature" not in leaks(result, "error")


def test_it_does_not_take_the_majority_class_of_an_imbalanced_label_for_a_leak(tmp_path):
    rng = np.random.default_rng(3)
    n = 5_000
    label = np.where(rng.random(n) < 0.005, "fraud", "ok")
    frame = pd.DataFrame({"amount": rng.lognormal(size=n), "channel": rng.choice(["web", "app"], n), "label": label})
    frame.to_csv(tmp_path / "payments.csv", index=False)

    result = profile(tmp_path / "payments.csv", label="label")

    amount = measured(result, "amount")
    assert amount["value"] >= 0.99  # as right as always answering "ok"...
    assert amount["skill"] < 0.5  # ...which is no skill at all
    assert leaks(result, "error") == []
    assert leaks(result, "warning") == []


def test_iris_petal_measurements_are_warnings_never_errors(tmp_path):
    iris = sklearn_datasets.load_iris(as_frame=True).frame
    iris["species"] = iris.pop("target").map(dict(enumerate(["setosa", "versicolor", "virginica"])))
    iris.to_csv(tmp_path / "iris.csv", index=False)

    result = profile(tmp_path / "iris.csv", label="species")

    assert leaks(result, "error") == []
    assert leaks(result, "warning") == ["petal length (cm)", "petal width (cm)"]
    for name in ("petal length (cm)", "petal width (cm)"):
        assert 0.9 <= measured(result, name)["value"] < 0.99
    assert result["quality"]["class_counts"] == {k: int(v) for k, v in iris["species"].value_counts().items()}


def randhie_csv():
    # The source file (the packaged randhie.csv keeps only the model's columns).
    return Path(statsmodels_datasets.randhie.__file__).parent / "src" / "randhie.csv"


def test_randhie_binexp_is_leaked_by_a_threshold_and_by_missingness():
    frame = pd.read_csv(randhie_csv())
    # The premises, by pandas.
    assert (frame["binexp"] == (frame["meddol"] > 0)).all()
    assert (frame["lnmeddol"].isna() == (frame["binexp"] == 0)).all()

    result = profile(randhie_csv(), label="binexp")

    assert result["quality"]["task_type"] == "classification"
    assert {"meddol", "lnmeddol"} <= set(leaks(result, "error"))
    assert leaks(result, "error") == ["lnmeddol", "meddol"]
    assert measured(result, "meddol")["value"] == 1.0
    assert measured(result, "lnmeddol")["value"] == 1.0
    assert measured(result, "meddol")["rows"] == 10_000  # the sample, of 20,190 rows


def test_a_copy_of_a_regression_target_is_an_error_and_fair_has_none(tmp_path):
    fair = statsmodels_datasets.fair.load_pandas().data
    rng = np.random.default_rng(1)
    fair["affairs_reported"] = fair["affairs"] * 1.0000001
    fair["noise"] = rng.normal(size=len(fair))
    fair.to_csv(tmp_path / "fair.csv", index=False)

    result = profile(tmp_path / "fair.csv", label="affairs")

    assert result["quality"]["task_type"] == "regression"
    assert leaks(result, "error") == ["affairs_reported"]
    assert measured(result, "affairs_reported")["measure"] == "r2"
    assert measured(result, "rate_marriage")["value"] < 0.2


def test_the_row_sample_is_the_same_however_the_rows_are_cut_and_merged():
    rng = np.random.default_rng(7)
    n = 30_000
    ids = np.arange(n, dtype=np.uint64)
    values = {"x": rng.normal(size=n), "h": rng.integers(1, 50, n).astype(np.uint64)}

    whole = RowSample(capacity=1_000)
    whole.add(ids, values)
    parts = []
    for start, end in ((20_000, 30_000), (0, 7_000), (7_000, 20_000)):
        part = RowSample(capacity=1_000)
        for low in range(start, end, 3_000):  # batches inside each part
            high = min(low + 3_000, end)
            part.add(ids[low:high], {name: array[low:high] for name, array in values.items()})
        parts.append(part)
    merged = parts[0]
    for part in parts[1:]:
        merged.merge(part)

    assert np.array_equal(merged.keys, whole.keys)
    assert np.array_equal(merged.columns["x"], whole.columns["x"])
    assert np.array_equal(merged.columns["h"], whole.columns["h"])
    # A uniform sample: the kept rows spread over the whole range.
    positions = np.flatnonzero(np.isin(values["x"], whole.columns["x"]))
    assert len(positions) == 1_000
    assert positions.min() < 1_000
    assert positions.max() > n - 1_000


def test_the_leakage_figures_are_the_same_from_parts_merged_in_any_order(tmp_path):
    rng = np.random.default_rng(11)
    n = 15_000  # more rows than the sample keeps
    label = rng.choice(["a", "b", "c"], n)
    frame = pd.DataFrame(
        {"code": np.where(label == "a", 1.0, rng.normal(5, 1, n)), "x": rng.normal(size=n), "label": label}
    )
    folder = tmp_path / "parts"
    folder.mkdir()
    for index, start in enumerate(range(0, n, 5_000)):
        frame.iloc[start : start + 5_000].to_csv(folder / f"part-{index}.csv", index=False)
    files = expand(folder)
    partitions, label_column, declared = engine.plan(files, "csv", "label")
    order = {name: index for index, name in enumerate(sorted(file.relative_path for file in files))}
    options = Options(label_column="label")

    def parts():
        return [
            engine.profile_partition(
                partition,
                file_index=order[partition.relative_path],
                label_column=label_column,
                declared=declared,
                options=options,
            )
            for partition in partitions
        ]

    forward = engine.merge_and_build(parts())
    backward = engine.merge_and_build([PartialProfile.from_bytes(part.to_bytes()) for part in reversed(parts())])
    parallel = profile_files(files, "csv", options=options, workers=2)

    assert forward["quality"]["leakage"] == backward["quality"]["leakage"] == parallel["quality"]["leakage"]
    assert measured(forward, "code")["rows"] == 10_000
    assert leaks(forward, "error") == []
    assert measured(forward, "code")["value"] == pytest.approx(
        (frame["label"] == "a").mean() + (frame["label"] != "a").mean() / 2, abs=0.03
    )


def test_target_values_invert_the_profilers_hashes():
    floats = np.array([0.0, -1.5, 3.14159, 1e300, 57.599991])
    integers = np.array([0, -7, 2**40, 123456789], dtype=np.int64)

    assert np.array_equal(
        quality.target_values(columns.mix(columns.float_bits(floats.copy())), floating=True), floats + 0.0
    )
    assert np.array_equal(
        quality.target_values(columns.mix(integers.view(np.uint64).copy()), floating=False), integers.astype(float)
    )
    assert np.isnan(quality.target_values(np.array([0], dtype=np.uint64), floating=True)).all()


def test_a_tree_on_one_number_finds_a_band_of_one_class():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 3_000)
    y = ((x > 3) & (x < 6)).astype(np.intp)  # the class is a band, not one side of a threshold
    sample = RowSample(capacity=3_000)
    sample.add(np.arange(3_000, dtype=np.uint64), {"x": x, "y": y.astype(np.float64)})

    (result,) = leakage.assess(sample, "y", "classification", ["x"])

    assert result.value >= 0.99
    assert result.severity == "error"
