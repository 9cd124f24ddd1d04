"""The pre-training audit of training runs: what the audit is told of a run (its model, the exact
versions it read), which run a model stands for, and the audit a run recorded with a purpose gets.

The audit's services sit below this app and read none of its records: they take `AuditedRun`, plain
facts, from here."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from uuid import UUID

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction

from audits.rules import Purpose
from audits.services import AuditedRun, audit_training_run
from config import errors
from governance.models import Audit
from training.choices import RunStatus
from training.models import TrainingInput, TrainingRun
from training.selectors import LATEST_RUN_FIRST, first_of_each, models_visible_to, runs_visible_to

logger = logging.getLogger(__name__)

PURPOSES = ("commercial", "distribute_model", "distribute_data")


def _purpose(recorded: dict | None) -> Purpose | None:
    if recorded is None:
        return None
    return Purpose(**{name: bool(recorded.get(name)) for name in PURPOSES})


def training_runs_audited(
    run_ids: Sequence[UUID], *, readable_by: User | AnonymousUser | None = None
) -> dict[UUID, AuditedRun]:
    """The facts the audit takes of each run that exists (and that `readable_by` may read, when
    given), by id: two queries, however many runs and inputs. An input whose version left the catalog
    (its dataset was purged) is not among them."""
    runs_read = TrainingRun.objects.filter(pk__in=run_ids)
    if readable_by is not None:
        runs_read = runs_read.filter(pk__in=runs_visible_to(readable_by).values("pk"))
    runs = {
        run.pk: run
        for run in runs_read.select_related("model").only(
            "id", "model_version", "purpose", "model__id", "model__namespace", "model__name"
        )
    }
    versions: dict[UUID, list[UUID]] = defaultdict(list)
    for run_id, version_id in (
        TrainingInput.objects.filter(run_id__in=runs, version__isnull=False)
        .order_by("run_id", "position")
        .values_list("run_id", "version_id")
    ):
        versions[run_id].append(version_id)
    return {
        pk: AuditedRun(
            id=pk,
            model_id=run.model.pk,
            model=f"{run.model.namespace}/{run.model.name}",
            model_version=run.model_version,
            versions=tuple(versions[pk]),
            purpose=_purpose(run.purpose),
        )
        for pk, run in runs.items()
    }


def training_audit_subjects(
    *, user: User | AnonymousUser, runs: Sequence[UUID] = (), models: Sequence[UUID] = ()
) -> list[AuditedRun]:
    """The training runs an audit is asked to cover: each run named, and for each model named its
    latest completed run (latest as a model's latest run is: by start, then by when it was recorded;
    confirmed: one reported by someone else counts once its owners confirm it); each once, in the
    order named (runs first). A run or model the user may not read is refused as one that does not
    exist (models and runs are readable by every signed-in user).

    Raises Invalid naming the field: an unknown run or model, or a model with no completed run."""
    model_ids = list(dict.fromkeys(models))
    latest: dict[UUID, UUID] = {}
    if model_ids:
        known = set(models_visible_to(user).filter(pk__in=model_ids).values_list("pk", flat=True))
        if unknown := [str(pk) for pk in model_ids if pk not in known]:
            raise errors.Invalid(f"No model has the id {', '.join(unknown)}.", field="models")
        latest = dict(
            first_of_each(
                TrainingRun.objects.filter(model_id__in=model_ids, status=RunStatus.COMPLETED, confirmed=True),
                "model_id",
                *LATEST_RUN_FIRST,
            ).values_list("model_id", "id")
        )
        if without := [str(pk) for pk in model_ids if pk not in latest]:
            raise errors.Invalid(
                f"The model {', '.join(without)} has no completed training run to audit.", field="models"
            )
    run_ids = list(dict.fromkeys([*runs, *(latest[pk] for pk in model_ids)]))
    found = training_runs_audited(run_ids, readable_by=user)
    if unknown := [str(pk) for pk in runs if pk not in found]:
        raise errors.Invalid(f"No training run has the id {', '.join(unknown)}.", field="training_runs")
    return [found[pk] for pk in run_ids]


def training_run_audit(*, actor: User | None, run: TrainingRun) -> Audit | None:
    """Audit a run recorded with a purpose, for that purpose, as its recorder: called once its inputs
    are stored, in the same transaction.

    The audit only reads and inserts one report. Should it fail all the same, the run is kept without
    an audit (its `audit` stays null) and the failure is logged: a run recorded is a fact, and a
    report can be asked for again with `POST /api/v1/audits/` naming the run."""
    if run.purpose is None or actor is None:
        return None
    facts = training_runs_audited([run.pk]).get(run.pk)
    if facts is None or not facts.versions:
        return None  # nothing in the catalog to audit
    try:
        with transaction.atomic():
            return audit_training_run(actor=actor, run=facts, purpose=facts.purpose)
    except Exception:
        logger.exception("The audit of training run %s failed; the run is recorded without one.", run.pk)
        return None
