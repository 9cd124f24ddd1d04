"""Writes to the lineage graph: OpenLineage events projected into jobs, runs and edges, and declared edges."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import IntegrityError, transaction
from django.db.models import Q

from catalog.models import Dataset, DatasetVersion
from catalog.services import dataset_describe, datasets_discover, users_answering_for
from config.moments import moment_in_utc
from governance.choices import WRITING_ROLES, ChangeAction, ObjectType, OwnershipRole
from governance.models import Namespace, Ownership
from governance.services import ChangeSpec, change_record, change_record_many, ownership_add
from lineage.choices import RUN_STATE_RANK, AliasKind, Direction, EdgeOrigin, EdgeStatus, EventKind, RunState
from lineage.models import (
    ColumnLineage,
    DatasetAlias,
    Job,
    LineageEdge,
    LineageEvent,
    RejectedEdge,
    ReportedDataset,
    Run,
    RunDataset,
    TrustedProducer,
)
from lineage.openlineage import ErrorDetail, InvalidEvent, validate_event
from lineage.selectors import Identity, datasets_resolve, location_uris

logger = logging.getLogger(__name__)

# The widest identities and field names the catalog stores; longer ones are refused, never cut.
MAX_NAMESPACE = 255
MAX_NAME = 512
MAX_FIELD = 1024

# OpenLineage ownership types (free text) mapped to the catalog's roles; anything else is an owner.
OWNERSHIP_ROLES = {
    "steward": OwnershipRole.STEWARD,
    "data_steward": OwnershipRole.STEWARD,
    "maintainer": OwnershipRole.STEWARD,
    "custodian": OwnershipRole.CUSTODIAN,
    "technical_owner": OwnershipRole.CUSTODIAN,
}


@dataclass(frozen=True)
class IngestResult:
    event: LineageEvent
    created: bool
    datasets: dict[Identity, Dataset] = field(default_factory=dict)
    # The identities whose dataset the sender may not write: what the event said of them waits.
    unconfirmed: set[Identity] = field(default_factory=set)


@dataclass
class _EventDataset:
    """One dataset as an event names it, with the facets it carries at its level."""

    identity: Identity
    direction: str | None
    facets: dict[str, Any]
    io_facets: dict[str, Any]

    @property
    def symlinks(self) -> list[tuple[Identity, str]]:
        facet = self.facets.get("symlinks") or {}
        return [
            ((item["namespace"], item["name"]), str(item.get("type", "")))
            for item in facet.get("identifiers", [])
            if isinstance(item, dict) and "namespace" in item and "name" in item
        ]


def _canonical(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _event_time(text: str, path: str = "eventTime") -> datetime:
    try:
        return moment_in_utc(datetime.fromisoformat(text))
    except ValueError as exc:  # MomentOutOfRange included
        raise InvalidEvent([{"path": path, "message": f"{text!r} is not a usable date-time: {exc}"}]) from None


def _time_key(moment: datetime) -> str:
    # One fixed UTC format, so stored times compare as strings.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _parse_datasets(kind: str, payload: Mapping[str, Any]) -> list[_EventDataset]:
    found: list[_EventDataset] = []
    if kind == EventKind.DATASET:
        item = payload["dataset"]
        found.append(_EventDataset((item["namespace"], item["name"]), None, dict(item.get("facets") or {}), {}))
        return found
    for key, direction, io_key in (
        ("inputs", Direction.INPUT, "inputFacets"),
        ("outputs", Direction.OUTPUT, "outputFacets"),
    ):
        for item in payload.get(key) or []:
            found.append(
                _EventDataset(
                    (item["namespace"], item["name"]),
                    direction,
                    dict(item.get("facets") or {}),
                    dict(item.get(io_key) or {}),
                )
            )
    return found


def _column_lineage_identities(datasets: Sequence[_EventDataset]) -> set[Identity]:
    found: set[Identity] = set()
    for item in datasets:
        facet = item.facets.get("columnLineage") or {}
        for spec in (facet.get("fields") or {}).values():
            for source in spec.get("inputFields") or []:
                found.add((source["namespace"], source["name"]))
    return found


def _check_sizes(payload: Mapping[str, Any], datasets: Sequence[_EventDataset], extra: Iterable[Identity]) -> None:
    errors: list[ErrorDetail] = []

    def check(identity: Identity, where: str) -> None:
        namespace, name = identity
        if len(namespace) > MAX_NAMESPACE:
            errors.append(ErrorDetail(path=where, message=f"namespace is longer than {MAX_NAMESPACE} characters"))
        if len(name) > MAX_NAME:
            errors.append(ErrorDetail(path=where, message=f"name is longer than {MAX_NAME} characters"))

    job = payload.get("job")
    if isinstance(job, dict):
        check((job["namespace"], job["name"]), "job")
    for item in datasets:
        check(item.identity, f"dataset {item.identity[0]}:{item.identity[1]}"[:200])
        for alias, _ in item.symlinks:
            check(alias, "facets/symlinks")
        facet = item.facets.get("columnLineage") or {}
        for output_field, spec in (facet.get("fields") or {}).items():
            names = [output_field, *(source.get("field", "") for source in spec.get("inputFields") or [])]
            if any(len(name) > MAX_FIELD for name in names):
                errors.append(
                    ErrorDetail(path="facets/columnLineage", message=f"a field name is longer than {MAX_FIELD}")
                )
    for identity in extra:
        check(identity, "facets/columnLineage/inputFields")
    if errors:
        raise InvalidEvent(errors)


class EventTooLarge(Exception):
    """An event that would write more lineage than one event may: refused whole, nothing written."""

    def __init__(self, message: str, **counts: int) -> None:
        super().__init__(message)
        self.counts = counts


def _check_bounds(datasets: Sequence[_EventDataset]) -> None:
    """Every input of an event is joined to every output, so a few hundred names make tens of
    thousands of edges (and change-log rows): the product is bounded, as are column-lineage entries."""
    inputs = len({item.identity for item in datasets if item.direction == Direction.INPUT})
    outputs = len({item.identity for item in datasets if item.direction == Direction.OUTPUT})
    limit = settings.CATALOG_LINEAGE_MAX_EDGES
    if inputs * outputs > limit:
        raise EventTooLarge(
            f"The event joins {inputs} inputs to {outputs} outputs, {inputs * outputs} edges; one event may "
            f"report at most {limit} (CATALOG_LINEAGE_MAX_EDGES). Split it into several events.",
            inputs=inputs,
            outputs=outputs,
            edges=inputs * outputs,
            limit=limit,
        )
    entries = 0
    for item in datasets:
        facet = item.facets.get("columnLineage") or {}
        for spec in (facet.get("fields") or {}).values():
            entries += len(spec.get("inputFields") or [])
    column_limit = settings.CATALOG_LINEAGE_MAX_COLUMN_EDGES
    if entries > column_limit:
        raise EventTooLarge(
            f"The event's columnLineage facets hold {entries} input fields; one event may report at most "
            f"{column_limit} (CATALOG_LINEAGE_MAX_COLUMN_EDGES). Split it into several events.",
            column_entries=entries,
            limit=column_limit,
        )


# --- Who may change what ---------------------------------------------------------------------------


def _governed_by(actor: User, dataset_ids: Iterable[UUID]) -> set[UUID]:
    """The datasets whose owners and stewards include the actor (or staff): who may name owners."""
    wanted = set(dataset_ids)
    if actor.is_staff:
        return wanted
    owned = Ownership.objects.filter(Q(user=actor) | Q(group__user=actor), role__in=WRITING_ROLES)
    return set(owned.filter(dataset_id__in=wanted).values_list("dataset_id", flat=True))


def datasets_writable_by_events(actor: User, dataset_ids: Iterable[UUID]) -> set[UUID]:
    """The datasets an event from the actor may change: owned or stewarded by them (or a group of
    theirs), staff, or trusting a group of theirs as a producer. Lineage into the others waits for
    their owners to confirm it."""
    wanted = set(dataset_ids)
    if not wanted:
        return set()
    governed = _governed_by(actor, wanted)
    rest = wanted - governed
    if not rest:
        return governed
    trusted = TrustedProducer.objects.filter(group__user=actor, dataset_id__in=rest)
    return governed | set(trusted.values_list("dataset_id", flat=True))


def _may_change(actor: User, owner_id: int | None) -> bool:
    """A job or run is changed by the sender who first reported it, or by staff."""
    return actor.is_staff or (owner_id is not None and owner_id == actor.pk)


# --- Resolving identities to catalog datasets ------------------------------------------------------


def _resolve_event_datasets(
    actor: User, datasets: Sequence[_EventDataset], extra: set[Identity]
) -> dict[Identity, Dataset]:
    """Every identity the event names, resolved; datasets nobody registered are created.

    An event's dataset is the catalog dataset named by its own identity or, failing that, by one of
    its symlinks; whatever identities it carries that name no dataset yet become aliases of it. An
    identity only ever becomes an alias of a dataset the sender may write, in a namespace open to
    them: a sender cannot make others' names land on a dataset, nor their own on others'. Identities
    in a namespace closed to the sender are not created and are absent from the answer.
    """
    identities = {item.identity for item in datasets} | extra
    symlinked = {alias for item in datasets for alias, _ in item.symlinks}
    resolved = datasets_resolve(identities | symlinked)
    closed = Namespace.objects.closed_to(actor, {namespace for namespace, _ in identities | symlinked})
    writable = datasets_writable_by_events(actor, {dataset.pk for dataset in resolved.values()})

    aliases: list[DatasetAlias] = []
    for item in datasets:
        if item.identity in resolved:
            dataset = resolved[item.identity]
            if (dataset.namespace, dataset.name) != item.identity:
                kind = AliasKind.LOCATION if location_uris(item.identity) else AliasKind.SYMLINK
                aliases.append(
                    DatasetAlias(dataset=dataset, namespace=item.identity[0], name=item.identity[1], kind=kind)
                )
            continue
        via = next((resolved[alias] for alias, _ in item.symlinks if alias in resolved), None)
        if via is not None and via.pk in writable and item.identity[0] not in closed:
            resolved[item.identity] = via
            aliases.append(
                DatasetAlias(dataset=via, namespace=item.identity[0], name=item.identity[1], kind=AliasKind.SYMLINK)
            )

    created = datasets_discover(actor=actor, identities=identities - resolved.keys())
    resolved.update(created)
    writable |= datasets_writable_by_events(actor, {dataset.pk for dataset in created.values()})

    for item in datasets:
        named = resolved.get(item.identity)
        if named is None or named.pk not in writable:
            continue
        for alias, alias_type in item.symlinks:
            if alias not in resolved and alias[0] not in closed:
                aliases.append(
                    DatasetAlias(
                        dataset=named,
                        namespace=alias[0],
                        name=alias[1],
                        kind=AliasKind.SYMLINK,
                        alias_type=alias_type[:64],
                    )
                )
                resolved[alias] = named
    if aliases:
        # ignore_conflicts: an identity already taken keeps naming the dataset it named first.
        DatasetAlias.objects.bulk_create(aliases, ignore_conflicts=True)
    return resolved


# --- Facets ----------------------------------------------------------------------------------------


def _merge_facets(facets: dict[str, Any], times: dict[str, str], incoming: Mapping[str, Any], moment: datetime) -> bool:
    """Keep, for each facet, the value of the latest event that carried it, whatever the arrival order."""
    stamp = _time_key(moment)
    changed = False
    for key, value in incoming.items():
        if times.get(key, "") > stamp:
            continue
        if isinstance(value, dict) and value.get("_deleted") is True:
            changed |= facets.pop(key, None) is not None
        elif facets.get(key) != value:
            facets[key] = value
            changed = True
        times[key] = stamp
    return changed


def _reported_fields(schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    fields = []
    for position, item in enumerate(schema.get("fields") or [], start=1):
        entry: dict[str, Any] = {"name": item["name"], "type": item.get("type", ""), "position": position}
        if item.get("description"):
            entry["description"] = item["description"]
        if item.get("fields"):
            entry["fields"] = _reported_fields(item)
        fields.append(entry)
    return fields


def _project_dataset_facets(
    *, actor: User, dataset: Dataset, facets: Mapping[str, Any], moment: datetime, governs: bool
) -> None:
    """Apply a dataset's facets (called only for datasets the sender may write); `ownership` only
    from its owners, stewards or staff: a trusted producer describes a dataset, it does not name
    who answers for it."""
    if not facets:
        return
    ReportedDataset.objects.get_or_create(dataset=dataset)
    report = ReportedDataset.objects.select_for_update().get(dataset=dataset)
    current, times = dict(report.facets), dict(report.facet_times)
    if not _merge_facets(current, times, facets, moment):
        return
    report.facets, report.facet_times = current, times
    report.fields = _reported_fields(current["schema"]) if "schema" in current else []
    report.dataset_type = str((current.get("datasetType") or {}).get("datasetType", ""))[:64]
    source = current.get("dataSource") or {}
    report.source_name = str(source.get("name", ""))[:512]
    report.source_uri = str(source.get("uri", ""))[:2048]
    storage = current.get("storage") or {}
    report.storage_layer = str(storage.get("storageLayer", ""))[:64]
    report.file_format = str(storage.get("fileFormat", ""))[:64]
    report.reported_version = str((current.get("version") or {}).get("datasetVersion", ""))[:255]
    report.save()

    documentation = facets.get("documentation") or {}
    if isinstance(documentation.get("description"), str):
        dataset_describe(actor=actor, dataset_id=dataset.pk, description=documentation["description"])
    if not governs:
        return
    ownership = facets.get("ownership") or {}
    for owner in ownership.get("owners") or []:
        _owner_add(actor=actor, dataset=dataset, name=str(owner.get("name", "")), kind=str(owner.get("type", "")))


def _owner_add(*, actor: User, dataset: Dataset, name: str, kind: str) -> None:
    """An ownership facet's owner, when it names a user (username or email) or a group of the catalog."""
    role = OWNERSHIP_ROLES.get(kind.strip().lower().replace(" ", "_"), OwnershipRole.OWNER)
    prefix, _, rest = name.partition(":")
    wants_user = prefix.lower() == "user"
    wants_group = prefix.lower() in ("group", "team")
    principal = rest if (wants_user or wants_group) else name
    if not principal:
        return
    if not wants_group:
        user = User.objects.filter(Q(username=principal) | Q(email__iexact=principal), is_active=True).first()
        if user is not None:
            ownership_add(dataset_id=dataset.pk, user=user, role=role, actor=actor)
            return
    if not wants_user:
        group = Group.objects.filter(name=principal).first()
        if group is not None:
            ownership_add(dataset_id=dataset.pk, group=group, role=role, actor=actor)
            return
    logger.info("Ownership facet names %r, who is neither a user nor a group of the catalog", name)


