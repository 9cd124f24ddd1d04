"""Importing training runs from an MLflow tracking server: `training.mlflow` reads them, this module
matches the datasets each run logged to catalog versions and records every run with
`training_run_record`, as the actor importing (`python manage.py import_mlflow`, the periodic task).

An input (a dataset logged with `mlflow.log_input`) is matched, among the datasets the actor may read:

1. by fingerprint, pinned: the input tag `catalog.fingerprint`, or a digest that is a catalog
   fingerprint (`sha256:<hex>`, or at least 32 hex digits of one: MLflow keeps 36 characters of a
   digest). A fingerprint tag that matches no version leaves the input unmatched, saying so;
2. by its source URI, not pinned: the dataset with a version registered at that URI (the first
   registered, when several were), at its latest version that was ready when the run started;
3. otherwise it is listed among the run's unmatched inputs, as MLflow reported it, with the reason.

Importing again changes nothing that did not change in MLflow: a run already recorded is compared
with what MLflow says before anything is written, and left alone (no write, no change-log entry)
when they agree."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from catalog.choices import VersionStatus
from catalog.models import DatasetVersion
from catalog.selectors import datasets_visible_to
from config import errors
from training.choices import ImportStatus, RunSource, RunStatus
from training.mlflow import (
    ExperimentNotFound,
    MlflowInput,
    MlflowRun,
    mlflow_runs,
    redacted,
    tracking_uri_checked,
)
from training.models import MlflowImport, TrainingRun
from training.services.runs import training_run_record
from training.specs import InputRef, ModelRef, RunSpec

logger = logging.getLogger(__name__)

# The periodic import reads again the hour before the last one started: a client whose clock is
# behind the server's logs runs that start "before" it. Reading a run twice changes nothing.
SCHEDULED_OVERLAP = timedelta(hours=1)
_FULL_FINGERPRINT = re.compile(r"^sha256:[0-9a-f]{64}$")
_HEX_DIGEST = re.compile(r"^[0-9a-f]{32,64}$")
# The errors kept in a summary; the count says how many there were.
_ERRORS_KEPT = 50


@dataclass
class MlflowImportSummary:
    tracking_uri: str
    experiments: list[str]
    since: datetime | None
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    unmatched_inputs: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    # Runs recorded under their experiment's model and registered in MLflow afterwards: a run's model
    # never changes once recorded, so they stay with the experiment's.
    registered_later: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["since"] = self.since.isoformat() if self.since else None
        return values

    def lines(self) -> list[str]:
        since = f" since {self.since.isoformat()}" if self.since else ""
        experiments = ", ".join(self.experiments) if self.experiments else "every experiment"
        lines = [
            f"MLflow import from {self.tracking_uri} ({experiments}{since}): {self.read} runs read, "
            f"{self.created} recorded, {self.updated} updated, {self.unchanged} unchanged, {self.failed} failed; "
            f"{self.unmatched_inputs} inputs matched no catalog version."
        ]
        lines += [f"  run {item['run']}: {item['error']}" for item in self.errors]
        lines += [
            f"  run {item['run']}: registered as {item['registered']} after it was imported; it stays a run of "
            f"{item['model']}."
            for item in self.registered_later
        ]
        return lines


# --- Matching inputs to catalog versions -------------------------------------------------------------


def _readable_ready(actor: User) -> QuerySet[DatasetVersion]:
    return DatasetVersion.objects.filter(dataset__in=datasets_visible_to(actor), status=VersionStatus.READY)


def _fingerprint_query(text: str) -> Q | None:
    """The versions a fingerprint names: sha256:<64 hex digits>, or at least 32 hex digits of one."""
    text = text.strip().lower()
    if _FULL_FINGERPRINT.match(text):
        return Q(fingerprint=text)
    digits = text.removeprefix("sha256:")
    if _HEX_DIGEST.match(digits):
        return Q(fingerprint__startswith=f"sha256:{digits}")
    return None


def _by_fingerprint(actor: User, item: MlflowInput, query: Q) -> DatasetVersion | None:
    """The version of those bytes: the one at the input's URI if there is one, else the latest
    registered."""
    versions = _readable_ready(actor).filter(query).order_by("-created_at", "-pk")
    at_uri = versions.filter(uri=item.source_uri).first() if item.source_uri else None
    return at_uri or versions.first()


def _by_uri(actor: User, uri: str) -> DatasetVersion | None:
    if not uri:
        return None
    visible = DatasetVersion.objects.filter(dataset__in=datasets_visible_to(actor))
    return visible.filter(uri=uri).select_related("dataset").order_by("created_at", "pk").first()


def _input_matched(actor: User, item: MlflowInput, started_at: datetime | None) -> InputRef | dict[str, Any]:
    reported = item.reported()
    if item.fingerprint:
        query = _fingerprint_query(item.fingerprint)
        version = _by_fingerprint(actor, item, query) if query is not None else None
        if version is None:
            return {
                **reported,
                "reason": f"the input tag catalog.fingerprint names {item.fingerprint!r}, which is the fingerprint "
                "of no ready version you may read.",
            }
        return InputRef(role=item.role, uri=version.uri, fingerprint=version.fingerprint, reported=reported)
    query = _fingerprint_query(item.digest)
    if query is not None and (version := _by_fingerprint(actor, item, query)) is not None:
        return InputRef(role=item.role, uri=version.uri, fingerprint=version.fingerprint, reported=reported)
    located = _by_uri(actor, item.source_uri)
    if located is not None:
        dataset = located.dataset
        return InputRef(
            role=item.role, namespace=dataset.namespace, name=dataset.name, at=started_at, reported=reported
        )
    return {
        **reported,
        "reason": "no version you may read is registered at this source URI, and neither its digest nor an input "
        "tag catalog.fingerprint names a catalog fingerprint.",
    }


def _spec_matched(actor: User, run: MlflowRun) -> RunSpec:
    inputs: list[InputRef] = []
    unmatched: list[dict[str, Any]] = []
    for item in run.inputs:
        matched = _input_matched(actor, item, run.spec.started_at)
        if isinstance(matched, InputRef):
            inputs.append(matched)
        else:
            unmatched.append(matched)
    return replace(run.spec, inputs=tuple(inputs), unmatched_inputs=tuple(unmatched))


# --- Recording -------------------------------------------------------------------------------------------


def _unchanged(run: TrainingRun, spec: RunSpec) -> bool:
    """Whether recording the spec again would leave the run as it is (the rules of training_run_record
    for a run reported again)."""
    status = run.status if spec.status == RunStatus.RUNNING and run.status != RunStatus.RUNNING else spec.status
    if status != run.status or (spec.ended_at or run.ended_at) != run.ended_at:
        return False
    if run.started_at is None and spec.started_at is not None:
        return False
    if spec.metrics and spec.metrics != run.metrics:
        return False
    for name in ("model_version", "code_repository", "code_commit", "code_entrypoint", "hyperparameters"):
        if not getattr(run, name) and getattr(spec, name):
            return False
    if not run.environment and spec.environment:
        return False
    if spec.artifacts:
        recorded = [(item.uri, item.sha256, item.size) for item in run.artifacts.order_by("position")]
        if recorded != [(item.uri, item.sha256, item.size) for item in spec.artifacts]:
            return False
    return not (spec.inputs or spec.unmatched_inputs) or bool(run.unmatched_inputs) or run.inputs.exists()


def _same_model(run: TrainingRun, spec: RunSpec) -> bool:
    return (run.model.namespace, run.model.name) == (spec.model.namespace, spec.model.name)


def _error(summary: MlflowImportSummary, external_id: str, message: str) -> None:
    summary.failed += 1
    if len(summary.errors) < _ERRORS_KEPT:
        summary.errors.append({"run": external_id, "error": message})


def _import_one(actor: User, run: MlflowRun, summary: MlflowImportSummary) -> None:
    existing = (
        TrainingRun.objects.filter(source=RunSource.MLFLOW, external_id=run.spec.external_id)
        .select_related("model")
        .first()
    )
    # What a recorded run read never changes: its inputs are matched the first time only.
    inputs_recorded = existing is not None and (bool(existing.unmatched_inputs) or existing.inputs.exists())
    spec = run.spec if inputs_recorded else _spec_matched(actor, run)
    if existing is not None and not _same_model(existing, spec):
        if spec.model_version and not existing.model_version:
            summary.registered_later.append(
                {
                    "run": spec.external_id,
                    "registered": f"{spec.model.name} version {spec.model_version}",
                    "model": str(existing.model),
                }
            )
        spec = replace(spec, model=ModelRef(id=existing.model_id), model_version=existing.model_version)
    if existing is not None and _unchanged(existing, spec):
        summary.unchanged += 1
        return
    try:
        with transaction.atomic():
            recorded = training_run_record(actor=actor, spec=spec)
    except errors.DomainError as exc:
        _error(summary, spec.external_id, str(exc))
        return
    if existing is None:
        summary.created += 1
        summary.unmatched_inputs += len(recorded.unmatched_inputs)
    else:
        summary.updated += 1


def mlflow_import(
    *,
    actor: User,
    tracking_uri: str,
    experiments: Sequence[str] = (),
    since: datetime | None = None,
) -> MlflowImportSummary:
    """Import the runs of the named experiments (all active ones when none is named) that started or
    ended since `since` (all of them without), as `actor`. Each run is recorded whole or not at all.

    Invalid(field="tracking_uri") for a URI that is not a tracking server's, Invalid(field="experiments")
    for an experiment the server does not know (nothing is imported then); TrackingServerError when
    the server cannot be read: the runs recorded before it failed stay, each whole. Every import is
    kept as an MlflowImport with its summary."""
    try:
        tracking_uri = tracking_uri_checked(tracking_uri)
    except ValueError as exc:
        raise errors.Invalid(str(exc), field="tracking_uri") from None
    names = list(dict.fromkeys(name.strip() for name in experiments if name.strip()))
    summary = MlflowImportSummary(tracking_uri=redacted(tracking_uri), experiments=names, since=since)
    record = MlflowImport.objects.create(
        tracking_uri=summary.tracking_uri,
        experiments=names,
        since=since,
        created_by=actor,
        started_at=timezone.now(),
    )
    try:
        for run in mlflow_runs(tracking_uri, experiments=names, since=since):
            summary.read += 1
            _import_one(actor, run, summary)
    except ExperimentNotFound as exc:
        _finish(record, summary, ImportStatus.FAILED, error=str(exc))
        raise errors.Invalid(str(exc), field="experiments") from None
    except Exception as exc:
        _finish(record, summary, ImportStatus.FAILED, error=str(exc) or type(exc).__name__)
        raise
    _finish(record, summary, ImportStatus.SUCCEEDED)
    return summary


def _finish(record: MlflowImport, summary: MlflowImportSummary, status: str, error: str = "") -> None:
    record.status, record.summary, record.error = status, summary.as_dict(), error
    record.finished_at = timezone.now()
    record.save(update_fields=["status", "summary", "error", "finished_at"])


# --- The periodic import ---------------------------------------------------------------------------------


def mlflow_import_since_last(*, actor: User, tracking_uri: str, experiments: Sequence[str] = ()) -> MlflowImportSummary:
    """Import the runs that started or ended since the last import from this server that succeeded
    (less SCHEDULED_OVERLAP); every run when there was none."""
    last = (
        MlflowImport.objects.filter(tracking_uri=redacted(tracking_uri.strip()), status=ImportStatus.SUCCEEDED)
        .order_by("-started_at")
        .first()
    )
    since = last.started_at - SCHEDULED_OVERLAP if last is not None else None
    return mlflow_import(actor=actor, tracking_uri=tracking_uri, experiments=experiments, since=since)


def mlflow_import_scheduled() -> MlflowImportSummary | None:
    """The periodic import of CATALOG_MLFLOW_TRACKING_URI (its CATALOG_MLFLOW_EXPERIMENTS, as the user
    CATALOG_MLFLOW_IMPORT_USER); None when no tracking server is configured."""
    tracking_uri = settings.CATALOG_MLFLOW_TRACKING_URI
    if not tracking_uri:
        return None
    username = settings.CATALOG_MLFLOW_IMPORT_USER
    actor = get_user_model().objects.filter(username=username).first() if username else None
    if actor is None:
        raise errors.Invalid(
            f"CATALOG_MLFLOW_IMPORT_USER names no user ({username!r}): set it to the user the imported runs are "
            "recorded as.",
            field="CATALOG_MLFLOW_IMPORT_USER",
        )
    return mlflow_import_since_last(
        actor=actor, tracking_uri=tracking_uri, experiments=settings.CATALOG_MLFLOW_EXPERIMENTS
    )
