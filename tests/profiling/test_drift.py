"""Drift between two profiles on constructed pairs where the answer is known."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from profiler import drift
from profiler.engine import Options, profile_files
from profiler.files import expand

ROWS = 20_000


def table(seed, *, shift=0.0, drop_class=None, rename=None, rows=ROWS):
    rng = np.random.default_rng(seed)
    label = rng.choice(["ok", "review", "fraud"], size=rows, p=[0.8, 0.15, 0.05])
    if drop_class:
        label[label == drop_class] = "ok"
    columns = {
        "amount": rng.lognormal(3.0, 1.0, rows) + shift,
        "age": rng.integers(18, 90, rows),
        "score": rng.normal(0.0, 1.0, rows),
        "region": rng.choice(["north", "south", "east", "west"], size=rows, p=[0.4, 0.3, 0.2, 0.1]),
        "customer_id": np.array([f"c{seed}-{index}" for index in range(rows)]),
        "label": label,
    }
    if rename:
        columns = {rename.get(name, name): values for name, values in columns.items()}
    return pa.table(columns)


def view(tmp_path, name, data):
    path = tmp_path / f"{name}.parquet"
    pq.write_table(data, path)
    result = profile_files(expand(path), "parquet", options=Options(label_column="label"), workers=1)
    return drift.profile_view(
        row_count=result["row_count"],
        features=result["features"],
        distributions=result["distributions"],
        quality=result["quality"],
    )


def by_name(result):
    return {entry["name"]: entry for entry in result["features"]}


def test_an_independent_sample_of_the_same_data_does_not_drift(tmp_path):
    result = drift.compare(view(tmp_path, "b", table(2)), view(tmp_path, "a", table(1)))
    assert result["drifted_features"] == []
    assert result["schema"] == {"added": [], "removed": [], "changed": [], "renamed": []}
    assert not result["label"]["drifted"]
    for entry in result["features"]:
        for name, metric in entry["metrics"].items():
            # Well below the thresholds: the thresholds sit above the noise floor.
            assert metric["value"] < metric["threshold"] / 2, (entry["name"], name, metric)


def test_a_shifted_column_a_dropped_class_and_a_renamed_column_are_what_is_flagged(tmp_path):
    before = view(tmp_path, "v1", table(1))
    after = view(tmp_path, "v2", table(2, shift=15.0, drop_class="fraud", rename={"region": "area"}))
    result = drift.compare(after, before)

    # The label is a feature too: losing a class moves its distribution.
    assert result["drifted_features"] == ["amount", "label"]
    amount = by_name(result)["amount"]["metrics"]
    assert amount["psi"]["drifted"]
    assert amount["psi"]["value"] > 0.5
    assert amount["ks"]["value"] > 0.2
    assert not any(metric["drifted"] for metric in by_name(result)["score"]["metrics"].values())

    assert result["schema"]["renamed"] == [{"from": "region", "to": "area", "distance": pytest.approx(0.0, abs=0.05)}]
    assert result["schema"]["added"] == []
    assert result["schema"]["removed"] == []
    assert by_name(result)["area"]["previous_name"] == "region"
    assert not by_name(result)["area"]["drifted"]

    label = result["label"]
    assert label["drifted"]
    assert label["removed_classes"] == ["fraud"]
    assert label["added_classes"] == []
    assert label["against_shares"]["fraud"] == pytest.approx(0.05, abs=0.01)

    assert result["row_count_change"] == {"before": ROWS, "after": ROWS, "change": 0, "relative": 0.0}

    codes = {(finding["code"], finding["feature"]) for finding in drift.findings(result, "version 1")}
    assert codes == {("feature_drift", "amount"), ("label_drift", "label"), ("schema_change", None)}


def test_added_removed_and_type_changed_features(tmp_path):
    before = table(1)
    after = before.drop(["score"]).append_column("weight", pa.array(np.ones(ROWS) * 2.5))
    after = after.set_column(after.schema.get_field_index("age"), "age", pa.array(before["age"].to_numpy() + 0.5))
    result = drift.compare(view(tmp_path, "v2", after), view(tmp_path, "v1", before))
    schema = result["schema"]
    assert [item["name"] for item in schema["added"]] == ["weight"]
    assert [item["name"] for item in schema["removed"]] == ["score"]
    assert schema["renamed"] == []
    [changed] = schema["changed"]
    assert changed["name"] == "age"
    assert changed["before"]["dtype"] == "int64"
    assert changed["after"]["dtype"] == "double"


def test_row_count_change_and_small_samples_are_not_judged(tmp_path):
    result = drift.compare(view(tmp_path, "small", table(2, rows=20, shift=100.0)), view(tmp_path, "big", table(1)))
    assert result["row_count_change"]["change"] == 20 - ROWS
    amount = by_name(result)["amount"]
    assert amount["judged"] is False
    assert amount["drifted"] is False
    assert amount["metrics"]["psi"]["value"] > 1  # measured, not flagged


def test_categorical_shift_is_flagged_by_linf(tmp_path):
    before = table(1)
    regions = before["region"].to_numpy(zero_copy_only=False)
    moved = np.where(np.isin(regions, ["east", "west"]), "north", regions)  # 30% of rows change value
    after = before.set_column(before.schema.get_field_index("region"), "region", pa.array(moved))
    result = drift.compare(view(tmp_path, "v2", after), view(tmp_path, "v1", before))
    metrics = by_name(result)["region"]["metrics"]
    assert metrics["linf"]["value"] == pytest.approx(0.3, abs=0.02)
    assert metrics["linf"]["drifted"]
    assert metrics["js"]["drifted"]
    assert result["drifted_features"] == ["region"]


def test_profiles_without_stored_grids_fall_back_to_their_quantiles(tmp_path):
    before, after = view(tmp_path, "v1", table(1)), view(tmp_path, "v2", table(2, shift=15.0))

    def bare(profile):
        return drift.ProfileView(
            row_count=profile.row_count,
            features=[drift.FeatureView(f.name, f.dtype, f.logical_type, f.statistics, {}) for f in profile.features],
            label_column=profile.label_column,
            class_counts=profile.class_counts,
        )

    result = drift.compare(bare(after), bare(before))
    assert result["drifted_features"] == ["amount"]


def test_grid_cdf_is_exact_at_atoms_and_linear_between():
    grid = drift.Grid(np.array([0.0, 1.0, 1.0, 1.0, 3.0]), np.array([0.0, 0.25, 0.5, 0.75, 1.0]))
    cdf = grid.cdf(np.array([-1.0, 0.5, 1.0, 2.0, 3.0, 9.0]))
    assert cdf.tolist() == pytest.approx([0.0, 0.125, 0.75, 0.875, 1.0, 1.0])