# --- Jobs and runs ---------------------------------------------------------------------------------


def _job_project(actor: User, payload: Mapping[str, Any], moment: datetime) -> Job:
    spec = payload["job"]
    Job.objects.get_or_create(namespace=spec["namespace"], name=spec["name"], defaults={"owner": actor})
    job = Job.objects.select_for_update().get(namespace=spec["namespace"], name=spec["name"])
    if not _may_change(actor, job.owner_id):
        return job
    facets = spec.get("facets") or {}
    current, times = dict(job.facets), dict(job.facet_times)
    if _merge_facets(current, times, facets, moment):
        job.facets, job.facet_times = current, times
        documentation = current.get("documentation") or {}
        job.description = str(documentation.get("description", ""))
        job_type = current.get("jobType") or {}
        job.job_type = str(job_type.get("jobType", ""))[:64]
        job.integration = str(job_type.get("integration", ""))[:64]
        job.processing_type = str(job_type.get("processingType", ""))[:16]
        job.save()
    return job


def _run_project(actor: User, payload: Mapping[str, Any], job: Job, moment: datetime) -> Run | None:
    """The event's run, brought up to date; None when the sender may not change it (the run is
    another sender's): such an event changes neither the run nor what it read and wrote."""
    spec = payload["run"]
    run_id = UUID(spec["runId"])
    state = payload.get("eventType") or RunState.OTHER
    if state not in RunState.values:
        state = RunState.OTHER
    Run.objects.get_or_create(
        id=run_id, defaults={"job": job, "state": state, "state_event_time": moment, "owner": actor}
    )
    run = Run.objects.select_for_update().get(pk=run_id)
    if run.job_id != job.pk:
        raise InvalidEvent([{"path": "run/runId", "message": f"run {run_id} belongs to the job {run.job}, not {job}"}])
    if not _may_change(actor, run.owner_id):
        return None
    if (RUN_STATE_RANK[RunState(state)], moment) > (RUN_STATE_RANK[RunState(run.state)], run.state_event_time):
        run.state, run.state_event_time = state, moment
    run.started_at = min(run.started_at or moment, moment)
    if state in (RunState.COMPLETE, RunState.ABORT, RunState.FAIL):
        run.ended_at = max(run.ended_at or moment, moment)
    facets = spec.get("facets") or {}
    current, times = dict(run.facets), dict(run.facet_times)
    _merge_facets(current, times, facets, moment)
    run.facets, run.facet_times = current, times
    nominal = current.get("nominalTime") or {}
    if nominal.get("nominalStartTime"):
        run.nominal_start_time = _event_time(nominal["nominalStartTime"], "run.facets.nominalTime.nominalStartTime")
    if nominal.get("nominalEndTime"):
        run.nominal_end_time = _event_time(nominal["nominalEndTime"], "run.facets.nominalTime.nominalEndTime")
    parent = (current.get("parent") or {}).get("run") or {}
    if parent.get("runId"):
        run.parent_run_id = UUID(parent["runId"])
    run.save()
    # The job's latest run is the one that started last, whichever run's events arrive last.
    other = None if job.latest_run_id in (None, run.pk) else job.latest_run_id
    latest_start = Run.objects.filter(pk=other).values_list("started_at", flat=True).first() if other else None
    if latest_start is None or run.started_at >= latest_start:
        Job.objects.filter(pk=job.pk).update(latest_run=run)
    return run


