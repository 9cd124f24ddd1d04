"""The worker side of a version: claiming it, storing results, failing clearly, re-queueing."""

import os
import uuid
from datetime import timedelta

import psycopg
import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from catalog import pipeline, services, tasks
from catalog.models import Dataset, DatasetVersion, ProfilePart
from catalog.pipeline import profiling
from config.celery_app import app as celery_app
from profiler.files import build_manifest
from tests.factories import VersionFactory


def through_the_broker() -> None:
    """Tasks from here on are sent to the broker, as a deployment with one does (the autouse
    `tasks_in_process` fixture puts back what it set)."""
    celery_app.conf.task_always_eager = False


@pytest.fixture
def pending_version(dataset, iris_csv, owner):
    return services.version_create(actor=owner, dataset=dataset, uri=str(iris_csv))


@pytest.mark.django_db
def test_it_profiles_a_pending_version_once(pending_version):
    assert pipeline.version_profile(version_id=pending_version.pk) == "ready"
    assert pipeline.version_profile(version_id=pending_version.pk) is None  # already done

    pending_version.refresh_from_db()
    assert pending_version.status == "ready"
    assert pending_version.profile_attempts == 1
    assert pending_version.profiling_claim is None


@pytest.mark.django_db
def test_it_leaves_a_version_another_worker_holds(pending_version):
    DatasetVersion.objects.filter(pk=pending_version.pk).update(
        status="profiling", profiling_claim=uuid.uuid4(), status_changed_at=timezone.now()
    )

    assert pipeline.version_profile(version_id=pending_version.pk) is None
    pending_version.refresh_from_db()
    assert pending_version.status == "profiling"


@pytest.mark.django_db
def test_the_same_task_may_resume_its_own_claim(pending_version):
    claim = uuid.uuid4()
    DatasetVersion.objects.filter(pk=pending_version.pk).update(
        status="profiling", profiling_claim=claim, status_changed_at=timezone.now()
    )

    assert pipeline.version_profile(version_id=pending_version.pk, claim=claim) == "ready"


@pytest.mark.django_db
def test_it_takes_over_a_stale_claim(pending_version, settings):
    DatasetVersion.objects.filter(pk=pending_version.pk).update(
        status="profiling",
        profiling_claim=uuid.uuid4(),
        status_changed_at=timezone.now() - settings.CATALOG_PROFILING_STUCK_AFTER - timedelta(seconds=1),
    )

    assert pipeline.version_profile(version_id=pending_version.pk) == "ready"


@pytest.mark.django_db
def test_a_stale_claim_cannot_overwrite_the_newer_result(pending_version):
    old_claim = uuid.uuid4()
    DatasetVersion.objects.filter(pk=pending_version.pk).update(status="profiling", profiling_claim=old_claim)
    DatasetVersion.objects.filter(pk=pending_version.pk).update(status="ready", profiling_claim=None)

    assert profiling._finish(pending_version.pk, old_claim, status="failed", error="late") is False
    pending_version.refresh_from_db()
    assert pending_version.status == "ready"


@pytest.mark.django_db
def test_a_vanished_source_fails_the_version_with_a_reason(pending_version, iris_csv):
    iris_csv.unlink()

    assert pipeline.version_profile(version_id=pending_version.pk) == "failed"

    pending_version.refresh_from_db()
    assert pending_version.status == "failed"
    assert "does not exist" in pending_version.error
    assert pending_version.fingerprint == ""
    assert Dataset.objects.filter(pk=pending_version.dataset_id).exists()


