"""Training data in Google Cloud Storage and Azure Blob Storage over HTTP, with gunicorn, real Celery
workers and local servers of their real APIs (fake-gcs-server and Azurite, tests/object_store.py; the
workers find them through STORAGE_EMULATOR_HOST and AZURE_STORAGE_CONNECTION_STRING in their
environment): a CSV object and a Parquet prefix are profiled `ready` with the statistics and the
fingerprints of the same files registered from local disk, and a missing key fails with a clear error
naming the provider's own settings. An overwritten key of a versioned GCS bucket leaves the version
reproducible at its recorded generation; in an unversioned bucket, and in Azurite (which keeps no blob
versions), an overwrite marks the version `source_changed`."""

from __future__ import annotations

import uuid

import pyarrow as pa
import pytest

from tests.e2e.test_object_store import (
    OVERWRITTEN,
    _marked_changed,
    _parquet,
    _read_by_a_run,
    _ready,
    _register,
    _same_as_local,
    _still_reproducible,
    _verified,
)
from tests.object_store import AZURE_CONTAINER, GCS_BUCKET, GCS_VERSIONED
from tests.realdata_sources import penguins, penguins_file

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(
    ("scheme", "bucket", "server"), [("gs", GCS_BUCKET, "gcs_store"), ("az", AZURE_CONTAINER, "azure_store")]
)
def test_provider_sources_profile_as_their_local_copies(people, e2e_storage_root, request, scheme, bucket, server):
    store = request.getfixturevalue(server)
    owner = people.owner
    run = uuid.uuid4().hex[:8]
    local_root = e2e_storage_root / f"{scheme}-{run}"

    data = penguins_file("penguins.csv").read_bytes()
    (local_root / "csv").mkdir(parents=True)
    (local_root / "csv" / "penguins.csv").write_bytes(data)
    store.put(bucket, f"{run}/csv/penguins.csv", data)
    local = _ready(owner, f"csv-local-{run}", {"uri": f"{local_root.name}/csv/penguins.csv"})
    remote = _ready(owner, f"csv-{scheme}-{run}", {"uri": f"{scheme}://{bucket}/{run}/csv/penguins.csv"})
    _same_as_local(local, remote)
    assert remote["row_count"] == 344

    table = pa.Table.from_pandas(penguins(), preserve_index=False)
    parts = local_root / "parquet"
    parts.mkdir()
    for index, start in enumerate(range(0, table.num_rows, 100)):
        part = _parquet(table.slice(start, 100))
        (parts / f"part-{index}.parquet").write_bytes(part)
        store.put(bucket, f"{run}/parquet/part-{index}.parquet", part)
    local = _ready(owner, f"parquet-local-{run}", {"uri": f"{local_root.name}/parquet"})
    remote = _ready(
        owner, f"parquet-{scheme}-{run}", {"uri": f"{scheme}://{bucket}/{run}/parquet/", "format": "parquet"}
    )
    _same_as_local(local, remote)
    assert [entry["path"] for entry in remote["manifest"]] == [f"part-{index}.parquet" for index in range(4)]

    missing = _register(owner, f"missing-{run}", {"uri": f"{scheme}://{bucket}/{run}/nowhere.csv"})
    version = owner.wait(missing["latest_version"]["id"], timeout=120)
    assert version["status"] == "failed"
    assert "does not exist in the object store" in version["error"]
    assert f"{run}/nowhere.csv" in version["error"]
    assert ("STORAGE_EMULATOR_HOST" if scheme == "gs" else "AZURE_STORAGE_CONNECTION_STRING") in version["error"]
    assert "AWS_" not in version["error"]


def test_an_overwritten_gcs_key_stays_reproducible_at_its_generation_only_in_a_versioned_bucket(people, gcs_store):
    owner = people.owner
    run = uuid.uuid4().hex[:8]
    data = penguins_file("penguins.csv").read_bytes()
    first = gcs_store.put(GCS_VERSIONED, f"{run}/penguins.csv", data)
    gcs_store.put(GCS_BUCKET, f"{run}/penguins.csv", data)
    kept, kept_run = _read_by_a_run(owner, f"kept-gs-{run}", f"gs://{GCS_VERSIONED}/{run}/penguins.csv")
    lost, lost_run = _read_by_a_run(owner, f"lost-gs-{run}", f"gs://{GCS_BUCKET}/{run}/penguins.csv")
    assert kept["manifest"][0]["version_id"] == first
    assert "version_id" not in lost["manifest"][0]
    assert kept["fingerprint"] == lost["fingerprint"]

    gcs_store.put(GCS_VERSIONED, f"{run}/penguins.csv", OVERWRITTEN)
    gcs_store.put(GCS_BUCKET, f"{run}/penguins.csv", OVERWRITTEN)

    report = _still_reproducible(owner, kept, kept_run, first)
    assert "gcloud storage cp" in report
    _marked_changed(owner, lost, lost_run)

    # Its dataset restricted, a second user reads neither the version nor, from the run's recipe or
    # a verification it asks for, its key or generation.
    restricted = owner.patch(f"/api/v1/datasets/{kept['dataset']}/", {"sensitivity": "restricted"})
    assert restricted.status_code == 200, restricted.text
    other = people.other
    assert other.get(f"/api/v1/versions/{kept['id']}/").status_code == 404
    for recipe in (
        other.get(f"/api/v1/training-runs/{kept_run['id']}/reproduce"),
        other.get(f"/api/v1/training-runs/{kept_run['id']}/reproduce", format="markdown"),
    ):
        assert recipe.status_code == 200, recipe.text
        assert first not in recipe.text
        assert f"{run}/penguins.csv" not in recipe.text
    verification = _verified(other, kept_run["id"])
    assert verification["status"] == "reproducible"
    assert first not in str(verification)
    assert f"{run}/penguins.csv" not in str(verification)


def test_an_overwritten_azure_blob_marks_its_version_source_changed(people, azure_store):
    """Azurite keeps no blob versions (Azurite issue #665), so this is an account without versioning:
    the manifest records the blob's ETag only, and an overwrite is found when the run is verified."""
    owner = people.owner
    run = uuid.uuid4().hex[:8]
    azure_store.put(AZURE_CONTAINER, f"{run}/penguins.csv", penguins_file("penguins.csv").read_bytes())
    lost, lost_run = _read_by_a_run(owner, f"lost-az-{run}", f"az://{AZURE_CONTAINER}/{run}/penguins.csv")
    assert "version_id" not in lost["manifest"][0]
    assert lost["manifest"][0]["etag"]

    azure_store.put(AZURE_CONTAINER, f"{run}/penguins.csv", OVERWRITTEN)

    _marked_changed(owner, lost, lost_run)