def _versions_reported(
    datasets: Sequence[_EventDataset], resolved: Mapping[Identity, Dataset]
) -> dict[Identity, DatasetVersion]:
    """The catalog versions the event's version facets name: a fingerprint, a version number or an id."""
    reported: dict[Identity, str] = {}
    for item in datasets:
        text = str((item.facets.get("version") or {}).get("datasetVersion", "")).strip()
        if text:
            reported[item.identity] = text
    if not reported:
        return {}
    dataset_ids = {resolved[identity].pk for identity in reported}
    texts = set(reported.values())
    numbers = {int(text) for text in texts if text.isdigit() and len(text) < 10}
    ids = set()
    for text in texts:
        with contextlib.suppress(ValueError):
            ids.add(UUID(text))
    versions = DatasetVersion.objects.filter(
        Q(fingerprint__in=texts) | Q(number__in=numbers) | Q(id__in=ids), dataset_id__in=dataset_ids
    )
    by_dataset: dict[UUID, list[DatasetVersion]] = {}
    for version in versions:
        by_dataset.setdefault(version.dataset_id, []).append(version)
    found: dict[Identity, DatasetVersion] = {}
    for identity, text in reported.items():
        for version in by_dataset.get(resolved[identity].pk, []):
            if text in (version.fingerprint, str(version.number), str(version.pk)):
                found[identity] = version
                break
    return found


