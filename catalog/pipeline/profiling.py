"""Profiling a version on a worker: the claim, the plan, the whole source or one partition of it, and
the merge of the partitions' partial profiles. The source is planned once, by the worker that hashed
it; the plan and the parts are kept between tasks in a scratch table."""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import uuid
from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

import psycopg
import psycopg.sql
from django.conf import settings
from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from catalog.choices import VersionStatus
from catalog.models import DatasetVersion, ProfilePart
from catalog.objects import is_object_url, object_store_allowed
from catalog.pipeline.store import LabelMissing, _finish, _manifest_fields, _settled, _store_profile
from catalog.signals import profiling_patterns
from catalog.sources import source_opened
from profiler import api
from profiler.api import LabelColumnMissing, Options, Plan, SourceError
from profiler.files import ManifestEntry, SourceFile, build_manifest, check_identities
from profiler.objects import shared_reads
from profiler.readers import read_options_parse

logger = logging.getLogger(__name__)


def _claim(version_id: UUID, claim: UUID) -> bool:
    """Take a version for profiling if it is waiting, if its previous claim went stale, or if the
    claim is already ours (the same task retried, or redelivered after its worker died)."""
    now = timezone.now()
    stale_before = now - settings.CATALOG_PROFILING_STUCK_AFTER
    taken = DatasetVersion.objects.filter(
        Q(status=VersionStatus.PENDING)
        | Q(status=VersionStatus.PROFILING, status_changed_at__lt=stale_before)
        | Q(status=VersionStatus.PROFILING, profiling_claim=claim),
        pk=version_id,
    ).update(
        status=VersionStatus.PROFILING,
        status_changed_at=now,
        profiling_claim=claim,
        profile_attempts=F("profile_attempts") + 1,
        updated_at=now,
    )
    return bool(taken)


class PartsDispatch(Protocol):
    """Hands a version's partitions to workers: one task a partition, then their merge."""

    def __call__(self, *, version_id: UUID, claim: UUID, parts: int) -> None: ...


def version_profile(
    *, version_id: UUID, claim: UUID | None = None, dispatch_parts: PartsDispatch | None = None
) -> str | None:
    """Read a version's source and store what it holds. Returns the final status ("profiling" when
    the work was handed to partition tasks by `dispatch_parts`), or None when the version was not
    this call's to profile (already done, or being profiled by another worker). Without
    `dispatch_parts` the whole source is profiled here.

    `claim` identifies this attempt (the task id, which survives retries and redelivery)."""
    claim = claim or uuid.uuid4()
    if not _claim(version_id, claim):
        logger.info("Version %s is not waiting for profiling; skipped", version_id)
        return None
    version = DatasetVersion.objects.get(pk=version_id)
    try:
        with source_opened(version.uri) as files:
            # The objects of an object store are hashed from the reads their profile makes (one read of
            # each); local files before they are profiled.
            objects = is_object_url(version.uri)
            manifest = [] if objects else build_manifest(files)
            planned, label_missing = _plan(version, files)
            parts = len(planned.partitions)
            if parts > 1 and dispatch_parts is not None and _spread_over_workers(version.uri, files):
                manifest = manifest or build_manifest(files)
                _store_plan(version_id, claim, manifest, planned, label_missing=label_missing)
                dispatch_parts(version_id=version_id, claim=claim, parts=parts)
                return VersionStatus.PROFILING
            profile = api.profile_plan(planned, workers=1)
            if objects:
                manifest = build_manifest(files)
    except SourceError as exc:
        _finish(version_id, claim, status=VersionStatus.FAILED, error=str(exc), profiled_at=timezone.now())
        logger.info("Version %s failed: %s", version_id, exc)
        return VersionStatus.FAILED
    stored = _store_profile(version_id, claim, profile, manifest, label_missing=label_missing)
    return VersionStatus.READY if stored else None


def _engine_options(version: DatasetVersion) -> Options:
    """What the engine is told of a version: its label, splits, read options and task type."""
    try:
        read_options = read_options_parse(version.read_options or None)
    except ValueError as exc:  # validated when registered; a row edited since is refused the same way
        raise SourceError(f"The version's read options are invalid: {exc}") from exc
    return Options(
        label_column=version.label_column or None,
        splits=version.splits or None,
        read_options=read_options,
        # The engine classifies the label itself unless told.
        task_type=version.task_type or None,
        # What the apps above ask every value to be checked with (a contract's patterns).
        patterns=profiling_patterns(dataset_id=version.dataset_id) or None,
    )


