"""Training data in object storage over HTTP, with gunicorn, real Celery workers and a local S3 server
(moto's, tests/object_store.py): a CSV object, a Parquet prefix of several objects, a hive-partitioned
Parquet dataset (its partition key a feature) and an image folder under a prefix are profiled `ready` with the statistics and the
fingerprints of the same files registered from local disk; an object outside CATALOG_OBJECT_STORES is
a 400; a missing key fails with a clear error; an overwritten key (a CSV object, downloaded; Parquet
parts, read where they are, one overwritten and one deleted) leaves the old version verifiable and
reproducible in a versioned bucket, and marks the version `source_changed` in an unversioned one.

Wrong credentials, a denied permission, an unreachable endpoint and throttling need workers with an
environment of their own: tests/e2e/test_object_store_faults.py."""

from __future__ import annotations

import io
import shutil
import time
import uuid

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.object_store import UNVERSIONED, VERSIONED
from tests.profiling.media_folders import image_folder
from tests.realdata_sources import penguins, penguins_file

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _register(caller, name: str, source: dict) -> dict:
    response = caller.post("/api/v1/datasets/", {"namespace": "objects-e2e", "name": name, "source": source})
    assert response.status_code == 201, response.text
    return response.json()


def _ready(caller, name: str, source: dict) -> dict:
    version = caller.wait(_register(caller, name, source)["latest_version"]["id"], timeout=120)
    assert version["status"] == "ready", version["error"]
    return version


def _statistics(version: dict) -> list[tuple]:
    return [(feature["name"], feature["dtype"], feature["statistics"]) for feature in version["features"]]


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=50)
    return sink.getvalue()


def _same_as_local(local: dict, remote: dict) -> None:
    assert remote["fingerprint"] == local["fingerprint"]
    assert remote["row_count"] == local["row_count"]
    assert _statistics(remote) == _statistics(local)


def test_object_sources_profile_as_their_local_copies(people, e2e_storage_root, object_store):
    owner = people.owner
    run = uuid.uuid4().hex[:8]
    local_root = e2e_storage_root / f"objects-{run}"

    # A CSV object.
    data = penguins_file("penguins.csv").read_bytes()
    (local_root / "csv").mkdir(parents=True)
    (local_root / "csv" / "penguins.csv").write_bytes(data)
    object_store.put(UNVERSIONED, f"{run}/csv/penguins.csv", data)
    local = _ready(owner, f"csv-local-{run}", {"uri": f"{local_root.name}/csv/penguins.csv"})
    remote = _ready(owner, f"csv-s3-{run}", {"uri": f"s3://{UNVERSIONED}/{run}/csv/penguins.csv"})
    _same_as_local(local, remote)
    assert remote["row_count"] == 344

    # A Parquet prefix of several objects.
    table = pa.Table.from_pandas(penguins(), preserve_index=False)
    parts = local_root / "parquet"
    parts.mkdir()
    for index, start in enumerate(range(0, table.num_rows, 100)):
        part = _parquet(table.slice(start, 100))
        (parts / f"part-{index}.parquet").write_bytes(part)
        object_store.put(VERSIONED, f"{run}/parquet/part-{index}.parquet", part)
    local = _ready(owner, f"parquet-local-{run}", {"uri": f"{local_root.name}/parquet"})
    remote = _ready(owner, f"parquet-s3-{run}", {"uri": f"s3://{VERSIONED}/{run}/parquet/", "format": "parquet"})
    _same_as_local(local, remote)
    assert len(remote["manifest"]) == 4
    assert all(entry["version_id"] for entry in remote["manifest"])

    # A hive-partitioned Parquet dataset.
    frame = penguins()
    hive = local_root / "hive"
    for island, rows in frame.groupby("island"):
        key = f"island={island}/part-0.parquet"
        part = _parquet(pa.Table.from_pandas(rows.drop(columns="island"), preserve_index=False))
        (hive / key).parent.mkdir(parents=True)
        (hive / key).write_bytes(part)
        object_store.put(UNVERSIONED, f"{run}/hive/{key}", part)
    local = _ready(owner, f"hive-local-{run}", {"uri": f"{local_root.name}/hive"})
    remote = _ready(owner, f"hive-s3-{run}", {"uri": f"s3://{UNVERSIONED}/{run}/hive/", "format": "parquet"})
    _same_as_local(local, remote)
    assert remote["row_count"] == 344
    island = next(feature for feature in remote["features"] if feature["name"] == "island")
    assert island["dtype"] == "string"  # the partition key, a feature of every row

    # An image folder under a prefix.
    pets = image_folder(local_root / "pets")
    object_store.upload_folder(pets, UNVERSIONED, f"{run}/pets/")
    local = _ready(owner, f"pets-local-{run}", {"uri": f"{local_root.name}/pets", "format": "images"})
    remote = _ready(owner, f"pets-s3-{run}", {"uri": f"s3://{UNVERSIONED}/{run}/pets/", "format": "images"})
    assert remote["fingerprint"] == local["fingerprint"]
    assert _statistics(remote) == _statistics(local)
    shutil.rmtree(local_root)