@pytest.mark.django_db
def test_a_source_moved_out_of_the_roots_fails_the_version(pending_version, iris_csv, settings, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    settings.CATALOG_STORAGE_ROOTS = [elsewhere]

    assert pipeline.version_profile(version_id=pending_version.pk) == "failed"
    pending_version.refresh_from_db()
    assert "outside the allowed storage roots" in pending_version.error


@pytest.mark.django_db
def test_it_requeues_versions_left_pending_or_half_profiled(settings, django_capture_on_commit_callbacks):
    now = timezone.now()
    long_ago = now - settings.CATALOG_PENDING_REQUEUE_AFTER * 2
    fresh = VersionFactory(status="pending", status_changed_at=now, queued_at=now)
    lost = VersionFactory(status="pending", status_changed_at=long_ago, queued_at=long_ago)
    killed = VersionFactory(
        status="profiling", status_changed_at=now - settings.CATALOG_PROFILING_STUCK_AFTER * 2, queued_at=long_ago
    )
    running = VersionFactory(status="profiling", status_changed_at=now, queued_at=long_ago)
    VersionFactory(status="ready", status_changed_at=now - timedelta(days=3), queued_at=long_ago)

    with django_capture_on_commit_callbacks() as dispatches:
        requeued = tasks.versions_requeue_stuck()

    assert set(requeued) == {lost.pk, killed.pk}
    assert len(dispatches) == 2
    assert fresh.pk not in requeued
    assert running.pk not in requeued
    lost.refresh_from_db()
    assert lost.queued_at > long_ago


@pytest.mark.django_db
def test_it_sends_a_lost_version_again_once_per_period(settings, django_capture_on_commit_callbacks):
    """The copy sent may wait behind a long queue too: the next sweeps leave it there."""
    long_ago = timezone.now() - settings.CATALOG_PENDING_REQUEUE_AFTER * 2
    lost = VersionFactory(status="pending", status_changed_at=long_ago, queued_at=long_ago)

    with django_capture_on_commit_callbacks():
        first = tasks.versions_requeue_stuck()
        again = tasks.versions_requeue_stuck()

    assert first == [lost.pk]
    assert again == []


@pytest.mark.django_db
def test_it_leaves_alone_a_version_never_handed_to_the_broker(settings, django_capture_on_commit_callbacks):
    """Profiled in the process that registered it (no broker): that process has it, however long it
    takes, and a sweeper elsewhere must not hand it to workers that may not even see its files."""
    long_ago = timezone.now() - settings.CATALOG_PROFILING_STUCK_AFTER * 2
    VersionFactory(status="pending", status_changed_at=long_ago, queued_at=None)
    VersionFactory(status="profiling", status_changed_at=long_ago, queued_at=None, profile_attempts=9)

    with django_capture_on_commit_callbacks() as dispatches:
        assert tasks.versions_requeue_stuck() == []

    assert dispatches == []
    assert set(DatasetVersion.objects.values_list("status", flat=True)) == {"pending", "profiling"}


@pytest.mark.django_db
def test_a_version_records_whether_it_went_through_the_broker(dataset, iris_csv, owner):
    in_process = services.version_create(actor=owner, dataset=dataset, uri=str(iris_csv))
    through_the_broker()
    queued = services.version_create(actor=owner, dataset=dataset, uri=str(iris_csv))

    assert in_process.queued_at is None
    assert queued.queued_at == queued.status_changed_at


@pytest.mark.django_db
def test_registration_survives_a_broker_that_is_down(
    owner_client, iris_csv, monkeypatch, settings, django_capture_on_commit_callbacks
):
    from catalog import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker down")

    through_the_broker()
    monkeypatch.setattr(tasks.version_profile_task, "delay", broker_down)

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            "/api/v1/datasets/", {"namespace": "t", "name": "n", "source": {"uri": "flowers/train.csv"}}
        )

    assert response.status_code == 201
    version = DatasetVersion.objects.get()
    assert version.status == "pending"
    # The periodic re-queue sends it once the grace period has passed.
    DatasetVersion.objects.filter(pk=version.pk).update(
        queued_at=version.queued_at - settings.CATALOG_PENDING_REQUEUE_AFTER
    )
    with django_capture_on_commit_callbacks():
        assert tasks.versions_requeue_stuck() == [version.pk]


