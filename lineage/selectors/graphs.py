"""What a graph of a walk shows, read in a fixed number of queries whatever the walk's size: the
datasets and jobs it reached, and which of them the reader may not see."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.contrib.auth.models import AnonymousUser, User

from catalog.models import Dataset, Feature
from lineage.models import ColumnLineage, Job
from lineage.selectors.visibility import datasets_hidden_from, jobs_hidden_from, jobs_touching_hidden
from lineage.selectors.walks import ColumnWalk, Walk


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


def walk_graph_read(walk: Walk, user: User | AnonymousUser) -> WalkGraph:
    """The datasets and jobs a dataset walk reached, and what of them the reader may not see."""
    datasets = {
        dataset.pk: dataset
        for dataset in Dataset.objects.filter(pk__in=walk.depths).select_related("lineage_report", "latest_version")
    }
    job_ids = {edge.job_id for edge in walk.edges if edge.job_id is not None}
    jobs = {job.pk: job for job in Job.objects.filter(pk__in=job_ids).select_related("latest_run")} if job_ids else {}
    hidden = datasets_hidden_from(user, datasets)
    between_hidden = {e.job_id for e in walk.edges if e.job_id and e.source_id in hidden and e.target_id in hidden}
    hidden_jobs = jobs_hidden_from(user, between_hidden)
    withheld = jobs_touching_hidden(user, jobs.keys() - hidden_jobs)
    return WalkGraph(datasets=datasets, jobs=jobs, hidden=hidden, hidden_jobs=hidden_jobs, withheld=withheld)


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