def _run_datasets_record(
    run: Run,
    datasets: Sequence[_EventDataset],
    resolved: Mapping[Identity, Dataset],
    versions: Mapping[Identity, DatasetVersion],
) -> None:
    rows = {}
    for item in datasets:
        if item.direction is None:
            continue
        dataset = resolved[item.identity]
        rows[(dataset.pk, item.direction)] = RunDataset(
            run=run,
            dataset=dataset,
            direction=item.direction,
            version=versions.get(item.identity),
            reported_version=str((item.facets.get("version") or {}).get("datasetVersion", ""))[:255],
            facets=item.io_facets,
        )
    if not rows:
        return
    RunDataset.objects.bulk_create(rows.values(), ignore_conflicts=True)
    existing = RunDataset.objects.select_for_update().filter(run=run, dataset_id__in={key[0] for key in rows})
    changed = []
    for row in existing.order_by("id"):
        new = rows.get((row.dataset_id, row.direction))
        if new is None:
            continue
        updates = {
            "version_id": row.version_id or (new.version.pk if new.version else None),
            "reported_version": row.reported_version or new.reported_version,
            "facets": {**row.facets, **new.facets},
        }
        if any(getattr(row, name) != value for name, value in updates.items()):
            for name, value in updates.items():
                setattr(row, name, value)
            changed.append(row)
    if changed:
        RunDataset.objects.bulk_update(changed, ["version_id", "reported_version", "facets"])