@pytest.mark.django_db
def test_the_parts_of_a_table_stored_for_a_chord_merge_into_the_same_profile(
    owner, dataset, storage_root, settings, monkeypatch
):
    """What a chord of workers does with a folder of files: each part stored (a redelivered part
    again, in place of the first), then merged into the profile one process gives."""
    folder = storage_root / "shards"
    folder.mkdir()
    for shard in range(3):
        rows = [f"{shard * 100 + row},{(shard * 100 + row) % 7},{'spam' if row % 4 else 'ham'}" for row in range(100)]
        rows += rows[:5]  # duplicates inside the shard
        (folder / f"part-{shard}.csv").write_text("id,score,label\n" + "\n".join(rows) + "\n")
    whole = services.version_create(actor=owner, dataset=dataset, uri=str(folder))
    settings.CELERY_TASK_ALWAYS_EAGER = True  # in-process tasks: profiled in this one process, no chord
    assert pipeline.version_profile(version_id=whole.pk) == "ready"
    whole.refresh_from_db()
    split = services.version_create(actor=owner, dataset=dataset, uri=str(folder))
    settings.CELERY_TASK_ALWAYS_EAGER = False
    dispatched = []
    claim = uuid.uuid4()
    assert (
        pipeline.version_profile(
            version_id=split.pk, claim=claim, dispatch_parts=lambda **kwargs: dispatched.append(kwargs)
        )
        == "profiling"
    )
    assert dispatched == [{"version_id": split.pk, "claim": claim, "parts": 3}]

    for index in (0, 1, 1, 2):
        assert pipeline.version_profile_part(version_id=split.pk, claim=claim, index=index)
    stored = ProfilePart.objects.filter(version=split).values_list("index", flat=True)
    assert list(stored) == [0, 1, 2, profiling._PLAN_INDEX]  # the parts, and the plan they were to read
    assert pipeline.version_merge_parts(version_id=split.pk, claim=claim, parts=3) == "ready"

    split.refresh_from_db()
    assert split.row_count == whole.row_count == 315
    assert split.quality["duplicate_rows"] == whole.quality["duplicate_rows"] == 15
    assert split.quality["class_counts"] == whole.quality["class_counts"]
    assert not ProfilePart.objects.filter(version=split).exists()  # merged parts are deleted


@pytest.mark.django_db
def test_a_stored_part_comes_back_byte_for_byte(pending_version):
    claim = uuid.uuid4()
    data = bytes(range(256)) * 4096 + b"\x00\\x00'\""
    profiling._part_store(pending_version.pk, claim, 0, data)
    profiling._part_store(pending_version.pk, claim, 1, b"")
    assert profiling._parts_stored(pending_version.pk, claim) == [data, b""]


@pytest.mark.django_db
def test_a_database_fault_while_storing_a_part_is_a_django_error(pending_version, monkeypatch):
    """The part tasks retry on Django's OperationalError; the binary path must raise it too."""

    def broken(self, *args, **kwargs):
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(psycopg.Cursor, "execute", broken)
    with pytest.raises(OperationalError):
        profiling._part_store(pending_version.pk, uuid.uuid4(), 0, b"part")
    with pytest.raises(OperationalError):
        profiling._parts_stored(pending_version.pk, uuid.uuid4())


@pytest.mark.django_db
def test_partial_profiles_stay_out_of_the_write_ahead_log():
    with connection.cursor() as cursor:
        cursor.execute("SELECT relpersistence FROM pg_class WHERE relname = %s", [ProfilePart._meta.db_table])
        assert cursor.fetchone() == ("u",)  # unlogged: scratch, not shipped to replicas


SECRET = "patient-zero@example.org"


@pytest.fixture
def secret_outside(tmp_path):
    """A CSV outside every storage root, shaped like the registered one, holding a secret."""
    folder = tmp_path / "outside"
    folder.mkdir()
    path = folder / "secret.csv"
    path.write_text("petal length,petal width,species\n" + f"1.0,0.2,{SECRET}\n" * 30)
    return path


def swap_for_link(path, target):
    """Replace a file by a symbolic link in one rename, as someone writing under the root could."""
    staged = path.with_name(path.name + ".staged")
    staged.symlink_to(target)
    staged.replace(path)


def stored_text(version) -> str:
    version.refresh_from_db()
    features = list(version.features.values("name", "statistics"))
    return repr((version.profile, version.quality, version.manifest, version.error, features))


@pytest.mark.django_db
def test_a_file_swapped_for_a_link_between_hashing_and_profiling_fails_the_version(
    pending_version, iris_csv, secret_outside, monkeypatch
):
    hashed = []

    def hash_then_swap(files):
        manifest = build_manifest(files)
        hashed.append(manifest)
        swap_for_link(iris_csv, secret_outside)  # the moment between the two reads
        return manifest

    monkeypatch.setattr(profiling, "build_manifest", hash_then_swap)

    assert pipeline.version_profile(version_id=pending_version.pk) == "failed"

    assert hashed  # the swap came after the bytes were hashed
    pending_version.refresh_from_db()
    assert pending_version.status == "failed"
    assert pending_version.error.startswith("train.csv was replaced by a symbolic link while it was being read")
    assert SECRET not in stored_text(pending_version)
    assert pending_version.profile.get("sample") is None


