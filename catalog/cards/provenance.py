"""Where a dataset comes from, as its exports state it: the datasets it was derived from and the jobs that
produced it. The catalog does not read lineage (docs/ARCHITECTURE.md); it asks whoever answers the
`dataset_provenance_requested` signal (lineage connects `lineage.selectors.dataset_provenance` in its
`apps.py`), as a purge asks lineage with `dataset_purging`. Without an answer, a dataset has no
provenance to state.

Each answer is a `Provenance`: the upstream datasets the reader may read by identity, each other one as a
placeholder that names nothing (`{"restricted": True}`), and the jobs by namespace and name."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from django.contrib.auth.models import AnonymousUser, User
from django.dispatch import Signal

from catalog.models import Dataset

# Sent with `dataset` and `reader`; each receiver answers a Provenance (or None).
dataset_provenance_requested = Signal()


class Upstream(TypedDict):
    restricted: bool
    id: NotRequired[str]
    namespace: NotRequired[str]
    name: NotRequired[str]


class Producer(TypedDict):
    namespace: str
    name: str
    description: str


class Provenance(TypedDict):
    derived_from: list[Upstream]
    generated_by: list[Producer]


def dataset_provenance(*, dataset: Dataset, reader: User | AnonymousUser) -> Provenance:
    """Every answer to `dataset_provenance_requested` for this reader, joined."""
    joined: Provenance = {"derived_from": [], "generated_by": []}
    answers: list[tuple[Any, Any]] = dataset_provenance_requested.send(sender=Dataset, dataset=dataset, reader=reader)
    for _, answer in answers:
        if answer:
            joined["derived_from"].extend(answer.get("derived_from", []))
            joined["generated_by"].extend(answer.get("generated_by", []))
    return joined
