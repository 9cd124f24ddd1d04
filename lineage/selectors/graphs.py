"""What a graph of a walk shows, read in a fixed number of queries whatever the walk's size: the
datasets and jobs it reached, and which of them the reader may not see."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q

from catalog.models import Dataset, Feature
from config import errors
from lineage.choices import Direction
from lineage.models import ColumnLineage, Job, LineageEdge, RunDataset
from lineage.selectors.identities import NodeIdInvalid, node_id_candidates
from lineage.selectors.visibility import (
    datasets_hidden_from,
    jobs_hidden_from,
    jobs_touching_hidden,
    jobs_visible_to,
)
from lineage.selectors.walks import DOWNSTREAM, UPSTREAM, ColumnWalk, Edge, Walk


@dataclass(frozen=True)
class WalkGraph:
    datasets: dict[UUID, Dataset]
    jobs: dict[UUID, Job]
    # The datasets the reader may not read: shown without their identity.
    hidden: set[UUID]
    # The jobs between hidden datasets only, that ran on nothing the reader may read: about them too.
    hidden_jobs: set[UUID]
    # The other jobs that ran on a dataset the reader may not read: their description and latest run
    # are withheld (the description may name it, the run may be one the reader may not see).
    withheld: set[UUID]
    # Every edge the graph shows: those declared between datasets the walk followed, and every edge
    # through each job of the graph, followed or not (a job lists all it read and wrote).
    edges: list[Edge] = field(default_factory=list)
    # A job's datasets that no edge joins to it: what a job that only reads or only writes touched.
    io: dict[UUID, set[tuple[UUID, str]]] = field(default_factory=dict)
    # Each dataset's and job's distance from the start (a job's: that of the nearest dataset the walk
    # reached it from; the datasets only a job lists are one further).
    depths: dict[UUID, int] = field(default_factory=dict)
    job_depths: dict[UUID, int] = field(default_factory=dict)


def _job_rows(walk: Walk) -> dict[UUID, set[tuple[UUID, str]]]:
    """(dataset, input or output) of every job that read or wrote a dataset the walk reached short of
    its cap (or of the job the walk started from), over all the job's runs: one query."""
    cap = walk.cap
    near = [pk for pk, depth in walk.depths.items() if cap is None or depth < cap]
    touching = RunDataset.objects.filter(dataset_id__in=near).values("run__job_id")
    wanted = Q(run__job_id__in=touching)
    if walk.start_job is not None:
        wanted |= Q(run__job_id=walk.start_job)
    rows: dict[UUID, set[tuple[UUID, str]]] = {}
    for job_id, dataset_id, direction in (
        RunDataset.objects.filter(wanted).values_list("run__job_id", "dataset_id", "direction").distinct()
    ):
        rows.setdefault(job_id, set()).add((dataset_id, direction))
    return rows


def _jobs_of_walk(walk: Walk, rows: dict[UUID, set[tuple[UUID, str]]]) -> dict[UUID, int]:
    """The jobs the graph holds, each with its depth: those of the edges followed, the job the walk
    started from, those that wrote a dataset reached upstream and those that read one reached
    downstream (short of the cap), whether or not they also read or wrote something else."""
    cap = walk.cap
    depths: dict[UUID, int] = {}

    def keep(job_id: UUID, depth: int) -> None:
        depths[job_id] = min(depth, depths.get(job_id, depth))

    for edge in walk.edges:
        if edge.job_id is not None:
            keep(edge.job_id, min(walk.depths.get(edge.source_id, 0), walk.depths.get(edge.target_id, 0)))
    if walk.start_job is not None:
        keep(walk.start_job, 0)
    upstream, downstream = walk.reached.get(UPSTREAM, set()), walk.reached.get(DOWNSTREAM, set())
    for job_id, touched in rows.items():
        for dataset_id, direction in touched:
            depth = walk.depths.get(dataset_id)
            if depth is None or (cap is not None and depth >= cap):
                continue
            if (direction == Direction.OUTPUT and dataset_id in upstream) or (
                direction == Direction.INPUT and dataset_id in downstream
            ):
                keep(job_id, depth)
    return depths


