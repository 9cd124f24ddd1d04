"""Lineage edges between datasets and between their fields: reported by events, declared by people, and
confirmed, rejected or removed by the target's owners."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from catalog.models import Dataset
from config import errors
from governance.choices import ChangeAction, ObjectType
from governance.permissions import user_can_write_dataset
from governance.services import ChangeSpec, change_record, change_record_many
from lineage.choices import EdgeOrigin, EdgeStatus
from lineage.models import ColumnLineage, LineageEdge, RejectedEdge


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
