"""The catalog's Celery plumbing: the tasks (they take ids and call the pipeline), how versions are
queued after the registering transaction commits, the chord that profiles a source in parts, and the
periodic sweeps. Services queue work through the functions here; the pipeline knows no Celery."""

import logging
from datetime import datetime
from functools import partial
from uuid import UUID

from celery import Task, shared_task
from celery import chord as celery_chord
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog import pipeline
from catalog.choices import LabelQualityStatus, VersionStatus
from catalog.models import DatasetVersion
from catalog.pipeline import labels as label_quality

logger = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError)


class ProfilingTask(Task):
    """Retried with backoff on transient faults only: a database that blinked. A bad source fails
    the version instead, and other faults are recorded on it (see _fail_on_fault)."""

    autoretry_for = TRANSIENT
    retry_backoff = 5
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 5


def _claim_of(task_id: str | None) -> UUID | None:
    try:
        return UUID(task_id) if task_id else None
    except ValueError:
        return None


def _fail_on_fault(version_id: str, claim: UUID | None, exc: BaseException) -> str:
    if isinstance(exc, SoftTimeLimitExceeded):
        error = f"Profiling took longer than the {settings.CELERY_TASK_SOFT_TIME_LIMIT} s limit (CELERY_TASK_SOFT_TIME_LIMIT)."
    else:
        logger.exception("Profiling version %s failed unexpectedly", version_id)
        error = f"The profiler failed unexpectedly ({type(exc).__name__}); the fault is logged for the operators."
    pipeline.version_fail(version_id=UUID(version_id), error=error, claim=claim)
    return "failed"


@shared_task(
    name="catalog.tasks.version_profile",
    bind=True,
    base=ProfilingTask,
)
def version_profile_task(self, version_id: str) -> str | None:  # type: ignore[no-untyped-def]
    claim = _claim_of(self.request.id)
    try:
        return pipeline.version_profile(version_id=UUID(version_id), claim=claim, dispatch_parts=_parts_dispatch())
    except TRANSIENT:
        raise
    except Exception as exc:
        return _fail_on_fault(version_id, claim, exc)


@shared_task(
    name="catalog.tasks.version_profile_part",
    bind=True,
    ignore_result=False,  # a chord counts its parts' results
    base=ProfilingTask,
)
def version_profile_part_task(self, version_id: str, claim: str, index: int) -> bool:  # type: ignore[no-untyped-def]
    try:
        return pipeline.version_profile_part(version_id=UUID(version_id), claim=UUID(claim), index=index)
    except TRANSIENT:
        raise
    except Exception as exc:
        _fail_on_fault(version_id, UUID(claim), exc)
        return False


@shared_task(
    name="catalog.tasks.version_merge_parts",
    bind=True,
    base=ProfilingTask,
)
def version_merge_parts_task(self, results: list[bool], version_id: str, claim: str, parts: int) -> str | None:  # type: ignore[no-untyped-def]
    try:
        return pipeline.version_merge_parts(version_id=UUID(version_id), claim=UUID(claim), parts=parts)
    except TRANSIENT:
        raise
    except Exception as exc:
        return _fail_on_fault(version_id, UUID(claim), exc)


@shared_task(name="catalog.tasks.versions_requeue_stuck")
def versions_requeue_stuck_task() -> int:
    return len(versions_requeue_stuck())


@shared_task(name="catalog.tasks.versions_label_quality_requeue")
def versions_label_quality_requeue_task() -> int:
    return len(versions_label_quality_requeue())


@shared_task(name="catalog.tasks.version_label_quality", autoretry_for=TRANSIENT, retry_backoff=5, max_retries=5)
def version_label_quality_task(version_id: str) -> str | None:
    try:
        return label_quality.version_label_quality(version_id=UUID(version_id))
    except TRANSIENT:
        raise
    except Exception as exc:
        if isinstance(exc, SoftTimeLimitExceeded):
            error = f"Label quality took longer than the {settings.CELERY_TASK_SOFT_TIME_LIMIT} s limit."
        else:
            logger.exception("Label quality of version %s failed unexpectedly", version_id)
            error = f"The analysis failed unexpectedly ({type(exc).__name__}); the fault is logged for the operators."
        label_quality.version_label_quality_fail(version_id=UUID(version_id), error=error)
        return LabelQualityStatus.FAILED