def _plan(version: DatasetVersion, files: Sequence[SourceFile]) -> tuple[Plan, LabelMissing | None]:
    """The plan of a version's source (the options it is profiled with included), and, when the
    label column the version before was labelled by is not in this source, that column and that
    version's number: the version is then profiled without that label, and says why in a finding,
    rather than failing as a label column a registration names for the first time does (most likely
    a typo). Every declared split must hold files of the source."""
    options = _engine_options(version)
    try:
        return api.plan(files, version.format, options), None
    except LabelColumnMissing:
        previous = (
            DatasetVersion.objects.filter(dataset_id=version.dataset_id, number__lt=version.number)
            .order_by("-number")
            .values_list("number", "label_column")
            .first()
        )
        if previous is None or previous[1] != version.label_column:
            raise
    unlabelled = dataclasses.replace(options, label_column=None, task_type=None)
    return api.plan(files, version.format, unlabelled), {"column": version.label_column, "version": previous[0]}


def _spread_over_workers(uri: str, files: Sequence[SourceFile]) -> bool:
    # Parts run on other workers, which read local sources from the shared storage roots and objects
    # from their store (each part reads the exact versions listed here, copying locally only the one
    # object it reads when its reader needs a file); a downloaded source (https://) exists only where
    # it was downloaded.
    if is_object_url(uri):
        return all(file.remote is not None for file in files)
    return not uri.lower().startswith("https://")


def version_profile_part(*, version_id: UUID, claim: UUID, index: int) -> bool:
    """Profile one partition of a version for a chord; the part is stored for the merge."""
    version = DatasetVersion.objects.filter(
        pk=version_id, status=VersionStatus.PROFILING, profiling_claim=claim
    ).first()
    if version is None:
        return False  # superseded, or failed by another part
    try:
        if is_object_url(version.uri):
            part = _object_part(version, claim, index)
        else:
            with source_opened(version.uri) as opened:
                # The plan made where the source was hashed, reading the files opened here: every one of
                # them must be the one hashed for the manifest, by whichever worker did it.
                planned = _recorded_plan(version_id, claim, opened)
                part = api.profile_part(planned, index)
    except SourceError as exc:
        _finish(version_id, claim, status=VersionStatus.FAILED, error=str(exc), profiled_at=timezone.now())
        logger.info("Version %s: part %d failed: %s", version_id, index, exc)
        return False
    _part_store(version_id, claim, index, part)
    logger.info("Version %s: part %d profiled on %s", version_id, index, socket.gethostname())
    return True


def _object_part(version: DatasetVersion, claim: UUID, index: int) -> bytes:
    """One part of an object source: its objects read where they are, each at the version the plan
    recorded when the source was listed and hashed (its version id, or its ETag, which every request
    is conditional on), so that an object overwritten since fails the part by its name. The source is
    neither listed nor downloaded again."""
    if not object_store_allowed(version.uri):
        raise SourceError(
            f"{version.uri} is not under an object store the catalog may read (CATALOG_OBJECT_STORES); ask the operator."
        )
    planned = _plan_of(_plan_record(version.pk, claim))
    if any(file.remote is None for file in planned.files):
        raise SourceError("The objects of the source were not recorded when it was listed; profile it again.")
    with shared_reads(hashing=False, download_dir=settings.CATALOG_DOWNLOAD_DIR):
        return api.profile_part(planned, index)


# A chord's plan (the files it reads, with their identities when the manifest was made, and its
# partitions), kept once beside the parts (in the same scratch table, at an index no part has) rather
# than in every task's message: the plan of a folder of images names every image.
_PLAN_INDEX = 2**31 - 1


