"""Read options and the CSV reader over HTTP, against gunicorn and a real worker, on statsmodels' own data
files with pandas as the oracle: a space-separated file is profiled right without options, a semicolon file
with them, and an encoding that does not decode the file fails its version with the reason."""

import shutil
from pathlib import Path

import pandas as pd
import pytest
import statsmodels

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

STATSMODELS = Path(statsmodels.__file__).parent / "datasets"


def register(people, name: str, source: dict) -> dict:
    created = people.owner.post(
        "/api/v1/datasets/",
        {"namespace": "read-options", "name": f"{name}-{people.owner.user.username}", "source": source},
    )
    assert created.status_code == 201, created.text
    return people.owner.wait(created.json()["latest_version"]["id"])


def folder_of(people, root: Path, name: str) -> Path:
    folder = root / f"{name}-{people.owner.user.username}"
    folder.mkdir()
    return folder


def test_it_profiles_a_space_separated_statsmodels_file_right_without_options(people, e2e_storage_root):
    folder = folder_of(people, e2e_storage_root, "spector")
    shutil.copyfile(STATSMODELS / "spector/spector.csv", folder / "spector.csv")
    expected = pd.read_csv(folder / "spector.csv", sep=r"\s+", quotechar="'")

    version = register(people, "spector", {"uri": f"{folder.name}/spector.csv", "label_column": "GRADE"})

    assert version["status"] == "ready", version["error"]
    assert version["dialect"]["delimiter"] == "whitespace"
    assert version["row_count"] == len(expected) == 32
    features = {feature["name"]: feature["statistics"] for feature in version["features"]}
    assert list(features) == list(expected.columns)
    assert features["GPA"]["mean"] == pytest.approx(expected["GPA"].mean())
    assert features["TUCE"]["max"] == expected["TUCE"].max()


def test_it_profiles_a_folder_of_space_separated_files_through_the_chord(people, e2e_storage_root):
    """Several files are profiled by a chord of parts: each part reads its file the same way, and the
    version still says how the text was read."""
    folder = folder_of(people, e2e_storage_root, "spector-parts")
    lines = (STATSMODELS / "spector/spector.csv").read_text().splitlines(keepends=True)
    (folder / "a.csv").write_text("".join(lines[:17]))
    (folder / "b.csv").write_text("".join(lines[:1] + lines[17:]))
    expected = pd.read_csv(STATSMODELS / "spector/spector.csv", sep=r"\s+", quotechar="'")

    version = register(people, "spector-parts", {"uri": f"{folder.name}/"})

    assert version["status"] == "ready", version["error"]
    assert version["file_count"] == 2
    assert version["dialect"]["delimiter"] == "whitespace"
    assert version["row_count"] == len(expected)
    features = {feature["name"]: feature["statistics"] for feature in version["features"]}
    assert features["GPA"]["mean"] == pytest.approx(expected["GPA"].mean())


def test_it_reads_a_semicolon_file_with_the_read_options_given(people, e2e_storage_root):
    folder = folder_of(people, e2e_storage_root, "modechoice")
    shutil.copyfile(STATSMODELS / "modechoice/modechoice.csv", folder / "modechoice.csv")
    expected = pd.read_csv(folder / "modechoice.csv", sep=";", header=None, skiprows=1)

    version = register(
        people,
        "modechoice",
        {"uri": f"{folder.name}/modechoice.csv", "read_options": {"delimiter": ";", "header": False, "skip_rows": 1}},
    )

    assert version["status"] == "ready", version["error"]
    assert version["read_options"] == {"delimiter": ";", "header": False, "skip_rows": 1}
    assert version["dialect"]["header"] is False
    assert version["row_count"] == len(expected) == 840
    features = {feature["name"]: feature["statistics"] for feature in version["features"]}
    assert list(features) == [f"column_{index}" for index in range(1, 10)]
    assert features["column_5"]["mean"] == pytest.approx(expected[4].mean())


def test_it_fails_a_version_whose_encoding_does_not_decode_the_file_with_the_reason(people, e2e_storage_root):
    folder = folder_of(people, e2e_storage_root, "cities")
    (folder / "cities.csv").write_bytes("city,population\nZürich,421878\nGenève,203856\n".encode("cp1252"))

    version = register(people, "cities", {"uri": f"{folder.name}/cities.csv", "read_options": {"encoding": "utf-8"}})

    assert version["status"] == "failed"
    assert "cities.csv cannot be decoded as utf-8, the encoding given" in version["error"]


def test_it_answers_400_naming_unknown_read_options(people, e2e_storage_root):
    response = people.owner.post(
        "/api/v1/datasets/",
        {"namespace": "read-options", "name": "bad", "source": {"uri": "x.csv", "read_options": {"sep": ";"}}},
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == ["source.read_options.sep"]
    assert errors["source.read_options.sep"][0].startswith("Unknown field; those taken here are delimiter, encoding")
