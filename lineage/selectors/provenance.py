"""A dataset's provenance as its exports state it (catalog.cards.provenance asks for it): the datasets its
confirmed lineage edges come from, and the jobs of those edges."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User

from catalog.cards.provenance import Producer, Provenance, Upstream
from catalog.models import Dataset
from lineage.choices import EdgeStatus
from lineage.models import LineageEdge
from lineage.selectors.visibility import datasets_hidden_from, jobs_hidden_from, jobs_touching_hidden


def dataset_provenance(*, dataset: Dataset, reader: User | AnonymousUser, **_: Any) -> Provenance:
    """Confirmed edges only (an unconfirmed one is a claim the dataset's owners have not accepted). An
    upstream dataset the reader may not read is a placeholder with no identity; a job is named unless it ran
    only between datasets hidden from the reader, and described unless it touched one (its description,
    written by whoever ran it, may name them). Answers the `dataset_provenance_requested` signal."""
    edges = list(
        LineageEdge.objects.filter(target=dataset, status=EdgeStatus.CONFIRMED)
        .select_related("source", "job")
        .order_by("id")
    )
    hidden = datasets_hidden_from(reader, {edge.source_id for edge in edges})
    derived_from: list[Upstream] = []
    seen = set()
    for edge in edges:
        if edge.source_id in seen:
            continue
        seen.add(edge.source_id)
        if edge.source_id in hidden:
            derived_from.append({"restricted": True})
        else:
            source = edge.source
            derived_from.append(
                {"restricted": False, "id": str(source.pk), "namespace": source.namespace, "name": source.name}
            )
    jobs = {edge.job.pk: edge.job for edge in edges if edge.job is not None}
    unnamed = jobs_hidden_from(reader, jobs.keys())
    undescribed = jobs_touching_hidden(reader, jobs.keys() - unnamed)
    generated_by: list[Producer] = [
        {
            "namespace": job.namespace,
            "name": job.name,
            "description": "" if job_id in undescribed else job.description,
        }
        for job_id, job in jobs.items()
        if job_id not in unnamed
    ]
    # A provenance that names restricted upstreams first would tell their order; keep the readable ones first.
    derived_from.sort(key=lambda upstream: upstream["restricted"])
    return {"derived_from": derived_from, "generated_by": generated_by}