def test_object_sources_are_confined_and_fail_clearly(people, object_store):
    owner = people.owner
    run = uuid.uuid4().hex[:8]

    outside = owner.post(
        "/api/v1/datasets/",
        {"namespace": "objects-e2e", "name": f"outside-{run}", "source": {"uri": "s3://versioned-evil/a.csv"}},
    )
    assert outside.status_code == 400
    assert "CATALOG_OBJECT_STORES" in outside.text

    missing = _register(owner, f"missing-{run}", {"uri": f"s3://{UNVERSIONED}/{run}/nowhere.csv"})
    version = owner.wait(missing["latest_version"]["id"], timeout=120)
    assert version["status"] == "failed"
    assert "does not exist in the object store" in version["error"]

    object_store.put(UNVERSIONED, f"{run}/secret.csv", penguins_file("penguins.csv").read_bytes())
    secret = owner.post(
        "/api/v1/datasets/",
        {
            "namespace": "objects-e2e",
            "name": f"secret-{run}",
            "sensitivity": "restricted",
            "source": {"uri": f"s3://{UNVERSIONED}/{run}/secret.csv"},
        },
    ).json()
    assert owner.wait(secret["latest_version"]["id"], timeout=120)["status"] == "ready"
    assert people.other.get(f"/api/v1/datasets/{secret['id']}/").status_code == 404
    assert people.other.get(f"/api/v1/versions/{secret['latest_version']['id']}/").status_code == 404


def _verified(caller, run_id: str) -> dict:
    assert caller.post(f"/api/v1/training-runs/{run_id}/verify/").status_code == 202
    deadline = time.monotonic() + 90
    verification: dict = {}
    while time.monotonic() < deadline:
        verification = caller.get(f"/api/v1/training-runs/{run_id}/").json()["verification"] or {}
        if verification.get("status") not in (None, "pending"):
            return verification
        time.sleep(0.3)
    raise AssertionError(f"the run's verification is still {verification}")


def _trained_on(caller, version_id: str, name: str) -> dict:
    recorded = caller.post(
        "/api/v1/training-runs/",
        {
            "model": {"namespace": "objects-e2e", "name": name},
            "model_version": "1.0.0",
            "status": "completed",
            "code": {"repository": "https://git.example.com/e2e.git", "commit": "abc123", "entrypoint": "train.py"},
            "inputs": [{"version": version_id, "role": "train"}],
        },
    )
    assert recorded.status_code == 201, recorded.text
    return recorded.json()


def _read_by_a_run(caller, name: str, uri: str) -> tuple[dict, dict]:
    """A version of the object at `uri`, profiled `ready`, and a completed training run that read it."""
    version = _ready(caller, name, {"uri": uri})
    return version, _trained_on(caller, version["id"], f"{name}-model")


def _still_reproducible(caller, version: dict, training_run: dict, object_version: str) -> str:
    """The run verifies `reproducible` (its input read at `object_version` again, whatever the key holds
    now), its recipe names that object version, and the version is not marked changed; the recipe
    as markdown."""
    assert _verified(caller, training_run["id"])["status"] == "reproducible"
    recipe = caller.get(f"/api/v1/training-runs/{training_run['id']}/reproduce").json()
    assert recipe["inputs"][0]["manifest"][0]["version_id"] == object_version
    assert recipe["inputs"][0]["uri"] == version["uri"]
    report = caller.get(f"/api/v1/training-runs/{training_run['id']}/reproduce", format="markdown")
    assert object_version in report.text
    assert caller.get(f"/api/v1/versions/{version['id']}/").json()["source_changed_at"] is None
    return report.text


def _marked_changed(caller, version: dict, training_run: dict) -> None:
    """The run verifies `changed`, naming the overwritten file, and the version is marked `source_changed`."""
    verification = _verified(caller, training_run["id"])
    assert verification["status"] == "changed"
    assert verification["changed"][0]["paths"] == [version["manifest"][0]["path"]]
    assert caller.get(f"/api/v1/versions/{version['id']}/").json()["source_changed_at"] is not None


# Bytes an overwritten key holds afterwards.
OVERWRITTEN = b"species,island\nAdelie,Torgersen\n"


def test_an_overwritten_key_keeps_its_versioned_bytes_and_marks_unversioned_ones(people, object_store):
    owner = people.owner
    run = uuid.uuid4().hex[:8]
    data = penguins_file("penguins.csv").read_bytes()
    first = object_store.put(VERSIONED, f"{run}/penguins.csv", data)
    object_store.put(UNVERSIONED, f"{run}/penguins.csv", data)
    kept, kept_run = _read_by_a_run(owner, f"kept-{run}", f"s3://{VERSIONED}/{run}/penguins.csv")
    lost, lost_run = _read_by_a_run(owner, f"lost-{run}", f"s3://{UNVERSIONED}/{run}/penguins.csv")
    assert kept["manifest"][0]["version_id"] == first

    object_store.put(VERSIONED, f"{run}/penguins.csv", OVERWRITTEN)
    object_store.put(UNVERSIONED, f"{run}/penguins.csv", OVERWRITTEN)

    assert "aws s3api get-object --version-id" in _still_reproducible(owner, kept, kept_run, first)
    _marked_changed(owner, lost, lost_run)


