"""Sources in object storage against a real S3 API (moto's server, tests/object_store.py): registration
and its confinement, profiling equal to the same files on local disk, exact object versions, and the
faults of a store ending in `failed` with a message to act on."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import uuid

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from catalog import pipeline, services
from catalog.models import DatasetVersion
from catalog.objects import object_covers
from tests.object_store import AZURE_CONTAINER, GCS_BUCKET, UNVERSIONED, VERSIONED
from tests.profiling.media_folders import image_folder
from tests.realdata_sources import penguins, penguins_file

pytestmark = pytest.mark.django_db

DATASETS = "/api/v1/datasets/"


@pytest.fixture
def stores(settings, object_store):
    settings.CATALOG_OBJECT_STORES = [f"s3://{VERSIONED}", f"s3://{UNVERSIONED}"]
    return object_store


def _profiled(owner, dataset, uri: str, format: str | None = None) -> DatasetVersion:
    version = services.version_create(actor=owner, dataset=dataset, uri=uri, format=format)
    pipeline.version_profile(version_id=version.pk)
    version.refresh_from_db()
    return version


def _statistics(version: DatasetVersion) -> list[tuple[str, str, dict]]:
    return [(feature.name, feature.dtype, feature.statistics) for feature in version.features.order_by("position")]


def _register(client, name: str, uri: str, **source):
    return client.post(
        DATASETS, {"namespace": "objects", "name": name, "source": {"uri": uri, **source}}, format="json"
    )


def _why(response) -> str:
    return " ".join(response.json()["errors"]["source.uri"])


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=100)
    return sink.getvalue()


# --- Confinement -----------------------------------------------------------------------------------


def test_it_matches_object_stores_on_whole_path_segments():
    assert object_covers("s3://training-data", "s3://training-data/a/b.csv")
    assert object_covers("s3://training-data", "s3://training-data/")
    assert object_covers("s3://shared/vision", "s3://shared/vision/x/*.png")
    assert not object_covers("s3://training-data", "s3://training-data-evil/a.csv")
    assert not object_covers("s3://shared/vision", "s3://shared/visionary/a.png")
    assert not object_covers("s3://shared/vision", "s3://shared/*/a.png")
    assert not object_covers("s3://training-data", "gs://training-data/a.csv")


def test_it_rejects_objects_outside_the_object_stores(owner_client, settings):
    settings.CATALOG_OBJECT_STORES = ["s3://training-data"]

    evil = _register(owner_client, "evil", "s3://training-data-evil/penguins.csv")
    other = _register(owner_client, "other", "gs://training-data/penguins.csv")

    assert evil.status_code == other.status_code == 400
    assert "CATALOG_OBJECT_STORES" in _why(evil)
    assert _register(owner_client, "inside", "s3://training-data/penguins.csv").status_code == 201


def test_it_allows_no_object_store_when_none_is_configured(owner_client, settings):
    settings.CATALOG_OBJECT_STORES = []

    response = _register(owner_client, "none", "s3://training-data/penguins.csv")

    assert response.status_code == 400
    assert "none are configured" in _why(response)


@pytest.mark.parametrize(
    "uri",
    [
        "s3://training-data/../secrets/a.csv",
        "s3://training-data//a.csv",
        "s3://training-data/./a.csv",
        "s3://key:secret@training-data/a.csv",
        "s3://training-data/a\x00.csv",
        "s3://training-data/a\n.csv",
        "s3://training-data/a\u0085.csv",
        "s3://training-data/\u202egpj.csv",
        "s3://training-data/" + "k" * 1021 + ".csv",
        "s3:///a.csv",
        "s3://training-data/**/**/**/a.csv",
    ],
)
def test_it_rejects_hostile_object_urls_with_a_400(owner_client, settings, uri):
    settings.CATALOG_OBJECT_STORES = ["s3://training-data"]

    response = _register(owner_client, "hostile", uri)

    assert response.status_code == 400, response.content
    assert _why(response)


def test_it_asks_for_the_format_of_a_prefix_it_does_not_list(owner_client, settings):
    settings.CATALOG_OBJECT_STORES = ["s3://training-data"]

    response = _register(owner_client, "prefix", "s3://training-data/tables/")

    assert response.status_code == 400
    assert "source.format" in _why(response)
    assert _register(owner_client, "given", "s3://training-data/tables/", format="parquet").status_code == 201


def test_it_lets_a_storage_location_narrow_who_registers_under_an_object_prefix(
    staff_client, owner, client_for, stranger_client, settings
):
    settings.CATALOG_OBJECT_STORES = ["s3://training-data"]
    location = staff_client.post(
        "/api/v1/storage-locations/", {"uri": "s3://training-data/private", "users": [owner.username]}, format="json"
    )
    assert location.status_code == 201, location.content

    refused = _register(stranger_client, "stranger", "s3://training-data/private/a.csv")
    wide = _register(stranger_client, "wide", "s3://training-data/*.csv")
    taking_in = _register(stranger_client, "all", "s3://training-data/", format="csv")

    assert refused.status_code == 403
    assert "storage location" in refused.json()["detail"]
    assert taking_in.status_code == 403
    assert wide.status_code == 201  # a pattern in the bucket's top folder reaches no private key
    assert _register(stranger_client, "privateer", "s3://training-data/privateer/a.csv").status_code == 201
    assert _register(client_for(owner), "owner", "s3://training-data/private/a.csv").status_code == 201


# --- The same as local files -----------------------------------------------------------------------


def test_it_profiles_a_csv_object_exactly_as_the_same_file_on_local_disk(stores, owner, dataset, storage_root):
    data = penguins_file("penguins.csv").read_bytes()
    (storage_root / "penguins.csv").write_bytes(data)
    stores.put(UNVERSIONED, "penguins/penguins.csv", data)

    local = _profiled(owner, dataset, str(storage_root / "penguins.csv"))
    remote = _profiled(owner, dataset, f"s3://{UNVERSIONED}/penguins/penguins.csv")

    assert remote.status == local.status == "ready", remote.error
    assert remote.fingerprint == local.fingerprint
    assert remote.row_count == local.row_count == 344
    assert _statistics(remote) == _statistics(local)
    assert remote.manifest[0]["path"] == "penguins.csv"
    assert remote.manifest[0]["etag"]
    assert "version_id" not in remote.manifest[0]  # an unversioned bucket


def test_it_profiles_a_prefix_of_parquet_objects_and_a_glob_as_the_same_folder(stores, owner, dataset, storage_root):
    frame = penguins()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    folder = storage_root / "parquet"
    folder.mkdir()
    for index, start in enumerate(range(0, len(frame), 120)):
        data = _parquet_bytes(table.slice(start, 120))
        (folder / f"part-{index}.parquet").write_bytes(data)
        stores.put(VERSIONED, f"tables/penguins/part-{index}.parquet", data)

    local = _profiled(owner, dataset, str(folder))
    prefix = _profiled(owner, dataset, f"s3://{VERSIONED}/tables/penguins/", format="parquet")
    pattern = _profiled(owner, dataset, f"s3://{VERSIONED}/tables/penguins/*.parquet")

    assert local.status == prefix.status == pattern.status == "ready", (prefix.error, pattern.error)
    assert prefix.fingerprint == pattern.fingerprint == local.fingerprint
    assert prefix.row_count == 344
    assert _statistics(prefix) == _statistics(local) == _statistics(pattern)
    assert [entry["path"] for entry in prefix.manifest] == ["part-0.parquet", "part-1.parquet", "part-2.parquet"]
    assert all(entry["version_id"] and entry["etag"] for entry in prefix.manifest)


def test_it_profiles_an_image_folder_under_a_prefix_with_its_splits_and_classes(stores, owner, dataset, storage_root):
    pets = image_folder(storage_root / "pets")
    stores.upload_folder(pets, UNVERSIONED, "vision/pets/")

    local = _profiled(owner, dataset, str(pets), format="images")
    remote = _profiled(owner, dataset, f"s3://{UNVERSIONED}/vision/pets/", format="images")

    assert remote.status == "ready", remote.error
    assert remote.fingerprint == local.fingerprint
    assert remote.quality["class_counts"] == local.quality["class_counts"] == {"cat": 14, "dog": 8}
    assert set(remote.profile["splits"]) == {"train", "test"}
    assert _statistics(remote) == _statistics(local)


def test_it_gives_the_object_url_as_the_croissant_content_url(stores, owner, owner_client, dataset):
    stores.put(UNVERSIONED, "croissant/penguins.csv", penguins_file("penguins.csv").read_bytes())
    version = _profiled(owner, dataset, f"s3://{UNVERSIONED}/croissant/penguins.csv")
    assert version.status == "ready", version.error

    document = owner_client.get(f"/api/v1/datasets/{dataset.pk}/card/croissant").json()

    files = [item for item in document["distribution"] if item["@type"] == "cr:FileObject"]
    assert [item["contentUrl"] for item in files] == [f"s3://{UNVERSIONED}/croissant/penguins.csv"]


# --- Exact versions ----------------------------------------------------------------------------------


def test_it_keeps_an_overwritten_versioned_object_verifiable_at_its_recorded_version(stores, owner, dataset):
    first = stores.put(VERSIONED, "kept/penguins.csv", penguins_file("penguins.csv").read_bytes())
    version = _profiled(owner, dataset, f"s3://{VERSIONED}/kept/penguins.csv")
    assert version.manifest[0]["version_id"] == first

    stores.put(VERSIONED, "kept/penguins.csv", b"species,island\nAdelie,Torgersen\n")
    outcome = pipeline.version_verify(version_id=version.pk)

    version.refresh_from_db()
    assert outcome["status"] == "unchanged", outcome
    assert outcome["fingerprint"] == version.fingerprint
    assert version.source_changed_at is None


def test_it_marks_an_overwritten_unversioned_object_source_changed(stores, owner, dataset):
    stores.put(UNVERSIONED, "changed/penguins.csv", penguins_file("penguins.csv").read_bytes())
    version = _profiled(owner, dataset, f"s3://{UNVERSIONED}/changed/penguins.csv")

    stores.put(UNVERSIONED, "changed/penguins.csv", b"species,island\nAdelie,Torgersen\n")
    outcome = pipeline.version_verify(version_id=version.pk)

    version.refresh_from_db()
    assert outcome["status"] == "changed"
    assert outcome["changed"] == ["penguins.csv"]
    assert version.source_changed_at is not None


def test_it_names_the_exact_object_versions_in_the_manifest_the_api_answers(stores, owner, owner_client, dataset):
    first = stores.put(VERSIONED, "answered/penguins.csv", penguins_file("penguins.csv").read_bytes())
    version = _profiled(owner, dataset, f"s3://{VERSIONED}/answered/penguins.csv")

    body = owner_client.get(f"/api/v1/versions/{version.pk}/").json()

    assert body["manifest"][0]["version_id"] == first
    assert body["manifest"][0]["etag"] == version.manifest[0]["etag"]


def test_it_answers_an_object_version_of_a_restricted_dataset_as_unknown_to_a_stranger(
    stores, owner, stranger_client, dataset
):
    dataset.sensitivity = "restricted"
    dataset.save(update_fields=["sensitivity"])
    stores.put(VERSIONED, "hidden/penguins.csv", penguins_file("penguins.csv").read_bytes())
    version = _profiled(owner, dataset, f"s3://{VERSIONED}/hidden/penguins.csv")

    response = stranger_client.get(f"/api/v1/versions/{version.pk}/")

    assert response.status_code == 404


# --- Faults ------------------------------------------------------------------------------------------


def test_it_fails_a_missing_key_with_a_clear_error(stores, owner, dataset):
    version = _profiled(owner, dataset, f"s3://{UNVERSIONED}/nowhere/penguins.csv")

    assert version.status == "failed"
    assert "does not exist in the object store" in version.error
    assert "nowhere/penguins.csv" in version.error


def test_it_fails_an_empty_prefix_with_a_clear_error(stores, owner, dataset):
    version = _profiled(owner, dataset, f"s3://{UNVERSIONED}/empty/", format="csv")

    assert version.status == "failed"
    assert "contains no objects" in version.error


def test_it_fails_wrong_credentials_with_a_message_naming_them(
    stores, owner, dataset, strict_object_store, monkeypatch
):
    monkeypatch.setenv("AWS_ENDPOINT_URL", strict_object_store)

    version = _profiled(owner, dataset, f"s3://{UNVERSIONED}/penguins/penguins.csv")

    assert version.status == "failed"
    assert "refused access" in version.error
    assert "AWS_ACCESS_KEY_ID" in version.error


def test_it_fails_an_unreachable_endpoint_with_a_message_naming_it(stores, owner, dataset, monkeypatch, settings):
    from tests.e2e.processes import free_port

    settings.CATALOG_OBJECT_RETRY_ATTEMPTS = 1
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")

    version = _profiled(owner, dataset, f"s3://{UNVERSIONED}/penguins/penguins.csv")

    assert version.status == "failed"
    assert "AWS_ENDPOINT_URL" in version.error


def test_it_refuses_an_object_source_no_longer_in_the_object_stores_on_the_worker(stores, owner, dataset, settings):
    stores.put(UNVERSIONED, "dropped/penguins.csv", penguins_file("penguins.csv").read_bytes())
    version = services.version_create(actor=owner, dataset=dataset, uri=f"s3://{UNVERSIONED}/dropped/penguins.csv")
    settings.CATALOG_OBJECT_STORES = [f"s3://{VERSIONED}"]

    pipeline.version_profile(version_id=version.pk)

    version.refresh_from_db()
    assert version.status == "failed"
    assert "CATALOG_OBJECT_STORES" in version.error


def test_it_leaves_no_downloaded_bytes_behind(stores, owner, dataset, settings, tmp_path):
    settings.CATALOG_DOWNLOAD_DIR = str(tmp_path / "downloads")
    (tmp_path / "downloads").mkdir()
    stores.put(UNVERSIONED, "clean/penguins.csv", penguins_file("penguins.csv").read_bytes())

    version = _profiled(owner, dataset, f"s3://{UNVERSIONED}/clean/penguins.csv")

    assert version.status == "ready", version.error
    assert list((tmp_path / "downloads").iterdir()) == []
    shutil.rmtree(tmp_path / "downloads")


def test_it_lands_an_openlineage_dataset_named_by_the_key_on_the_registered_dataset(stores, owner, dataset):
    from lineage.selectors.identities import datasets_resolve

    stores.put(UNVERSIONED, "lineage/penguins.csv", penguins_file("penguins.csv").read_bytes())
    _profiled(owner, dataset, f"s3://{UNVERSIONED}/lineage/penguins.csv")
    _profiled(owner, dataset, f"s3://{UNVERSIONED}/lineage/", format="csv")

    resolved = datasets_resolve([(f"s3://{UNVERSIONED}", "lineage/penguins.csv"), (f"s3://{UNVERSIONED}", "lineage")])

    assert resolved[(f"s3://{UNVERSIONED}", "lineage/penguins.csv")] == dataset
    assert resolved[(f"s3://{UNVERSIONED}", "lineage")] == dataset


def test_it_reads_object_keys_as_segments_never_leaving_its_folder(stores, owner, dataset):
    stores.put(UNVERSIONED, "escape/a/../../x.csv", b"a,b\n1,2\n")

    version = _profiled(owner, dataset, f"s3://{UNVERSIONED}/escape/", format="csv")

    assert version.status == "failed"
    assert "'..'" in version.error


# --- Parquet read where it is ------------------------------------------------------------------------


def test_it_reads_parquet_objects_by_range_requests_writing_nothing_to_local_disk(stores, settings, tmp_path):
    from catalog.sources import source_opened
    from profiler.files import build_manifest

    settings.CATALOG_DOWNLOAD_DIR = str(tmp_path)
    data = _parquet_bytes(pa.Table.from_pandas(penguins(), preserve_index=False))
    stores.put(VERSIONED, "ranges/penguins.parquet", data)

    with source_opened(f"s3://{VERSIONED}/ranges/penguins.parquet") as files:
        manifest = build_manifest(files)
        held = [path for path in tmp_path.rglob("*") if path.is_file()]

    assert [file.remote is not None for file in files] == [True]
    assert held == []
    assert manifest[0].size == len(data)
    assert manifest[0].sha256 == hashlib.sha256(data).hexdigest()


def test_it_fails_an_unversioned_parquet_object_overwritten_while_it_is_read(stores):
    from catalog.sources import source_opened
    from profiler.files import SourceError, build_manifest

    stores.put(UNVERSIONED, "racing/penguins.parquet", _parquet_bytes(pa.Table.from_pandas(penguins())))

    with source_opened(f"s3://{UNVERSIONED}/racing/penguins.parquet") as files:
        stores.put(UNVERSIONED, "racing/penguins.parquet", _parquet_bytes(pa.Table.from_pandas(penguins().head(5))))
        with pytest.raises(SourceError, match="overwritten"):
            build_manifest(files)


def test_it_reads_the_listed_version_of_a_versioned_parquet_object_overwritten_meanwhile(stores):
    from catalog.sources import source_opened
    from profiler.files import build_manifest

    data = _parquet_bytes(pa.Table.from_pandas(penguins(), preserve_index=False))
    stores.put(VERSIONED, "pinned/penguins.parquet", data)

    with source_opened(f"s3://{VERSIONED}/pinned/penguins.parquet") as files:
        stores.put(VERSIONED, "pinned/penguins.parquet", b"not parquet at all")
        manifest = build_manifest(files)

    assert manifest[0].sha256 == hashlib.sha256(data).hexdigest()


def test_it_answers_a_file_of_an_object_source_with_where_to_read_it_never_a_500(stores, owner, owner_client, dataset):
    stores.put(UNVERSIONED, "served/penguins.csv", penguins_file("penguins.csv").read_bytes())
    version = _profiled(owner, dataset, f"s3://{UNVERSIONED}/served/penguins.csv")

    response = owner_client.get(f"/api/v1/versions/{version.pk}/files/penguins.csv")

    assert 400 <= response.status_code < 500
    assert f"s3://{UNVERSIONED}/served/penguins.csv" in response.json()["detail"]


def test_it_refuses_a_stranger_the_objects_a_restricted_dataset_registered(
    stores, owner, owner_client, stranger_client, settings
):
    settings.CATALOG_OBJECT_STORES = [f"s3://{UNVERSIONED}"]
    registered = owner_client.post(
        DATASETS,
        {
            "namespace": "objects",
            "name": "secret",
            "sensitivity": "restricted",
            "source": {"uri": f"s3://{UNVERSIONED}/shared/penguins.csv"},
        },
        format="json",
    )
    assert registered.status_code == 201, registered.content

    same = _register(stranger_client, "same", f"s3://{UNVERSIONED}/shared/penguins.csv")
    prefix = _register(stranger_client, "prefix", f"s3://{UNVERSIONED}/shared/", format="csv")
    pattern = _register(stranger_client, "pattern", f"s3://{UNVERSIONED}/*/penguins.csv")

    assert same.status_code == prefix.status_code == pattern.status_code == 403
    assert "already registered by a dataset you may not read" in same.json()["detail"]
    assert _register(stranger_client, "beside", f"s3://{UNVERSIONED}/sharedx/penguins.csv").status_code == 201


def test_it_refuses_to_reprofile_an_object_prefix_now_narrowed_to_others(
    stores, staff_client, stranger_client, settings, django_capture_on_commit_callbacks
):
    settings.CATALOG_OBJECT_STORES = [f"s3://{UNVERSIONED}"]
    stores.put(UNVERSIONED, "narrowed/open/penguins.csv", penguins_file("penguins.csv").read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        registered = _register(stranger_client, "narrowed", f"s3://{UNVERSIONED}/narrowed/", format="csv")
    assert registered.status_code == 201, registered.content
    version_id = registered.json()["latest_version"]["id"]
    assert stranger_client.get(f"/api/v1/versions/{version_id}/").json()["status"] == "ready"
    # Later, staff narrow a prefix below it.
    location = staff_client.post(
        "/api/v1/storage-locations/", {"uri": f"s3://{UNVERSIONED}/narrowed/team", "users": []}, format="json"
    )
    assert location.status_code == 201, location.content

    refused = stranger_client.post(f"/api/v1/versions/{version_id}/reprofile/")

    assert refused.status_code == 403, refused.content
    assert "storage location" in refused.json()["detail"]
    assert staff_client.post(f"/api/v1/versions/{version_id}/reprofile/").status_code == 202


# --- Hive-style partitions ---------------------------------------------------------------------------


def _hive_folder(folder, stores, prefix: str) -> None:
    frame = penguins()
    for (year, island), rows in frame.groupby(["year", "island"]):
        key = f"year={year}/island={island}/part-0.parquet"
        data = _parquet_bytes(pa.Table.from_pandas(rows.drop(columns=["year", "island"]), preserve_index=False))
        (folder / key).parent.mkdir(parents=True, exist_ok=True)
        (folder / key).write_bytes(data)
        stores.put(UNVERSIONED, prefix + key, data)


def test_it_makes_hive_partition_keys_typed_features_locally_and_in_object_storage(
    stores, owner, dataset, storage_root
):
    _hive_folder(storage_root / "hive", stores, "hive/penguins/")
    splits = {"train": "year=2007/**", "validation": "year=2008/**", "test": "year=2009/**"}

    version_create = services.version_create
    local = version_create(
        actor=owner, dataset=dataset, uri=str(storage_root / "hive"), format="parquet", splits=splits
    )
    remote = version_create(
        actor=owner, dataset=dataset, uri=f"s3://{UNVERSIONED}/hive/penguins/", format="parquet", splits=splits
    )
    for version in (local, remote):
        pipeline.version_profile(version_id=version.pk)
        version.refresh_from_db()
        assert version.status == "ready", version.error

    features = {feature.name: feature for feature in remote.features.all()}
    assert features["year"].dtype == "int64"
    assert features["island"].dtype == "string"
    assert features["island"].statistics["null_count"] == 0
    assert features["year"].statistics["min"] == 2007
    assert features["year"].statistics["max"] == 2009
    assert remote.row_count == local.row_count == 344
    assert remote.fingerprint == local.fingerprint
    assert _statistics(remote) == _statistics(local)
    assert set(remote.profile["splits"]) == {"train", "validation", "test"}


def test_it_reads_hive_values_from_folders_only_and_types_them():
    from profiler.readers.parquet import hive_values

    values = {
        key: (value.as_py(), str(value.type))
        for key, value in hive_values("year=2026/month=01/day=x/p=1.5/a=b.parquet")
    }

    assert values == {"year": (2026, "int64"), "month": (1, "int64"), "day": ("x", "string"), "p": (1.5, "double")}
    assert hive_values("plain/folder/part-0.parquet") == []
    assert [key for key, _ in hive_values("k=1/k=2/part.parquet")] == ["k"]


# --- Spread over workers ---------------------------------------------------------------------------


def _chord(owner, dataset, settings, uri: str, format: str | None = None) -> tuple[DatasetVersion, uuid.UUID, int]:
    """A version planned and hashed as the first worker of a chord does: its parts handed out."""
    version = services.version_create(actor=owner, dataset=dataset, uri=uri, format=format)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    dispatched: list[dict] = []
    claim = uuid.uuid4()
    status = pipeline.version_profile(
        version_id=version.pk, claim=claim, dispatch_parts=lambda **kwargs: dispatched.append(kwargs)
    )
    assert status == "profiling", DatasetVersion.objects.get(pk=version.pk).error
    return version, claim, dispatched[0]["parts"]


def test_the_parts_of_an_object_source_read_their_objects_themselves_and_merge_into_one_profile(
    stores, owner, dataset, settings, monkeypatch
):
    table = pa.Table.from_pandas(penguins(), preserve_index=False)
    for index, start in enumerate(range(0, table.num_rows, 120)):
        stores.put(VERSIONED, f"chord/penguins/part-{index}.parquet", _parquet_bytes(table.slice(start, 120)))
    uri = f"s3://{VERSIONED}/chord/penguins/"
    whole = _profiled(owner, dataset, uri, format="parquet")
    version, claim, parts = _chord(owner, dataset, settings, uri, format="parquet")
    assert parts == 3

    # A part neither lists the source nor downloads anything: it reads the objects the plan recorded.
    import catalog.objects

    def no_listing(*args, **kwargs):
        raise AssertionError("a part listed the source again")

    monkeypatch.setattr(catalog.objects, "objects_list", no_listing)
    for index in range(parts):
        assert pipeline.version_profile_part(version_id=version.pk, claim=claim, index=index)
    assert pipeline.version_merge_parts(version_id=version.pk, claim=claim, parts=parts) == "ready"

    version.refresh_from_db()
    assert version.fingerprint == whole.fingerprint
    assert version.row_count == whole.row_count == 344
    assert [(entry["path"], entry["version_id"]) for entry in version.manifest] == [
        (entry["path"], entry["version_id"]) for entry in whole.manifest
    ]
    assert _statistics(version) == _statistics(whole)


def test_a_part_reads_the_versioned_object_it_was_planned_on_after_the_key_is_overwritten(
    stores, owner, dataset, settings
):
    table = pa.Table.from_pandas(penguins(), preserve_index=False)
    for index, start in enumerate(range(0, table.num_rows, 200)):
        stores.put(VERSIONED, f"pinned-chord/part-{index}.parquet", _parquet_bytes(table.slice(start, 200)))
    version, claim, parts = _chord(owner, dataset, settings, f"s3://{VERSIONED}/pinned-chord/", format="parquet")
    stores.put(VERSIONED, "pinned-chord/part-1.parquet", b"not parquet at all")

    for index in range(parts):
        assert pipeline.version_profile_part(version_id=version.pk, claim=claim, index=index)
    assert pipeline.version_merge_parts(version_id=version.pk, claim=claim, parts=parts) == "ready"
    version.refresh_from_db()
    assert version.row_count == 344


def test_a_part_fails_clearly_when_its_unversioned_object_was_overwritten_after_planning(
    stores, owner, dataset, settings
):
    table = pa.Table.from_pandas(penguins(), preserve_index=False)
    for index, start in enumerate(range(0, table.num_rows, 200)):
        stores.put(UNVERSIONED, f"racing-chord/part-{index}.parquet", _parquet_bytes(table.slice(start, 200)))
    version, claim, _parts = _chord(owner, dataset, settings, f"s3://{UNVERSIONED}/racing-chord/", format="parquet")
    stores.put(UNVERSIONED, "racing-chord/part-1.parquet", _parquet_bytes(table.slice(0, 5)))

    assert pipeline.version_profile_part(version_id=version.pk, claim=claim, index=1) is False

    version.refresh_from_db()
    assert version.status == "failed"
    assert "part-1.parquet was overwritten since it was listed" in version.error


def test_objects_read_as_files_are_copied_one_at_a_time_and_hashed_from_that_read(stores, tmp_path, settings):
    """Local disk holds at most one object of a source: the copy a reader of files needs replaces the
    one before it, and goes when the source is closed; its hash comes from the same read."""
    from catalog.sources import source_opened
    from profiler.files import build_manifest, hash_file, open_file

    contents = {f"part-{index}.csv": f"a,b\n{index},{index * 2}\n".encode() * (index + 1) for index in range(3)}
    for name, data in contents.items():
        stores.put(UNVERSIONED, f"one-at-a-time/{name}", data)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    settings.CATALOG_DOWNLOAD_DIR = str(downloads)
    with source_opened(f"s3://{UNVERSIONED}/one-at-a-time/") as files:
        assert list(downloads.iterdir()) == []  # nothing copied before a reader asks for a file
        for file in files:
            with os.fdopen(open_file(file), "rb") as handle:
                assert handle.read() == contents[file.relative_path]
            assert len(list(downloads.iterdir())) == 1  # this object's copy only
            assert hash_file(file) == (
                len(contents[file.relative_path]),
                hashlib.sha256(contents[file.relative_path]).hexdigest(),
            )
        manifest = build_manifest(files)
    assert list(downloads.iterdir()) == []
    assert [entry.path for entry in manifest] == sorted(contents)


def test_a_prefix_of_csv_objects_is_spread_over_parts_that_each_copy_only_their_own_object(
    stores, owner, dataset, settings
):
    for index in range(3):
        rows = "".join(f"{index * 100 + row},{row % 7},{'spam' if row % 3 else 'ham'}\n" for row in range(100))
        stores.put(UNVERSIONED, f"csv-chord/part-{index}.csv", ("id,score,label\n" + rows).encode())
    uri = f"s3://{UNVERSIONED}/csv-chord/"
    whole = _profiled(owner, dataset, uri, format="csv")
    version, claim, parts = _chord(owner, dataset, settings, uri, format="csv")
    assert parts == 3
    for index in range(parts):
        assert pipeline.version_profile_part(version_id=version.pk, claim=claim, index=index)
    assert pipeline.version_merge_parts(version_id=version.pk, claim=claim, parts=parts) == "ready"
    version.refresh_from_db()
    assert version.fingerprint == whole.fingerprint
    assert version.row_count == whole.row_count == 300
    assert _statistics(version) == _statistics(whole)


def test_an_object_read_at_any_offset_gives_its_bytes_by_few_requests(stores):
    """The reads a Parquet reader makes (the tail first, then forwards, now and then a step back or
    a jump ahead) give the object's bytes exactly, whatever share of a range each response piece
    holds; a hashing reader hashes the whole object from one stream."""
    from catalog.sources import source_opened
    from profiler.objects import SKIP, ObjectReader

    data = np.random.default_rng(5).bytes(3 * SKIP + 12345)
    stores.put(UNVERSIONED, "blobs/data.bin", data)
    with source_opened(f"s3://{UNVERSIONED}/blobs/data.bin") as files:
        remote = files[0].remote
    reads = [(len(data) - 65536, 65536), (10, 1000), (5000, 3_000_000), (4000, 2000), (2 * SKIP + 17, 10**6)]
    for hashing in (False, True):
        reader = ObjectReader(remote, "data.bin", hashing=hashing)
        try:
            for start, length in reads:
                assert reader.read_at(start, length) == data[start : start + length]
            if hashing:
                assert reader.digest() == (len(data), hashlib.sha256(data).hexdigest())
                # The tail, one stream from the first byte, and the jump ahead a range of its own.
                assert reader.requests == 3
            else:
                assert reader.requests == 3  # the tail, a stream, and the stream again after the jump
        finally:
            reader.close()


def test_a_source_s_readers_hold_the_bytes_of_one_object_at_a_time_and_hash_each_whole(stores):
    """Reading another object lets go of the stream and the kept bytes of the one before; its hash
    goes on from where its stream stopped when it is asked for."""
    from catalog.sources import source_opened
    from profiler.files import hash_file, read_bytes
    from profiler.objects import _SHARED, SKIP

    rng = np.random.default_rng(6)
    contents = {f"blob-{index}.bin": rng.bytes(3 * SKIP + index) for index in range(2)}
    for name, data in contents.items():
        stores.put(UNVERSIONED, f"released/{name}", data)
    with source_opened(f"s3://{UNVERSIONED}/released/") as files:
        first, second = files
        assert read_bytes(first, 1_000_000) == contents[first.relative_path][:1_000_000]
        assert read_bytes(second, 1_000_000) == contents[second.relative_path][:1_000_000]
        shared = _SHARED.get()
        assert shared is not None
        held = {remote.key.rpartition("/")[2]: reader._kept_bytes for remote, reader in shared.readers.items()}
        assert held["blob-0.bin"] == 0  # let go of when the second object was read
        assert 1_000_000 <= held["blob-1.bin"] < SKIP
        for file in files:
            data = contents[file.relative_path]
            assert hash_file(file) == (len(data), hashlib.sha256(data).hexdigest())


# --- Google Cloud Storage (a real GCS JSON API: fake-gcs-server, tests/object_store.py) ---------------


@pytest.fixture
def gcs(settings, gcs_store):
    settings.CATALOG_OBJECT_STORES = [f"gs://{GCS_BUCKET}"]
    return gcs_store


def test_it_profiles_a_csv_object_in_gcs_exactly_as_the_same_file_on_local_disk(gcs, owner, dataset, storage_root):
    data = penguins_file("penguins.csv").read_bytes()
    (storage_root / "penguins.csv").write_bytes(data)
    gcs.put(GCS_BUCKET, "penguins/penguins.csv", data)

    local = _profiled(owner, dataset, str(storage_root / "penguins.csv"))
    remote = _profiled(owner, dataset, f"gs://{GCS_BUCKET}/penguins/penguins.csv")

    assert remote.status == local.status == "ready", remote.error
    assert remote.fingerprint == local.fingerprint
    assert remote.row_count == local.row_count == 344
    assert _statistics(remote) == _statistics(local)
    assert remote.manifest[0]["path"] == "penguins.csv"
    assert remote.manifest[0]["etag"]


# --- Azure Blob Storage (a real Azure Blob API: Azurite, tests/object_store.py) -----------------------


@pytest.fixture
def azure(settings, azure_store):
    settings.CATALOG_OBJECT_STORES = [f"az://{AZURE_CONTAINER}", f"abfs://{AZURE_CONTAINER}"]
    return azure_store


def test_it_profiles_a_csv_blob_exactly_as_the_same_file_on_local_disk(azure, owner, dataset, storage_root):
    data = penguins_file("penguins.csv").read_bytes()
    (storage_root / "penguins.csv").write_bytes(data)
    azure.put(AZURE_CONTAINER, "penguins/penguins.csv", data)

    local = _profiled(owner, dataset, str(storage_root / "penguins.csv"))
    remote = _profiled(owner, dataset, f"az://{AZURE_CONTAINER}/penguins/penguins.csv")
    abfs = _profiled(owner, dataset, f"abfs://{AZURE_CONTAINER}/penguins/penguins.csv")

    assert remote.status == abfs.status == local.status == "ready", (remote.error, abfs.error)
    assert remote.fingerprint == abfs.fingerprint == local.fingerprint
    assert remote.row_count == local.row_count == 344
    assert _statistics(remote) == _statistics(local)
    assert remote.manifest[0]["etag"]


# --- Both: GCS and Azure read the same way -------------------------------------------------------------


@pytest.fixture(params=["gs", "az"])
def provider(request):
    """(the store, the URL of its bucket or container) of each provider the fsspec code reads besides S3."""
    if request.param == "gs":
        return request.getfixturevalue("gcs"), f"gs://{GCS_BUCKET}"
    return request.getfixturevalue("azure"), f"az://{AZURE_CONTAINER}"


def _put(store, base: str, key: str, data: bytes) -> None:
    store.put(base.partition("://")[2], key, data)


def test_it_profiles_a_gcs_or_azure_parquet_prefix_and_a_glob_as_the_same_folder(
    provider, owner, dataset, storage_root
):
    store, base = provider
    frame = penguins()
    table = pa.Table.from_pandas(frame, preserve_index=False)
    folder = storage_root / "parquet"
    folder.mkdir()
    for index, start in enumerate(range(0, len(frame), 120)):
        data = _parquet_bytes(table.slice(start, 120))
        (folder / f"part-{index}.parquet").write_bytes(data)
        _put(store, base, f"tables/penguins/part-{index}.parquet", data)

    local = _profiled(owner, dataset, str(folder))
    prefix = _profiled(owner, dataset, f"{base}/tables/penguins/", format="parquet")
    pattern = _profiled(owner, dataset, f"{base}/tables/penguins/*.parquet")

    assert local.status == prefix.status == pattern.status == "ready", (prefix.error, pattern.error)
    assert prefix.fingerprint == pattern.fingerprint == local.fingerprint
    assert prefix.row_count == 344
    assert _statistics(prefix) == _statistics(local) == _statistics(pattern)
    assert [entry["path"] for entry in prefix.manifest] == ["part-0.parquet", "part-1.parquet", "part-2.parquet"]


def test_it_fails_a_missing_gcs_or_azure_key_with_a_clear_error(provider, owner, dataset):
    _store, base = provider
    version = _profiled(owner, dataset, f"{base}/nowhere/penguins.csv")

    assert version.status == "failed"
    assert "does not exist in the object store" in version.error
    assert "nowhere/penguins.csv" in version.error


def test_it_marks_an_overwritten_gcs_or_azure_object_source_changed(provider, owner, dataset):
    store, base = provider
    _put(store, base, "changed/penguins.csv", penguins_file("penguins.csv").read_bytes())
    version = _profiled(owner, dataset, f"{base}/changed/penguins.csv")
    assert version.status == "ready", version.error

    _put(store, base, "changed/penguins.csv", b"species,island\nAdelie,Torgersen\n")
    outcome = pipeline.version_verify(version_id=version.pk)

    assert outcome["status"] == "changed", outcome
    assert outcome["changed"] == ["penguins.csv"]
