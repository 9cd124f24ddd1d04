"""Profiling a version on a worker: the claim, the plan, the whole source or one partition of it, and
the merge of the partitions' partial profiles (stored between tasks in a scratch table)."""

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
from catalog.pipeline.store import _finish, _manifest_fields, _store_profile
from catalog.sources import source_opened
from profiler import engine
from profiler.files import LabelColumnMissing, ManifestEntry, SourceError, SourceFile, build_manifest, check_identities
from profiler.readers import read_options_parse
from profiler.state import PartialProfile

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
            manifest = build_manifest(files)
            planned, options, label_missing = _plan(version, files)
            partitions = planned.partitions
            if version.splits and version.format in engine.TABULAR_FORMATS:
                engine.split_names(partitions, version.splits)  # every split holds files, none overlap
            if len(partitions) > 1 and dispatch_parts is not None and _spread_over_workers(version.uri):
                _store_manifest(
                    version_id, claim, manifest, files, dialect=planned.dialect, label_missing=label_missing
                )
                dispatch_parts(version_id=version_id, claim=claim, parts=len(partitions))
                return VersionStatus.PROFILING
            profile = engine.profile_files(files, version.format, options=options, workers=1)
            profile["label_missing"] = label_missing
    except SourceError as exc:
        _finish(version_id, claim, status=VersionStatus.FAILED, error=str(exc), profiled_at=timezone.now())
        logger.info("Version %s failed: %s", version_id, exc)
        return VersionStatus.FAILED
    return VersionStatus.READY if _store_profile(version_id, claim, profile, manifest) else None


def _engine_options(version: DatasetVersion) -> engine.Options:
    """What the engine is told of a version: its label, splits, read options and task type."""
    try:
        read_options = read_options_parse(version.read_options or None)
    except ValueError as exc:  # validated when registered; a row edited since is refused the same way
        raise SourceError(f"The version's read options are invalid: {exc}") from exc
    return engine.Options(
        label_column=version.label_column or None,
        splits=version.splits or None,
        read_options=read_options,
        # The engine classifies the label itself unless told.
        task_type=version.task_type or None,
    )


def _plan(
    version: DatasetVersion, files: Sequence[SourceFile]
) -> tuple[engine.Plan, engine.Options, dict[str, Any] | None]:
    """The plan of a version's source, the options it is profiled with, and, when the label column
    the version before was labelled by is not in this source, that column and that version's
    number: the version is then profiled without that label, and says why in a finding, rather than
    failing as a label column a registration names for the first time does (most likely a typo)."""
    options = _engine_options(version)
    try:
        planned = engine.plan_source(
            files, version.format, options.label_column, options.splits, read_options=options.read_options
        )
        return planned, options, None
    except LabelColumnMissing:
        previous = (
            DatasetVersion.objects.filter(dataset_id=version.dataset_id, number__lt=version.number)
            .order_by("-number")
            .values_list("number", "label_column")
            .first()
        )
        if previous is None or previous[1] != version.label_column:
            raise
    options = dataclasses.replace(options, label_column=None, task_type=None)
    planned = engine.plan_source(files, version.format, None, options.splits, read_options=options.read_options)
    return planned, options, {"column": version.label_column, "version": previous[0]}


def _spread_over_workers(uri: str) -> bool:
    # Parts run on other workers, which read local sources from the shared storage roots; a
    # downloaded source exists only where it was downloaded.
    return not uri.lower().startswith("https://")


def version_profile_part(*, version_id: UUID, claim: UUID, index: int) -> bool:
    """Profile one partition of a version for a chord; the part is stored for the merge."""
    version = DatasetVersion.objects.filter(
        pk=version_id, status=VersionStatus.PROFILING, profiling_claim=claim
    ).first()
    if version is None:
        return False  # superseded, or failed by another part
    try:
        with source_opened(version.uri) as opened:
            # Every file read here must be the one hashed for the manifest, by whichever worker did it.
            files = _recorded_files(version_id, claim, opened)
            planned, options, _ = _plan(version, files)
            partitions, label, declared = planned.partitions, planned.label, planned.declared
            if index >= len(partitions):
                raise SourceError("The source changed while it was being profiled; profile it again.")
            order = {
                file.relative_path: position
                for position, file in enumerate(sorted(files, key=lambda f: f.relative_path))
            }
            partition = partitions[index]
            part = engine.profile_partition(
                partition,
                file_index=order[partition.relative_path],
                label_column=label,
                declared=declared,
                options=options,
            )
    except SourceError as exc:
        _finish(version_id, claim, status=VersionStatus.FAILED, error=str(exc), profiled_at=timezone.now())
        return False
    _part_store(version_id, claim, index, part.to_bytes())
    return True


