"""Files of the real-data corpus registered over HTTP, profiled by a real worker, and the statistics the
version shows compared with pandas.

A handful of files by default; `REALDATA_E2E=all` registers every file of the corpus (a few minutes).
"""

import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.realdata import BY_NAME, CASES, known_reason, plain

statsmodels_datasets = pytest.importorskip("statsmodels.datasets")

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# What this test checks, under the names the corpus' table of known bugs uses.
CHECKS = ("profiles", "shape", "counts", "numeric", "duplicates", "classes")
HANDFUL = (
    "penguins/penguins.csv",
    "sklearn/iris.parquet",
    "sklearn/digits.csv.gz",
    "statsmodels/anes96.tsv",
    "statsmodels/randhie-duckdb.parquet",
    "vega/seattle-weather.csv",
    "vega/cars.jsonl",
)


def chosen():
    names = [case.name for case in CASES] if os.environ.get("REALDATA_E2E") == "all" else HANDFUL
    params = []
    for name in names:
        reason = known_reason(name, *CHECKS)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(BY_NAME[name], id=name, marks=marks))
    return params


@pytest.mark.parametrize("case", chosen())
def test_it_profiles_a_real_file_on_the_worker_as_pandas_counts_it(case, people, realdata_dir, e2e_storage_root):
    folder = e2e_storage_root / f"realdata-{people.owner.user.username}"
    folder.mkdir(exist_ok=True)
    path = folder / case.name.replace("/", "-")
    if case.path(realdata_dir).is_dir():
        shutil.copytree(case.path(realdata_dir), path)
    else:
        shutil.copyfile(case.path(realdata_dir), path)
    source = {"uri": f"{folder.name}/{path.name}", "format": case.format}
    if case.label:
        source["label_column"] = case.label
    created = people.owner.post(
        "/api/v1/datasets/",
        {"namespace": "realdata", "name": re.sub(r"[^a-z0-9]+", "-", path.name.lower()), "source": source},
    )
    assert created.status_code == 201, created.text

    version = people.owner.wait(created.json()["latest_version"]["id"])

    assert version["status"] == "ready", version.get("error")
    truth = plain(case.read(path))
    assert version["row_count"] == len(truth)
    features = version["features"]
    assert len(features) == len(truth.columns), [item["name"] for item in features]
    for item, name in zip(features, truth.columns, strict=True):
        if case.header and not str(name).startswith("Unnamed: "):
            assert item["name"] == str(name)
        stats, column = item["statistics"], truth[name]
        assert stats["count"] == column.count(), name
        assert stats["null_count"] == column.isna().sum(), name
        if not stats["distinct_is_approximate"]:
            assert stats["distinct_count"] == column.nunique(), name
        elif pd.api.types.is_numeric_dtype(column) or pd.api.types.is_string_dtype(column):
            assert stats["distinct_count"] == pytest.approx(column.nunique(), rel=0.02), name
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column) and column.count():
            assert stats["min"] == pytest.approx(column.min(), rel=1e-12), name
            assert stats["max"] == pytest.approx(column.max(), rel=1e-12), name
            assert stats["mean"] == pytest.approx(column.mean(), rel=1e-9), name
            if column.count() > 1:
                assert stats["std"] == pytest.approx(column.std(), rel=1e-9), name
            assert stats["zeros"] == (column == 0).sum(), name
            assert stats["negatives"] == (column < 0).sum(), name
    quality = version["quality"]
    assert quality["duplicate_rows"] == int(truth.duplicated().sum())
    if case.label:
        expected = {str(value): count for value, count in truth[case.label].value_counts().items()}
        assert {str(key): count for key, count in quality["class_counts"].items()} == expected


