"""Every file of the real-data corpus (tests/realdata.py) profiled by the engine, each exact statistic
checked against pandas/numpy computed independently, and the same data in CSV, Parquet and JSON Lines
profiled alike.

Checks are parametrised per file, so one known bug marks only the cases it breaks (`KNOWN` in
tests/realdata.py), and a case fixed later shows up as XPASS.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from profiler.engine import Options, profile_files
from profiler.files import expand
from tests.realdata import CASES, Case, hashable, known_reason, plain

QUANTILE_KEYS = {"p1": 0.01, "p5": 0.05, "p25": 0.25, "p50": 0.5, "p75": 0.75, "p95": 0.95, "p99": 0.99}
DATE_PATTERN = re.compile(
    r"^(\d{4}[-/]\d{1,2}[-/]\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{1,2}/\d{1,2}/\d{4}|[A-Z][a-z]{2}[- ]\d{1,2}[- ]\d{4})$"
)

_profiles: dict[str, dict | BaseException] = {}


@pytest.fixture(scope="session")
def profiled(realdata_dir):
    """The engine's profile of a corpus file, made once per run."""

    def get(case: Case) -> dict:
        if case.name not in _profiles:
            try:
                files = expand(case.path(realdata_dir))
                _profiles[case.name] = profile_files(
                    files, case.format, options=Options(label_column=case.label), workers=1
                )
            except Exception as error:  # kept, so every check of a file that fails says why
                _profiles[case.name] = error
        found = _profiles[case.name]
        if isinstance(found, BaseException):
            # Said in a line: the engine's traceback, formatted for each of a file's checks, would
            # cost more than the checks.
            pytest.fail(f"{case.name} did not profile: {type(found).__name__}: {found}", pytrace=False)
        return found

    return get


def params(check: str, cases: list[Case] | None = None) -> list:
    chosen = CASES if cases is None else cases
    out = []
    for case in chosen:
        reason = known_reason(case.name, check)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(case, id=case.name, marks=marks))
    return out


_frames: dict[str, pd.DataFrame] = {}


def oracle(case: Case, root) -> pd.DataFrame:
    """The file as pandas reads it, with values pandas cannot hash or average made plain (read once;
    no check changes it)."""
    if case.name not in _frames:
        _frames[case.name] = plain(case.frame(root))
    return _frames[case.name]


def pairs(result: dict, frame: pd.DataFrame) -> Iterator[tuple[str, dict, pd.Series]]:
    """Each column of the file with the engine's feature for it, matched by position."""
    features = result["features"]
    assert len(features) == len(frame.columns), [item["name"] for item in features]
    for item, name in zip(features, frame.columns, strict=True):
        yield str(name), item, frame[name]


