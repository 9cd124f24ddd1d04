"""Findings a data scientist trusts: the task type, identifiers, integer date codes, outliers,
correlated features, the cap per code, and conflict examples that name the right file. Real data
(statsmodels' fair and randhie, vega's us-employment) with pandas as the oracle, and small tables
built for one rule each."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from profiler import associations, engine
from profiler.engine import Options, profile_files
from profiler.files import SourceError, expand
from profiler.findings import FINDINGS_PER_CODE

statsmodels_datasets = pytest.importorskip("statsmodels.datasets")
vega_datasets = pytest.importorskip("vega_datasets")


def profile(path, format="csv", label=None, task_type=None):
    return profile_files(expand(path), format, options=Options(label_column=label, task_type=task_type), workers=1)


def feature(result, name):
    return next(item for item in result["features"] if item["name"] == name)


def codes(result):
    return [finding["code"] for finding in result["quality"]["findings"]]


def of_code(result, code):
    return [finding for finding in result["quality"]["findings"] if finding["code"] == code]


@pytest.fixture
def fair_csv(tmp_path):
    frame = statsmodels_datasets.fair.load_pandas().data
    path = tmp_path / "fair.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_it_profiles_fairs_affairs_as_a_regression_target_without_class_findings(fair_csv):
    path, frame = fair_csv
    assert frame["affairs"].nunique() == 77  # what used to be 77 "classes"

    result = profile(path, label="affairs")

    quality = result["quality"]
    assert quality["task_type"] == "regression"
    assert quality["task_type_declared"] is False
    assert quality["class_counts"] == {}
    assert quality["imbalance_ratio"] is None
    assert not {"class_imbalance", "label_conflicts"} & set(codes(result))
    target = quality["target"]
    assert target["mean"] == pytest.approx(frame["affairs"].mean(), rel=1e-9)
    assert target["std"] == pytest.approx(frame["affairs"].std(), rel=1e-9)
    assert target["count"] == frame["affairs"].count()


def test_it_counts_regression_conflicts_beyond_the_stated_tolerance_as_pandas_does(fair_csv):
    path, frame = fair_csv
    tolerance = 0.01 * frame["affairs"].std()
    features = [name for name in frame.columns if name != "affairs"]
    spread = frame.groupby(features)["affairs"].agg(lambda values: values.max() - values.min())
    conflicting = spread[spread > tolerance]
    rows = frame.merge(conflicting.reset_index()[features], on=features).shape[0]

    result = profile(path, label="affairs")

    conflicts = result["quality"]["label_conflicts"]
    assert conflicts["tolerance"] == pytest.approx(tolerance)
    assert conflicts["groups"] == len(conflicting)
    assert conflicts["rows"] == rows
    first, second = (int(name.split(":")[1]) - 1 for name in conflicts["examples"][0][:2])
    assert frame.loc[first, features].equals(frame.loc[second, features])
    (finding,) = of_code(result, "target_conflicts")
    assert finding["severity"] == "info"
    assert f"{tolerance:.4g}" in finding["message"]


def test_a_declared_task_type_overrides_the_inferred_one(fair_csv):
    path, frame = fair_csv

    result = profile(path, label="affairs", task_type="classification")

    assert result["quality"]["task_type"] == "classification"
    assert result["quality"]["task_type_declared"] is True
    counts = frame["affairs"].value_counts()
    assert len(result["quality"]["class_counts"]) == len(counts) == 77

    regression = profile(path, label="rate_marriage", task_type="regression")
    assert regression["quality"]["class_counts"] == {}
    assert regression["quality"]["task_type"] == "regression"


def test_it_refuses_an_unknown_task_type(fair_csv):
    path, _ = fair_csv
    with pytest.raises(SourceError, match="classification, regression"):
        profile(path, label="affairs", task_type="ranking")


def test_whole_numbers_with_few_values_are_classes():
    frame_path = Path(statsmodels_datasets.randhie.__file__).parent / "src" / "randhie.csv"
    frame = pd.read_csv(frame_path)

    result = profile(frame_path, label="binexp")

    assert result["quality"]["task_type"] == "classification"
    assert result["quality"]["class_counts"] == {str(k): int(v) for k, v in frame["binexp"].value_counts().items()}


@pytest.fixture
def employment(tmp_path):
    frame = vega_datasets.local_data.us_employment()
    frame["month"] = pd.to_datetime(frame["month"]).dt.strftime("%Y%m%d").astype(int)
    path = tmp_path / "us-employment.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_monthly_counts_and_a_yyyymmdd_column_are_not_identifiers(employment):
    path, frame = employment
    assert frame["nonfarm"].is_unique
    assert len(frame) == 120
    assert frame["month"].is_unique

    result = profile(path)

    assert "likely_identifier" not in codes(result)
    assert feature(result, "nonfarm")["logical_type"] == "numeric"
    month = feature(result, "month")
    assert month["logical_type"] == "datetime"
    assert month["role"] == "timestamp"
    assert month["statistics"]["date_code"] == "yyyymmdd"
    assert [finding["feature"] for finding in of_code(result, "integer_date_code")] == ["month"]


def test_correlated_features_are_one_finding_per_cluster_as_pandas_groups_them(employment):
    path, frame = employment
    correlations = frame.corr()
    strong = [
        (a, b)
        for i, a in enumerate(frame.columns)
        for b in frame.columns[i + 1 :]
        if abs(correlations.loc[a, b]) >= associations.CORRELATION_THRESHOLD
    ]
    clusters: list[set[str]] = []
    for a, b in strong:
        touching = [cluster for cluster in clusters if a in cluster or b in cluster]
        merged = {a, b}.union(*touching)
        clusters = [cluster for cluster in clusters if cluster not in touching] + [merged]

    result = profile(path)

    findings = of_code(result, "high_correlation")
    assert len(findings) == len(clusters) < len(strong)
    for cluster in clusters:
        (message,) = [f["message"] for f in findings if f["feature"] in cluster]
        assert all(repr(name) in message for name in cluster)


def test_identifiers_need_evidence_beyond_uniqueness(tmp_path):
    rng = np.random.default_rng(4)
    frame = pd.DataFrame(
        {
            "customer_id": rng.permutation(np.arange(1_000, 1_060)),
            "row": np.arange(60),
            "visits": rng.permutation(np.arange(0, 600, 10)) + rng.integers(0, 9, 60),
            "country": [f"country {chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(60)],
            "period": np.tile([200001, 200002, 200003, 200012, 200105, 200111], 10),
        }
    )
    frame.to_csv(tmp_path / "small.csv", index=False)
    assert frame[["customer_id", "row", "visits", "country"]].nunique().eq(60).all()

    result = profile(tmp_path / "small.csv")

    assert feature(result, "customer_id")["logical_type"] == "identifier"  # its name
    assert feature(result, "row")["logical_type"] == "identifier"  # consecutive integers
    assert feature(result, "visits")["logical_type"] == "numeric"  # unique, and nothing more
    assert feature(result, "country")["logical_type"] == "categorical"  # 60 unique strings
    assert feature(result, "period")["statistics"]["date_code"] == "yyyymm"
    messages = {f["feature"]: f["message"] for f in of_code(result, "likely_identifier")}
    assert "named like one" in messages["customer_id"]
    assert "consecutive integers" in messages["row"]


def test_many_unique_strings_are_an_identifier(tmp_path):
    frame = pd.DataFrame({"order": [f"ord-{i:05d}" for i in range(500)], "amount": np.arange(500) % 7})
    frame.to_csv(tmp_path / "orders.csv", index=False)

    assert feature(profile(tmp_path / "orders.csv"), "order")["logical_type"] == "identifier"


def test_outliers_are_not_reported_on_low_cardinality_integer_codes(tmp_path):
    rng = np.random.default_rng(9)
    n = 2_000
    frame = pd.DataFrame(
        {
            "rating": rng.choice([1, 2, 3, 4, 5], n, p=[0.03, 0.03, 0.04, 0.1, 0.8]),
            "plan": rng.choice(np.arange(1, 19), n, p=np.r_[[0.9], np.full(17, 0.1 / 17)]),
            "pixel": np.where(rng.random(n) < 0.9, 0, rng.integers(0, 256, n)),
            "income": np.r_[rng.normal(50, 5, n - 200), rng.normal(500, 50, 200)],
        }
    )
    frame.to_csv(tmp_path / "codes.csv", index=False)
    # By pandas: every one of them has more than 5% of values beyond the 1.5 IQR fences.
    for name in frame.columns:
        q1, q3 = frame[name].quantile([0.25, 0.75])
        beyond = ((frame[name] < q1 - 1.5 * (q3 - q1)) | (frame[name] > q3 + 1.5 * (q3 - q1))).mean()
        assert beyond > 0.05, name

    result = profile(tmp_path / "codes.csv")

    assert [finding["feature"] for finding in of_code(result, "outliers")] == ["income"]


def test_findings_of_one_code_are_capped_with_the_count_of_the_rest(tmp_path):
    rng = np.random.default_rng(2)
    n = 100
    frame = pd.DataFrame(
        {f"sparse_{i:02d}": np.where(rng.random(n) < 0.8, np.nan, rng.normal(size=n)) for i in range(25)}
    )
    frame.to_csv(tmp_path / "sparse.csv", index=False)

    result = profile(tmp_path / "sparse.csv")

    assert len(of_code(result, "mostly_missing")) == FINDINGS_PER_CODE
    (omitted,) = of_code(result, "findings_omitted")
    assert "15 more 'mostly_missing' findings" in omitted["message"]
    assert "(25 in all)" in omitted["message"]


def test_it_names_the_right_file_in_label_conflict_examples(tmp_path):
    """Row ids number files by sorted name; parts merged in another order must not rename them
    (`val.csv:109` for a 60-row val.csv)."""
    rng = np.random.default_rng(6)

    def table(rows):
        return pd.DataFrame({"x": rng.normal(size=rows).round(6), "y": rng.normal(size=rows).round(6), "label": "a"})

    train, val = table(200), table(60)
    val.loc[49, ["x", "y"]] = val.loc[9, ["x", "y"]].to_numpy()
    val.loc[49, "label"] = "b"  # data rows 10 and 50 of val.csv conflict
    folder = tmp_path / "source"
    folder.mkdir()
    train.to_csv(folder / "train.csv", index=False)
    val.to_csv(folder / "val.csv", index=False)
    files = expand(folder)
    partitions, label, declared = engine.plan(files, "csv", "label")
    order = {name: index for index, name in enumerate(sorted(file.relative_path for file in files))}
    parts = [
        engine.profile_partition(
            partition,
            file_index=order[partition.relative_path],
            label_column=label,
            declared=declared,
            options=Options(),
        )
        for partition in partitions
    ]
    parts.sort(key=lambda part: part.files[0], reverse=True)  # val.csv merged first

    result = engine.merge_and_build(parts)

    assert result["quality"]["label_conflicts"]["examples"] == [["val.csv:10", "val.csv:50"]]
    message = of_code(result, "label_conflicts")[0]["message"]
    assert "val.csv:10 and val.csv:50" in message


def test_randhies_plan_code_and_fairs_rating_have_no_outlier_findings(fair_csv):
    randhie_path = Path(statsmodels_datasets.randhie.__file__).parent / "src" / "randhie.csv"
    path, fair = fair_csv
    randhie = pd.read_csv(randhie_path)
    for frame, name, values in ((randhie, "plan", 18), (fair, "rate_marriage", 5)):
        q1, q3 = frame[name].quantile([0.25, 0.75])
        beyond = ((frame[name] < q1 - 1.5 * (q3 - q1)) | (frame[name] > q3 + 1.5 * (q3 - q1))).mean()
        assert frame[name].nunique() == values
        assert beyond > 0.05  # what the IQR rule alone would have reported

    for result, name in (
        (profile(randhie_path, label="binexp"), "plan"),
        (profile(path, label="affairs"), "rate_marriage"),
    ):
        assert name not in [finding["feature"] for finding in of_code(result, "outliers")]
        assert feature(result, name)["statistics"]["outliers"]["count"] > 0
