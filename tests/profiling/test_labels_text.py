"""Label quality of a text corpus without Django: its documents read again as the profile reads them
(class folders, JSON Lines records and their fields), a sample of a large one, and the analysis's
answers on corpora it cannot learn from."""

from __future__ import annotations

import json

import pytest

from profiler import labels
from profiler.api import Options, plan
from profiler.files import expand
from profiler.labels import (
    TEXT_CHARACTERS,
    LabelAnalysisError,
    LabelOptions,
    analyse_text,
    read_documents,
)
from tests.realdata_sources import rdataset_documentation


def test_it_reads_class_folders_with_their_split_and_names_documents_by_path(tmp_path) -> None:
    for split, label, name, text in (
        ("train", "pos", "a.txt", "good " * 3_000),
        ("train", "neg", "b.txt", "bad"),
        ("test", "neg", "c.txt", ""),
    ):
        (tmp_path / split / label).mkdir(parents=True, exist_ok=True)
        (tmp_path / split / label / name).write_text(text)

    planned = plan(expand(tmp_path), "text", Options())
    frame, names, missing = read_documents(planned.partitions, ["split", "source"])

    assert names == ["test/neg/c.txt", "train/neg/b.txt", "train/pos/a.txt"]
    assert frame["label"].tolist() == ["neg", "neg", "pos"]
    assert frame["split"].tolist() == ["test", "train", "train"]
    assert frame["text"].isna().tolist() == [True, False, False]  # an empty document has no text
    assert len(frame["text"].tolist()[2]) == TEXT_CHARACTERS
    assert missing == ["source"]


def test_it_reads_a_json_lines_corpus_with_its_fields_and_samples_it(tmp_path) -> None:
    path = tmp_path / "corpus.jsonl"
    with path.open("w") as handle:
        for index in range(2_000):
            record = {"text": f"document {index}", "label": "ab"[index % 2], "source": {"site": index % 3}}
            handle.write(json.dumps(record) + "\n")
        handle.write("not json\n")

    planned = plan(expand(path), "text", Options())
    frame, names, missing = read_documents(planned.partitions, ["source"])
    sampled, sampled_names, _ = read_documents(planned.partitions, ["source"], keep_share=0.25, seed=1)

    assert len(frame) == 2_000  # the line that is not JSON is the profile's to list
    assert names[:2] == ["corpus.jsonl:1", "corpus.jsonl:2"]
    assert frame["source"].tolist()[:2] == ['{"site": 0}', '{"site": 1}']
    assert missing == []
    assert 400 < len(sampled) < 600
    assert set(sampled_names) <= set(names)


def test_it_analyses_a_stratified_sample_of_a_large_corpus() -> None:
    frame = rdataset_documentation().rename(columns={"package": "label"})[["label", "text"]]

    result = analyse_text(frame, options=LabelOptions(max_rows=200))

    issues = result["label_issues"]
    assert issues["sampled"] is True
    assert issues["rows_checked"] < len(frame)
    assert issues["model"] == "tfidf_logistic_regression"
    assert result["near_conflicts"]["not_applicable"]


def test_it_says_when_the_documents_share_no_words() -> None:
    import pandas as pd

    frame = pd.DataFrame({"label": ["a", "b"] * 10, "text": [f"word{index}" for index in range(20)]})

    with pytest.raises(LabelAnalysisError, match="share too few words"):
        analyse_text(frame)


def test_it_refuses_a_corpus_of_empty_documents() -> None:
    import pandas as pd

    frame = pd.DataFrame({"label": ["a", "b"] * 10, "text": [None] * 20})

    with pytest.raises(LabelAnalysisError, match="empty"):
        analyse_text(frame)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
        (float("nan"), None),
        ({"b": 1, "a": [2]}, '{"a": [2], "b": 1}'),
        ("x" * 5_000, "x" * labels.GROUP_VALUE_CHARACTERS),
        (3, 3),
        (None, None),
    ],
)
def test_a_record_field_becomes_a_group_value_jsonb_takes(value, expected):
    assert labels.record_group_value(value) == expected