def is_number_column(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def finite(column: pd.Series) -> np.ndarray:
    values = column.dropna().to_numpy(dtype=float)
    return values[np.isfinite(values)]


def first_value(column: pd.Series):
    sample = column.dropna()
    return sample.iloc[0] if len(sample) else None


def date_like(column: pd.Series) -> bool:
    """Text that is a date or a timestamp as people write them (ISO, 2012/01/31, 01/31/2012, Jan 1 2000)."""
    if not isinstance(first_value(column), str):
        return False
    return bool(column.dropna().map(lambda value: bool(DATE_PATTERN.match(value))).all())


def temporal(column: pd.Series) -> bool:
    return (
        pd.api.types.is_datetime64_any_dtype(column)
        or isinstance(first_value(column), dt.date | dt.time)
        or date_like(column)
    )


def as_timestamps(column: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column):
        return column
    if isinstance(first_value(column), dt.date):
        return pd.to_datetime(column)
    return pd.to_datetime(column, format="mixed")


def same_time(found, expected) -> bool:
    if isinstance(expected, dt.time):
        return dt.time.fromisoformat(found) == expected
    found = pd.Timestamp(found)
    expected = pd.Timestamp(expected)
    if found.tzinfo is not None or expected.tzinfo is not None:
        found = found.tz_localize("UTC") if found.tzinfo is None else found.tz_convert("UTC")
        expected = expected.tz_localize("UTC") if expected.tzinfo is None else expected.tz_convert("UTC")
    return found == expected


def test_the_corpus_has_at_least_forty_files_of_every_shape(realdata_dir):
    assert len(CASES) >= 40
    formats = {case.format for case in CASES}
    assert formats == {"csv", "tsv", "parquet", "jsonl"}
    for case in CASES:
        assert case.path(realdata_dir).stat().st_size > 0, case.name


@pytest.mark.parametrize("case", params("profiles"))
def test_it_profiles_every_file(case, profiled):
    result = profiled(case)
    for item in result["features"]:
        assert item["statistics"]["count"] + item["statistics"]["null_count"] == result["row_count"], item["name"]


@pytest.mark.parametrize("case", params("shape"))
def test_rows_and_columns_are_the_files(case, profiled, realdata_dir):
    result = profiled(case)
    frame = oracle(case, realdata_dir)
    assert result["row_count"] == len(frame)
    assert result["column_count"] == len(frame.columns)
    if case.header:
        for item, name in zip(result["features"], frame.columns, strict=True):
            if not str(name).startswith("Unnamed: "):  # a column the header leaves nameless: any name does
                assert item["name"] == str(name)


@pytest.mark.parametrize("case", params("counts"))
def test_counts_nulls_and_distinct_values_equal_pandas(case, profiled, realdata_dir):
    result = profiled(case)
    frame = oracle(case, realdata_dir)
    for name, item, column in pairs(result, frame):
        stats = item["statistics"]
        assert stats["count"] == column.count(), name
        assert stats["null_count"] == column.isna().sum(), name
        if not stats["distinct_is_approximate"]:
            assert stats["distinct_count"] == column.nunique(), name
        elif is_number_column(column) or pd.api.types.is_string_dtype(column):
            assert stats["distinct_count"] == pytest.approx(column.nunique(), rel=0.02), name


@pytest.mark.parametrize("case", params("numeric"))
def test_min_max_mean_std_zeros_negatives_equal_pandas(case, profiled, realdata_dir):
    result = profiled(case)
    frame = oracle(case, realdata_dir)
    checked = 0
    for name, item, column in pairs(result, frame):
        if not is_number_column(column) or not column.count():
            continue
        stats = item["statistics"]
        assert stats["mean"] is not None, (name, item["dtype"], item["logical_type"])
        assert stats["min"] == pytest.approx(column.min(), rel=1e-12), name
        assert stats["max"] == pytest.approx(column.max(), rel=1e-12), name
        assert stats["mean"] == pytest.approx(column.mean(), rel=1e-9, abs=1e-12), name
        if column.count() > 1:
            assert stats["std"] == pytest.approx(column.std(), rel=1e-9, abs=1e-12), name
        assert stats["zeros"] == (column == 0).sum(), name
        assert stats["negatives"] == (column < 0).sum(), name
        checked += 1
    if not checked:
        pytest.skip("no numeric column")


def numeric_histograms(result: dict, frame: pd.DataFrame) -> Iterator[tuple[str, dict, pd.Series]]:
    for name, item, column in pairs(result, frame):
        histogram = item["statistics"].get("histogram") or {}
        if histogram.get("kind") == "equal_width" and is_number_column(column):
            yield name, histogram, column


@pytest.mark.parametrize("case", params("histogram_total"))
def test_histogram_counts_sum_to_the_count(case, profiled, realdata_dir):
    result = profiled(case)
    frame = oracle(case, realdata_dir)
    found = list(numeric_histograms(result, frame))
    if not found:
        pytest.skip("no numeric histogram")
    for name, histogram, column in found:
        assert sum(histogram["counts"]) == len(finite(column)), name


@pytest.mark.parametrize("case", params("histogram_bins"))
def test_histogram_bins_hold_what_numpy_counts(case, profiled, realdata_dir):
    result = profiled(case)
    frame = oracle(case, realdata_dir)
    found = list(numeric_histograms(result, frame))
    if not found:
        pytest.skip("no numeric histogram")
    for name, histogram, column in found:
        edges, counts = histogram["edges"], histogram["counts"]
        assert len(counts) == len(edges) - 1, (name, len(edges), len(counts))
        if histogram.get("approximate"):
            continue
        values = finite(column)
        inside = np.histogram(values, bins=np.asarray(edges, dtype=float))[0]
        # A value within rounding of an inner edge may fall on either side of it.
        assert (
            np.abs(np.cumsum(counts) - np.cumsum(inside)).max()
            <= np.isclose(values[:, None], np.asarray(edges[1:-1])[None, :], rtol=1e-12).sum()
        ), name


@pytest.mark.parametrize("case", params("quantiles"))
def test_exact_quantiles_are_pandas_linear_interpolation(case, profiled, realdata_dir):
    result = profiled(case)
    frame = oracle(case, realdata_dir)
    checked = 0
    for name, item, column in pairs(result, frame):
        stats = item["statistics"]
        if not is_number_column(column) or not stats.get("quantiles") or stats.get("quantiles_are_approximate"):
            continue
        for key, q in QUANTILE_KEYS.items():
            assert stats["quantiles"][key] == pytest.approx(column.quantile(q), rel=1e-9, abs=1e-12), (name, key)
        checked += 1
    if not checked:
        pytest.skip("no exact numeric quantiles")


@pytest.mark.parametrize("case", params("approximate_quantiles"))
def test_approximate_quantiles_are_within_their_rank_error(case, profiled, realdata_dir):
    result = profiled(case)
    frame = oracle(case, realdata_dir)
    checked = 0
    for name, item, column in pairs(result, frame):
        stats = item["statistics"]
        if not is_number_column(column) or not stats.get("quantiles") or not stats.get("quantiles_are_approximate"):
            continue
        ordered = np.sort(finite(column))
        for key, q in QUANTILE_KEYS.items():
            below = np.searchsorted(ordered, stats["quantiles"][key], side="left") / len(ordered)
            at_or_below = np.searchsorted(ordered, stats["quantiles"][key], side="right") / len(ordered)
            slack = stats["quantile_rank_error"] + 0.001
            assert below - slack <= q <= at_or_below + slack, (name, key, below, at_or_below)
        checked += 1
    if not checked:
        pytest.skip("no approximate quantiles")


def plain_value(value):
    return value.item() if isinstance(value, np.generic) else value


@pytest.mark.parametrize("case", params("top_values"))
def test_top_values_equal_pandas_value_counts(case, profiled, realdata_dir):
    result = profiled(case)
    frame = oracle(case, realdata_dir)
    for name, item, column in pairs(result, frame):
        stats = item["statistics"]
        if not (is_number_column(column) or pd.api.types.is_string_dtype(column)) or not column.count():
            continue
        found = {}
        for entry in stats.get("top_values") or []:
            value = hashable(entry["value"])
            found[float(value) if isinstance(value, int | float) else value] = entry["count"]
        counts = column.value_counts()
        for value, count in counts.head(3).items():
            if (counts == count).sum() > 1:  # ties may be ordered differently
                continue
            value = plain_value(value)
            key = float(value) if isinstance(value, int | float) else value
            if stats.get("top_values_are_approximate"):
                # A frequent-items sketch: the values above its error threshold, counts within it.
                if count > 0.001 * len(column):
                    assert key in found, (name, value, count)
                    assert found[key] == pytest.approx(count, abs=0.001 * len(column)), (name, value)
            else:
                assert found.get(key) == count, (name, value, count)


@pytest.mark.parametrize("case", params("deterministic"))
def test_the_same_bytes_give_the_same_profile(case, profiled, realdata_dir):
    first = profiled(case)
    if not any(
        item["statistics"]["distinct_is_approximate"] or item["statistics"].get("quantiles_are_approximate")
        for item in first["features"]
    ):
        pytest.skip("nothing approximate: exact statistics are the same by construction")
    for _ in range(2):
        again = profile_files(
            expand(case.path(realdata_dir)), case.format, options=Options(label_column=case.label), workers=1
        )
        assert again["features"] == first["features"]
        assert again["quality"] == first["quality"]


@pytest.mark.parametrize("case", params("datetimes"))
def test_dates_and_times_are_datetimes_with_pandas_min_and_max(case, profiled, realdata_dir):
    result = profiled(case)
    frame = oracle(case, realdata_dir)
    checked = 0
    for name, item, column in pairs(result, frame):
        if not temporal(column):
            continue
        stats = item["statistics"]
        assert item["logical_type"] == "datetime", (name, item["dtype"], item["logical_type"])
        values = column.dropna() if isinstance(first_value(column), dt.time) else as_timestamps(column)
        assert same_time(stats["min"], values.min()), (name, stats["min"], values.min())
        assert same_time(stats["max"], values.max()), (name, stats["max"], values.max())
        checked += 1
    if not checked:
        pytest.skip("no date or time column")


@pytest.mark.parametrize("case", params("summarised"))
def test_a_column_is_summarised_or_a_finding_says_why_not(case, profiled):
    result = profiled(case)
    said = {item.get("feature") for item in result["quality"]["findings"] if item["severity"] == "info"}
    for item in result["features"]:
        stats = item["statistics"]
        if stats["count"] and stats["min"] is None:
            assert item["name"] in said, (item["name"], item["dtype"], item["logical_type"])


@pytest.mark.parametrize("case", params("booleans"))
def test_booleans_count_their_trues_and_order_false_before_true(case, profiled, realdata_dir):
    result = profiled(case)
    frame = oracle(case, realdata_dir)
    checked = 0
    for name, item, column in pairs(result, frame):
        if not pd.api.types.is_bool_dtype(column) and not isinstance(first_value(column), bool | np.bool_):
            continue
        values = column.dropna().astype(bool)
        if not len(values):
            continue
        stats = item["statistics"]
        assert item["logical_type"] == "boolean", name
        assert stats["true_count"] == int(values.sum()), name
        assert stats["min"] is bool(values.min()), name
        assert stats["max"] is bool(values.max()), name
        checked += 1
    if not checked:
        pytest.skip("no boolean column")


@pytest.mark.parametrize("case", params("duplicates"))
def test_duplicate_rows_equal_pandas(case, profiled, realdata_dir):
    result = profiled(case)
    frame = oracle(case, realdata_dir)
    assert result["quality"]["duplicate_rows"] == int(frame.duplicated().sum())


LABELLED = [case for case in CASES if case.label]


def label_key(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value.item() if isinstance(value, np.generic) else value)


@pytest.mark.parametrize("case", params("classes", LABELLED))
def test_class_counts_equal_pandas(case, profiled, realdata_dir):
    result = profiled(case)
    frame = oracle(case, realdata_dir)
    expected = {label_key(value): count for value, count in frame[case.label].value_counts().items()}
    assert {str(key): value for key, value in result["quality"]["class_counts"].items()} == expected
    assert result["quality"]["label_column"] == case.label


@pytest.mark.parametrize("case", params("conflicts", LABELLED))
def test_label_conflicts_equal_pandas(case, profiled, realdata_dir):
    result = profiled(case)
    frame = oracle(case, realdata_dir)
    features = [name for name in frame.columns if name != case.label]
    labelled = frame[frame[case.label].notna()]
    per_group = labelled.groupby(features, dropna=False)[case.label].nunique()
    conflicting = per_group[per_group > 1]
    rows = labelled.merge(conflicting.reset_index()[features], on=features).shape[0] if len(conflicting) else 0
    assert result["quality"]["label_conflicts"]["groups"] == len(conflicting)
    assert result["quality"]["label_conflicts"]["rows"] == rows


@pytest.mark.parametrize("case", params("conflict_examples", LABELLED))
def test_label_conflict_examples_name_rows_of_one_conflicting_group(case, profiled, realdata_dir):
    result = profiled(case)
    examples = result["quality"]["label_conflicts"]["examples"]
    if not examples:
        pytest.skip("no label conflicts")
    path = case.path(realdata_dir)
    for example in examples:
        rows = []
        for place in example:
            filename, number = place.rsplit(":", 1)
            member = path / filename if path.is_dir() else path
            assert member.name == filename.rsplit("/", 1)[-1], place
            rows.append(oracle_member(case, member).iloc[int(number) - 1])
        features = [row.drop(case.label) for row in rows]
        assert all(row.equals(features[0]) for row in features), example
        # The rows shown are a few of the group's; the group as a whole holds more than one label.
        frame = oracle(case, realdata_dir)
        same = (frame.drop(columns=case.label) == features[0]).all(axis=1)
        assert frame.loc[same, case.label].nunique() > 1, example


_members: dict[str, pd.DataFrame] = {}


def oracle_member(case: Case, member) -> pd.DataFrame:
    key = str(member)
    if key not in _members:
        _members[key] = plain(case.read(member))
    return _members[key]


FAMILIES = sorted({case.family for case in CASES if case.family})
COMPARED = ("count", "null_count", "distinct_count", "min", "max", "quantiles", "top_values")


def comparable(value):
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {key: comparable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [comparable(item) for item in value]
    return value


@pytest.mark.parametrize(
    "family",
    [
        pytest.param(
            family,
            id=family,
            marks=[pytest.mark.xfail(strict=True, reason=known_reason(family, "formats"))]
            if known_reason(family, "formats")
            else [],
        )
        for family in FAMILIES
    ],
)
def test_csv_parquet_and_json_lines_of_the_same_data_profile_alike(family, profiled):
    members = [case for case in CASES if case.family == family]
    assert {case.format for case in members} == {"csv", "parquet", "jsonl"}
    results = {case.format: profiled(case) for case in members}
    reference = results["csv"]
    for format, result in results.items():
        assert result["row_count"] == reference["row_count"], format
        assert [item["name"] for item in result["features"]] == [item["name"] for item in reference["features"]]
        for item, expected in zip(result["features"], reference["features"], strict=True):
            assert item["logical_type"] == expected["logical_type"], (format, item["name"])
            for key in COMPARED:
                assert comparable(item["statistics"][key]) == comparable(expected["statistics"][key]), (
                    format,
                    item["name"],
                    key,
                )
            for key in ("mean", "std"):
                found, wanted = item["statistics"][key], expected["statistics"][key]
                assert (found is None) == (wanted is None), (format, item["name"], key)
                if found is not None:
                    assert math.isclose(found, wanted, rel_tol=1e-9, abs_tol=1e-12), (format, item["name"], key)
            assert comparable(item["statistics"]["histogram"]) == comparable(expected["statistics"]["histogram"])
        for key in ("duplicate_rows", "class_counts", "label_conflicts"):
            assert result["quality"][key] == reference["quality"][key], (format, key)
