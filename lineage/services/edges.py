"""Lineage edges between datasets and between their fields: reported by events, declared by people, and
confirmed, rejected or removed by the target's owners."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import Dataset, DatasetVersion
from config import errors
from governance.choices import ChangeAction, ObjectType
from governance.permissions import user_can_write_dataset
from governance.services import ChangeSpec, change_record, change_record_many
from lineage.choices import Direction, EdgeOrigin, EdgeStatus
from lineage.models import ColumnLineage, Job, LineageEdge, RejectedEdge, Run
from lineage.selectors import Identity
from lineage.services.events import _dataset_wide, _EventDataset, _output_fields


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
    # Every edge the event touches, locked at once in one order (their ids).
    present = list(between.select_for_update(of=("self",)).select_related("job").order_by("id"))
    known = {(edge.source_id, edge.target_id) for edge in present}
    known |= _rejected_for(actor, job, inputs, set(outputs) - writable)
    new = [(source, target) for source in sorted(inputs) for target in sorted(outputs) if (source, target) not in known]

    def versions_of(source: UUID, target: UUID) -> dict[str, Any]:
        return {
            "source_version": versions.get(inputs[source]),
            "target_version": versions.get(outputs[target]),
        }

    if new:
        # A new edge carries the event's run from the start: the sender reported it (into a dataset
        # they may not write, it is their own unconfirmed report, which their runs move).
        LineageEdge.objects.bulk_create(
            [
                LineageEdge(
                    source_id=source,
                    target_id=target,
                    job=job,
                    origin=EdgeOrigin.OPENLINEAGE,
                    status=EdgeStatus.CONFIRMED if target in writable else EdgeStatus.UNCONFIRMED,
                    created_by=actor,
                    **({"run": run, "run_event_time": moment, **versions_of(source, target)} if run else {}),
                )
                for source, target in new
            ],
            ignore_conflicts=True,  # the same edge, reported by another event at the same moment
        )
        created = list(between.filter(_pairs(new)).select_for_update(of=("self",)).select_related("job").order_by("id"))
        _edges_log(actor, created)
        present.extend(created)
    # A writer of the target reporting an edge someone else left unconfirmed vouches for it.
    vouched = [edge for edge in present if edge.status == EdgeStatus.UNCONFIRMED and edge.target_id in writable]
    if vouched:
        LineageEdge.objects.filter(pk__in=[edge.pk for edge in vouched]).update(status=EdgeStatus.CONFIRMED)
        _edges_status_log(actor, vouched, EdgeStatus.CONFIRMED)
        for edge in vouched:
            edge.status = EdgeStatus.CONFIRMED
    if run is None:
        return
    changed = []
    for edge in present:
        if edge.run_event_time is not None and edge.run_event_time > moment:
            continue
        own_report = edge.status == EdgeStatus.UNCONFIRMED and edge.created_by_id == actor.pk
        if edge.target_id not in writable and not own_report:
            continue
        wanted = {"run_id": run.pk, "run_event_time": moment, **versions_of(edge.source_id, edge.target_id)}
        if (
            edge.run_id == wanted["run_id"]
            and edge.run_event_time == moment
            and edge.source_version_id == (wanted["source_version"].pk if wanted["source_version"] else None)
            and edge.target_version_id == (wanted["target_version"].pk if wanted["target_version"] else None)
        ):
            continue
        edge.run, edge.run_event_time = run, moment
        edge.source_version = wanted["source_version"]
        edge.target_version = wanted["target_version"]
        changed.append(edge)
    # One UPDATE per pair of versions (usually one in all): cheaper than a CASE per row and field.
    by_versions: dict[tuple[Any, Any], list[int]] = {}
    for edge in changed:
        by_versions.setdefault((edge.source_version_id, edge.target_version_id), []).append(edge.pk)
    for (source_version, target_version), ids in by_versions.items():
        LineageEdge.objects.filter(pk__in=ids).update(
            run=run,
            run_event_time=moment,
            source_version_id=source_version,
            target_version_id=target_version,
            updated_at=timezone.now(),
        )


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
        # Dataset-wide dependencies, as Marquez returns them: from each such input field to every
        # field of the output, with the entry's (INDIRECT) transformations; beside a direct
        # dependency of the same two fields, its transformations are added to the direct ones.
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
    if not reported:
        return
    # What the target's owners rejected from this sender stays out, at the column level too.
    rejected = _rejected_for(actor, job, {key[2] for key in reported}, {key[0] for key in reported} - writable)
    reported = {key: values for key, values in reported.items() if (key[2], key[0]) not in rejected}

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
            created_by=actor,
            **values,
        )

    held = [
        column_entry(key, values, EdgeStatus.UNCONFIRMED) for key, values in reported.items() if key[0] not in writable
    ]
    if held:
        ColumnLineage.objects.bulk_create(held, ignore_conflicts=True)
    reported = {key: values for key, values in reported.items() if key[0] in writable}
    if not reported:
        return
    # The entries already known, locked; then one upsert writes the new ones and those this event
    # is newer than, leaving who first reported each as it was.
    existing = ColumnLineage.objects.select_for_update().filter(
        output_dataset_id__in={key[0] for key in reported},
        output_field__in={key[1] for key in reported},
        input_dataset_id__in={key[2] for key in reported},
    )
    known = {
        (row.output_dataset_id, row.output_field, row.input_dataset_id, row.input_field): row
        for row in existing.order_by("id")
    }
    wanted = []
    for key, values in reported.items():
        row = known.get(key)
        if row is not None and row.event_time is not None and row.event_time > moment:
            continue
        if (
            row is not None
            and row.event_time == moment
            and row.status == EdgeStatus.CONFIRMED
            and all(getattr(row, name) == value for name, value in values.items())
        ):
            continue
        wanted.append(column_entry(key, values, EdgeStatus.CONFIRMED))
    if wanted:
        ColumnLineage.objects.bulk_create(
            wanted,
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


# --- Declared edges --------------------------------------------------------------------------------


class EdgeAlreadyDeclared(errors.Conflict):
    def __init__(self, edge: LineageEdge) -> None:
        super().__init__("This edge is already declared.", existing_id=edge.pk)
        self.edge = edge


def edge_declare(*, actor: User, source: Dataset, target: Dataset, description: str = "") -> LineageEdge:
    """Declare that data flowed from one dataset into another, for tools that send no events. The
    target's owners and stewards (and staff) declare where it came from."""
    if source.pk == target.pk:
        raise errors.Invalid("A dataset cannot be declared derived from itself.", field="target")
    if not user_can_write_dataset(actor, target.pk):
        raise errors.Forbidden(
            "Only the target dataset's owners and stewards (or staff) may declare where it came from."
        )
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


class EdgeAlreadyConfirmed(errors.Conflict):
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
