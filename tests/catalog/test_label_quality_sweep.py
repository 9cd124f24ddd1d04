"""No label-quality analysis waits forever: beat's sweep queues again the ones whose message was lost
and the versions profiled before the analysis existed, gives up on one that keeps dying, and the
backfill command queues the waiting ones at once. Tasks run in-process here."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from catalog.models import DatasetVersion
from catalog.tasks import versions_label_quality_requeue
from tests.catalog.test_label_quality import register, write_penguins
from tests.factories import DatasetFactory, VersionFactory

pytestmark = pytest.mark.django_db(transaction=True)


def as_before_the_analysis(version_id, *, profiled_days_ago: int = 30) -> None:
    """Make a version look profiled before label quality existed: waiting, never changed, no result."""
    version = DatasetVersion.objects.get(pk=version_id)
    quality = {key: value for key, value in version.quality.items() if key not in ("label_issues", "groups")}
    DatasetVersion.objects.filter(pk=version_id).update(
        quality=quality,
        label_quality_status="pending",
        label_quality_changed_at=None,
        label_quality_attempts=0,
        profiled_at=timezone.now() - timedelta(days=profiled_days_ago),
    )


@pytest.fixture
def penguins_version(owner_client, dataset, storage_root):
    path = storage_root / "penguins" / "penguins.csv"
    write_penguins(path)
    return register(owner_client, dataset, path)


def test_the_sweep_is_on_beats_schedule():
    entry = django_settings.CELERY_BEAT_SCHEDULE["requeue-label-quality"]
    assert entry["task"] == "catalog.tasks.versions_label_quality_requeue"
    from config.celery_app import app

    app.loader.import_default_modules()
    assert entry["task"] in app.tasks


def test_it_analyses_a_version_profiled_before_the_analysis_existed(penguins_version):
    as_before_the_analysis(penguins_version)

    assert versions_label_quality_requeue() == [DatasetVersion.objects.get(pk=penguins_version).pk]

    version = DatasetVersion.objects.get(pk=penguins_version)
    assert version.label_quality_status == "ready", version.label_quality_error
    assert version.quality["label_issues"]["count"] > 0
    assert version.label_quality_attempts == 1
    # Done once: the next sweep has nothing to do.
    assert versions_label_quality_requeue() == []


def test_it_marks_an_old_version_without_a_classification_label_not_applicable(owner_client, dataset, storage_root):
    path = storage_root / "penguins" / "penguins.csv"
    write_penguins(path, flip_share=0)
    version_id = register(owner_client, dataset, path, label_column="body_mass_g", task_type="regression")
    as_before_the_analysis(version_id)

    assert versions_label_quality_requeue() == []

    assert DatasetVersion.objects.get(pk=version_id).label_quality_status == "not_applicable"


def test_it_leaves_versions_never_profiled_by_a_worker_and_recent_ones(penguins_version, settings):
    # A version made in-process (no profiled_at) is nobody's lost analysis.
    made = VersionFactory(dataset=DatasetFactory(), label_quality_status="pending")
    # One that started waiting a moment ago is still on its way to a worker.
    DatasetVersion.objects.filter(pk=penguins_version).update(
        label_quality_status="pending", label_quality_changed_at=timezone.now()
    )

    assert versions_label_quality_requeue() == []

    assert DatasetVersion.objects.get(pk=made.pk).label_quality_status == "pending"
    assert DatasetVersion.objects.get(pk=penguins_version).label_quality_status == "pending"


def test_it_requeues_an_analysis_whose_worker_died_and_gives_up_after_the_attempts(penguins_version, settings):
    settings.CATALOG_MAX_LABEL_QUALITY_ATTEMPTS = 2
    long_ago = timezone.now() - settings.CATALOG_PROFILING_STUCK_AFTER * 2
    DatasetVersion.objects.filter(pk=penguins_version).update(
        label_quality_status="running", label_quality_changed_at=long_ago, label_quality_attempts=1
    )

    assert versions_label_quality_requeue() == [DatasetVersion.objects.get(pk=penguins_version).pk]
    version = DatasetVersion.objects.get(pk=penguins_version)
    assert version.label_quality_status == "ready"
    assert version.label_quality_error == ""
    assert version.label_quality_attempts == 2

    # Its second attempt dies too: the sweep gives up and says why.
    DatasetVersion.objects.filter(pk=penguins_version).update(
        label_quality_status="running", label_quality_changed_at=long_ago
    )
    assert versions_label_quality_requeue() == []
    version = DatasetVersion.objects.get(pk=penguins_version)
    assert version.label_quality_status == "failed"
    assert "started 2 times without finishing" in version.label_quality_error


def test_a_new_profile_starts_the_attempts_anew(owner_client, penguins_version):
    DatasetVersion.objects.filter(pk=penguins_version).update(label_quality_attempts=3, label_quality_status="failed")

    response = owner_client.post(f"/api/v1/versions/{penguins_version}/reprofile/")
    assert response.status_code in (200, 202), response.content

    version = DatasetVersion.objects.get(pk=penguins_version)
    assert version.label_quality_status == "ready"
    assert version.label_quality_attempts == 1


def test_it_sends_at_most_a_batch_per_sweep_the_longest_waiting_first(owner_client, dataset, storage_root, settings):
    settings.CATALOG_LABEL_QUALITY_SWEEP_BATCH = 1
    ids = []
    for name in ("a", "b"):
        path = storage_root / name / "penguins.csv"
        write_penguins(path)
        ids.append(register(owner_client, dataset, path))
    as_before_the_analysis(ids[0], profiled_days_ago=3)
    as_before_the_analysis(ids[1], profiled_days_ago=9)

    assert versions_label_quality_requeue() == [DatasetVersion.objects.get(pk=ids[1]).pk]
    assert versions_label_quality_requeue() == [DatasetVersion.objects.get(pk=ids[0]).pk]


def test_the_backfill_command_analyses_the_waiting_versions(penguins_version, owner_client, dataset, storage_root):
    path = storage_root / "other" / "penguins.csv"
    write_penguins(path)
    failed = register(owner_client, dataset, path)
    DatasetVersion.objects.filter(pk=failed).update(label_quality_status="failed", label_quality_error="lost")
    as_before_the_analysis(penguins_version, profiled_days_ago=0)

    out = StringIO()
    call_command("label_quality_backfill", "--dry-run", stdout=out)
    assert "1 version(s) would be looked at" in out.getvalue()
    assert DatasetVersion.objects.get(pk=penguins_version).label_quality_status == "pending"

    out = StringIO()
    call_command("label_quality_backfill", "--failed", f"--dataset={dataset.namespace}/{dataset.name}", stdout=out)
    assert "Queued the label quality of 2 version(s)" in out.getvalue()
    for version_id in (penguins_version, failed):
        assert DatasetVersion.objects.get(pk=version_id).label_quality_status == "ready"


def test_the_backfill_command_refuses_a_badly_named_dataset():
    with pytest.raises(CommandError, match="namespace/name"):
        call_command("label_quality_backfill", "--dataset=penguins")
    with pytest.raises(CommandError, match="--limit"):
        call_command("label_quality_backfill", "--limit=0")
