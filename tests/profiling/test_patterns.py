"""Regular expressions checked on every value while profiling: the counts of parts merged are the
counts of the whole, and they agree with pandas' `str.fullmatch` on real data."""

import itertools
import json
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiler import api, compute, patterns, report
from profiler.files import expand
from profiler.pii import masked_statistics
from profiler.state import PartialProfile
from tests.realdata_sources import penguins_file

SCHEMA = pa.schema([("code", pa.string()), ("n", pa.int64()), ("x", pa.float64())])
PATTERNS = {"code": r"[A-Z]{2}-\d{2}", "n": r"-?\d", "x": r"\d+\.5"}

codes = st.one_of(
    st.none(),
    st.sampled_from(["AB-12", "ZZ-99", "ab-12", "AB-1", "", "AB-123", "é", "AB-12\n"]),
    st.text(alphabet="AB-12x", max_size=6),
    # Longer than the values matched: counted unchecked.
    st.just("A" * (patterns.MAX_VALUE_LENGTH + 1)),
)
rows = st.lists(
    st.tuples(
        codes,
        st.one_of(st.none(), st.integers(-20, 20)),
        st.one_of(st.none(), st.sampled_from([0.5, 1.5, 2.0, 10.5, -1.5, float("nan")])),
    ),
    min_size=1,
    max_size=80,
)


def batch_of(part):
    columns = list(zip(*part, strict=True))
    return pa.RecordBatch.from_arrays(
        [pa.array(list(values), type=f.type) for values, f in zip(columns, SCHEMA, strict=True)], schema=SCHEMA
    )


def profile_of(parts):
    partials = []
    offset = 0
    for part in parts:
        partial = compute.profile_batches(
            [batch_of(part)],
            SCHEMA,
            label_column=None,
            declared=False,
            relative_path="data.csv",
            first_row=offset,
            threads=1,
            seed=offset,
            patterns=PATTERNS,
        )
        offset += len(part)
        partials.append(PartialProfile.from_bytes(partial.to_bytes()))
    merged = partials[0]
    for partial in partials[1:]:
        merged.merge(partial)
    return {feature["name"]: feature["statistics"]["pattern"] for feature in report.build(merged)["features"]}


def oracle(values, regex):
    """pandas' str.fullmatch over the values' text (as the row sample shows them), nulls and NaN left out."""
    series = pd.Series([v for v in values if v is not None and not (isinstance(v, float) and np.isnan(v))])
    texts = series.map(lambda v: v if isinstance(v, str) else str(v)).astype(object)
    long = texts.str.len() > patterns.MAX_VALUE_LENGTH
    checked = texts[~long]
    failing = checked[~checked.str.fullmatch(regex).astype(bool)]
    return {
        "regex": regex,
        "checked": len(checked),
        "mismatched": len(failing),
        "unchecked": int(long.sum()),
        "examples": sorted({text[: patterns.EXAMPLE_LENGTH] for text in failing})[: patterns.EXAMPLES_KEPT],
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=rows, cuts=st.lists(st.integers(0, 80), max_size=4))
def test_parts_merged_count_as_the_whole_does_and_as_pandas_does(data, cuts):
    bounds = sorted({0, len(data), *(cut for cut in cuts if cut < len(data))})
    parts = [data[a:b] for a, b in itertools.pairwise(bounds) if b > a]

    whole = profile_of([data])
    merged = profile_of(parts)

    assert merged == whole
    for index, name in enumerate(["code", "n", "x"]):
        assert whole[name] == oracle([row[index] for row in data], PATTERNS[name])


def test_it_checks_every_value_of_a_real_dataset_in_parts_as_pandas_does(tmp_path):
    frame = pd.read_csv(penguins_file("penguins.csv"))
    root = tmp_path / "penguins"
    root.mkdir()
    third = len(frame) // 3 + 1
    for index in range(3):
        frame.iloc[index * third : (index + 1) * third].to_csv(root / f"part-{index}.csv", index=False)
    wanted = {
        "island": r"[A-Z][a-z]{5}",  # Biscoe only: Dream and Torgersen do not match
        "species": r"[A-Z][a-z]+",  # every value
        "bill_length_mm": r"\d{2}\.[0-4]",  # a tenth of 0 to 4
        "sex": r"(fe)?male",
        "year": r"200[78]",  # 2009 does not match
    }
    options = api.Options(patterns=wanted)
    planned = api.Plan.from_data(json.loads(json.dumps(api.plan(expand(root), "csv", options).as_data())))
    assert len(planned.partitions) == 3
    parts = [api.profile_part(planned, index) for index in range(len(planned.partitions))]

    profile = api.finish(planned, parts)

    counted = {feature["name"]: feature["statistics"].get("pattern") for feature in profile["features"]}
    for name, regex in wanted.items():
        assert counted[name] == oracle(frame[name].tolist(), regex), name
    assert counted["species"]["mismatched"] == 0
    assert counted["island"]["mismatched"] == int((frame["island"] != "Biscoe").sum())
    assert counted["year"]["mismatched"] == int((frame["year"] == 2009).sum()) > 0
    assert counted["body_mass_g"] is None  # no pattern, no count
    # Profiled whole, in one process, the same.
    whole = api.profile(expand(root), "csv", options, workers=1)
    assert {f["name"]: f["statistics"].get("pattern") for f in whole["features"]} == counted


def test_it_refuses_a_pattern_that_could_take_exponential_time_and_counts_nothing():
    counted = profile_of([[("aaaa", 1, 0.5)]]) | {}
    assert counted["code"]["checked"] == 1

    partial = compute.profile_batches(
        [batch_of([("a" * 30 + "!", 1, 0.5)])],
        SCHEMA,
        label_column=None,
        declared=False,
        relative_path="data.csv",
        patterns={"code": "(a+)+$", "n": r"(\d)\1"},
    )
    built = {
        feature["name"]: feature["statistics"]["pattern"]
        for feature in report.build(partial)["features"]
        if "pattern" in feature["statistics"]
    }

    assert built["code"]["checked"] == 0
    assert "repeat inside a repeat" in built["code"]["error"]
    assert "Back-references" in built["n"]["error"]


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("(", "Not a regular expression"),
        ("(a|aa)*", "Alternatives inside a repeat"),
        ("a" * (patterns.MAX_PATTERN_LENGTH + 1), "At most"),
        ("a\x00", "NUL"),
        (r"[A-Z]{2}-\d{4}(-[a-z]+)?", None),
    ],
)
def test_it_says_why_a_pattern_cannot_be_checked(pattern, problem):
    found = patterns.pattern_problem(pattern)
    assert (found is None) if problem is None else (problem in found)


def test_a_personal_data_feature_shows_its_non_matching_values_masked():
    statistics = {
        "pii_kinds": ["email"],
        "top_values": [],
        "pattern": {
            "regex": ".+@example\\.org",
            "checked": 3,
            "mismatched": 1,
            "unchecked": 0,
            "examples": ["ann@mail.com"],
        },
    }

    masked = masked_statistics(statistics)

    assert masked["pattern"]["examples"] == ["a***@m***.com"]
    assert masked["pattern"]["mismatched"] == 1
    assert re.fullmatch(statistics["pattern"]["regex"], "ann@example.org")