@pytest.mark.django_db
def test_a_file_swapped_for_a_link_before_a_chord_part_reads_it_fails_the_version(
    owner, dataset, storage_root, secret_outside, settings, monkeypatch
):
    folder = storage_root / "shards"
    folder.mkdir()
    for shard in range(3):
        (folder / f"part-{shard}.csv").write_text(
            "petal length,petal width,species\n" + "".join(f"{shard}.{row},0.2,setosa\n" for row in range(20))
        )
    version = services.version_create(actor=owner, dataset=dataset, uri=str(folder))
    settings.CELERY_TASK_ALWAYS_EAGER = False
    claim = uuid.uuid4()
    assert (
        pipeline.version_profile(version_id=version.pk, claim=claim, dispatch_parts=lambda **kwargs: None)
        == "profiling"
    )
    assert pipeline.version_profile_part(version_id=version.pk, claim=claim, index=0)

    checked = profiling._recorded_plan

    def check_then_swap(*args):
        planned = checked(*args)  # the part found the files that were hashed...
        swap_for_link(folder / "part-1.csv", secret_outside)  # ...and one is swapped before it reads it
        return planned

    monkeypatch.setattr(profiling, "_recorded_plan", check_then_swap)

    assert pipeline.version_profile_part(version_id=version.pk, claim=claim, index=1) is False
    assert pipeline.version_merge_parts(version_id=version.pk, claim=claim, parts=3) is None
    version.refresh_from_db()
    assert version.status == "failed"
    assert version.error.startswith("part-1.csv was replaced by a symbolic link while it was being read")
    assert SECRET not in stored_text(version)
    assert not ProfilePart.objects.filter(version=version).exists()


@pytest.mark.django_db
def test_a_chord_part_refuses_a_file_replaced_by_another_after_hashing(
    owner, dataset, storage_root, settings, monkeypatch
):
    folder = storage_root / "shards"
    folder.mkdir()
    for shard in range(2):
        (folder / f"part-{shard}.csv").write_text("a,label\n" + "".join(f"{row},x\n" for row in range(20)))
    version = services.version_create(actor=owner, dataset=dataset, uri=str(folder))
    settings.CELERY_TASK_ALWAYS_EAGER = False
    claim = uuid.uuid4()
    assert (
        pipeline.version_profile(version_id=version.pk, claim=claim, dispatch_parts=lambda **kwargs: None)
        == "profiling"
    )
    (folder / "other.csv").write_text("a,label\n1,not what was hashed\n")
    (folder / "other.csv").replace(folder / "part-0.csv")

    assert pipeline.version_profile_part(version_id=version.pk, claim=claim, index=1) is False

    version.refresh_from_db()
    assert version.status == "failed"
    assert version.error.startswith("part-0.csv was replaced by another file while it was being read")


@pytest.mark.django_db
def test_a_hard_linked_file_is_refused_unless_the_setting_allows_it(
    owner, dataset, storage_root, secret_outside, settings
):
    os.link(secret_outside, storage_root / "linked.csv")
    refused = services.version_create(actor=owner, dataset=dataset, uri=str(storage_root / "linked.csv"))

    assert pipeline.version_profile(version_id=refused.pk) == "failed"
    refused.refresh_from_db()
    assert refused.error.startswith("linked.csv has other hard links")
    assert "CATALOG_ALLOW_HARD_LINKS" in refused.error
    assert SECRET not in stored_text(refused)

    settings.CATALOG_ALLOW_HARD_LINKS = True
    allowed = services.version_create(actor=owner, dataset=dataset, uri=str(storage_root / "linked.csv"))
    assert pipeline.version_profile(version_id=allowed.pk) == "ready"
    allowed.refresh_from_db()
    assert allowed.row_count == 30


@pytest.mark.django_db
def test_a_document_swapped_for_a_link_between_hashing_and_profiling_fails_the_version(
    owner, dataset, storage_root, secret_outside, monkeypatch
):
    folder = storage_root / "notes"
    folder.mkdir()
    (folder / "a.txt").write_text("The first note, about flowers and their petals.")
    (folder / "b.txt").write_text("The second note, about leaves and their colours.")
    version = services.version_create(actor=owner, dataset=dataset, uri=str(folder), format="text")

    def hash_then_swap(files):
        manifest = build_manifest(files)
        swap_for_link(folder / "b.txt", secret_outside)
        return manifest

    monkeypatch.setattr(profiling, "build_manifest", hash_then_swap)

    assert pipeline.version_profile(version_id=version.pk) == "failed"
    version.refresh_from_db()
    assert version.error.startswith("b.txt was replaced by a symbolic link while it was being read")
    assert SECRET not in stored_text(version)
