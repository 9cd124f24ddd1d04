"""`version_settled`: what the apps above the catalog hear when a version is ready, failed, or found
changed, once the transaction that settled it commits."""

import pytest

from catalog import pipeline, services
from catalog.signals import version_settled
from tests.catalog.test_version_trust import register, write_table


@pytest.fixture
def heard():
    calls: list[dict] = []

    def receiver(sender, **kwargs):
        calls.append({key: kwargs[key] for key in ("version_id", "dataset_id", "status")})

    version_settled.connect(receiver, dispatch_uid="test_version_settled")
    yield calls
    version_settled.disconnect(dispatch_uid="test_version_settled")


@pytest.mark.django_db
def test_it_tells_a_version_ready_once(heard, dataset, iris_csv, owner, django_capture_on_commit_callbacks):
    version = services.version_create(actor=owner, dataset=dataset, uri=str(iris_csv))

    with django_capture_on_commit_callbacks(execute=True):
        pipeline.version_profile(version_id=version.pk)
        pipeline.version_profile(version_id=version.pk)  # already done: nothing more

    assert heard == [{"version_id": version.pk, "dataset_id": dataset.pk, "status": "ready"}]
    version.refresh_from_db()
    assert version.status == "ready"


@pytest.mark.django_db
def test_it_tells_a_failed_version(heard, dataset, storage_root, owner, django_capture_on_commit_callbacks):
    path = storage_root / "broken.csv"
    path.write_bytes(b"\x00\x01\x02" * 10)
    with django_capture_on_commit_callbacks(execute=True):
        version = services.version_create(actor=owner, dataset=dataset, uri=str(path), format="csv")

    version.refresh_from_db()
    assert version.status == "failed"
    assert heard == [{"version_id": version.pk, "dataset_id": dataset.pk, "status": "failed"}]


@pytest.mark.django_db(transaction=True)
def test_it_tells_a_source_found_changed_once(heard, owner_client, dataset, storage_root):
    path = write_table(storage_root / "v" / "data.csv", seed=1)
    version = register(owner_client, dataset, path)
    heard.clear()

    owner_client.post(f"/api/v1/versions/{version['id']}/verify/")
    write_table(path, seed=5)
    owner_client.post(f"/api/v1/versions/{version['id']}/verify/")
    owner_client.post(f"/api/v1/versions/{version['id']}/verify/")  # still changed: said once

    assert [call["status"] for call in heard] == ["source_changed"]
    assert str(heard[0]["version_id"]) == version["id"]
