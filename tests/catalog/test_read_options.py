"""Read options and task type of a source: validated, stored with the version, shown, and used to read it.

The files are statsmodels' own data files; pandas, reading them independently, is the oracle.
"""

import math
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import statsmodels

from catalog.models import DatasetVersion
from governance.models import Change

URL = "/api/v1/datasets/"
STATSMODELS = Path(statsmodels.__file__).parent / "datasets"


def versions_url(dataset) -> str:
    return f"/api/v1/datasets/{dataset.pk}/versions/"


def shipped(storage_root: Path, relative: str, name: str) -> Path:
    """A statsmodels data file copied under the storage root as `name`."""
    target = storage_root / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(STATSMODELS / relative, target)
    return target


def register(client, name: str, source: dict, callbacks):
    with callbacks(execute=True):
        response = client.post(URL, {"namespace": "real", "name": name, "source": source}, format="json")
    return response


def version_of(client, response) -> dict:
    assert response.status_code == 201, response.json()
    return client.get(f"/api/v1/versions/{response.json()['latest_version']['id']}/").json()


def features_by_name(version: dict) -> dict[str, dict]:
    return {feature["name"]: feature for feature in version["features"]}


@pytest.mark.django_db
def test_it_reads_a_semicolon_file_with_the_delimiter_given_and_shows_the_options(
    owner_client, storage_root, django_capture_on_commit_callbacks
):
    path = shipped(storage_root, "modechoice/modechoice.csv", "travel/modechoice.csv")
    expected = pd.read_csv(path, sep=";")

    response = register(
        owner_client,
        "modechoice",
        {"uri": "travel/modechoice.csv", "read_options": {"delimiter": ";"}},
        django_capture_on_commit_callbacks,
    )
    version = version_of(owner_client, response)

    assert version["status"] == "ready", version["error"]
    assert version["read_options"] == {"delimiter": ";"}
    assert version["dialect"]["delimiter"] == ";"
    assert version["dialect"]["header"] is True
    assert version["row_count"] == len(expected)
    features = features_by_name(version)
    assert list(features) == list(expected.columns)
    assert features["invc"]["statistics"]["mean"] == pytest.approx(expected["invc"].mean())


@pytest.mark.django_db
def test_it_reads_a_space_separated_statsmodels_file_as_a_table_without_options(
    owner_client, storage_root, django_capture_on_commit_callbacks
):
    path = shipped(storage_root, "spector/spector.csv", "grades/spector.csv")
    expected = pd.read_csv(path, sep=r"\s+", quotechar="'")

    response = register(owner_client, "spector", {"uri": "grades/spector.csv"}, django_capture_on_commit_callbacks)
    version = version_of(owner_client, response)

    assert version["status"] == "ready", version["error"]
    assert version["read_options"] == {}
    assert version["dialect"]["delimiter"] == "whitespace"
    features = features_by_name(version)
    assert list(features) == ["OBS", "GPA", "TUCE", "PSI", "GRADE"] == list(expected.columns)
    assert version["row_count"] == len(expected)
    assert features["GPA"]["statistics"]["mean"] == pytest.approx(expected["GPA"].mean())
    assert features["GPA"]["statistics"]["std"] == pytest.approx(expected["GPA"].std())


@pytest.mark.django_db
def test_it_names_the_columns_of_a_header_less_file_and_says_it_has_no_header(
    owner_client, storage_root, django_capture_on_commit_callbacks
):
    path = shipped(storage_root, "interest_inflation/E6_jmulti.csv", "macro/e6.csv")
    expected = pd.read_csv(path, sep=r"\s+", header=None)

    response = register(
        owner_client,
        "e6",
        {"uri": "macro/e6.csv", "read_options": {"header": False, "delimiter": "whitespace"}},
        django_capture_on_commit_callbacks,
    )
    version = version_of(owner_client, response)

    assert version["status"] == "ready", version["error"]
    assert version["read_options"] == {"header": False, "delimiter": "whitespace"}
    assert version["dialect"]["header"] is False
    features = features_by_name(version)
    assert list(features) == ["column_1", "column_2"]
    assert version["row_count"] == len(expected)
    assert features["column_1"]["statistics"]["min"] == pytest.approx(expected[0].min())


