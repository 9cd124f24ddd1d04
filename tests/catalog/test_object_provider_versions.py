"""Exact object versions and faults of gs:// and az:// sources, against real servers of their APIs
(fake-gcs-server and Azurite, tests/object_store.py): a versioned GCS bucket's generation recorded and
read again after its key is overwritten, an Azure version id carried from the listing to every read,
and each provider's faults ending `failed` with a message naming that provider's own settings."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pytest

from catalog import pipeline
from catalog.objects import ObjectURL, _object, _pinned, objects_opened
from catalog.sources import source_opened
from profiler.files import ManifestEntry, SourceError, build_manifest
from profiler.objects import ObjectReader
from tests.catalog.test_object_sources import _parquet_bytes, _profiled, _put
from tests.object_store import AZURE_CONTAINER, AZURITE_KEY, GCS_BUCKET, GCS_VERSIONED
from tests.realdata_sources import penguins, penguins_file

pytestmark = pytest.mark.django_db

OTHER_BYTES = b"species,island\nAdelie,Torgersen\n"


@pytest.fixture
def gcs_versions(settings, gcs_store):
    settings.CATALOG_OBJECT_STORES = [f"gs://{GCS_BUCKET}", f"gs://{GCS_VERSIONED}"]
    return gcs_store


@pytest.fixture
def blobs(settings, azure_store):
    settings.CATALOG_OBJECT_STORES = [f"az://{AZURE_CONTAINER}"]
    return azure_store


@pytest.fixture(params=["gs", "az"])
def unversioned(request):
    """(the store, the URL of a bucket or container) where no version is kept: an unversioned GCS
    bucket, and Azurite (which keeps no blob versions)."""
    if request.param == "gs":
        return request.getfixturevalue("gcs_versions"), f"gs://{GCS_BUCKET}"
    return request.getfixturevalue("blobs"), f"az://{AZURE_CONTAINER}"


# --- GCS: a versioned bucket's generations ------------------------------------------------------------


def test_it_keeps_an_overwritten_object_of_a_versioned_gcs_bucket_verifiable_at_its_generation(
    gcs_versions, owner, dataset
):
    data = penguins_file("penguins.csv").read_bytes()
    first = gcs_versions.put(GCS_VERSIONED, "kept/penguins.csv", data)
    gcs_versions.put(GCS_BUCKET, "kept/penguins.csv", data)
    version = _profiled(owner, dataset, f"gs://{GCS_VERSIONED}/kept/penguins.csv")
    unversioned = _profiled(owner, dataset, f"gs://{GCS_BUCKET}/kept/penguins.csv")
    assert version.status == unversioned.status == "ready", (version.error, unversioned.error)
    assert version.manifest[0]["version_id"] == first
    # The generation is where the bytes are, not what they are: the same bytes, the same fingerprint.
    assert "version_id" not in unversioned.manifest[0]
    assert version.fingerprint == unversioned.fingerprint

    gcs_versions.put(GCS_VERSIONED, "kept/penguins.csv", OTHER_BYTES)
    outcome = pipeline.version_verify(version_id=version.pk)

    version.refresh_from_db()
    assert outcome["status"] == "unchanged", outcome
    assert outcome["fingerprint"] == version.fingerprint
    assert version.source_changed_at is None


def test_it_reads_the_listed_generation_of_a_versioned_gcs_parquet_object_overwritten_meanwhile(gcs_versions):
    data = _parquet_bytes(pa.Table.from_pandas(penguins(), preserve_index=False))
    gcs_versions.put(GCS_VERSIONED, "pinned/penguins.parquet", data)

    with source_opened(f"gs://{GCS_VERSIONED}/pinned/penguins.parquet") as files:
        gcs_versions.put(GCS_VERSIONED, "pinned/penguins.parquet", b"not parquet at all")
        manifest = build_manifest(files)

    assert manifest[0].sha256 == hashlib.sha256(data).hexdigest()


def test_a_versioned_gcs_prefix_overwritten_and_thinned_stays_verifiable_at_its_generations(
    gcs_versions, owner, dataset
):
    table = pa.Table.from_pandas(penguins(), preserve_index=False)
    for index, start in enumerate(range(0, table.num_rows, 100)):
        gcs_versions.put(GCS_VERSIONED, f"thinned/part-{index}.parquet", _parquet_bytes(table.slice(start, 100)))
    version = _profiled(owner, dataset, f"gs://{GCS_VERSIONED}/thinned/", format="parquet")
    assert version.status == "ready", version.error
    generations = [entry["version_id"] for entry in version.manifest]
    assert len(generations) == 4
    assert all(generations)

    gcs_versions.put(GCS_VERSIONED, "thinned/part-1.parquet", _parquet_bytes(table.slice(0, 10)))
    gcs_versions.delete(GCS_VERSIONED, "thinned/part-3.parquet")
    outcome = pipeline.version_verify(version_id=version.pk)

    version.refresh_from_db()
    assert outcome["status"] == "unchanged", outcome
    assert [entry["version_id"] for entry in version.manifest] == generations
    assert version.source_changed_at is None


# --- Both: an unversioned bucket (and Azurite, which keeps no blob versions) ----------------------------


def test_it_fails_an_object_overwritten_while_it_is_read_where_no_version_is_kept(unversioned):
    store, base = unversioned
    _put(store, base, "racing/penguins.parquet", _parquet_bytes(pa.Table.from_pandas(penguins())))

    with source_opened(f"{base}/racing/penguins.parquet") as files:
        assert files[0].version_id is None
        _put(store, base, "racing/penguins.parquet", _parquet_bytes(pa.Table.from_pandas(penguins().head(5))))
        with pytest.raises(SourceError, match="overwritten since it was listed"):
            build_manifest(files)


# --- Azure: a version id from the listing to every read ------------------------------------------------


def test_it_carries_an_azure_version_id_from_the_listing_to_the_path_adlfs_reads(blobs):
    """Azurite keeps no blob versions (Azurite issue #665): the details are those adlfs lists for a
    blob of an account that does (`version_id`, with `is_current_version`)."""
    version_id = "2026-12-05T23:09:09.1234567Z"
    details = {
        "name": f"{AZURE_CONTAINER}/kept/penguins.csv",
        "size": 1234,
        "etag": '"0x8DD1234ABCD5678"',
        "version_id": version_id,
        "is_current_version": True,
        "type": "file",
    }
    listed = _object("penguins.csv", details["name"], details)
    assert (listed.version_id, listed.etag) == (version_id, "0x8DD1234ABCD5678")

    entry = ManifestEntry(
        path=listed.relative_path, size=listed.size, sha256="0" * 64, etag=listed.etag, version_id=listed.version_id
    ).as_dict()
    assert entry["version_id"] == version_id
    url = ObjectURL("az", AZURE_CONTAINER, "kept/penguins.csv")
    assert _pinned(url, [entry]) == [listed]

    with objects_opened(str(url), manifest=[entry]) as files:
        remote = files[0].remote
        assert remote is not None
        assert (files[0].version_id, remote.version_id) == (version_id, version_id)
        reader = ObjectReader(remote, files[0].relative_path, hashing=False)
        try:
            path, options = reader._located()
            # adlfs's own parsing of the path its reads are given names the blob and the version.
            assert reader._fs.split_path(path) == (AZURE_CONTAINER, "kept/penguins.csv", version_id)
            assert options == {}
            assert f"version {version_id}" in reader._where
        finally:
            reader.close()


# --- Faults, each message naming its provider's settings ----------------------------------------------


def test_it_fails_a_missing_gcs_key_naming_the_gcs_endpoint_setting(gcs_versions, owner, dataset):
    version = _profiled(owner, dataset, f"gs://{GCS_BUCKET}/nowhere/penguins.csv")

    assert version.status == "failed"
    assert "does not exist in the object store" in version.error
    assert "nowhere/penguins.csv" in version.error
    assert "STORAGE_EMULATOR_HOST" in version.error
    assert "AWS_" not in version.error


def test_it_fails_an_unreachable_gcs_endpoint_naming_its_setting(gcs_versions, owner, dataset, monkeypatch, settings):
    from tests.e2e.processes import free_port

    settings.CATALOG_OBJECT_RETRY_ATTEMPTS = 1
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{free_port()}")

    version = _profiled(owner, dataset, f"gs://{GCS_BUCKET}/penguins/penguins.csv")

    assert version.status == "failed"
    assert "endpoint cannot be reached" in version.error
    assert "STORAGE_EMULATOR_HOST" in version.error
    assert "AWS_" not in version.error


def test_it_fails_a_missing_azure_blob_naming_the_azure_account_settings(blobs, owner, dataset):
    version = _profiled(owner, dataset, f"az://{AZURE_CONTAINER}/nowhere/penguins.csv")

    assert version.status == "failed"
    assert "does not exist in the object store" in version.error
    assert "nowhere/penguins.csv" in version.error
    assert "AZURE_STORAGE_CONNECTION_STRING" in version.error
    assert "AWS_" not in version.error


def test_it_fails_a_wrong_azure_account_key_naming_the_azure_credentials(blobs, owner, dataset, monkeypatch):
    wrong_key = "A" * 86 + "=="
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", blobs.connection_string.replace(AZURITE_KEY, wrong_key))
    blobs.put(AZURE_CONTAINER, "guarded/penguins.csv", penguins_file("penguins.csv").read_bytes())

    version = _profiled(owner, dataset, f"az://{AZURE_CONTAINER}/guarded/penguins.csv")

    assert version.status == "failed"
    assert "refused access" in version.error
    assert "AZURE_STORAGE_CONNECTION_STRING" in version.error
    assert "AWS_" not in version.error
    assert wrong_key not in version.error