def walk_graph_read(walk: Walk, user: User | AnonymousUser) -> WalkGraph:
    """The datasets and jobs a dataset walk reached, every dataset those jobs read or wrote, and what
    of them the reader may not see: a fixed number of queries whatever the walk's size."""
    rows = _job_rows(walk)
    job_depths = _jobs_of_walk(walk, rows)
    edges = {edge.id: edge for edge in walk.edges if edge.job_id is None}
    if job_depths:
        for values in LineageEdge.objects.filter(job_id__in=job_depths).values_list(
            "id", "source_id", "target_id", "job_id", "run_id", "source_version_id", "target_version_id", "status"
        ):
            edges[values[0]] = Edge(*values)
    # A job's datasets that no edge joins to it, shown when the job read nothing (or wrote nothing):
    # where it did both, its edges say what it read and wrote, and an edge its target's owners
    # removed or rejected does not come back through the runs.
    joined = {(edge.job_id, edge.source_id) for edge in edges.values()} | {
        (edge.job_id, edge.target_id) for edge in edges.values()
    }
    io: dict[UUID, set[tuple[UUID, str]]] = {}
    for job_id in job_depths:
        touched = rows.get(job_id, set())
        directions = {direction for _, direction in touched}
        if len(directions) == 1:
            io[job_id] = {(pk, direction) for pk, direction in touched if (job_id, pk) not in joined}
    # A job the walk came to whose every edge its targets' owners removed or rejected: nothing of it is left to show.
    joined_jobs = {edge.job_id for edge in edges.values()} | {job_id for job_id, touched in io.items() if touched}
    job_depths = {
        job_id: depth for job_id, depth in job_depths.items() if job_id in joined_jobs or job_id == walk.start_job
    }
    depths = dict(walk.depths)
    for edge in edges.values():
        if edge.job_id is not None:
            for pk in (edge.source_id, edge.target_id):
                depths.setdefault(pk, job_depths[edge.job_id] + 1)
    for job_id, touched in io.items():
        for pk, _ in touched:
            depths.setdefault(pk, job_depths[job_id] + 1)
    datasets = {
        dataset.pk: dataset
        for dataset in Dataset.objects.filter(pk__in=depths).select_related("lineage_report", "latest_version")
    }
    jobs = (
        {job.pk: job for job in Job.objects.filter(pk__in=job_depths).select_related("latest_run")}
        if job_depths
        else {}
    )
    hidden = datasets_hidden_from(user, datasets)
    shown: dict[UUID, set[UUID]] = {job_id: {pk for pk, _ in touched} for job_id, touched in io.items()}
    for edge in edges.values():
        if edge.job_id is not None:
            shown.setdefault(edge.job_id, set()).update((edge.source_id, edge.target_id))
    between_hidden = {job_id for job_id, touched in shown.items() if touched and touched <= hidden}
    hidden_jobs = jobs_hidden_from(user, between_hidden)
    withheld = jobs_touching_hidden(user, jobs.keys() - hidden_jobs)
    return WalkGraph(
        datasets=datasets,
        jobs=jobs,
        hidden=hidden,
        hidden_jobs=hidden_jobs,
        withheld=withheld,
        edges=sorted(edges.values()),
        io=io,
        depths=depths,
        job_depths=job_depths,
    )


def job_io_read(user: User | AnonymousUser, node_id: str) -> tuple[Job, set[UUID], set[UUID]]:
    """The job a node id (`job:{namespace}:{name}`) names, and the datasets it read and wrote over
    all its runs. A job the user may not list is not found, as one that does not exist."""
    if not node_id.startswith("job:"):
        raise NodeIdInvalid("nodeId must look like job:{namespace}:{name}.")
    readings = node_id_candidates(node_id[len("job:") :], parts=2)
    named = Q()
    for namespace, name in readings:
        named |= Q(namespace=namespace, name=name)
    job = jobs_visible_to(user).filter(named).order_by("-namespace").first() if readings else None
    if job is None:
        raise errors.NotFound(f"No job is known as {node_id!r}.")
    inputs: set[UUID] = set()
    outputs: set[UUID] = set()
    for dataset_id, direction in RunDataset.objects.filter(run__job=job).values_list("dataset_id", "direction"):
        (inputs if direction == Direction.INPUT else outputs).add(dataset_id)
    return job, inputs, outputs


@dataclass(frozen=True)
class ColumnWalkGraph:
    datasets: dict[UUID, Dataset]
    # The datasets the reader may not read: their fields are shown without their names.
    hidden: set[UUID]
    rows: dict[int, ColumnLineage]
    # (version id, field name) -> the type profiling found, for the latest versions of the datasets.
    profiled: dict[tuple[UUID, str], str]


def column_walk_graph_read(walk: ColumnWalk, user: User | AnonymousUser) -> ColumnWalkGraph:
    """The datasets, column lineage and profiled field types a column walk reached, and which of the
    datasets the reader may not see."""
    dataset_ids = {key[0] for key in walk.depths}
    datasets = {
        dataset.pk: dataset for dataset in Dataset.objects.filter(pk__in=dataset_ids).select_related("lineage_report")
    }
    hidden = datasets_hidden_from(user, datasets)
    rows = {row.pk: row for row in ColumnLineage.objects.filter(pk__in=[edge.id for edge in walk.edges])}
    profiled = {
        (feature.version_id, feature.name): feature.dtype
        for feature in Feature.objects.filter(
            version_id__in={d.latest_version_id for d in datasets.values() if d.latest_version_id},
            name__in={key[1] for key in walk.depths},
        ).only("version_id", "name", "dtype")
    }
    return ColumnWalkGraph(datasets=datasets, hidden=hidden, rows=rows, profiled=profiled)