def _host() -> str:
    """This machine while it runs: device numbers mean the same file only on the same one."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except OSError:
        return socket.gethostname()


def _record_plan(version_id: UUID, claim: UUID, planned: Plan, label_missing: LabelMissing | None) -> None:
    record = {"host": _host(), "plan": planned.as_data(), "label_missing": label_missing}
    _part_store(version_id, claim, _PLAN_INDEX, json.dumps(record, separators=(",", ":")).encode())


def _plan_record(version_id: UUID, claim: UUID) -> dict[str, Any]:
    stored = ProfilePart.objects.filter(version_id=version_id, claim=claim, index=_PLAN_INDEX).first()
    if stored is None:
        raise SourceError("The files of the source were not recorded when it was hashed; profile it again.")
    record: dict[str, Any] = json.loads(bytes(stored.data))
    return record


def _plan_of(record: dict[str, Any]) -> Plan:
    try:
        return Plan.from_data(record["plan"])
    except ValueError as exc:  # planned by another version of the profiler
        raise SourceError(f"{exc} Profile the version again.") from exc


def _recorded_plan(version_id: UUID, claim: UUID, files: Sequence[SourceFile]) -> Plan:
    """The recorded plan, bound to `files` (the source as opened here) once each is found to be the
    file that was hashed."""
    record = _plan_record(version_id, claim)
    planned = _plan_of(record)
    identities = {file.relative_path: file.identity.as_list() for file in planned.files if file.identity is not None}
    checked = check_identities(files, identities, same_device_numbers=record["host"] == _host())
    return planned.bound_to(checked)


# A partial profile holds its rows' duplicate-detection hashes (24 bytes a row: 25 MB for a million
# rows). Django binds parameters into the SQL text, so a bytea travels as hex and is parsed back by
# the server (0.8 s to store a million rows' part); on PostgreSQL parts go as binary parameters and
# come back as binary results instead (0.2 s, and a quarter of the time to read).


def _part_store(version_id: UUID, claim: UUID, index: int, data: bytes) -> None:
    if connection.vendor != "postgresql":
        ProfilePart.objects.update_or_create(version_id=version_id, claim=claim, index=index, defaults={"data": data})
        return
    connection.ensure_connection()
    # Django's own exceptions, so a database that blinked is retried like any other query's fault.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            psycopg.sql.SQL(
                "INSERT INTO {table} (version_id, claim, index, data, created_at) VALUES (%s, %s, %s, %b, now()) "
                "ON CONFLICT (version_id, claim, index) DO UPDATE SET data = EXCLUDED.data"
            ).format(table=psycopg.sql.Identifier(ProfilePart._meta.db_table)),
            [version_id, claim, index, data],
        )


def _parts_stored(version_id: UUID, claim: UUID) -> list[bytes]:
    """The stored parts of a version's profiling attempt, in their order."""
    if connection.vendor != "postgresql":
        parts = ProfilePart.objects.filter(version_id=version_id, claim=claim, index__lt=_PLAN_INDEX).order_by("index")
        return [bytes(part.data) for part in parts]
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            psycopg.sql.SQL(
                "SELECT data FROM {table} WHERE version_id = %s AND claim = %s AND index < %s ORDER BY index"
            ).format(table=psycopg.sql.Identifier(ProfilePart._meta.db_table)),
            [version_id, claim, _PLAN_INDEX],
            binary=True,
        )
        return [bytes(data) for (data,) in cursor.fetchall()]


def version_merge_parts(*, version_id: UUID, claim: UUID, parts: int) -> str | None:
    """The chord's end: merge the stored partial profiles of a version and store its profile."""
    data = _parts_stored(version_id, claim)
    try:
        if len(data) != parts:
            if not DatasetVersion.objects.filter(pk=version_id, profiling_claim=claim).exists():
                return None  # a part failed the version, or a newer attempt took over
            raise SourceError(f"Only {len(data)} of {parts} parts of the source were profiled; profile it again.")
        record = _plan_record(version_id, claim)
        profile = api.finish(_plan_of(record), data)
    except SourceError as exc:
        _finish(version_id, claim, status=VersionStatus.FAILED, error=str(exc), profiled_at=timezone.now())
        return VersionStatus.FAILED
    finally:
        ProfilePart.objects.filter(version_id=version_id, claim=claim).delete()
    stored_ok = _store_profile(version_id, claim, profile, None, label_missing=record["label_missing"])
    logger.info("Version %s merged from %d parts", version_id, parts)
    return VersionStatus.READY if stored_ok else None


def version_fail(*, version_id: UUID, error: str, claim: UUID | None = None) -> None:
    """Record that profiling gave up on a version (a time limit, a fault, attempts exhausted)."""
    now = timezone.now()
    versions = DatasetVersion.objects.filter(pk=version_id, status=VersionStatus.PROFILING)
    if claim is not None:
        versions = versions.filter(profiling_claim=claim)
    failed = versions.update(
        status=VersionStatus.FAILED,
        error=error,
        status_changed_at=now,
        updated_at=now,
        profiling_claim=None,
        profiled_at=now,
    )
    if failed:
        _settled(version_id, VersionStatus.FAILED)


def _store_plan(
    version_id: UUID,
    claim: UUID,
    manifest: Sequence[ManifestEntry],
    planned: Plan,
    *,
    label_missing: LabelMissing | None,
) -> None:
    """The manifest, before a chord profiles the files; and, for its parts and its merge, the plan
    (which files were hashed, and their partitions) and a label column gone since the version
    before. Readers see how the text is read while the parts run."""
    _record_plan(version_id, claim, planned, label_missing)
    DatasetVersion.objects.filter(pk=version_id, profiling_claim=claim).update(
        **_manifest_fields(manifest),
        profile={"dialect": planned.dialect, "label_missing": label_missing},
    )
