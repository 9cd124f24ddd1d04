"""Projecting a list of prepared OpenLineage events into the graph in a constant number of queries for the
whole list: what the events name is read (and locked) at once, each event is applied in memory in the
list's order under the rules one event alone follows, and what changed is written at once.

A single event is the list of one. The rows an event reads are those the earlier events of the list left,
so a batch ends with the graph its events would leave sent one by one: the run's state by rank and event
time, each facet's latest value, the latest run of a job, the edges' latest run, column lineage by event
time. Should a row the list meant to insert be inserted by a concurrent writer first, the insert fails
(IntegrityError) and the caller takes the events again, seeing it; should a dataset the list discovered
not end up writable by the sender (another sender created it at the same moment), ProjectionMoved says
so, for the same reason.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import OperationalError
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import Dataset, DatasetVersion
from catalog.services import dataset_describe, datasets_discover
from governance.models import Namespace
from lineage.choices import AliasKind, Direction, EdgeOrigin, EdgeStatus, RunState
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
)
from lineage.openlineage import EventKind, InvalidEvent
from lineage.selectors import Identity, datasets_resolve, location_uris
from lineage.services.datasets import REPORT_FIELDS, _lifecycle_apply, _owner_add, _report_merge
from lineage.services.edges import _edges_log, _edges_status_log
from lineage.services.events import _dataset_wide, _EventDataset, _merge_facets, _output_fields, _time_key
from lineage.services.runs import _RUN_FIELDS, _run_apply
from lineage.services.trust import _may_change, _writable_and_governed


class ProjectionMoved(OperationalError):
    """A concurrent writer changed what the list was projected against: take the events again."""


@dataclass
class Prepared:
    """What the projection reads of a new event, its sizes and bounds checked."""

    kind: EventKind
    payload: Any
    digest: str
    moment: datetime
    datasets: list[_EventDataset]
    extra: set[Identity]


@dataclass
class Projected:
    """One event of the list, recorded: its row, the datasets it named (identity -> dataset) and those of
    them the sender may not write (what the event said of them waits)."""

    event: LineageEvent
    datasets: dict[Identity, Dataset] = field(default_factory=dict)
    unconfirmed: set[Identity] = field(default_factory=set)


@dataclass(frozen=True)
class _New:
    """A dataset the list discovers, before it is created."""

    identity: Identity


def events_project(
    actor: User, events: Sequence[LineageEvent], prepared: Sequence[Prepared], *, signal: Any
) -> list[Projected]:
    """Project recorded events (`events`, as `prepared` reads them, in the same order) in the caller's
    transaction, in the list's order. `signal` (lineage_run_reported) is sent for each event that changed
    a run, once the runs and what they read and wrote are written, with the run and job as that event
    left them."""
    return _Projection(actor, events, prepared, signal).run()


class _Projection:
    def __init__(self, actor: User, events: Sequence[LineageEvent], prepared: Sequence[Prepared], signal: Any) -> None:
        self.actor = actor
        self.events = list(events)
        self.prepared = list(prepared)
        self.signal = signal
        self.now = timezone.now()
        # Reports, jobs, runs, what runs read and wrote, edges and column lineage: the rows the list
        # reads, as the events so far left them, and those to write at the end.
        self.reports: dict[UUID, ReportedDataset] = {}
        self.reports_changed: dict[UUID, ReportedDataset] = {}
        self.jobs: dict[Identity, Job] = {}
        self.jobs_changed: dict[UUID, Job] = {}
        self.runs: dict[UUID, Run] = {}
        self.runs_new: dict[UUID, Run] = {}
        self.runs_changed: dict[UUID, Run] = {}
        self.run_starts: dict[UUID, datetime | None] = {}
        self.run_datasets: dict[tuple[UUID, UUID, str], RunDataset] = {}
        self.run_datasets_new: list[RunDataset] = []
        self.run_datasets_changed: dict[int, RunDataset] = {}
        self.edges: dict[tuple[UUID, UUID, UUID], LineageEdge] = {}
        self.edges_new: list[LineageEdge] = []
        self.edges_changed: dict[int, LineageEdge] = {}
        self.edges_vouched: list[LineageEdge] = []
        self.rejected: set[tuple[UUID, UUID, UUID]] = set()
        self.columns: dict[tuple[UUID, str, UUID, str], ColumnLineage] = {}
        self.columns_held: dict[tuple[UUID, str, UUID, str], ColumnLineage] = {}
        self.columns_upserted: dict[tuple[UUID, str, UUID, str], ColumnLineage] = {}
        self.signals: list[dict[str, Any]] = []

    # --- The whole list ---------------------------------------------------------------------------

    def run(self) -> list[Projected]:
        events = self.events
        resolved, writable, governed = self._datasets_resolve()
        per_event = []
        for prepared in self.prepared:
            datasets = [item for item in prepared.datasets if item.identity in resolved]
            per_event.append((prepared, datasets, writable & {resolved[item.identity].pk for item in datasets}))
        self._reports_load(per_event, resolved)
        self._jobs_load()
        self._runs_load()
        self._run_datasets_load()
        versions = self._versions_load(per_event, resolved)
        self._edges_load(per_event, resolved)
        self._columns_load(per_event, resolved)

        results = []
        for (prepared, datasets, event_writable), event in zip(per_event, events, strict=True):
            self._event_apply(prepared, datasets, event_writable, governed, resolved, versions)
            results.append(
                Projected(
                    event=event,
                    datasets={item.identity: resolved[item.identity] for item in datasets},
                    unconfirmed={
                        item.identity for item in datasets if resolved[item.identity].pk not in event_writable
                    },
                )
            )
        self._write()
        return results

    def _event_apply(
        self,
        prepared: Prepared,
        datasets: list[_EventDataset],
        writable: set[UUID],
        governed: set[UUID],
        resolved: Mapping[Identity, Dataset],
        versions: Mapping[tuple[UUID, str], DatasetVersion],
    ) -> None:
        kind, payload, moment = prepared.kind, prepared.payload, prepared.moment
        job_spec = payload.get("job") if kind != EventKind.DATASET else None
        run_spec = payload.get("run") if kind == EventKind.RUN else None
        self._reports_apply(
            [(resolved[item.identity], item.facets) for item in datasets if resolved[item.identity].pk in writable],
            moment,
            governed & writable,
        )
        job = self._job_apply(payload, moment) if job_spec else None
        run = None
        if run_spec and job is not None and _may_change(self.actor, job.owner_id):
            run = self._run_apply(payload, job, moment)
        found = {}
        for item in datasets:
            text = str((item.facets.get("version") or {}).get("datasetVersion", "")).strip()
            version = versions.get((resolved[item.identity].pk, text)) if text else None
            if version is not None:
                found[item.identity] = version
        if run is not None and job is not None:
            self._run_datasets_apply(run, datasets, resolved, found)
            self.signals.append(
                {
                    "actor": self.actor,
                    "event": payload,
                    "job": copy.copy(job),
                    "run": copy.copy(run),
                    "datasets": {item.identity: resolved[item.identity] for item in datasets},
                    "versions": found,
                }
            )
        if job is not None:
            self._edges_apply(job, run, moment, datasets, resolved, found, writable)
        self._columns_apply(job, run, moment, datasets, resolved, writable)

    # --- Datasets -----------------------------------------------------------------------------------

    def _datasets_resolve(self) -> tuple[dict[Identity, Dataset], set[UUID], set[UUID]]:
        """Every identity the events name, resolved as the events one by one would resolve them: by
        identity, alias or location; through a symlink to a dataset the sender may write; or created
        (owned by the sender). The identities an earlier event created or aliased are known to the
        later ones. With the ids of the datasets the sender's events may write and of those they govern."""
        actor = self.actor
        identities: set[Identity] = set()
        symlinked: set[Identity] = set()
        for prepared in self.prepared:
            identities |= {item.identity for item in prepared.datasets} | prepared.extra
            symlinked |= {alias for item in prepared.datasets for alias, _ in item.symlinks}
        known = datasets_resolve(identities | symlinked)
        closed = (
            Namespace.objects.closed_to(actor, {namespace for namespace, _ in identities | symlinked})
            if symlinked or identities - known.keys()
            else set()
        )
        writable, governed = _writable_and_governed(actor, {dataset.pk for dataset in known.values()})
        resolved: dict[Identity, Dataset | _New] = dict(known)

        def may_write(target: Dataset | _New) -> bool:
            # What the sender discovers, they own.
            return isinstance(target, _New) or target.pk in writable

        aliases: dict[Identity, tuple[Dataset | _New, str, str]] = {}
        for prepared in self.prepared:
            for item in prepared.datasets:
                if item.identity in resolved:
                    target = resolved[item.identity]
                    if isinstance(target, Dataset) and (target.namespace, target.name) != item.identity:
                        kind = AliasKind.LOCATION if location_uris(item.identity) else AliasKind.SYMLINK
                        aliases.setdefault(item.identity, (target, kind, ""))
                    continue
                via = next((resolved[alias] for alias, _ in item.symlinks if alias in resolved), None)
                if via is not None and may_write(via) and item.identity[0] not in closed:
                    resolved[item.identity] = via
                    aliases.setdefault(item.identity, (via, AliasKind.SYMLINK, ""))
            named = {item.identity for item in prepared.datasets} | prepared.extra
            for identity in sorted(named - resolved.keys()):
                if identity[0] not in closed:
                    resolved[identity] = _New(identity)
            for item in prepared.datasets:
                named_by = resolved.get(item.identity)
                if named_by is None or not may_write(named_by):
                    continue
                for alias, alias_type in item.symlinks:
                    if alias not in resolved and alias[0] not in closed:
                        aliases.setdefault(alias, (named_by, AliasKind.SYMLINK, alias_type[:64]))
                        resolved[alias] = named_by

        wanted = {target.identity for target in resolved.values() if isinstance(target, _New)}
        created = datasets_discover(actor=actor, identities=wanted)
        if wanted:
            more, also_governed = _writable_and_governed(actor, {dataset.pk for dataset in created.values()})
            if created.keys() != wanted or len(more) != len(created):
                raise ProjectionMoved("a dataset the events name was created by another sender at the same moment")
            writable |= more
            governed |= also_governed

        def real(target: Dataset | _New) -> Dataset:
            return created[target.identity] if isinstance(target, _New) else target

        final = {identity: real(target) for identity, target in resolved.items()}
        if aliases:
            # ignore_conflicts: an identity already taken keeps naming the dataset it named first.
            DatasetAlias.objects.bulk_create(
                [
                    DatasetAlias(dataset=real(target), namespace=identity[0], name=identity[1], kind=kind, alias_type=t)
                    for identity, (target, kind, t) in aliases.items()
                ],
                ignore_conflicts=True,
            )
        return final, writable, governed

    # --- Dataset reports (facets) -------------------------------------------------------------------

    def _reports_load(self, per_event: list, resolved: Mapping[Identity, Dataset]) -> None:
        ids = sorted(
            {
                resolved[item.identity].pk
                for _, datasets, writable in per_event
                for item in datasets
                if item.facets and resolved[item.identity].pk in writable
            },
            key=str,
        )
        if not ids:
            return
        # Locked in one order, the datasets' ids, so that concurrent events never wait on each other in a cycle.
        locked = ReportedDataset.objects.select_for_update().order_by("dataset_id")
        self.reports = {row.dataset_id: row for row in locked.filter(dataset_id__in=ids)}
        missing = [pk for pk in ids if pk not in self.reports]
        if missing:
            # ignore_conflicts: another event may create the same report at the same moment.
            ReportedDataset.objects.bulk_create(
                [ReportedDataset(dataset_id=pk) for pk in missing], ignore_conflicts=True
            )
            self.reports.update({row.dataset_id: row for row in locked.filter(dataset_id__in=missing)})

    def _reports_apply(
        self, reports: Sequence[tuple[Dataset, Mapping[str, Any]]], moment: datetime, governed: set[UUID]
    ) -> None:
        """As one event alone applies them (lineage.services.datasets._project_datasets_facets)."""
        actor = self.actor
        applied: list[tuple[Dataset, Mapping[str, Any]]] = []
        for dataset, facets in sorted(
            ((dataset, facets) for dataset, facets in reports if facets), key=lambda entry: str(entry[0].pk)
        ):
            report = self.reports[dataset.pk]
            if _report_merge(report, facets, moment):
                self.reports_changed[dataset.pk] = report
                applied.append((dataset, facets))
        for dataset, facets in applied:
            documentation = facets.get("documentation") or {}
            if isinstance(documentation.get("description"), str):
                dataset_describe(actor=actor, dataset_id=dataset.pk, description=documentation["description"])
            if self.reports[dataset.pk].facet_times.get("lifecycleStateChange") == _time_key(moment):
                _lifecycle_apply(
                    actor=actor, dataset=dataset, facet=facets.get("lifecycleStateChange") or {}, moment=moment
                )
            if dataset.pk not in governed:
                continue
            ownership = facets.get("ownership") or {}
            for owner in ownership.get("owners") or []:
                _owner_add(
                    actor=actor, dataset=dataset, name=str(owner.get("name", "")), kind=str(owner.get("type", ""))
                )

    # --- Jobs and runs --------------------------------------------------------------------------------

    def _jobs_load(self) -> None:
        wanted = {
            (p.payload["job"]["namespace"], p.payload["job"]["name"])
            for p in self.prepared
            if p.kind != EventKind.DATASET and p.payload.get("job")
        }
        if not wanted:
            return
        query = Q()
        for namespace, name in wanted:
            query |= Q(namespace=namespace, name=name)
        # With the start of each job's latest run, which decides whether a run of the list becomes it.
        locked = Job.objects.select_for_update(of=("self",)).annotate(latest_start=F("latest_run__started_at"))
        locked = locked.order_by("id")
        self.jobs = {(job.namespace, job.name): job for job in locked.filter(query)}
        missing = wanted - self.jobs.keys()
        if missing:
            # ignore_conflicts: another event may report the same new job at the same moment.
            Job.objects.bulk_create(
                [Job(namespace=namespace, name=name, owner=self.actor) for namespace, name in sorted(missing)],
                ignore_conflicts=True,
            )
            query = Q()
            for namespace, name in missing:
                query |= Q(namespace=namespace, name=name)
            self.jobs.update({(job.namespace, job.name): job for job in locked.filter(query)})

    def _job_apply(self, payload: Mapping[str, Any], moment: datetime) -> Job:
        spec = payload["job"]
        job = self.jobs[(spec["namespace"], spec["name"])]
        if not _may_change(self.actor, job.owner_id):
            return job
        current, times = dict(job.facets), dict(job.facet_times)
        if _merge_facets(current, times, spec.get("facets") or {}, moment):
            job.facets, job.facet_times = current, times
            documentation = current.get("documentation") or {}
            job.description = str(documentation.get("description", ""))
            job_type = current.get("jobType") or {}
            job.job_type = str(job_type.get("jobType", ""))[:64]
            job.integration = str(job_type.get("integration", ""))[:64]
            job.processing_type = str(job_type.get("processingType", ""))[:16]
            self.jobs_changed[job.pk] = job
        return job

    def _runs_load(self) -> None:
        ids = {UUID(p.payload["run"]["runId"]) for p in self.prepared if p.kind == EventKind.RUN}
        if ids:
            self.runs = {run.pk: run for run in Run.objects.select_for_update().filter(pk__in=ids).order_by("id")}
        self.run_starts = {
            job.latest_run_id: getattr(job, "latest_start", None)
            for job in self.jobs.values()
            if job.latest_run_id is not None
        }

    def _run_apply(self, payload: Mapping[str, Any], job: Job, moment: datetime) -> Run | None:
        """As one event alone applies it (lineage.services.runs._run_project)."""
        spec = payload["run"]
        run_id = UUID(spec["runId"])
        state = payload.get("eventType") or RunState.OTHER
        if state not in RunState.values:
            state = RunState.OTHER
        run = self.runs.get(run_id)
        if run is None:
            run = Run(id=run_id, job=job, state=state, state_event_time=moment, owner=self.actor)
            run.created_at = run.updated_at = self.now
            _run_apply(run, spec, state, moment)
            self.runs[run_id] = self.runs_new[run_id] = run
        if run.job_id != job.pk:
            raise InvalidEvent(
                [{"path": "run/runId", "message": f"run {run_id} belongs to the job {run.job}, not {job}"}]
            )
        if not _may_change(self.actor, run.owner_id):
            return None
        before = tuple(getattr(run, name) for name in _RUN_FIELDS)
        _run_apply(run, spec, state, moment)
        if tuple(getattr(run, name) for name in _RUN_FIELDS) != before and run_id not in self.runs_new:
            self.runs_changed[run_id] = run
        # The job's latest run is the one that started last, whichever run's events arrive last.
        if job.latest_run_id != run.pk:
            if job.latest_run_id is None:
                start = None
            elif job.latest_run_id in self.runs:
                start = self.runs[job.latest_run_id].started_at
            else:
                start = self.run_starts.get(job.latest_run_id)
            if job.latest_run_id is None or start is None or (run.started_at is not None and start <= run.started_at):
                job.latest_run_id = run.pk
                self.jobs_changed[job.pk] = job
        return run

    def _run_datasets_load(self) -> None:
        known = [pk for pk in self.runs]
        if not known:
            return
        rows = RunDataset.objects.select_for_update().filter(run_id__in=known).order_by("id")
        self.run_datasets = {(row.run_id, row.dataset_id, row.direction): row for row in rows}

    def _run_datasets_apply(
        self,
        run: Run,
        datasets: Sequence[_EventDataset],
        resolved: Mapping[Identity, Dataset],
        versions: Mapping[Identity, DatasetVersion],
    ) -> None:
        """What the run read and wrote, merged with what its other events said."""
        rows: dict[tuple[UUID, UUID, str], RunDataset] = {}
        for item in datasets:
            if item.direction is None:
                continue
            dataset = resolved[item.identity]
            rows[(run.pk, dataset.pk, item.direction)] = RunDataset(
                run=run,
                dataset=dataset,
                direction=item.direction,
                version=versions.get(item.identity),
                reported_version=str((item.facets.get("version") or {}).get("datasetVersion", ""))[:255],
                facets=item.io_facets,
            )
        for key, new in rows.items():
            row = self.run_datasets.get(key)
            if row is None:
                self.run_datasets[key] = new
                self.run_datasets_new.append(new)
                continue
            updates = {
                "version_id": row.version_id or (new.version.pk if new.version else None),
                "reported_version": row.reported_version or new.reported_version,
                "facets": {**row.facets, **new.facets},
            }
            if any(getattr(row, name) != value for name, value in updates.items()):
                for name, value in updates.items():
                    setattr(row, name, value)
                if row.pk is not None:
                    self.run_datasets_changed[row.pk] = row

    def _versions_load(
        self, per_event: list, resolved: Mapping[Identity, Dataset]
    ) -> dict[tuple[UUID, str], DatasetVersion]:
        """The catalog versions the events' version facets name, by (dataset, text): a fingerprint, a
        version number or an id."""
        reported: set[tuple[UUID, str]] = set()
        for _, datasets, _ in per_event:
            for item in datasets:
                text = str((item.facets.get("version") or {}).get("datasetVersion", "")).strip()
                if text:
                    reported.add((resolved[item.identity].pk, text))
        if not reported:
            return {}
        texts = {text for _, text in reported}
        numbers = {int(text) for text in texts if text.isdigit() and len(text) < 10}
        ids = set()
        for text in texts:
            with contextlib.suppress(ValueError):
                ids.add(UUID(text))
        versions = DatasetVersion.objects.filter(
            Q(fingerprint__in=texts) | Q(number__in=numbers) | Q(id__in=ids),
            dataset_id__in={pk for pk, _ in reported},
        )
        by_dataset: dict[UUID, list[DatasetVersion]] = {}
        for version in versions:
            by_dataset.setdefault(version.dataset_id, []).append(version)
        found: dict[tuple[UUID, str], DatasetVersion] = {}
        for pk, text in reported:
            for version in by_dataset.get(pk, []):
                if text in (version.fingerprint, str(version.number), str(version.pk)):
                    found[(pk, text)] = version
                    break
        return found

    # --- Edges ----------------------------------------------------------------------------------------

    def _edges_load(self, per_event: list, resolved: Mapping[Identity, Dataset]) -> None:
        jobs, sources, targets, held = set(), set(), set(), set()
        for prepared, datasets, writable in per_event:
            job_spec = prepared.payload.get("job") if prepared.kind != EventKind.DATASET else None
            inputs = {resolved[item.identity].pk for item in datasets if item.direction == Direction.INPUT}
            outputs = {resolved[item.identity].pk for item in datasets if item.direction == Direction.OUTPUT}
            if job_spec and inputs and outputs:
                jobs.add(self.jobs[(job_spec["namespace"], job_spec["name"])].pk)
                sources |= inputs
                targets |= outputs
                held |= outputs - writable
            # Column lineage into a dataset the sender may not write is held back by rejections too.
            if job_spec:
                held |= {key[0] for key in self._columns_reported(datasets, resolved)} - writable
        self._rejected_load(per_event, held)
        if not jobs:
            return
        # Every edge the events touch, locked at once in one order (their ids).
        between = LineageEdge.objects.filter(job_id__in=jobs, source_id__in=sources, target_id__in=targets)
        for edge in between.select_for_update(of=("self",)).order_by("id"):
            assert edge.job_id is not None
            self.edges[(edge.job_id, edge.source_id, edge.target_id)] = edge

    def _rejected_load(self, per_event: list, held: set[UUID]) -> None:
        """The edges into datasets the sender may not write, reported by the sender through a job, that
        the target's owners rejected: reporting them again brings nothing back."""
        if not held:
            return
        jobs = {
            self.jobs[(p.payload["job"]["namespace"], p.payload["job"]["name"])].pk
            for p, _, _ in per_event
            if p.kind != EventKind.DATASET and p.payload.get("job")
        }
        rejected = RejectedEdge.objects.filter(job_id__in=jobs, sender=self.actor, target_id__in=held)
        self.rejected = {
            (job, source, target) for job, source, target in rejected.values_list("job_id", "source_id", "target_id")
        }

    def _edges_apply(
        self,
        job: Job,
        run: Run | None,
        moment: datetime,
        datasets: Sequence[_EventDataset],
        resolved: Mapping[Identity, Dataset],
        versions: Mapping[Identity, DatasetVersion],
        writable: set[UUID],
    ) -> None:
        """As one event alone records them (lineage.services.edges._edges_record)."""
        inputs = {resolved[item.identity].pk: item.identity for item in datasets if item.direction == Direction.INPUT}
        outputs = {resolved[item.identity].pk: item.identity for item in datasets if item.direction == Direction.OUTPUT}
        if not inputs or not outputs:
            return
        jobs_by_pk = {job.pk: job}
        present = [
            self.edges[(job.pk, source, target)]
            for source in inputs
            for target in outputs
            if (job.pk, source, target) in self.edges
        ]
        present.sort(key=lambda edge: (edge.pk is None, edge.pk or 0))
        for source in sorted(inputs):
            for target in sorted(outputs):
                key = (job.pk, source, target)
                if key in self.edges or (target not in writable and key in self.rejected):
                    continue
                edge = LineageEdge(
                    source_id=source,
                    target_id=target,
                    job=jobs_by_pk[job.pk],
                    origin=EdgeOrigin.OPENLINEAGE,
                    status=EdgeStatus.CONFIRMED if target in writable else EdgeStatus.UNCONFIRMED,
                    created_by=self.actor,
                )
                if run is not None:
                    edge.run, edge.run_event_time = run, moment
                    edge.source_version = versions.get(inputs[source])
                    edge.target_version = versions.get(outputs[target])
                self.edges[key] = edge
                self.edges_new.append(edge)
                present.append(edge)
        # A writer of the target reporting an edge someone else left unconfirmed vouches for it.
        for edge in present:
            if edge.status == EdgeStatus.UNCONFIRMED and edge.target_id in writable:
                self.edges_vouched.append(copy.copy(edge))
                edge.status = EdgeStatus.CONFIRMED
                self._edge_changed(edge)
        if run is None:
            return
        for edge in present:
            if edge.run_event_time is not None and edge.run_event_time > moment:
                continue
            own_report = edge.status == EdgeStatus.UNCONFIRMED and edge.created_by_id == self.actor.pk
            if edge.target_id not in writable and not own_report:
                continue
            source_version = versions.get(inputs[edge.source_id])
            target_version = versions.get(outputs[edge.target_id])
            if (
                edge.run_id == run.pk
                and edge.run_event_time == moment
                and edge.source_version_id == (source_version.pk if source_version else None)
                and edge.target_version_id == (target_version.pk if target_version else None)
            ):
                continue
            edge.run, edge.run_event_time = run, moment
            edge.source_version, edge.target_version = source_version, target_version
            self._edge_changed(edge)

    def _edge_changed(self, edge: LineageEdge) -> None:
        if edge.pk is not None:
            edge.updated_at = self.now
            self.edges_changed[edge.pk] = edge

    # --- Column lineage -------------------------------------------------------------------------------

    def _columns_load(self, per_event: list, resolved: Mapping[Identity, Dataset]) -> None:
        outputs, fields, inputs = set(), set(), set()
        for _, datasets, _ in per_event:
            for key in self._columns_reported(datasets, resolved):
                outputs.add(key[0])
                fields.add(key[1])
                inputs.add(key[2])
        if not outputs:
            return
        existing = ColumnLineage.objects.select_for_update().filter(
            output_dataset_id__in=outputs, output_field__in=fields, input_dataset_id__in=inputs
        )
        self.columns = {
            (row.output_dataset_id, row.output_field, row.input_dataset_id, row.input_field): row
            for row in existing.order_by("id")
        }

    @staticmethod
    def _columns_reported(
        datasets: Sequence[_EventDataset], resolved: Mapping[Identity, Dataset]
    ) -> dict[tuple[UUID, str, UUID, str], dict[str, Any]]:
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
            # Dataset-wide dependencies, as Marquez returns them: from each such input field to every
            # field of the output, with the entry's (INDIRECT) transformations.
            wide = _dataset_wide(facet)
            for output_field in _output_fields(item) if wide else []:
                for source in wide:
                    source_dataset = resolved.get((source["namespace"], source["name"]))
                    if source_dataset is None:
                        continue
                    key = (output.pk, output_field, source_dataset.pk, source["field"])
                    entry = reported.setdefault(
                        key, {"transformations": [], "transformation_type": "", "transformation_description": ""}
                    )
                    entry["transformations"].extend(
                        source.get("transformations") or [{"type": "INDIRECT", "subtype": "", "description": ""}]
                    )
        return reported

    def _columns_apply(
        self,
        job: Job | None,
        run: Run | None,
        moment: datetime,
        datasets: Sequence[_EventDataset],
        resolved: Mapping[Identity, Dataset],
        writable: set[UUID],
    ) -> None:
        """As one event alone records it (lineage.services.edges._column_lineage_record)."""
        reported = self._columns_reported(datasets, resolved)
        if not reported:
            return
        if job is not None:
            # What the target's owners rejected from this sender stays out, at the column level too.
            reported = {
                key: values
                for key, values in reported.items()
                if key[0] in writable or (job.pk, key[2], key[0]) not in self.rejected
            }

        def column_entry(key: tuple[UUID, str, UUID, str], values: dict[str, Any], status: str) -> ColumnLineage:
            return ColumnLineage(
                output_dataset_id=key[0],
                output_field=key[1],
                input_dataset_id=key[2],
                input_field=key[3],
                job=job,
                run=run,
                event_time=moment,
                status=status,
                created_by=self.actor,
                **values,
            )

        for key, values in reported.items():
            row = self.columns.get(key)
            if key[0] not in writable:
                # Held unconfirmed, unless the entry is known: then it is left as it is.
                if row is None:
                    self.columns[key] = self.columns_held[key] = column_entry(key, values, EdgeStatus.UNCONFIRMED)
                continue
            if row is not None and row.event_time is not None and row.event_time > moment:
                continue
            if (
                row is not None
                and row.event_time == moment
                and row.status == EdgeStatus.CONFIRMED
                and all(getattr(row, name) == value for name, value in values.items())
            ):
                continue
            entry = column_entry(key, values, EdgeStatus.CONFIRMED)
            if row is not None:
                # The upsert leaves who first reported it as it was.
                entry.created_by_id = row.created_by_id
            self.columns[key] = self.columns_upserted[key] = entry
            self.columns_held.pop(key, None)

    # --- Writing what changed -------------------------------------------------------------------------

    def _write(self) -> None:
        if self.reports_changed:
            for report in self.reports_changed.values():
                report.updated_at = self.now
            _rows_update(ReportedDataset, self.reports_changed.values(), [*REPORT_FIELDS, "updated_at"])
        if self.runs_new:
            # No ignore_conflicts: the same run inserted at the same moment by another event fails
            # the list, which is then taken again and finds it.
            Run.objects.bulk_create(list(self.runs_new.values()))
        if self.runs_changed:
            for run in self.runs_changed.values():
                run.updated_at = self.now
            _rows_update(Run, self.runs_changed.values(), [*_RUN_FIELDS, "updated_at"])
        if self.jobs_changed:
            for job in self.jobs_changed.values():
                job.updated_at = self.now
            _rows_update(
                Job,
                self.jobs_changed.values(),
                [
                    "facets",
                    "facet_times",
                    "description",
                    "job_type",
                    "integration",
                    "processing_type",
                    "latest_run",
                    "updated_at",
                ],
            )
        if self.run_datasets_new:
            RunDataset.objects.bulk_create(self.run_datasets_new)
        if self.run_datasets_changed:
            _rows_update(RunDataset, self.run_datasets_changed.values(), ["version", "reported_version", "facets"])
        for arguments in self.signals:
            self.signal.send(sender=Run, **arguments)
        if self.edges_new:
            LineageEdge.objects.bulk_create(self.edges_new)
            _edges_log(self.actor, self.edges_new)
        if self.edges_vouched:
            _edges_status_log(self.actor, self.edges_vouched, EdgeStatus.CONFIRMED)
        if self.edges_changed:
            _rows_update(
                LineageEdge,
                self.edges_changed.values(),
                ["status", "run", "run_event_time", "source_version", "target_version", "updated_at"],
            )
        held = [entry for key, entry in self.columns_held.items() if key not in self.columns_upserted]
        if held:
            ColumnLineage.objects.bulk_create(held, ignore_conflicts=True)
        if self.columns_upserted:
            ColumnLineage.objects.bulk_create(
                list(self.columns_upserted.values()),
                update_conflicts=True,
                unique_fields=["output_dataset", "output_field", "input_dataset", "input_field"],
                update_fields=[
                    "transformations",
                    "transformation_type",
                    "transformation_description",
                    "job",
                    "run",
                    "event_time",
                    "status",
                    "updated_at",
                ],
            )


def _rows_update(model: Any, rows: Iterable[Any], fields: list[str]) -> None:
    """Rows read (locked) and changed in memory, written back in one statement: an upsert on their
    primary key, which finds every row, so it only ever updates. PostgreSQL takes it as one insert of
    arrays, where an UPDATE of many rows needs a CASE per row and column that grows with their number."""
    model.objects.bulk_create(
        list(rows), update_conflicts=True, unique_fields=[model._meta.pk.name], update_fields=fields
    )
