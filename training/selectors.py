"""Reads of models and training runs shared by the API and the admin: lists with what each row shows
attached in a constant number of queries, the latest run of a model, and which inputs of a run the
reader may read.

Models and their runs are visible to every authenticated user; what a run read is not: an input of
a dataset the reader may not read is shown without its name, URI or fingerprint."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import F, OrderBy, Prefetch, QuerySet, Window
from django.db.models.functions import RowNumber

from catalog.selectors import datasets_visible_to
from governance.models import Audit, ModelOwnership
from training.models import Model, TrainingInput, TrainingRun

# Runs shown on a model's page, latest first; the rest are at /training-runs/?model=<id>.
MODEL_RUNS_SHOWN = 20
RESTRICTED_INPUT = "a restricted dataset you may not read"


def models_visible_to(user: User | AnonymousUser) -> QuerySet[Model]:
    """Every model, to every authenticated user; none to anyone else."""
    if not user.is_authenticated:
        return Model.objects.none()
    return Model.objects.select_related("created_by")


# A model's runs, latest first: by start (runs with none last), then by when they were recorded.
LATEST_RUN_FIRST = (F("started_at").desc(nulls_last=True), F("created_at").desc(), F("id").desc())


def latest_first(runs: QuerySet[TrainingRun]) -> QuerySet[TrainingRun]:
    """Latest first: by start (runs with none last), then by when they were recorded."""
    return runs.order_by(*LATEST_RUN_FIRST)


def model_runs(model: Model, *, limit: int = MODEL_RUNS_SHOWN) -> list[TrainingRun]:
    """A model's runs, latest first (by start, then by when they were recorded)."""
    return list(latest_first(TrainingRun.objects.filter(model=model))[:limit])


def first_of_each(queryset: QuerySet[Any], partition: str, *ordering: OrderBy) -> QuerySet[Any]:
    """The first row of each value of `partition` in `ordering`, in one query: what PostgreSQL's
    DISTINCT ON answers, by a window function that SQLite (the quick start's database) has too."""
    first = Window(RowNumber(), partition_by=F(partition), order_by=list(ordering))
    return queryset.annotate(rank_in_partition=first).filter(rank_in_partition=1)


def models_latest_runs(model_ids: Iterable[UUID]) -> dict[UUID, TrainingRun]:
    """Each model's latest confirmed run (by start, then by when it was recorded), in one query. A run
    someone reported who may not write the model is not its latest until its owners confirm it."""
    runs = first_of_each(
        TrainingRun.objects.filter(model_id__in=list(model_ids), confirmed=True), "model_id", *LATEST_RUN_FIRST
    )
    return {run.model_id: run for run in runs}


def models_attach(models: Sequence[Model]) -> Sequence[Model]:
    """Give each model of a page its `tag_names`, `owner_entries` and `latest_run`: three queries
    whatever the page size."""
    ids = [model.pk for model in models]
    tags: dict[UUID, list[str]] = defaultdict(list)
    for model_id, name in Model.tags.through.objects.filter(model_id__in=ids).values_list("model_id", "tag__name"):
        tags[model_id].append(name)
    owners: dict[UUID, list[ModelOwnership]] = defaultdict(list)
    for ownership in ModelOwnership.objects.filter(model_id__in=ids).select_related("user", "group"):
        owners[ownership.model_id].append(ownership)
    latest = models_latest_runs(ids)
    for model in models:
        model.tag_names = sorted(tags[model.pk])  # type: ignore[attr-defined]
        model.owner_entries = [ownership.entry for ownership in owners[model.pk]]  # type: ignore[attr-defined]
        model.latest_run = latest.get(model.pk)  # type: ignore[attr-defined]
    return models


def runs_visible_to(user: User | AnonymousUser) -> QuerySet[TrainingRun]:
    """Every run, to every authenticated user, with what its representation shows loaded."""
    if not user.is_authenticated:
        return TrainingRun.objects.none()
    return TrainingRun.objects.select_related("model", "created_by").prefetch_related(
        Prefetch("inputs", queryset=TrainingInput.objects.order_by("position")), "artifacts"
    )


def runs_reading(runs: QuerySet[TrainingRun], *, user: User | AnonymousUser, **lookup: Any) -> QuerySet[TrainingRun]:
    """The runs with an input matching `lookup` (`dataset_id=`, `version_id=`) of a dataset the user
    may read: a filter on a dataset they may not read finds nothing, as for one that does not exist."""
    inputs = TrainingInput.objects.filter(dataset__in=datasets_visible_to(user), **lookup)
    return runs.filter(pk__in=inputs.values("run_id"))


def runs_attach(runs: Sequence[TrainingRun], *, user: User | AnonymousUser) -> Sequence[TrainingRun]:
    """Give each run of a page its `audit` (the latest audit of it, or None) and each input its
    `readable` flag: two queries whatever the page size (the inputs and artifacts are prefetched)."""
    ids = [run.pk for run in runs]
    audits = {
        audit.training_run_id: audit
        for audit in first_of_each(
            Audit.objects.filter(training_run_id__in=ids), "training_run_id", F("created_at").desc(), F("id").desc()
        ).only("id", "verdict", "training_run_id", "created_at")
    }
    named = {item.dataset_id for run in runs for item in run.inputs.all() if item.dataset_id is not None}
    readable = set(datasets_visible_to(user).filter(pk__in=named).values_list("pk", flat=True)) if named else set()
    for run in runs:
        run.audit = audits.get(run.pk)  # type: ignore[attr-defined]
        for item in run.inputs.all():
            # A purged dataset's input keeps only its snapshot, which may be of a restricted dataset.
            item.readable = item.dataset_id in readable or (user.is_staff and item.dataset_id is None)  # type: ignore[attr-defined]
    return runs