def test_it_names_label_conflict_rows_of_a_folder_in_the_files_they_are_in(people, realdata_dir, e2e_storage_root):
    case = BY_NAME["statsmodels/randhie-parts"]
    folder = e2e_storage_root / f"realdata-parts-{people.owner.user.username}"
    shutil.copytree(case.path(realdata_dir), folder)
    created = people.owner.post(
        "/api/v1/datasets/",
        {
            "namespace": "realdata",
            "name": f"randhie-parts-{people.owner.user.username}",
            "source": {"uri": folder.name, "label_column": case.label},
        },
    )
    assert created.status_code == 201, created.text

    version = people.owner.wait(created.json()["latest_version"]["id"])

    assert version["status"] == "ready", version.get("error")
    truth = case.read(folder)
    assert version["row_count"] == len(truth)
    features = [name for name in truth.columns if name != case.label]
    per_group = truth.groupby(features, dropna=False)[case.label].nunique()
    conflicts = version["quality"]["label_conflicts"]
    assert conflicts["groups"] == int((per_group > 1).sum())
    assert conflicts["examples"]
    for example in conflicts["examples"]:
        rows = []
        for place in example:
            filename, number = place.rsplit(":", 1)
            rows.append(case.read(folder / filename).iloc[int(number) - 1])
        first = rows[0].drop(case.label)
        assert all(row.drop(case.label).equals(first) for row in rows), example


def _registered(people, original, e2e_storage_root, name, format, **source):
    folder = e2e_storage_root / f"realdata-findings-{people.owner.user.username}"
    folder.mkdir(exist_ok=True)
    path = folder / name.replace("/", "-")
    shutil.copyfile(original, path)
    created = people.owner.post(
        "/api/v1/datasets/",
        {
            "namespace": "realdata-findings",
            "name": re.sub(r"[^a-z0-9]+", "-", path.name.lower()),
            "source": {"uri": f"{folder.name}/{path.name}", "format": format, **source},
        },
    )
    assert created.status_code == 201, created.text
    version = people.owner.wait(created.json()["latest_version"]["id"])
    assert version["status"] == "ready", version.get("error")
    return version, pd.read_csv(path)


def _leaks(version, severity):
    return sorted(
        finding["feature"]
        for finding in version["quality"]["findings"]
        if finding["code"] == "label_leakage" and finding["severity"] == severity
    )


def test_the_worker_tells_a_real_leak_from_a_good_feature(people, realdata_dir, e2e_storage_root):
    # iris: petal measurements predict the species well, as good features do; not a leak.
    corpus = BY_NAME["sklearn/iris.csv"].path(realdata_dir)
    iris, _ = _registered(people, corpus, e2e_storage_root, "iris.csv", "csv", label_column="species")
    assert _leaks(iris, "error") == []
    assert "petal length (cm)" in _leaks(iris, "warning")
    assert iris["quality"]["task_type"] == "classification"

    # randhie: binexp is meddol > 0 in every row, and lnmeddol is missing exactly when binexp is 0.
    # (the source file: the randhie.csv statsmodels loads keeps only the model's columns)
    original = Path(statsmodels_datasets.randhie.__file__).parent / "src" / "randhie.csv"
    randhie, truth = _registered(people, original, e2e_storage_root, "randhie-src.csv", "csv", label_column="binexp")
    assert ((truth["meddol"] > 0) == (truth["binexp"] == 1)).all()
    assert {"meddol", "lnmeddol"} <= set(_leaks(randhie, "error"))

    # fair: a continuous target, so a regression with no class findings.
    corpus = BY_NAME["statsmodels/fair.csv"].path(realdata_dir)
    fair, truth = _registered(people, corpus, e2e_storage_root, "fair.csv", "csv", label_column="affairs")
    quality = fair["quality"]
    assert quality["task_type"] == "regression"
    assert not quality.get("class_counts")
    assert not [f for f in quality["findings"] if f["code"] in {"class_imbalance", "label_conflicts"}]
    (target,) = [item for item in fair["features"] if item["name"] == "affairs"]
    assert target["statistics"]["mean"] == pytest.approx(truth["affairs"].mean(), rel=1e-9)
