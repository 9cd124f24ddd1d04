"""What of the lineage a user may read: datasets shown without their identity, runs and jobs not listed."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, OuterRef, QuerySet

from catalog.selectors import datasets_visible_to
from lineage.models import Job, Run, RunDataset


def datasets_hidden_from(user: User | AnonymousUser, dataset_ids: Iterable[UUID]) -> set[UUID]:
    """Which of these datasets the user may not read: those a lineage answer must show without their
    identity (no id, name, version, field or license), under the one rule of `datasets_visible_to`."""
    wanted = set(dataset_ids)
    if not wanted:
        return set()
    return wanted - set(datasets_visible_to(user).filter(pk__in=wanted).values_list("pk", flat=True))


def runs_visible_to(user: User | AnonymousUser) -> QuerySet[Run]:
    """The runs a user may list: those that read or wrote at least one dataset the user may read, or
    no dataset at all. A run that touched only datasets hidden from the user is itself about them
    (its job, its times, its facets), so it is not listed."""
    runs = Run.objects.all()
    if not user.is_authenticated:
        return runs.none()
    if user.is_staff:
        return runs
    touched = RunDataset.objects.filter(run_id=OuterRef("pk"))
    readable = touched.filter(_readable_by(user))
    return runs.filter(~Exists(touched) | Exists(readable))


def _readable_by(user: User | AnonymousUser) -> Exists:
    """Whether a run's dataset (`dataset_id` of the row filtered) is one the user may read, asked of
    that one dataset by its key. `dataset__in=datasets_visible_to(user)` reads the same but makes
    PostgreSQL list every visible dataset first: 0.4 s a request over 200,000 datasets."""
    return Exists(datasets_visible_to(user).filter(pk=OuterRef("dataset_id")))


def jobs_visible_to(user: User | AnonymousUser) -> QuerySet[Job]:
    """The jobs a user may list, by the rule of `runs_visible_to` over all of a job's runs."""
    jobs = Job.objects.all()
    if not user.is_authenticated:
        return jobs.none()
    if user.is_staff:
        return jobs
    touched = RunDataset.objects.filter(run__job_id=OuterRef("pk"))
    readable = touched.filter(_readable_by(user))
    return jobs.filter(~Exists(touched) | Exists(readable))


def jobs_touching_hidden(user: User | AnonymousUser, job_ids: Iterable[UUID]) -> set[UUID]:
    """Which of these jobs ran on a dataset the user may not read: their facets and description,
    written by whoever ran them (a query's text, a documentation facet), may name it."""
    wanted = set(job_ids)
    if not wanted or (user.is_authenticated and user.is_staff):
        return set()
    touched = RunDataset.objects.filter(run__job_id__in=wanted).exclude(_readable_by(user))
    return set(touched.values_list("run__job_id", flat=True).distinct())


def runs_hidden_from(user: User | AnonymousUser, run_ids: Iterable[UUID]) -> set[UUID]:
    """Which of these runs `runs_visible_to` does not list to the user."""
    wanted = set(run_ids)
    if not wanted:
        return set()
    return wanted - set(runs_visible_to(user).filter(pk__in=wanted).values_list("pk", flat=True))


def jobs_hidden_from(user: User | AnonymousUser, job_ids: Iterable[UUID]) -> set[UUID]:
    """Which of these jobs `jobs_visible_to` does not list to the user."""
    wanted = set(job_ids)
    if not wanted:
        return set()
    return wanted - set(jobs_visible_to(user).filter(pk__in=wanted).values_list("pk", flat=True))