@pytest.mark.django_db
def test_it_applies_null_values_and_skip_rows(owner_client, storage_root, django_capture_on_commit_callbacks):
    path = storage_root / "survey" / "answers.csv"
    path.parent.mkdir()
    path.write_text("exported 2024-05-01\nby the survey tool\nid|score\n1|7\n2|-\n3|9\n4|NA\n")

    response = register(
        owner_client,
        "answers",
        {"uri": "survey/answers.csv", "read_options": {"delimiter": "|", "skip_rows": 2, "null_values": ["-"]}},
        django_capture_on_commit_callbacks,
    )
    version = version_of(owner_client, response)

    assert version["status"] == "ready", version["error"]
    assert version["row_count"] == 4
    score = features_by_name(version)["score"]["statistics"]
    # "-" is null as asked; "NA" is no longer a null token once the tokens are given, so the column is text.
    assert score["null_count"] == 1
    assert version["dialect"]["skip_rows"] == 2


@pytest.mark.django_db
def test_it_records_read_options_and_task_type_in_the_change_log(
    owner_client, storage_root, django_capture_on_commit_callbacks
):
    shipped(storage_root, "modechoice/modechoice.csv", "travel/modechoice.csv")

    response = register(
        owner_client,
        "modechoice",
        {
            "uri": "travel/modechoice.csv",
            "label_column": "choice",
            "read_options": {"delimiter": ";", "encoding": "UTF8"},
            "task_type": "classification",
        },
        django_capture_on_commit_callbacks,
    )

    assert response.status_code == 201, response.json()
    version = DatasetVersion.objects.get(pk=response.json()["latest_version"]["id"])
    assert version.read_options == {"delimiter": ";", "encoding": "utf-8"}  # the codec's own name
    assert version.task_type == "classification"
    change = Change.objects.get(object_id=version.pk, action="create")
    assert change.after["read_options"] == {"delimiter": ";", "encoding": "utf-8"}
    assert change.after["task_type"] == "classification"
    assert owner_client.get(f"/api/v1/versions/{version.pk}/").json()["task_type"] == "classification"


@pytest.mark.django_db
def test_it_takes_read_options_on_a_new_version(
    owner_client, dataset, storage_root, django_capture_on_commit_callbacks
):
    shipped(storage_root, "modechoice/modechoice.csv", "travel/modechoice.csv")

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            versions_url(dataset),
            {"uri": "travel/modechoice.csv", "read_options": {"delimiter": ";"}, "task_type": "regression"},
            format="json",
        )

    assert response.status_code == 201, response.json()
    assert response.json()["read_options"] == {"delimiter": ";"}
    assert response.json()["task_type"] == "regression"
    version = owner_client.get(f"/api/v1/versions/{response.json()['id']}/").json()
    assert version["status"] == "ready", version["error"]
    assert len(version["features"]) == 9


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("read_options", "named"),
    [
        ({"delim": ";", "headers": False}, "source.read_options.headers"),
        ({"delimiter": ";;"}, "not one character"),
        ({"delimiter": 5}, "delimiter must be a string"),
        ({"encoding": "klingon"}, "not an encoding Python knows"),
        ({"encoding": "rot13"}, "not a text encoding"),
        ({"skip_rows": -1}, "skip_rows must be a whole number"),
        ({"skip_rows": True}, "skip_rows must be a whole number"),
        ({"header": "no"}, "header must be true or false"),
        ({"quote": "''"}, "quote must be one character"),
        ({"null_values": "NA"}, "null_values must be a list"),
        ({"null_values": ["x"] * 65}, "at most 64"),
        ({"delimiter": ",", "quote": ","}, "quote and delimiter must differ"),
        ("comma", "must be an object"),
    ],
)
def test_it_rejects_read_options_it_cannot_apply_with_a_400_naming_them(
    owner_client, storage_root, read_options, named
):
    response = owner_client.post(
        URL,
        {"namespace": "real", "name": "bad", "source": {"uri": "x.csv", "read_options": read_options}},
        format="json",
    )

    assert response.status_code == 400
    assert named in str(response.json())
    assert not DatasetVersion.objects.exists()


@pytest.mark.django_db
def test_it_rejects_a_task_type_it_does_not_know(owner_client, storage_root):
    response = owner_client.post(
        URL,
        {"namespace": "real", "name": "bad", "source": {"uri": "x.csv", "task_type": "clustering"}},
        format="json",
    )

    assert response.status_code == 400
    assert "task_type" in str(response.json())


@pytest.mark.django_db
def test_it_rejects_read_options_on_a_parquet_source(owner_client, storage_root):
    frame = pd.read_csv(STATSMODELS / "modechoice/modechoice.csv", sep=";")
    pq.write_table(pa.Table.from_pandas(frame), storage_root / "modechoice.parquet")

    response = owner_client.post(
        URL,
        {
            "namespace": "real",
            "name": "bad",
            "source": {"uri": "modechoice.parquet", "read_options": {"delimiter": ";"}},
        },
        format="json",
    )

    assert response.status_code == 400
    assert "csv and tsv" in response.json()["errors"]["source.read_options"][0]
    assert not DatasetVersion.objects.exists()