@shared_task(name="catalog.tasks.version_verify", autoretry_for=TRANSIENT, retry_backoff=5, max_retries=5)
def version_verify_task(version_id: str) -> str:
    return pipeline.version_verify(version_id=UUID(version_id))["status"]


@shared_task(name="catalog.tasks.versions_verify_due")
def versions_verify_due_task() -> int:
    return len(versions_verify_due())


# --- Queueing ---------------------------------------------------------------------------------------


def queued_at(now: datetime) -> datetime | None:
    """When a version made pending now is handed to the broker: now, or never when tasks run in the
    process that asks for them (no broker), where nothing can be lost on the way to a worker."""
    return None if version_profile_task.app.conf.task_always_eager else now


def version_profile_enqueue(*, version_id: UUID) -> None:
    """Queue a version for profiling once the current transaction commits."""
    transaction.on_commit(lambda: version_dispatch(version_id=version_id))


def version_dispatch(*, version_id: UUID) -> None:
    """Queue a version for profiling. Called after commit; a broker outage is survived, not raised."""
    try:
        version_profile_task.delay(str(version_id))
    except Exception:
        # The registration is committed; the periodic re-queue sends it once the broker is back.
        logger.exception("Could not queue version %s for profiling; it will be re-queued", version_id)


def _parts_dispatch() -> pipeline.PartsDispatch | None:
    # Parts run on other workers; in-process tasks gain nothing from a chord.
    return None if settings.CELERY_TASK_ALWAYS_EAGER else dispatch_chord


def dispatch_chord(*, version_id: UUID, claim: UUID, parts: int) -> None:
    header = [version_profile_part_task.s(str(version_id), str(claim), index) for index in range(parts)]
    celery_chord(header)(version_merge_parts_task.s(str(version_id), str(claim), parts))


def version_verify_enqueue(*, version_id: UUID) -> None:
    """Queue a re-hash of a version's source once the current transaction commits."""
    transaction.on_commit(lambda: version_verify_dispatch(version_id=version_id))


def version_verify_dispatch(*, version_id: UUID) -> None:
    try:
        version_verify_task.delay(str(version_id))
    except Exception:
        logger.exception("Could not queue version %s for verification; the schedule will retry it", version_id)


def version_label_quality_on_settled(*, version_id: UUID, status: str, **kwargs: object) -> None:
    """Receiver of `version_settled`: a version profiled (again) has its labels examined anew, on a
    worker of its own so that profiling never waits for it."""
    if status != VersionStatus.READY:
        return
    if label_quality.version_label_quality_reset(version_id=version_id):
        version_label_quality_dispatch(version_id=version_id)


def version_label_quality_dispatch(*, version_id: UUID) -> None:
    try:
        version_label_quality_task.delay(str(version_id))
    except Exception:
        logger.exception("Could not queue the label quality of version %s; the sweep will re-queue it", version_id)


# --- Sweeps -----------------------------------------------------------------------------------------