def _edges_record(
    *,
    actor: User,
    job: Job,
    run: Run | None,
    moment: datetime,
    datasets: Sequence[_EventDataset],
    resolved: Mapping[Identity, Dataset],
    versions: Mapping[Identity, DatasetVersion],
    writable: set[UUID],
) -> None:
    """Each input joined to each output through the job. An edge into a dataset the sender may not
    write is held unconfirmed; such a sender never moves the run and versions an edge records
    (what audits pin upstream versions by), except on the unconfirmed edges they reported."""
    inputs = {resolved[item.identity].pk: item.identity for item in datasets if item.direction == Direction.INPUT}
    outputs = {resolved[item.identity].pk: item.identity for item in datasets if item.direction == Direction.OUTPUT}
    if not inputs or not outputs:
        return
    between = LineageEdge.objects.filter(job=job, source_id__in=inputs, target_id__in=outputs)
    known = set(between.values_list("source_id", "target_id"))
    known |= _rejected_for(actor, job, inputs, set(outputs) - writable)
    new = [(source, target) for source in sorted(inputs) for target in sorted(outputs) if (source, target) not in known]
    if new:
        LineageEdge.objects.bulk_create(
            [
                LineageEdge(
                    source_id=source,
                    target_id=target,
                    job=job,
                    origin=EdgeOrigin.OPENLINEAGE,
                    status=EdgeStatus.CONFIRMED if target in writable else EdgeStatus.UNCONFIRMED,
                    created_by=actor,
                )
                for source, target in new
            ],
            ignore_conflicts=True,  # the same edge, reported by another event at the same moment
        )
        _edges_log(actor, between.filter(_pairs(new)).select_related("job"))
    # A writer of the target reporting an edge someone else left unconfirmed vouches for it.
    vouched = list(
        between.select_for_update(of=("self",))
        .filter(status=EdgeStatus.UNCONFIRMED, target_id__in=writable)
        .select_related("job")
        .order_by("id")
    )
    if vouched:
        LineageEdge.objects.filter(pk__in=[edge.pk for edge in vouched]).update(status=EdgeStatus.CONFIRMED)
        _edges_status_log(actor, vouched, EdgeStatus.CONFIRMED)
    if run is None:
        return
    edges = LineageEdge.objects.select_for_update().filter(job=job, source_id__in=inputs, target_id__in=outputs)
    changed = []
    for edge in edges.order_by("id"):
        if edge.run_event_time is not None and edge.run_event_time > moment:
            continue
        own_report = edge.status == EdgeStatus.UNCONFIRMED and edge.created_by_id == actor.pk
        if edge.target_id not in writable and not own_report:
            continue
        source_version = versions.get(inputs[edge.source_id])
        target_version = versions.get(outputs[edge.target_id])
        edge.run, edge.run_event_time = run, moment
        edge.source_version = source_version
        edge.target_version = target_version
        changed.append(edge)
    if changed:
        LineageEdge.objects.bulk_update(changed, ["run", "run_event_time", "source_version", "target_version"])


def _rejected_for(
    actor: User, job: Job | None, sources: Iterable[UUID], targets: Iterable[UUID]
) -> set[tuple[UUID, UUID]]:
    """The (source, target) pairs among these whose edge through the job, reported by the actor, the
    target's owners rejected: the actor reporting them again brings nothing back."""
    targets = set(targets)
    if job is None or not targets:
        return set()
    rejected = RejectedEdge.objects.filter(job=job, sender=actor, source_id__in=set(sources), target_id__in=targets)
    return set(rejected.values_list("source_id", "target_id"))


def _pairs(pairs: Iterable[tuple[Any, Any]]) -> Q:
    query = Q()
    for source, target in pairs:
        query |= Q(source_id=source, target_id=target)
    return query


def _edge_values(edge: LineageEdge) -> dict[str, Any]:
    return {
        "source": str(edge.source_id),
        "target": str(edge.target_id),
        "job": f"{edge.job.namespace}:{edge.job.name}" if edge.job is not None else None,
        "origin": edge.origin,
        "status": edge.status,
        "description": edge.description,
    }


