"""Splits: statistics per split, and rows whose features appear in more than one split."""

import numpy as np
import pandas as pd
import pytest

from profiler.engine import Options, profile_files, split_of
from profiler.files import SourceError, expand


@pytest.fixture
def split_source(tmp_path):
    """train/ (two files), validation.csv and test.csv; 3 train rows and 2 validation rows reappear in test."""
    rng = np.random.default_rng(3)
    root = tmp_path / "source"
    (root / "train").mkdir(parents=True)

    def frame(rows, start):
        return pd.DataFrame(
            {
                "x": np.round(rng.normal(size=rows), 6) + np.arange(start, start + rows),
                "colour": rng.choice(["red", "green", "blue"], size=rows),
                "label": rng.choice(["a", "b"], size=rows, p=[0.7, 0.3]),
            }
        )

    train_a, train_b = frame(400, 0), frame(300, 1000)
    validation, test = frame(200, 2000), frame(100, 3000)
    # Leaked: the same features (labels may differ) in test as in train and validation.
    leaked = pd.concat([train_a.iloc[[5, 6]], train_b.iloc[[7]], validation.iloc[[8, 9]]])
    test = pd.concat([test, leaked.assign(label="b")], ignore_index=True)
    train_a.to_csv(root / "train" / "part-1.csv", index=False)
    train_b.to_csv(root / "train" / "part-2.csv", index=False)
    validation.to_csv(root / "validation.csv", index=False)
    test.to_csv(root / "test.csv", index=False)
    return root, {"train": train_a.shape[0] + train_b.shape[0], "validation": 200, "test": len(test)}, test


SPLITS = {"train": "train/", "validation": "validation.csv", "test": "test*.csv"}


@pytest.mark.parametrize("workers", [1, 2])
def test_each_split_has_its_own_statistics_and_leaked_rows_are_found(split_source, workers):
    root, sizes, test = split_source

    result = profile_files(expand(root), "csv", options=Options(label_column="label", splits=SPLITS), workers=workers)

    assert result["row_count"] == sum(sizes.values())
    assert {name: split["row_count"] for name, split in result["splits"].items()} == sizes
    assert sorted(result["splits"]["train"]["files"]) == ["train/part-1.csv", "train/part-2.csv"]
    test_x = next(f for f in result["splits"]["test"]["features"] if f["name"] == "x")["statistics"]
    assert test_x["count"] == len(test)
    assert test_x["mean"] == pytest.approx(test["x"].mean(), rel=1e-9)
    assert result["splits"]["test"]["quality"]["class_counts"] == {
        str(key): int(value) for key, value in test["label"].value_counts().items()
    }

    leakage = result["quality"]["split_leakage"]
    assert leakage["rows"] == 5
    assert leakage["between"] == {"train/test": 3, "validation/test": 2}
    assert {tuple(example["splits"]) for example in leakage["examples"]} == {("train", "test"), ("validation", "test")}
    assert any(row.startswith("test.csv:") for example in leakage["examples"] for row in example["rows"])
    [finding] = [item for item in result["quality"]["findings"] if item["code"] == "split_leakage"]
    assert finding["severity"] == "error"
    assert "5 distinct rows" in finding["message"]


def test_disjoint_splits_report_no_leakage(split_source):
    root, _, _ = split_source
    result = profile_files(
        expand(root), "csv", options=Options(splits={"train": "train/", "validation": "validation.csv"}), workers=1
    )
    assert result["quality"]["split_leakage"] == {"rows": 0, "between": {}, "examples": []}
    assert "split_leakage" not in {item["code"] for item in result["quality"]["findings"]}


def test_overlapping_or_empty_splits_are_refused_with_a_reason(split_source):
    root, _, _ = split_source
    with pytest.raises(SourceError, match="more than one split"):
        profile_files(expand(root), "csv", options=Options(splits={"a": "*.csv", "b": "test.csv"}), workers=1)
    with pytest.raises(SourceError, match="No file of the source is in the split"):
        profile_files(expand(root), "csv", options=Options(splits={"holdout": "holdout/"}), workers=1)


def test_split_patterns():
    assert split_of("train/a.csv", {"train": "train/"}) == "train"
    assert split_of("train/deep/a.csv", {"train": "train/*.csv"}) == "train"
    assert split_of("test.csv", {"train": "train/", "test": "./test.csv"}) == "test"
    assert split_of("other.csv", {"train": "train/"}) is None
