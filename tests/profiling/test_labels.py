"""Label quality on real public data: planted label flips recovered, near-identical conflicts found,
groups and class shares checked against pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from profiler.labels import LabelAnalysisError, LabelOptions, analyse, stratified_rows
from tests.realdata_sources import penguins, sklearn_frame


def flipped(frame: pd.DataFrame, label: str, share: float, seed: int) -> tuple[pd.DataFrame, set[int]]:
    """`frame` with a seeded `share` of its labels changed, class-conditionally: each flipped row of a
    class gets the next class (in sorted order), as a confused annotator would."""
    rng = np.random.default_rng(seed)
    frame = frame.reset_index(drop=True).copy()
    classes = sorted(frame[label].astype(str).unique())
    chosen = rng.choice(len(frame), size=round(len(frame) * share), replace=False)
    values = frame[label].astype(str).to_numpy().copy()
    for index in chosen:
        values[index] = classes[(classes.index(values[index]) + 1) % len(classes)]
    frame[label] = values
    return frame, {int(index) for index in chosen}


def numeric_types(frame: pd.DataFrame, label: str) -> dict[str, str]:
    return {name: "numeric" for name in frame.columns if name != label}


def test_it_recovers_planted_flips_in_breast_cancer() -> None:
    frame, flips = flipped(
        sklearn_frame("load_breast_cancer", "diagnosis", ["malignant", "benign"])(), "diagnosis", 0.05, 1
    )

    result = analyse(frame, label="diagnosis", features=numeric_types(frame, "diagnosis"))

    found = {item["index"] for item in result["flagged"]}
    precision = len(found & flips) / len(found)
    recall = len(found & flips) / len(flips)
    assert precision >= 0.6, precision
    assert recall >= 0.7, recall
    issues = result["label_issues"]
    assert issues["rows_checked"] == len(frame)
    assert issues["sampled"] is False
    assert issues["count"] == len(found)
    assert issues["share"] == pytest.approx(len(found) / len(frame), abs=1e-6)
    assert sum(issues["by_class"].values()) == issues["count"]
    example = issues["examples"][0]
    assert example["given"] != example["suggested"]
    assert 0.5 <= example["confidence"] <= 1
    assert frame.loc[result["flagged"][0]["index"], "diagnosis"] == result["flagged"][0]["given"]


def test_it_recovers_planted_flips_in_penguins_with_categories_and_nulls() -> None:
    frame, flips = flipped(penguins(), "species", 0.05, 2)
    features = {
        "island": "categorical",
        "bill_length_mm": "numeric",
        "bill_depth_mm": "numeric",
        "flipper_length_mm": "numeric",
        "body_mass_g": "numeric",
        "sex": "categorical",
        "year": "numeric",
    }

    result = analyse(frame, label="species", features=features)

    found = {item["index"] for item in result["flagged"]}
    assert len(found & flips) / len(flips) >= 0.8
    assert len(found & flips) / len(found) >= 0.8
    assert result["label_issues"]["model"] in ("hist_gradient_boosting", "logistic_regression")
    # The finding's severity follows the share (5% planted: a warning).
    (issue_finding,) = [item for item in result["findings"] if item["code"] == "label_issues"]
    assert issue_finding["severity"] == "warning"
    assert issue_finding["feature"] == "species"


def test_it_finds_a_near_identical_row_with_another_label() -> None:
    frame = sklearn_frame("load_iris", "species", ["setosa", "versicolor", "virginica"])()
    copy = frame.iloc[[10]].copy()
    copy["petal length (cm)"] += 0.01
    copy["species"] = "virginica"
    frame = pd.concat([frame, copy], ignore_index=True)
    names = [f"iris.csv:{index + 1}" for index in range(len(frame))]

    result = analyse(frame, label="species", features=numeric_types(frame, "species"), row_names=names)

    near = result["near_conflicts"]
    assert near["groups"] >= 1
    planted = [example for example in near["examples"] if set(example["rows"]) >= {"iris.csv:11", "iris.csv:151"}]
    assert len(planted) == 1
    assert sorted(planted[0]["labels"]) == ["setosa", "virginica"]
    assert 0 < planted[0]["distance"] <= 0.01
    assert any(item["code"] == "near_conflicts" for item in result["findings"])


def test_it_does_not_count_exact_duplicates_as_near_conflicts() -> None:
    frame = sklearn_frame("load_iris", "species", ["setosa", "versicolor", "virginica"])()
    copy = frame.iloc[[10]].copy()
    copy["species"] = "virginica"
    frame = pd.concat([frame, copy], ignore_index=True)

    result = analyse(frame, label="species", features=numeric_types(frame, "species"))

    assert not any({"10", "150"} <= set(example["rows"]) for example in result["near_conflicts"]["examples"])


def test_it_reports_groups_as_pandas_counts_them() -> None:
    frame = penguins()
    features = {"bill_length_mm": "numeric", "bill_depth_mm": "numeric", "body_mass_g": "numeric", "sex": "categorical"}

    result = analyse(frame, label="species", features=features, group_features=["island"])

    groups = {entry["value"]: entry for entry in result["groups"]["island"]}
    shares = frame["island"].value_counts(normalize=True)
    for island, share in shares.items():
        assert groups[island]["share"] == pytest.approx(share, abs=1e-6)
        assert groups[island]["rows"] == int((frame["island"] == island).sum())
        expected = frame.loc[frame["island"] == island, "species"].value_counts(normalize=True)
        for species, class_share in groups[island]["class_shares"].items():
            assert class_share == pytest.approx(expected.get(species, 0.0), abs=1e-6)
        members = frame["island"] == island
        assert groups[island]["null_fraction"] == pytest.approx(
            frame.loc[members, list(features)].isna().to_numpy().mean(), abs=1e-6
        )
    # Torgersen holds only Adelie penguins, Biscoe mostly Gentoo: a disparate label distribution.
    disparity = [item for item in result["findings"] if item["code"] == "group_label_disparity"]
    assert len(disparity) == 1
    assert disparity[0]["feature"] == "island"


def test_it_reports_an_under_represented_group() -> None:
    frame = penguins()
    # Torgersen (52 of 344 rows) cut down to 8 rows: 2.7% of what is left.
    frame = frame.drop(frame.index[frame["island"] == "Torgersen"][8:]).reset_index(drop=True)
    features = {"bill_length_mm": "numeric", "bill_depth_mm": "numeric", "flipper_length_mm": "numeric"}

    result = analyse(frame, label="species", features=features, group_features=["island"])

    under = [item for item in result["findings"] if item["code"] == "group_underrepresented"]
    assert [item["feature"] for item in under] == ["island"]
    assert "'Torgersen'" in under[0]["message"]


def test_it_samples_keeping_each_class_share() -> None:
    frame = sklearn_frame("load_digits", "digit")()
    labels = frame["digit"].astype(str).to_numpy()

    chosen = stratified_rows(labels, 500, seed=3)

    assert 490 <= len(chosen) <= 510
    expected = pd.Series(labels).value_counts(normalize=True)
    actual = pd.Series(labels[chosen]).value_counts(normalize=True)
    assert (actual - expected).abs().max() < 0.01

    result = analyse(
        frame,
        label="digit",
        features=numeric_types(frame, "digit"),
        options=LabelOptions(max_rows=500, models=("logistic_regression",)),
    )
    assert result["label_issues"]["sampled"] is True
    assert result["label_issues"]["rows_checked"] == len(chosen)


def test_it_reads_a_text_corpus_with_tfidf() -> None:
    # No text corpus ships with the installed packages; two topics of short sentences, one mislabelled.
    texts = [
        *[f"the striker scored a goal in the {word} match" for word in ("final", "league", "cup", "friendly", "derby")]
        * 8,
        *[
            f"the parliament voted on the {word} budget bill"
            for word in ("annual", "state", "health", "defence", "school")
        ]
        * 8,
    ]
    frame = pd.DataFrame({"text": texts, "topic": ["sport"] * 40 + ["politics"] * 40})
    frame.loc[3, "topic"] = "politics"

    result = analyse(frame, label="topic", features={"text": "text"})

    assert result["label_issues"]["model"] == "tfidf_logistic_regression"
    assert 3 in {item["index"] for item in result["flagged"]}


def test_it_rejects_a_label_with_one_class() -> None:
    frame = penguins()
    frame["species"] = "Adelie"

    with pytest.raises(LabelAnalysisError, match="at least two classes"):
        analyse(frame, label="species", features={"bill_length_mm": "numeric"})


def test_it_rejects_a_table_without_features() -> None:
    frame = penguins().reset_index()

    with pytest.raises(LabelAnalysisError, match="needs a feature"):
        analyse(frame, label="species", features={"index": "identifier"})


def test_it_rejects_a_label_with_too_many_classes() -> None:
    frame = sklearn_frame("load_digits", "digit")()

    with pytest.raises(LabelAnalysisError, match="at most 5 classes"):
        analyse(frame, label="digit", features=numeric_types(frame, "digit"), options=LabelOptions(max_classes=5))