# The files a chord's parts may read: their identities when the manifest was made, kept beside the parts
# (in the same scratch table, at an index no part has) rather than in the manifest people see.
_FILES_INDEX = 2**31 - 1


def _host() -> str:
    """This machine while it runs: device numbers mean the same file only on the same one."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except OSError:
        return socket.gethostname()


def _record_files(version_id: UUID, claim: UUID, files: Sequence[SourceFile]) -> None:
    identities = {file.relative_path: file.identity.as_list() for file in files if file.identity is not None}
    record = {"host": _host(), "files": identities}
    _part_store(version_id, claim, _FILES_INDEX, json.dumps(record, separators=(",", ":")).encode())


def _recorded_files(version_id: UUID, claim: UUID, files: Sequence[SourceFile]) -> list[SourceFile]:
    stored = ProfilePart.objects.filter(version_id=version_id, claim=claim, index=_FILES_INDEX).first()
    if stored is None:
        raise SourceError("The files of the source were not recorded when it was hashed; profile it again.")
    record = json.loads(bytes(stored.data))
    return check_identities(files, record["files"], same_device_numbers=record["host"] == _host())


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
        parts = ProfilePart.objects.filter(version_id=version_id, claim=claim, index__lt=_FILES_INDEX).order_by("index")
        return [bytes(part.data) for part in parts]
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            psycopg.sql.SQL(
                "SELECT data FROM {table} WHERE version_id = %s AND claim = %s AND index < %s ORDER BY index"
            ).format(table=psycopg.sql.Identifier(ProfilePart._meta.db_table)),
            [version_id, claim, _FILES_INDEX],
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
        splits, format = DatasetVersion.objects.values_list("splits", "format").get(pk=version_id)
        if splits and format in engine.TABULAR_FORMATS:  # a folder of media knows its splits per item
            covered = [PartialProfile.files_of(part) for part in data]
            names = [engine.split_of(files[0], splits) if files else None for files in covered]
            file_names = sorted({name for files in covered for name in files})
            profile = engine.build_with_splits(data, names, file_names)
        else:
            profile = engine.merge_and_build([PartialProfile.from_bytes(part) for part in data])
    except SourceError as exc:
        _finish(version_id, claim, status=VersionStatus.FAILED, error=str(exc), profiled_at=timezone.now())
        return VersionStatus.FAILED
    finally:
        ProfilePart.objects.filter(version_id=version_id, claim=claim).delete()
    stored_ok = _store_profile(version_id, claim, profile, None)
    logger.info("Version %s merged from %d parts", version_id, parts)
    return VersionStatus.READY if stored_ok else None


def version_fail(*, version_id: UUID, error: str, claim: UUID | None = None) -> None:
    """Record that profiling gave up on a version (a time limit, a fault, attempts exhausted)."""
    now = timezone.now()
    versions = DatasetVersion.objects.filter(pk=version_id, status=VersionStatus.PROFILING)
    if claim is not None:
        versions = versions.filter(profiling_claim=claim)
    versions.update(
        status=VersionStatus.FAILED,
        error=error,
        status_changed_at=now,
        updated_at=now,
        profiling_claim=None,
        profiled_at=now,
    )


def _store_manifest(
    version_id: UUID,
    claim: UUID,
    manifest: Sequence[ManifestEntry],
    files: Sequence[SourceFile],
    *,
    dialect: dict[str, Any] | None = None,
    label_missing: dict[str, Any] | None = None,
) -> None:
    """The manifest, before a chord profiles the files; and, for its parts, which files were hashed.
    How the text is read (its dialect) and a label column gone since the version before are known
    now, and kept in the profile for the merge."""
    _record_files(version_id, claim, files)
    DatasetVersion.objects.filter(pk=version_id, profiling_claim=claim).update(
        **_manifest_fields(manifest),
        profile={"dialect": dialect, "label_missing": label_missing},
    )
