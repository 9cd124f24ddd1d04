"""The SPDX export of real data (tests/realdata.py): a table, a Parquet file and a folder of CSV files, each
registered through the API, described as a valid SPDX 3.0.1 dataset package whose files carry the sha256 of
the bytes on disk."""

import hashlib
import shutil

import pytest

from catalog.models import Dataset
from tests.realdata import CASES
from tests.spdx import assert_valid_spdx, by_id, by_type

CHOSEN = {
    "penguins/penguins.csv": {"structured", "numeric", "categorical"},
    "sklearn/iris.parquet": {"structured", "numeric", "categorical"},
    "statsmodels/randhie-parts": {"structured", "numeric"},
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", [pytest.param(case, id=case.name) for case in CASES if case.name in CHOSEN])
def test_a_real_dataset_is_a_valid_package_whose_file_hashes_are_its_bytes(
    case, realdata_dir, storage_root, owner_client, django_capture_on_commit_callbacks
):
    target = storage_root / case.name.replace("/", "-")
    if case.path(realdata_dir).is_dir():
        shutil.copytree(case.path(realdata_dir), target)
    else:
        shutil.copyfile(case.path(realdata_dir), target)
    source = {"uri": str(target), "format": case.format, **({"label_column": case.label} if case.label else {})}
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            "/api/v1/datasets/",
            {"namespace": "realdata", "name": target.name.lower(), "license": "CC0-1.0", "source": source},
            format="json",
        )
    assert response.status_code == 201, response.content
    version = Dataset.objects.get(pk=response.json()["id"]).latest_version
    assert version.status == "ready", version.error

    document = owner_client.get(f"/api/v1/versions/{version.pk}/spdx").json()

    (package,) = by_type(document, "dataset_DatasetPackage")
    assert CHOSEN[case.name] <= set(package["dataset_datasetType"])
    assert package["dataset_datasetSize"] == sum(entry["size"] for entry in version.manifest)
    elements = by_id(document)
    files = [
        elements[target_id]
        for rel in by_type(document, "Relationship")
        if rel["relationshipType"] == "hasDataFile"
        for target_id in rel["to"]
    ]
    assert len(files) == len(version.manifest) >= 1
    on_disk = {
        (path.relative_to(target).as_posix() if target.is_dir() else target.name): hashlib.sha256(
            path.read_bytes()
        ).hexdigest()
        for path in ([p for p in target.rglob("*") if p.is_file()] if target.is_dir() else [target])
    }
    stated = {file["name"]: file["verifiedUsing"][0]["hashValue"] for file in files}
    assert stated == {entry["path"]: entry["sha256"] for entry in version.manifest}
    assert {path: digest for path, digest in on_disk.items() if path in stated} == stated
    assert_valid_spdx(document)