def versions_requeue_stuck() -> list[UUID]:
    """Queue again every version whose message was lost: sent to the broker longer ago than
    CATALOG_PENDING_REQUEUE_AFTER and still pending (a broker that was down or lost its memory), or
    half-profiled past CATALOG_PROFILING_STUCK_AFTER (a worker killed mid-profile).

    Only versions handed to the broker are looked after: one profiled in the process that registered
    it (no broker) is that process's to finish. Each is sent at most once per period, so a long queue
    is not flooded with copies, and a row another transaction holds is left to it."""
    now = timezone.now()
    # A version that keeps killing its worker (or outlasting the time limit) is given up on.
    exhausted = DatasetVersion.objects.filter(
        status=VersionStatus.PROFILING,
        status_changed_at__lt=now - settings.CATALOG_PROFILING_STUCK_AFTER,
        profile_attempts__gte=settings.CATALOG_MAX_PROFILE_ATTEMPTS,
        queued_at__isnull=False,
    )
    for version_id in exhausted.values_list("pk", flat=True):
        pipeline.version_fail(
            version_id=version_id,
            error=f"Profiling was attempted {settings.CATALOG_MAX_PROFILE_ATTEMPTS} times without finishing "
            "(a worker died or the time limit passed each time); the source may be too large for the workers.",
        )
    with transaction.atomic():
        stuck = list(
            DatasetVersion.objects.filter(
                Q(status=VersionStatus.PENDING)
                | Q(status=VersionStatus.PROFILING, status_changed_at__lt=now - settings.CATALOG_PROFILING_STUCK_AFTER),
                queued_at__lt=now - settings.CATALOG_PENDING_REQUEUE_AFTER,
            )
            .order_by("pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        DatasetVersion.objects.filter(pk__in=stuck).update(queued_at=now)
        for version_id in stuck:
            transaction.on_commit(partial(version_dispatch, version_id=version_id))
    if stuck:
        logger.warning("Re-queued %d version(s) stuck in pending or profiling", len(stuck))
    return stuck


def versions_label_quality_requeue() -> list[UUID]:
    """Queue again (and return) the label quality of ready versions whose analysis was lost: waiting longer than
    CATALOG_PENDING_REQUEUE_AFTER (a message lost with a broker that was down; a version profiled
    before the analysis existed, which waits since it was profiled), or running longer than
    CATALOG_PROFILING_STUCK_AFTER (a worker killed mid-analysis). An analysis started
    CATALOG_MAX_LABEL_QUALITY_ATTEMPTS times without finishing fails with the reason instead.

    At most CATALOG_LABEL_QUALITY_SWEEP_BATCH are sent per sweep, the longest waiting first, and each
    at most once per period; a version profiled only in the process that registered it (factories,
    tests without a broker: never profiled_at) is not a lost analysis."""
    now = timezone.now()
    stuck_before = now - settings.CATALOG_PROFILING_STUCK_AFTER
    attempts = settings.CATALOG_MAX_LABEL_QUALITY_ATTEMPTS
    running_stuck = Q(label_quality_status=LabelQualityStatus.RUNNING, label_quality_changed_at__lt=stuck_before)
    DatasetVersion.objects.filter(running_stuck, label_quality_attempts__gte=attempts).update(
        label_quality_status=LabelQualityStatus.FAILED,
        label_quality_error=f"The analysis was started {attempts} times without finishing (a worker died or the "
        "time limit passed each time); the source may be too large for the workers. Profile the version again "
        "to try anew.",
        label_quality_changed_at=now,
    )
    waiting = Coalesce("label_quality_changed_at", "profiled_at")
    with transaction.atomic():
        lost = list(
            DatasetVersion.objects.alias(waiting_since=waiting)
            .filter(
                running_stuck
                | Q(
                    label_quality_status=LabelQualityStatus.PENDING,
                    waiting_since__lt=now - settings.CATALOG_PENDING_REQUEUE_AFTER,
                ),
                status=VersionStatus.READY,
            )
            .order_by("waiting_since", "pk")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", "label_quality_status", "label_quality_changed_at")[
                : settings.CATALOG_LABEL_QUALITY_SWEEP_BATCH
            ]
        )
        queued: list[UUID] = []
        for version_id, status, changed_at in lost:
            if changed_at is None:
                # Profiled before the analysis existed: whether it has a label to examine is decided
                # now, as it is for a version just profiled.
                if label_quality.version_label_quality_reset(version_id=version_id):
                    queued.append(version_id)
                    transaction.on_commit(partial(version_label_quality_dispatch, version_id=version_id))
                continue
            interrupted = status == LabelQualityStatus.RUNNING
            DatasetVersion.objects.filter(pk=version_id).update(
                label_quality_status=LabelQualityStatus.PENDING,
                label_quality_changed_at=now,
                **(
                    {"label_quality_error": "An analysis did not finish (its worker stopped); it was queued again."}
                    if interrupted
                    else {}
                ),
            )
            queued.append(version_id)
            transaction.on_commit(partial(version_label_quality_dispatch, version_id=version_id))
    if queued:
        logger.warning("Queued the label quality of %d version(s) again", len(queued))
    return queued


def versions_verify_due() -> list[UUID]:
    """Queue a re-hash of every profiled version not verified within CATALOG_VERIFY_EVERY."""
    every = settings.CATALOG_VERIFY_EVERY
    if not every:
        return []
    due_before = timezone.now() - every
    due = list(
        DatasetVersion.objects.filter(status=VersionStatus.READY)
        .exclude(fingerprint="")
        .filter(Q(verified_at__lt=due_before) | Q(verified_at__isnull=True, profiled_at__lt=due_before))
        .order_by("verified_at", "profiled_at")
        .values_list("pk", flat=True)[: settings.CATALOG_VERIFY_BATCH]
    )
    for version_id in due:
        version_verify_dispatch(version_id=version_id)
    return due
