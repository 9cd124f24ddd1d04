"""Releasing a dataset about to be purged from the lineage its owners do not stand behind."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db.models import Q

from catalog.models import Dataset
from catalog.services import users_answering_for
from governance.choices import ChangeAction, ObjectType
from governance.services import ChangeSpec, change_record_many
from lineage.choices import EdgeStatus
from lineage.models import ColumnLineage, LineageEdge, RunDataset
from lineage.services.edges import _edge_values


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