def test_a_parquet_prefix_overwritten_and_thinned_stays_reproducible_only_where_versioned(people, object_store):
    """Parquet objects are read where they are (by range requests), not downloaded: verification reads
    the recorded version of each again in a versioned bucket, so an overwritten part and a deleted one
    (a delete marker on top of it) leave the version reproducible; in an unversioned bucket the same
    changes mark it `source_changed`, naming the parts."""
    owner = people.owner
    run = uuid.uuid4().hex[:8]
    table = pa.Table.from_pandas(penguins(), preserve_index=False)
    parts = [_parquet(table.slice(start, 100)) for start in range(0, table.num_rows, 100)]
    for bucket in (VERSIONED, UNVERSIONED):
        for index, part in enumerate(parts):
            object_store.put(bucket, f"{run}/parts/part-{index}.parquet", part)
    source = {"format": "parquet"}
    kept = _ready(owner, f"kept-parts-{run}", {**source, "uri": f"s3://{VERSIONED}/{run}/parts/"})
    lost = _ready(owner, f"lost-parts-{run}", {**source, "uri": f"s3://{UNVERSIONED}/{run}/parts/"})
    assert kept["fingerprint"] == lost["fingerprint"]
    kept_run = _trained_on(owner, kept["id"], f"kept-parts-model-{run}")
    lost_run = _trained_on(owner, lost["id"], f"lost-parts-model-{run}")

    other_rows = _parquet(table.slice(0, 10))
    for bucket in (VERSIONED, UNVERSIONED):
        object_store.put(bucket, f"{run}/parts/part-1.parquet", other_rows)
        object_store.client.delete_object(Bucket=bucket, Key=f"{run}/parts/part-3.parquet")

    assert _verified(owner, kept_run["id"])["status"] == "reproducible"
    recipe = owner.get(f"/api/v1/training-runs/{kept_run['id']}/reproduce").json()
    assert [entry["version_id"] for entry in recipe["inputs"][0]["manifest"]] == [
        entry["version_id"] for entry in kept["manifest"]
    ]
    assert owner.get(f"/api/v1/versions/{kept['id']}/").json()["source_changed_at"] is None

    verification = _verified(owner, lost_run["id"])
    assert verification["status"] == "changed"
    changed = {path for change in verification["changed"] for path in change["paths"]}
    assert "part-1.parquet" in changed
    assert owner.get(f"/api/v1/versions/{lost['id']}/").json()["source_changed_at"] is not None


def _workers_free_of_label_analyses(timeout: float = 180) -> None:
    from catalog.models import DatasetVersion

    deadline = time.monotonic() + timeout
    busy = DatasetVersion.objects.filter(label_quality_status__in=["pending", "running"])
    while busy.exists() and time.monotonic() < deadline:
        time.sleep(0.5)


def test_an_object_source_is_spread_over_both_workers_each_part_reading_its_objects(
    people, e2e_storage_root, object_store, celery_workers
):
    """No shared disk: each part of the chord reads its objects from the store itself (at the
    versions the plan recorded), on whichever worker takes it, and the parts of one dataset ran on
    both workers; the profile is the one the same files give from local disk."""
    owner = people.owner
    run = uuid.uuid4().hex[:8]
    local_root = e2e_storage_root / f"spread-{run}"
    local_root.mkdir()
    rng = np.random.default_rng(23)
    for index in range(8):
        rows = 20_000
        table = pa.table(
            {
                "x": rng.normal(size=rows),
                "k": rng.integers(0, 500, rows),
                "s": rng.choice(list("abcdefgh"), rows),
                "label": rng.choice(["p", "q"], rows),
            }
        )
        sink = io.BytesIO()
        pq.write_table(table, sink, row_group_size=5_000)
        (local_root / f"part-{index}.parquet").write_bytes(sink.getvalue())
        object_store.put(VERSIONED, f"{run}/spread/part-{index}.parquet", sink.getvalue())

    # No label column: a label analysis after profiling would hold one worker while the next source's
    # parts are handed out. Analyses of earlier tests' versions are let finish for the same reason.
    local = _ready(owner, f"spread-local-{run}", {"uri": local_root.name})
    _workers_free_of_label_analyses()
    remote = _ready(owner, f"spread-s3-{run}", {"uri": f"s3://{VERSIONED}/{run}/spread/", "format": "parquet"})

    ran_on = [log for log in celery_workers.logs if f"Version {remote['id']}: part" in log.read_text()]
    assert len(ran_on) == 2, "the parts of the object source did not run on both workers"
    assert remote["fingerprint"] == local["fingerprint"]
    assert remote["row_count"] == local["row_count"] == 160_000
    assert all(entry["version_id"] for entry in remote["manifest"])
    for mine, theirs in zip(remote["features"], local["features"], strict=True):
        assert mine["name"] == theirs["name"]
        for key in ("count", "null_count", "distinct_count", "min", "max"):
            assert mine["statistics"][key] == theirs["statistics"][key], (mine["name"], key)
    shutil.rmtree(local_root)
