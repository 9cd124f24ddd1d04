"""Croissant exports of real tables load their records in mlcroissant, equal to pandas row by row.

Each table is real data (palmerpenguins' penguins, scikit-learn's iris) written in one of the shapes
people register: tab-separated, `;`-separated, header-less and gzipped, a folder of files at the top and
in subfolders, Parquet and JSON Lines. The document is exported through the API of a live server, and
mlcroissant fetches every file from the download endpoint it names, as a user of the document would.
"""

import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import palmerpenguins
import pandas as pd
import pytest
from palmerpenguins import load_penguins
from sklearn.datasets import load_iris

from catalog.models import Dataset
from tests.croissant import assert_same_rows, croissant_frames, mlcroissant_validate
from tests.factories import token_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def penguins() -> pd.DataFrame:
    return load_penguins()


@pytest.fixture
def export(live_server, owner, owner_client, tmp_path, monkeypatch):
    """Register a source, then read the Croissant export of the dataset with mlcroissant from the live server."""

    def run(uri, name: str) -> tuple[dict, dict[str, pd.DataFrame], Dataset]:
        response = owner_client.post(
            "/api/v1/datasets/", {"namespace": "real", "name": name, "source": {"uri": str(uri)}}, format="json"
        )
        assert response.status_code == 201, response.content
        dataset = Dataset.objects.get(pk=response.json()["id"])
        assert dataset.latest_version.status == "ready", dataset.latest_version.error
        document = owner_client.get(
            f"/api/v1/datasets/{dataset.pk}/card/croissant", HTTP_HOST=urlsplit(live_server.url).netloc
        ).json()
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(document))
        validation = mlcroissant_validate(path)
        assert validation.returncode == 0, validation.stderr[-2000:]
        frames = croissant_frames(document, tmp_path / name, token=token_for(owner), monkeypatch=monkeypatch)
        return document, frames, dataset

    return run


def _distributed(document: dict) -> dict[str, dict]:
    return {item["name"]: item for item in document["distribution"]}


def test_it_loads_a_comma_separated_file_without_a_warning(iris_csv, export):
    document, frames, dataset = export(iris_csv, "flowers")

    assert _distributed(document)["train.csv"]["encodingFormat"] == "text/csv"
    assert "rai:dataLimitations" not in document
    assert len(frames["records"]) == dataset.latest_version.row_count == 30
    assert_same_rows(frames["records"], pd.read_csv(iris_csv))


def test_it_loads_the_csv_palmerpenguins_ships_as_it_is(storage_root, export):
    shipped = Path(palmerpenguins.__file__).parent / "data" / "penguins.csv"
    path = storage_root / "penguins.csv"
    shutil.copyfile(shipped, path)

    document, frames, _ = export(path, "shipped")

    assert _distributed(document)["penguins.csv"]["encodingFormat"] == "text/csv"
    assert_same_rows(frames["records"], pd.read_csv(shipped))


def test_it_loads_a_tab_separated_file(storage_root, export, penguins):
    path = storage_root / "penguins.tsv"
    penguins.to_csv(path, sep="\t", index=False)

    document, frames, dataset = export(path, "tsv")

    assert _distributed(document)["penguins.tsv"]["encodingFormat"] == "text/tab-separated-values"
    assert _distributed(document)["penguins.tsv"]["contentUrl"].endswith(
        f"/api/v1/versions/{dataset.latest_version_id}/files/penguins.tsv"
    )
    assert_same_rows(frames["records"], pd.read_csv(path, sep="\t"))


def test_it_loads_a_semicolon_separated_csv_and_says_croissant_cannot_state_it(storage_root, export, penguins):
    path = storage_root / "penguins.csv"
    penguins.to_csv(path, sep=";", index=False)

    document, frames, _ = export(path, "semicolons")

    assert "';'" in document["rai:dataLimitations"]
    files = _distributed(document)
    assert (
        files["penguins.csv"]["sha256"] == Dataset.objects.get(name="semicolons").latest_version.manifest[0]["sha256"]
    )
    assert files["penguins.csv as CSV"]["contentUrl"].endswith("/files/penguins.csv?as=csv")
    assert_same_rows(frames["records"], pd.read_csv(path, sep=";"))