@pytest.mark.django_db
def test_it_fails_the_version_with_the_reason_when_the_encoding_given_does_not_decode_the_file(
    owner_client, storage_root, django_capture_on_commit_callbacks
):
    path = storage_root / "cities.csv"
    path.write_bytes("city,population\nZürich,421878\nGenève,203856\n".encode("cp1252"))

    response = register(
        owner_client,
        "cities",
        {"uri": "cities.csv", "read_options": {"encoding": "utf-8"}},
        django_capture_on_commit_callbacks,
    )
    version = version_of(owner_client, response)

    assert version["status"] == "failed"
    assert "cannot be decoded as utf-8, the encoding given" in version["error"]


@pytest.mark.django_db
def test_it_reads_the_file_with_the_encoding_given(owner_client, storage_root, django_capture_on_commit_callbacks):
    path = storage_root / "cities.csv"
    path.write_bytes("city,population\nZürich,421878\nGenève,203856\n".encode("cp1252"))

    response = register(
        owner_client,
        "cities",
        {"uri": "cities.csv", "read_options": {"encoding": "latin-1"}},
        django_capture_on_commit_callbacks,
    )
    version = version_of(owner_client, response)

    assert version["status"] == "ready", version["error"]
    assert version["dialect"]["encoding"] == "iso8859-1"
    top = features_by_name(version)["city"]["statistics"]["top_values"]
    assert {entry["value"] for entry in top} == {"Zürich", "Genève"}


@pytest.mark.django_db
def test_it_fails_the_version_with_the_reason_when_skip_rows_passes_the_end(
    owner_client, storage_root, django_capture_on_commit_callbacks
):
    path = shipped(storage_root, "spector/spector.csv", "grades/spector.csv")
    lines = len(path.read_text().splitlines())

    response = register(
        owner_client,
        "spector",
        {"uri": "grades/spector.csv", "read_options": {"skip_rows": lines + 10}},
        django_capture_on_commit_callbacks,
    )
    version = version_of(owner_client, response)

    assert version["status"] == "failed"
    assert f"skip_rows is {lines + 10}, but the file has only {lines} line(s)" in version["error"]


@pytest.mark.django_db
def test_it_refuses_to_change_the_read_options_of_a_version(owner_client, dataset, storage_root):
    shipped(storage_root, "modechoice/modechoice.csv", "travel/modechoice.csv")
    created = owner_client.post(versions_url(dataset), {"uri": "travel/modechoice.csv"}, format="json").json()

    response = owner_client.patch(
        f"/api/v1/versions/{created['id']}/", {"read_options": {"delimiter": ","}}, format="json"
    )

    assert response.status_code == 400
    assert "how its source is read" in str(response.json())
    assert DatasetVersion.objects.get(pk=created["id"]).read_options == {}


def test_the_profile_statistics_of_the_space_separated_file_equal_pandas():
    """The same file through the engine alone: every numeric column's mean and null count as pandas has them."""
    from profiler import api
    from profiler.files import expand

    path = STATSMODELS / "elnino/src/elnino.dat"
    expected = pd.read_csv(path, sep=r"\s+")

    profile = api.profile(expand(str(path)), "csv", workers=1)

    assert profile["row_count"] == len(expected)
    means = [feature["statistics"]["mean"] for feature in profile["features"]]
    assert len(means) == len(expected.columns)
    for mean, (_, column) in zip(means, expected.items(), strict=True):
        assert math.isclose(mean, column.mean(), rel_tol=1e-9)


def test_the_declared_task_type_reaches_the_profile(owner_client, storage_root, django_capture_on_commit_callbacks):
    # Whole numbers with few values would be taken for classes; the registration says otherwise.
    (storage_root / "ratings.csv").write_text(
        "hours,rating\n" + "".join(f"{index},{index % 4}\n" for index in range(40))
    )
    response = register(
        owner_client,
        "ratings",
        {"uri": "ratings.csv", "label_column": "rating", "task_type": "regression"},
        django_capture_on_commit_callbacks,
    )
    assert response.status_code == 201, response.json()
    version = DatasetVersion.objects.get(pk=response.json()["latest_version"]["id"])

    assert version.status == "ready", version.error
    assert version.quality["task_type"] == "regression"
    assert not version.quality.get("class_counts")
