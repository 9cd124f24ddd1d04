"""The languages of a table's text column: identified as py3langid identifies them row by row (pandas the
oracle), on real text in two languages, from a bounded sample that does not depend on how the file is read."""

from pathlib import Path

import pandas as pd
import pytest

from profiler import api
from profiler.files import expand
from profiler.languages import COLUMN_VALUES
from tests.profiling.bilingual import django_messages, long_messages, oracle
from tests.profiling.media_folders import text_corpus


def languages_of(path: Path, **options) -> dict:
    profile = api.profile(expand(path), "csv", api.Options(**options), workers=1)
    [feature] = [feature for feature in profile["features"] if feature["name"] == "message"]
    assert feature["logical_type"] == "text"
    return feature["statistics"]["languages"]


@pytest.fixture(scope="module")
def messages() -> pd.DataFrame:
    frame = django_messages()
    assert len(frame) > COLUMN_VALUES  # enough rows to need the bound
    return frame


def test_it_counts_the_languages_of_a_text_column_as_py3langid_does_row_by_row(messages, tmp_path):
    # The longer messages (fewer rows than the sample keeps): every value is examined.
    frame = long_messages()
    assert len(frame) < COLUMN_VALUES
    frame.to_csv(tmp_path / "messages.csv", index=False)

    found = languages_of(tmp_path / "messages.csv")

    expected = oracle(frame["message"])
    assert found["examined"] == len(frame)
    assert found["counts"] == {code: n for code, n in expected.items() if code not in ("too_short", "undetermined")}
    assert found["too_short"] == expected["too_short"]
    assert found["undetermined"] == expected["undetermined"]
    # Real English and French: both found, in about the shares the catalogs hold them.
    assert found["counts"]["en"] > 0.3 * len(frame)
    assert found["counts"]["fr"] > 0.3 * len(frame)


def test_it_examines_a_bounded_sample_of_a_long_column_and_says_so(messages, tmp_path):
    messages.to_csv(tmp_path / "messages.csv", index=False)

    found = languages_of(tmp_path / "messages.csv")

    assert found["examined"] == COLUMN_VALUES
    assert sum(found["counts"].values()) + found["too_short"] + found["undetermined"] == COLUMN_VALUES
    expected = oracle(messages["message"])
    for code in ("en", "fr"):
        # A uniform sample of 1,000: each language's share within 4 points of the whole column's.
        assert found["counts"][code] / COLUMN_VALUES == pytest.approx(expected[code] / len(messages), abs=0.04)
    assert found["too_short"] / COLUMN_VALUES == pytest.approx(expected["too_short"] / len(messages), abs=0.04)


def test_the_sample_is_the_same_whatever_the_batches_the_file_is_read_in(messages, tmp_path):
    messages.to_csv(tmp_path / "messages.csv", index=False)

    assert languages_of(tmp_path / "messages.csv", batch_rows=97) == languages_of(tmp_path / "messages.csv")


def test_only_text_columns_have_languages(messages, tmp_path):
    messages.to_csv(tmp_path / "messages.csv", index=False)

    profile = api.profile(expand(tmp_path / "messages.csv"), "csv", workers=1)

    [catalog] = [feature for feature in profile["features"] if feature["name"] == "catalog"]
    assert catalog["logical_type"] == "categorical"
    assert "languages" not in catalog["statistics"]


def test_a_corpus_counts_its_documents_languages_in_its_language_column_alone(tmp_path):
    profile = api.profile(expand(text_corpus(tmp_path / "corpus")), "text", workers=1)

    features = {feature["name"]: feature for feature in profile["features"]}
    assert all("languages" not in feature["statistics"] for feature in features.values())
    counted = {entry["value"]: entry["count"] for entry in features["language"]["statistics"]["top_values"]}
    assert counted["fr"] == 1
    assert counted["en"] >= 20