def test_it_loads_a_header_less_gzipped_csv_under_the_columns_the_profile_names(storage_root, export):
    iris = load_iris(as_frame=True).frame
    path = storage_root / "iris.csv.gz"
    iris.to_csv(path, header=False, index=False, compression="gzip")

    document, frames, dataset = export(path, "headerless")

    names = [feature.name for feature in dataset.latest_version.features.all()]
    assert [field["name"] for field in document["recordSet"][0]["field"]] == names
    assert "without a header row" in document["rai:dataLimitations"]
    assert_same_rows(frames["records"], pd.read_csv(path, header=None, names=names))


def test_it_loads_every_file_of_a_folder_at_the_top_and_in_subfolders(storage_root, export, penguins):
    folder = storage_root / "by-species"
    (folder / "more").mkdir(parents=True)
    paths = {
        "Adelie.csv": folder / "Adelie.csv",
        "Gentoo.csv": folder / "Gentoo.csv",
        "more/Chinstrap.csv": folder / "more" / "Chinstrap.csv",
    }
    for species, path in zip(["Adelie", "Gentoo", "Chinstrap"], paths.values(), strict=True):
        penguins[penguins["species"] == species].to_csv(path, index=False)

    document, frames, dataset = export(folder, "folder")

    files = _distributed(document)
    for entry in dataset.latest_version.manifest:
        assert files[entry["path"]]["sha256"] == entry["sha256"]
        assert files[entry["path"]]["encodingFormat"] == "text/csv"
    record_sets = {record_set["name"]: record_set for record_set in document["recordSet"]}
    assert len(record_sets) == 3
    total = 0
    for relative, path in paths.items():
        (record_set,) = [
            rs for rs in record_sets.values() if rs["field"][0]["source"]["fileObject"]["@id"] == files[relative]["@id"]
        ]
        assert_same_rows(frames[record_set["@id"]], pd.read_csv(path))
        total += len(frames[record_set["@id"]])
    assert total == len(penguins) == dataset.latest_version.row_count


def test_it_loads_a_parquet_file(storage_root, export, penguins):
    path = storage_root / "penguins.parquet"
    penguins.to_parquet(path, index=False)

    document, frames, _ = export(path, "parquet")

    assert _distributed(document)["penguins.parquet"]["encodingFormat"] == "application/x-parquet"
    assert_same_rows(frames["records"], pd.read_parquet(path))


def test_it_loads_a_json_lines_file(storage_root, export, penguins):
    path = storage_root / "penguins.jsonl"
    penguins.to_json(path, orient="records", lines=True)

    document, frames, _ = export(path, "jsonl")

    assert _distributed(document)["penguins.jsonl"]["encodingFormat"] == "application/jsonlines"
    assert_same_rows(frames["records"], pd.read_json(path, lines=True))


def test_it_loads_lists_as_arrays_and_says_which_nested_columns_it_leaves_out(storage_root, export, penguins):
    penguins = penguins.dropna().head(40)
    table = pd.DataFrame(
        {
            "species": penguins["species"].tolist(),
            "measures": [[row.bill_length_mm, row.bill_depth_mm] for row in penguins.itertuples()],
            "where": [{"island": row.island, "year": row.year} for row in penguins.itertuples()],
        }
    )
    path = storage_root / "nested.jsonl"
    table.to_json(path, orient="records", lines=True)

    document, frames, _ = export(path, "nested")

    fields = {field["name"]: field for field in document["recordSet"][0]["field"]}
    assert set(fields) == {"species", "measures"}
    assert fields["measures"]["isArray"] is True
    assert "'where'" in document["rai:dataLimitations"]
    read = frames["records"]
    assert read["species"].tolist() == table["species"].tolist()
    assert [list(map(float, value)) for value in read["measures"]] == table["measures"].tolist()