def _edges_status_log(actor: User, edges: Iterable[LineageEdge], status: str) -> None:
    change_record_many(
        actor=actor,
        changes=[
            ChangeSpec(
                action=ChangeAction.UPDATE,
                object_type=ObjectType.EDGE,
                object_id=edge.pk,
                dataset_id=edge.target_id,
                before={"status": edge.status},
                after={"status": status},
                object_repr=str(edge),
            )
            for edge in edges
        ],
    )


def _edges_log(actor: User, edges: Iterable[LineageEdge]) -> None:
    change_record_many(
        actor=actor,
        changes=[
            ChangeSpec(
                action=ChangeAction.CREATE,
                object_type=ObjectType.EDGE,
                object_id=edge.pk,
                dataset_id=edge.target_id,
                after=_edge_values(edge),
                object_repr=str(edge),
            )
            for edge in edges
        ],
    )


def _column_lineage_record(
    *,
    actor: User,
    job: Job | None,
    run: Run | None,
    moment: datetime,
    datasets: Sequence[_EventDataset],
    resolved: Mapping[Identity, Dataset],
    writable: set[UUID],
) -> None:
    """Output fields from input fields. Into a dataset the sender may not write, new entries are held
    unconfirmed and existing ones are left as they are."""
    reported: dict[tuple[UUID, str, UUID, str], dict[str, Any]] = {}
    for item in datasets:
        facet = item.facets.get("columnLineage") or {}
        output = resolved[item.identity]
        for output_field, spec in (facet.get("fields") or {}).items():
            for source in spec.get("inputFields") or []:
                source_dataset = resolved.get((source["namespace"], source["name"]))
                if source_dataset is None:  # in a namespace closed to the sender
                    continue
                key = (output.pk, output_field, source_dataset.pk, source["field"])
                entry = reported.setdefault(
                    key,
                    {
                        "transformations": [],
                        "transformation_type": str(spec.get("transformationType", ""))[:32],
                        "transformation_description": str(spec.get("transformationDescription", "")),
                    },
                )
                entry["transformations"].extend(source.get("transformations") or [])
    if not reported:
        return
    # What the target's owners rejected from this sender stays out, at the column level too.
    rejected = _rejected_for(actor, job, {key[2] for key in reported}, {key[0] for key in reported} - writable)
    ColumnLineage.objects.bulk_create(
        [
            ColumnLineage(
                output_dataset_id=key[0],
                output_field=key[1],
                input_dataset_id=key[2],
                input_field=key[3],
                job=job,
                run=run,
                event_time=moment,
                status=EdgeStatus.CONFIRMED if key[0] in writable else EdgeStatus.UNCONFIRMED,
                created_by=actor,
                **values,
            )
            for key, values in reported.items()
            if (key[2], key[0]) not in rejected
        ],
        ignore_conflicts=True,
    )
    reported = {key: values for key, values in reported.items() if key[0] in writable}
    if not reported:
        return
    outputs = {key[0] for key in reported}
    existing = ColumnLineage.objects.select_for_update().filter(
        output_dataset_id__in=outputs,
        output_field__in={key[1] for key in reported},
        input_dataset_id__in={key[2] for key in reported},
    )
    changed = []
    for row in existing.order_by("id"):
        values = reported.get((row.output_dataset_id, row.output_field, row.input_dataset_id, row.input_field))
        if values is None or (row.event_time is not None and row.event_time > moment):
            continue
        if (
            row.event_time == moment
            and row.status == EdgeStatus.CONFIRMED
            and all(getattr(row, name) == value for name, value in values.items())
        ):
            continue
        for name, value in values.items():
            setattr(row, name, value)
        row.job, row.run, row.event_time, row.status = job, run, moment, EdgeStatus.CONFIRMED
        changed.append(row)
    if changed:
        ColumnLineage.objects.bulk_update(
            changed,
            [
                "transformations",
                "transformation_type",
                "transformation_description",
                "job",
                "run",
                "event_time",
                "status",
            ],
        )


# --- Ingestion -------------------------------------------------------------------------------------


