"""Files of the real-data corpus registered over HTTP, profiled by a real worker, and the statistics the
version shows compared with pandas."""

import re
import shutil

import pandas as pd
import pytest

from tests.realdata import BY_NAME

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DATE_CRASH = "a date column crashes profiling (date32 cast to int64)"

CASES = [
    pytest.param(BY_NAME["penguins/penguins.csv"], id="penguins.csv"),
    pytest.param(BY_NAME["sklearn/iris.parquet"], id="iris.parquet"),
    pytest.param(BY_NAME["sklearn/digits.csv.gz"], id="digits.csv.gz"),
    pytest.param(BY_NAME["statsmodels/anes96.tsv"], id="anes96.tsv"),
    pytest.param(BY_NAME["statsmodels/randhie-duckdb.parquet"], id="randhie-duckdb.parquet"),
    pytest.param(
        BY_NAME["vega/seattle-weather.csv"],
        id="seattle-weather.csv",
        marks=pytest.mark.xfail(strict=True, reason=DATE_CRASH),
    ),
    pytest.param(BY_NAME["vega/cars.jsonl"], id="cars.jsonl", marks=pytest.mark.xfail(strict=True, reason=DATE_CRASH)),
]


@pytest.mark.parametrize("case", CASES)
def test_it_profiles_a_real_file_on_the_worker_as_pandas_counts_it(case, people, realdata_dir, e2e_storage_root):
    folder = e2e_storage_root / f"realdata-{people.owner.user.username}"
    folder.mkdir(exist_ok=True)
    path = folder / case.name.replace("/", "-")
    shutil.copyfile(case.path(realdata_dir), path)
    source = {"uri": f"{folder.name}/{path.name}"}
    if case.label:
        source["label_column"] = case.label
    created = people.owner.post(
        "/api/v1/datasets/",
        {"namespace": "realdata", "name": re.sub(r"[^a-z0-9]+", "-", path.name.lower()), "source": source},
    )
    assert created.status_code == 201, created.text

    version = people.owner.wait(created.json()["latest_version"]["id"])

    assert version["status"] == "ready", version.get("error")
    truth = case.read(path)
    assert version["row_count"] == len(truth)
    features = version["features"]
    assert [item["name"] for item in features] == [str(name) for name in truth.columns]
    for item, name in zip(features, truth.columns, strict=True):
        stats, column = item["statistics"], truth[name]
        assert stats["count"] == column.count(), name
        assert stats["null_count"] == column.isna().sum(), name
        if not stats["distinct_is_approximate"]:
            assert stats["distinct_count"] == column.nunique(), name
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column) and column.count():
            assert stats["min"] == pytest.approx(column.min(), rel=1e-12), name
            assert stats["max"] == pytest.approx(column.max(), rel=1e-12), name
            assert stats["mean"] == pytest.approx(column.mean(), rel=1e-9), name
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
