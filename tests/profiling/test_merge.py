"""Merging the partial profiles of any split of the data gives the profile of the whole."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiler import compute, languages, report
from profiler.sketches import KLL_K, ExactDistribution, QuantileSketch
from profiler.state import PartialProfile

SCHEMA = pa.schema(
    [
        ("x", pa.float64()),
        ("n", pa.int64()),
        ("s", pa.string()),
        ("flag", pa.bool_()),
        ("label", pa.string()),
        ("t", pa.string()),
    ]
)

# Article 1 of the Universal Declaration of Human Rights in three of its official translations, and
# values too short to tell a language from: the text column whose languages are identified.
SENTENCES = [
    "All human beings are born free and equal in dignity and rights.",
    "They are endowed with reason and conscience and should act towards one another in a spirit of brotherhood.",
    "Tous les êtres humains naissent libres et égaux en dignité et en droits.",
    "Ils sont doués de raison et de conscience et doivent agir les uns envers les autres dans un esprit de fraternité.",
    "Alle Menschen sind frei und gleich an Würde und Rechten geboren.",
    "Oui.",
    "",
]

rows = st.lists(
    st.tuples(
        st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=False, width=32), st.just(float("inf"))),
        st.one_of(st.none(), st.integers(-5, 5)),
        st.one_of(st.none(), st.sampled_from(["", "a", "b", "c", "é", "a b"])),
        st.one_of(st.none(), st.booleans()),
        st.sampled_from(["cat", "dog", "bird"]),
        st.one_of(st.none(), st.sampled_from(SENTENCES)),
    ),
    min_size=1,
    max_size=60,
)


def batch_of(part):
    columns = list(zip(*part, strict=True)) if part else [[] for _ in SCHEMA]
    return pa.RecordBatch.from_arrays(
        [pa.array(list(values), type=f.type) for values, f in zip(columns, SCHEMA, strict=True)], schema=SCHEMA
    )


def profile_of(parts, roundtrip):
    partials = []
    offset = 0
    for part in parts:
        partial = compute.profile_batches(
            [batch_of(part)],
            SCHEMA,
            label_column="label",
            declared=True,
            relative_path="data.csv",
            first_row=offset,
            threads=1,
            seed=offset,
        )
        offset += len(part)
        partials.append(PartialProfile.from_bytes(partial.to_bytes()) if roundtrip else partial)
    merged = partials[0]
    for partial in partials[1:]:
        merged.merge(partial)
    return report.build(merged)


EXACT = (
    "count",
    "null_count",
    "distinct_count",
    "min",
    "max",
    "top_values",
    "zeros",
    "negatives",
    "empty_strings",
    "true_count",
    "string_length",
    "quantiles",
    "histogram",
    "languages",
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=rows, cuts=st.lists(st.integers(0, 60), max_size=3), roundtrip=st.booleans())
def test_merged_parts_equal_the_whole(data, cuts, roundtrip):
    points = sorted({cut for cut in cuts if 0 < cut < len(data)})
    parts = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]

    whole = profile_of([data], roundtrip=False)
    merged = profile_of(parts, roundtrip=roundtrip)

    assert merged["row_count"] == whole["row_count"] == len(data)
    for mine, theirs in zip(merged["features"], whole["features"], strict=True):
        for key in EXACT:
            assert mine["statistics"].get(key) == theirs["statistics"].get(key), (mine["name"], key)
        for key in ("mean", "std"):
            a, b = mine["statistics"].get(key), theirs["statistics"].get(key)
            if not (isinstance(a, float) and isinstance(b, float)):
                assert a == b, (mine["name"], key)  # None, or "Infinity" from infinite values
            else:
                assert a == pytest.approx(b, rel=1e-9, abs=1e-9), (mine["name"], key)
    for key in ("duplicate_rows", "class_counts", "imbalance_ratio", "label_conflicts"):
        assert merged["quality"][key] == whole["quality"][key], key
    for a, b in zip(merged["correlations"]["pearson"], whole["correlations"]["pearson"], strict=True):
        assert a["n"] == b["n"]
        assert a["r"] == pytest.approx(b["r"], abs=1e-6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=rows, cuts=st.lists(st.integers(0, 60), max_size=3), roundtrip=st.booleans())
def test_the_languages_of_a_text_column_merge_to_the_whole_s_when_the_sample_is_bounded(data, cuts, roundtrip):
    points = sorted({cut for cut in cuts if 0 < cut < len(data)})
    parts = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]

    with pytest.MonkeyPatch.context() as patch:
        # So few values that most parts hold more than the sample keeps.
        patch.setattr(languages, "COLUMN_VALUES", 4)
        whole = profile_of([data], roundtrip=False)
        merged = profile_of(parts, roundtrip=roundtrip)

    mine, theirs = merged["features"][-1], whole["features"][-1]
    assert mine["statistics"].get("languages") == theirs["statistics"].get("languages")
    found = theirs["statistics"].get("languages")
    present = sum(row[-1] is not None for row in data)
    assert (found is not None) == (theirs["logical_type"] == "text")
    if found is not None:
        assert found["examined"] == min(4, present)
        assert sum(found["counts"].values()) + found["too_short"] + found["undetermined"] == found["examined"]
        assert set(found["counts"]) <= {"en", "fr", "de"}


def test_a_correlation_keeps_its_digits_when_an_outlier_sits_where_the_other_column_is_missing():
    # x's batch mean is about 46 million, set by a row where n is missing; the pair's two rows are 0 and 1.
    data = [(None, None, None, None, "cat", None)] * 7 + [
        (137685264.0, None, None, None, "cat", None),
        (0.0, 0, None, None, "cat", None),
        (1.0, 1, None, None, "cat", None),
    ]

    [pair] = profile_of([data], roundtrip=False)["correlations"]["pearson"]

    assert (pair["a"], pair["b"], pair["n"]) == ("x", "n", 2)
    assert pair["r"] == pytest.approx(1.0, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.one_of(st.integers(-20, 20), st.sampled_from([0.5, -1.25, 1e9, float("inf")])), min_size=1),
    ranks=st.lists(st.floats(0, 1), max_size=5),
    points=st.lists(st.floats(-30, 30), max_size=5),
)
def test_exact_counts_and_an_uncompacted_sketch_read_quantiles_as_numpy_and_pandas_do(values, ranks, points):
    sketch = QuantileSketch(KLL_K)  # exact while it holds fewer than k values
    sketch.update(np.array(values, dtype=np.float64))
    counts: dict = {}
    for value in values:
        key = "Infinity" if value == float("inf") else value
        counts[key] = counts.get(key, 0) + 1
    exact = ExactDistribution(counts)
    array = np.sort(np.array(values, dtype=np.float64))
    points = sorted(set(points))

    assert exact.n == sketch.n == len(values)
    assert not sketch.is_estimation_mode()
    assert (exact.get_min_value(), exact.get_max_value()) == (array[0], array[-1])
    assert (sketch.get_min_value(), sketch.get_max_value()) == (array[0], array[-1])
    for rank in [0.0, 0.25, 0.5, 1.0, *ranks]:
        with np.errstate(invalid="ignore"):
            expected = float(np.quantile(array, rank, method="linear"))
        if not np.isfinite(expected):
            continue  # numpy's arithmetic next to an infinity gives NaN where the readers give the infinity
        for reader in (exact, sketch):
            assert reader.get_quantile(rank) == pytest.approx(expected, rel=1e-12), (rank, reader)
    finite = array[np.isfinite(array)]
    if finite.size:
        assert ExactDistribution(dict(zip(*np.unique(finite, return_counts=True), strict=True))).get_quantile(
            0.5
        ) == pytest.approx(pd.Series(finite).median(), rel=1e-12)
    for inclusive in (False, True):
        expected = [float(np.mean(array <= p if inclusive else array < p)) for p in points] + [1.0]
        assert exact.get_cdf(points, inclusive) == pytest.approx(expected, abs=1e-12)
        assert sketch.get_cdf(points, inclusive) == pytest.approx(expected, abs=1e-12)


def _sketch_in_batches(batches: list[np.ndarray], *, presorted: bool) -> QuantileSketch:
    sketch = QuantileSketch(KLL_K)
    for batch in batches:
        sketch.update(np.sort(batch) if presorted else batch, is_sorted=presorted)
    return sketch


def test_a_compacted_sketch_is_the_same_whether_its_batches_came_sorted_and_keeps_its_levels_in_order():
    rng = np.random.default_rng(7)
    batches = [rng.normal(size=size) for size in (5_000, 1, 20_000, 333)]

    given = _sketch_in_batches(batches, presorted=False)
    sorted_first = _sketch_in_batches(batches, presorted=True)

    assert given.is_estimation_mode()
    assert all(np.array_equal(a, b) for a, b in zip(given.levels, sorted_first.levels, strict=True))
    assert all(np.all(level[:-1] <= level[1:]) for level in given.levels)
    everything = np.sort(np.concatenate(batches))
    for rank in (0.01, 0.25, 0.5, 0.75, 0.99):
        # KLL's rank error at k=KLL_K, with room: the estimate's rank among the values is close to `rank`.
        estimate = given.get_quantile(rank)
        assert abs(np.searchsorted(everything, estimate) / everything.size - rank) < 0.02


def test_a_sketch_whose_levels_were_written_out_of_order_reads_and_compacts_correctly():
    sketch = _sketch_in_batches([np.arange(10_000, dtype=np.float64)], presorted=True)
    shuffled = QuantileSketch.deserialize(sketch.serialize())
    rng = np.random.default_rng(3)
    for level in shuffled.levels:
        rng.shuffle(level)
    # As an older writer left them: each level in any order.
    reread = QuantileSketch.deserialize(shuffled.serialize())

    assert all(np.array_equal(a, b) for a, b in zip(reread.levels, sketch.levels, strict=True))
    reread.update(np.arange(10_000, 20_000, dtype=np.float64))
    assert reread.n == 20_000
    assert all(np.all(level[:-1] <= level[1:]) for level in reread.levels)