def lineage_event_ingest(*, actor: User, payload: Any) -> IngestResult:
    """Record an OpenLineage event and project it into the catalog, in one transaction.

    Raises InvalidEvent (nothing written) for an event the OpenLineage schema refuses, EventTooLarge
    for one that would write more edges than one event may. The same event delivered again is
    recognised by its digest and changes nothing.

    The raw event is always kept; its projection changes only what the sender may write: facets of
    datasets they own, steward or produce for (as a trusted group), jobs and runs they first
    reported. Edges into other datasets are held unconfirmed for those datasets' owners.
    """
    kind = validate_event(payload)
    canonical = _canonical(payload)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    existing = LineageEvent.objects.filter(digest=digest).first()
    if existing is not None:
        return IngestResult(event=existing, created=False)

    moment = _event_time(payload["eventTime"])
    datasets = _parse_datasets(kind, payload)
    extra = _column_lineage_identities(datasets)
    _check_sizes(payload, datasets, extra)
    _check_bounds(datasets)
    job_spec = payload.get("job") if kind != EventKind.DATASET else None
    run_spec = payload.get("run") if kind == EventKind.RUN else None

    try:
        with transaction.atomic():
            event = LineageEvent.objects.create(
                digest=digest,
                kind=kind,
                event_type=str(payload.get("eventType") or "")[:16],
                event_time=moment,
                run_id=UUID(run_spec["runId"]) if run_spec else None,
                job_namespace=job_spec["namespace"] if job_spec else "",
                job_name=job_spec["name"] if job_spec else "",
                producer=str(payload.get("producer", ""))[:2048],
                payload=payload,
                received_by=actor,
            )
            resolved = _resolve_event_datasets(actor, datasets, extra)
            # Identities in namespaces closed to the sender name nothing: the raw event keeps them.
            datasets = [item for item in datasets if item.identity in resolved]
            named = {resolved[item.identity].pk for item in datasets}
            writable = datasets_writable_by_events(actor, named)
            governed = _governed_by(actor, writable)
            for item in sorted(datasets, key=lambda entry: str(resolved[entry.identity].pk)):
                dataset = resolved[item.identity]
                if item.facets and dataset.pk in writable:
                    _project_dataset_facets(
                        actor=actor,
                        dataset=dataset,
                        facets=item.facets,
                        moment=moment,
                        governs=dataset.pk in governed,
                    )
            job = _job_project(actor, payload, moment) if job_spec else None
            # Runs of another sender's job are theirs to report.
            run = None
            if run_spec and job is not None and _may_change(actor, job.owner_id):
                run = _run_project(actor, payload, job, moment)
            versions = _versions_reported(datasets, resolved)
            if run is not None:
                _run_datasets_record(run, datasets, resolved, versions)
            if job is not None:
                _edges_record(
                    actor=actor,
                    job=job,
                    run=run,
                    moment=moment,
                    datasets=datasets,
                    resolved=resolved,
                    versions=versions,
                    writable=writable,
                )
            _column_lineage_record(
                actor=actor, job=job, run=run, moment=moment, datasets=datasets, resolved=resolved, writable=writable
            )
    except IntegrityError:
        # The same event, delivered twice at once: the other delivery recorded it.
        existing = LineageEvent.objects.filter(digest=digest).first()
        if existing is None:
            raise
        return IngestResult(event=existing, created=False)
    return IngestResult(
        event=event,
        created=True,
        datasets={item.identity: resolved[item.identity] for item in datasets},
        unconfirmed={item.identity for item in datasets if resolved[item.identity].pk not in writable},
    )


# --- Declared edges --------------------------------------------------------------------------------


class EdgeAlreadyDeclared(Exception):
    def __init__(self, edge: LineageEdge) -> None:
        super().__init__("This edge is already declared.")
        self.edge = edge


def edge_declare(*, actor: User, source: Dataset, target: Dataset, description: str = "") -> LineageEdge:
    """Declare that data flowed from one dataset into another, for tools that send no events."""
    try:
        with transaction.atomic():
            edge = LineageEdge.objects.create(
                source=source, target=target, origin=EdgeOrigin.MANUAL, description=description, created_by=actor
            )
            _edges_log(actor, [edge])
            return edge
    except IntegrityError:
        existing = LineageEdge.objects.filter(source=source, target=target, job__isnull=True).first()
        if existing is None:
            raise
        raise EdgeAlreadyDeclared(existing) from None


class EdgeAlreadyConfirmed(Exception):
    def __init__(self) -> None:
        super().__init__("This edge is confirmed already; remove it with DELETE if it is wrong.")


def _column_lineage_between(edge: LineageEdge) -> Any:
    return ColumnLineage.objects.filter(
        input_dataset_id=edge.source_id, output_dataset_id=edge.target_id, status=EdgeStatus.UNCONFIRMED
    )


def edge_confirm(*, actor: User, edge: LineageEdge) -> LineageEdge:
    """The target's owners accept reported lineage: audits follow it from now on, and the column
    lineage the same reports held between the two datasets counts too."""
    with transaction.atomic():
        edge = LineageEdge.objects.select_for_update(of=("self",)).select_related("job").get(pk=edge.pk)
        if edge.status == EdgeStatus.CONFIRMED:
            return edge
        _edges_status_log(actor, [edge], EdgeStatus.CONFIRMED)
        edge.status = EdgeStatus.CONFIRMED
        edge.save(update_fields=["status", "updated_at"])
        _column_lineage_between(edge).update(status=EdgeStatus.CONFIRMED)
    return edge


def edge_reject(*, actor: User, edge: LineageEdge) -> None:
    """The target's owners refuse reported lineage: the edge goes (the raw event stays), with the
    column lineage held unconfirmed between the two datasets when no other edge joins them. The
    rejection is remembered, so its sender reporting it again does not bring it back."""
    with transaction.atomic():
        edge = LineageEdge.objects.select_for_update(of=("self",)).select_related("job").get(pk=edge.pk)
        if edge.status == EdgeStatus.CONFIRMED:
            raise EdgeAlreadyConfirmed()
        if edge.job_id is not None and edge.created_by_id is not None:
            RejectedEdge.objects.get_or_create(
                source_id=edge.source_id,
                target_id=edge.target_id,
                job_id=edge.job_id,
                sender_id=edge.created_by_id,
                defaults={"rejected_by": actor},
            )
        _edge_delete(actor=actor, edge=edge, reason="rejected")
        if not LineageEdge.objects.filter(source_id=edge.source_id, target_id=edge.target_id).exists():
            _column_lineage_between(edge).delete()


def edge_remove(*, actor: User, edge: LineageEdge) -> None:
    """Remove an edge, declared or reported: the target's owners answer for where it came from. The
    raw events stay, so what the pipelines said remains on record."""
    with transaction.atomic():
        _edge_delete(actor=actor, edge=edge, reason="removed")


def _edge_delete(*, actor: User, edge: LineageEdge, reason: str) -> None:
    values, pk = _edge_values(edge), edge.pk
    edge.delete()
    change_record(
        actor=actor,
        action=ChangeAction.DELETE,
        object_type=ObjectType.EDGE,
        object_id=pk,
        dataset_id=values["target"],
        before=values,
        after={"reason": reason},
        object_repr=f"{values['source']} -> {values['target']}",
    )


# --- Purging a dataset -----------------------------------------------------------------------------


def lineage_release(*, actor: User, dataset: Dataset, **_: Any) -> dict[str, list[Any]]:
    """Remove the lineage that names a dataset about to be purged but that its owners do not stand
    behind, so it does not hold the purge back: unconfirmed edges and column lineage, edges and
    column lineage out of it reported by someone who does not answer for it (nor staff), and what
    runs of such senders read or wrote. Any reader may name a dataset they see in an event; that
    must not keep it from ever being purged. Confirmed lineage into it, and lineage and runs its
    owners or staff reported, stay and so refuse the purge. Each edge removed is in the change log
    (under its target, so the other dataset's owners see it go); the rest is answered for the
    purge's entry."""
    answering = users_answering_for(dataset.pk).values("pk")
    unconfirmed = Q(status=EdgeStatus.UNCONFIRMED)
    edges = list(
        LineageEdge.objects.select_for_update(of=("self",))
        .filter(Q(target=dataset) & unconfirmed | Q(source=dataset) & (unconfirmed | ~Q(created_by__in=answering)))
        .select_related("job")
        .order_by("id")
    )
    if edges:
        LineageEdge.objects.filter(pk__in=[edge.pk for edge in edges]).delete()
        change_record_many(
            actor=actor,
            changes=[
                ChangeSpec(
                    action=ChangeAction.DELETE,
                    object_type=ObjectType.EDGE,
                    object_id=edge.pk,
                    dataset_id=edge.target_id,
                    before=_edge_values(edge),
                    after={"reason": "purged"},
                    object_repr=str(edge),
                )
                for edge in edges
            ],
        )
    columns = ColumnLineage.objects.filter(
        Q(output_dataset=dataset) & unconfirmed
        | Q(input_dataset=dataset) & (unconfirmed | ~Q(created_by__in=answering))
    )
    column_entries = [
        f"{input_id}.{input_field} -> {output_id}.{output_field}"
        for input_id, input_field, output_id, output_field in columns.order_by("id").values_list(
            "input_dataset_id", "input_field", "output_dataset_id", "output_field"
        )
    ]
    if column_entries:
        columns.delete()
    runs = RunDataset.objects.filter(dataset=dataset).exclude(run__owner__in=answering)
    run_entries = [
        {"run": str(run_id), "direction": direction}
        for run_id, direction in runs.order_by("id").values_list("run_id", "direction")
    ]
    if run_entries:
        runs.delete()
    released: dict[str, list[Any]] = {}
    for kind, entries in (
        ("edges", [edge.pk for edge in edges]),
        ("column_lineage", column_entries),
        ("run_datasets", run_entries),
    ):
        if entries:
            released[kind] = entries
    return released


# --- Trusted producers -----------------------------------------------------------------------------


def trusted_producers_set(*, actor: User, dataset: Dataset, groups: Sequence[Group]) -> list[Group]:
    """Replace the groups whose members' events may change the dataset as its writers' would."""
    with transaction.atomic():
        # The dataset row is locked so two writers setting the list at once end with one of them.
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        current = {row.group_id: row for row in TrustedProducer.objects.filter(dataset=dataset).select_related("group")}
        wanted = {group.pk: group for group in groups}
        if set(current) == set(wanted):
            return list(wanted.values())
        before = sorted(row.group.name for row in current.values())
        TrustedProducer.objects.filter(dataset=dataset).exclude(group_id__in=wanted).delete()
        TrustedProducer.objects.bulk_create(
            [
                TrustedProducer(dataset=dataset, group=group, created_by=actor)
                for pk, group in wanted.items()
                if pk not in current
            ]
        )
        change_record(
            actor=actor,
            action=ChangeAction.UPDATE,
            object_type=ObjectType.DATASET,
            object_id=dataset.pk,
            dataset_id=dataset.pk,
            before={"trusted_producers": before},
            after={"trusted_producers": sorted(group.name for group in wanted.values())},
            object_repr=str(dataset),
        )
    return list(wanted.values())
