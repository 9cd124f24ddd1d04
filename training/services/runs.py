"""Training runs: recorded from a `RunSpec` whichever way they came in (REST, OpenLineage, MLflow),
updated while they go on, confirmed by the model's owners when someone else reported them.

What a run read and how it was configured never change once recorded (its inputs and
hyperparameters, like a version's bytes); its status, end time, metrics and artifacts do."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from config import errors
from governance.choices import ChangeAction, ObjectType
from governance.permissions import user_can_write_model
from governance.services import change_record, changed_values
from training.choices import RunSource, RunStatus
from training.models import Model, TrainingArtifact, TrainingInput, TrainingRun
from training.services.inputs import ResolvedInput, input_resolve
from training.services.registry import model_from_ref
from training.specs import (
    MAX_ARTIFACTS,
    MAX_INPUTS,
    MAX_UNMATCHED_INPUTS,
    ArtifactSpec,
    InputRef,
    RunSpec,
    json_object_problem,
)

# What may change once a run is recorded; anything else a PATCH names is refused, naming it.
MUTABLE_FIELDS = ("status", "ended_at", "metrics", "artifacts")
PURPOSES = ("commercial", "distribute_model", "distribute_data")
_WRITERS_ONLY = "Only the model's owners and stewards (or staff) may {what}; ask one of its owners."


def run_values(run: TrainingRun) -> dict[str, Any]:
    """What the change log records of a run. Inputs by the ids of their dataset and version only:
    the log redacts those a reader may not read, and a name would not be redacted."""
    return {
        "model": str(run.model_id),
        "model_version": run.model_version,
        "status": run.status,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "code": {"repository": run.code_repository, "commit": run.code_commit, "entrypoint": run.code_entrypoint},
        "hyperparameters": run.hyperparameters,
        "metrics": run.metrics,
        "purpose": run.purpose,
        "source": run.source,
        "external_id": run.external_id,
        "confirmed": run.confirmed,
        "inputs": [
            {"dataset": item.dataset_id, "version": item.version_id, "role": item.role, "pinned": item.pinned}
            for item in run.inputs.order_by("position")
        ],
        "artifacts": [
            {"uri": item.uri, "sha256": item.sha256, "size": item.size} for item in run.artifacts.order_by("position")
        ],
        "unmatched_inputs": len(run.unmatched_inputs),
    }


def _json_checked(value: Any, field: str) -> None:
    if (problem := json_object_problem(value)) is not None:
        raise errors.Invalid(f"{field} {problem}", field=field)


def _times_checked(started_at: datetime | None, ended_at: datetime | None) -> None:
    if started_at is not None and ended_at is not None and ended_at < started_at:
        raise errors.Invalid(
            f"ended_at ({ended_at.isoformat()}) is before started_at ({started_at.isoformat()}).", field="ended_at"
        )


def _status_checked(status: str) -> None:
    if status not in RunStatus.values:
        raise errors.Invalid(f"status is one of {', '.join(RunStatus.values)}.", field="status")


def _artifacts_checked(artifacts: Sequence[ArtifactSpec]) -> None:
    if len(artifacts) > MAX_ARTIFACTS:
        raise errors.Invalid(f"A run lists at most {MAX_ARTIFACTS} artifacts.", field="artifacts")
    for artifact in artifacts:
        if not artifact.uri or len(artifact.uri) > 2048:
            raise errors.Invalid("An artifact's uri is 1 to 2,048 characters.", field="artifacts")
        if artifact.sha256 and (len(artifact.sha256) != 64 or not set(artifact.sha256) <= set("0123456789abcdef")):
            raise errors.Invalid("An artifact's sha256 is 64 lower-case hex digits.", field="artifacts")
        if artifact.size is not None and artifact.size < 0:
            raise errors.Invalid("An artifact's size is a number of bytes, 0 or more.", field="artifacts")


def _spec_checked(spec: RunSpec) -> None:
    if spec.source not in RunSource.values:
        raise errors.Invalid(f"source is one of {', '.join(RunSource.values)}.", field="source")
    _status_checked(spec.status)
    _times_checked(spec.started_at, spec.ended_at)
    for name in ("hyperparameters", "metrics", "environment"):
        _json_checked(getattr(spec, name), name)
    if spec.purpose is not None:
        unknown = sorted(set(spec.purpose) - set(PURPOSES))
        if unknown or not all(isinstance(value, bool) for value in spec.purpose.values()):
            raise errors.Invalid(f"purpose takes {', '.join(PURPOSES)}, each true or false.", field="purpose")
    if len(spec.inputs) > MAX_INPUTS:
        raise errors.Invalid(f"A run reads at most {MAX_INPUTS} inputs.", field="inputs")
    if len(spec.unmatched_inputs) > MAX_UNMATCHED_INPUTS:
        raise errors.Invalid(f"A run lists at most {MAX_UNMATCHED_INPUTS} unmatched inputs.", field="inputs")
    _artifacts_checked(spec.artifacts)


def _reported(ref: InputRef) -> dict[str, Any]:
    if ref.reported:
        return dict(ref.reported)
    named = {"version": ref.version, "dataset": ref.dataset, "uri": ref.uri, "fingerprint": ref.fingerprint}
    named |= {"namespace": ref.namespace, "name": ref.name, "version_label": ref.version_label}
    return {key: str(value) for key, value in named.items() if value} | {"role": ref.role}


def _inputs_resolved(actor: User, spec: RunSpec) -> tuple[list[ResolvedInput], list[dict[str, Any]]]:
    """Each input's version. From REST an input that names none is refused; a reported run
    (OpenLineage, MLflow) keeps it, as reported and with the reason, among its unmatched inputs."""
    resolved: list[ResolvedInput] = []
    unmatched = [dict(item) for item in spec.unmatched_inputs]
    for index, ref in enumerate(spec.inputs):
        try:
            resolved.append(input_resolve(actor=actor, ref=ref, index=index))
        except errors.Invalid as exc:
            if spec.source == RunSource.API:
                raise
            unmatched.append({**_reported(ref), "reason": str(exc)})
    return resolved, unmatched


def _inputs_write(run: TrainingRun, inputs: Sequence[ResolvedInput]) -> None:
    TrainingInput.objects.bulk_create(
        TrainingInput(
            run=run,
            position=position,
            dataset=item.dataset,
            version=item.version,
            role=item.role,
            pinned=item.pinned,
            dataset_label=f"{item.dataset.namespace}/{item.dataset.name}",
            version_number=item.version.number,
            uri=item.version.uri,
            fingerprint=item.version.fingerprint,
        )
        for position, item in enumerate(inputs)
    )


def _artifacts_write(run: TrainingRun, artifacts: Sequence[ArtifactSpec]) -> None:
    run.artifacts.all().delete()
    TrainingArtifact.objects.bulk_create(
        TrainingArtifact(run=run, position=position, uri=item.uri, sha256=item.sha256, size=item.size)
        for position, item in enumerate(artifacts)
    )


def _run_create(actor: User, spec: RunSpec) -> TrainingRun:
    model, created = model_from_ref(actor=actor, ref=spec.model)
    writer = created or user_can_write_model(actor, model.pk)
    if not writer and spec.source == RunSource.API:
        raise errors.Forbidden(_WRITERS_ONLY.format(what="record its training runs"))
    inputs, unmatched = _inputs_resolved(actor, spec)
    run = TrainingRun.objects.create(
        model=model,
        model_version=spec.model_version,
        status=spec.status,
        started_at=spec.started_at,
        ended_at=spec.ended_at,
        code_repository=spec.code_repository,
        code_commit=spec.code_commit,
        code_entrypoint=spec.code_entrypoint,
        hyperparameters=spec.hyperparameters,
        metrics=spec.metrics,
        environment=spec.environment,
        purpose=spec.purpose,
        source=spec.source,
        external_id=spec.external_id,
        lineage_run_id=spec.lineage_run_id,
        unmatched_inputs=unmatched,
        # A run reported by someone who may not write the model waits for its owners: it is listed,
        # but is not the model's latest run until they confirm it.
        confirmed=writer,
        created_by=actor,
    )
    _inputs_write(run, inputs)
    _artifacts_write(run, spec.artifacts)
    change_record(
        actor=actor,
        action=ChangeAction.CREATE,
        object_type=ObjectType.TRAINING_RUN,
        object_id=run.pk,
        after=run_values(run),
        object_repr=str(run),
    )
    return run


def _same_model(model: Model, spec: RunSpec) -> bool:
    if spec.model.id is not None:
        return spec.model.id == model.pk
    return (spec.model.namespace, spec.model.name) == (model.namespace, model.name)


def _run_rerecord(actor: User, run: TrainingRun, spec: RunSpec) -> TrainingRun:
    """The same run reported again (OpenLineage START then COMPLETE, an MLflow import repeated)."""
    run = TrainingRun.objects.select_for_update().select_related("model").get(pk=run.pk)
    if run.created_by_id != actor.pk and not user_can_write_model(actor, run.model_id):
        raise errors.Forbidden(
            f"The run {spec.external_id!r} from {spec.source} was recorded by another sender; only they, or the "
            "model's owners and stewards (or staff), may report it again."
        )
    if not _same_model(run.model, spec):
        raise errors.Invalid("model cannot change once a run is recorded.", field="model")
    before = run_values(run)
    # A run that ended does not start again when a late START arrives after its COMPLETE.
    if not (spec.status == RunStatus.RUNNING and run.status != RunStatus.RUNNING):
        run.status = spec.status
    run.ended_at = spec.ended_at or run.ended_at
    run.started_at = run.started_at or spec.started_at
    _times_checked(run.started_at, run.ended_at)
    if spec.metrics:
        run.metrics = spec.metrics
    # Filled in when the run had none yet; never replaced.
    for name in ("model_version", "code_repository", "code_commit", "code_entrypoint", "hyperparameters"):
        if not getattr(run, name):
            setattr(run, name, getattr(spec, name))
    run.environment = run.environment or spec.environment
    run.purpose = run.purpose if run.purpose is not None else spec.purpose
    run.lineage_run_id = run.lineage_run_id or spec.lineage_run_id
    if not run.inputs.exists() and not run.unmatched_inputs:
        inputs, run.unmatched_inputs = _inputs_resolved(actor, spec)
        _inputs_write(run, inputs)
    run.save()
    if spec.artifacts:
        _artifacts_write(run, spec.artifacts)
    _changed(actor, run, before)
    return run


def _changed(actor: User, run: TrainingRun, before: dict[str, Any]) -> None:
    old, new = changed_values(before, run_values(run))
    if new:
        change_record(
            actor=actor,
            action=ChangeAction.UPDATE,
            object_type=ObjectType.TRAINING_RUN,
            object_id=run.pk,
            before=old,
            after=new,
            object_repr=str(run),
        )


def training_run_record(*, actor: User, spec: RunSpec) -> TrainingRun:
    """Record a training run. One whose (source, external_id) is recorded already is updated instead
    (status, end time, metrics and artifacts; inputs and hyperparameters only if it had none yet).

    From REST, only the model's owners and stewards (or staff) record its runs (Forbidden otherwise);
    a run reported over OpenLineage or MLflow by someone else is recorded unconfirmed, changing
    nothing of the model, until an owner confirms it (`training_run_confirm`)."""
    _spec_checked(spec)
    existing = (
        TrainingRun.objects.filter(source=spec.source, external_id=spec.external_id).first()
        if spec.external_id
        else None
    )
    with transaction.atomic():
        if existing is not None:
            return _run_rerecord(actor, existing, spec)
        try:
            with transaction.atomic():
                return _run_create(actor, spec)
        except IntegrityError:
            # Another request recorded the same run at the same moment: this one updates it.
            existing = TrainingRun.objects.filter(source=spec.source, external_id=spec.external_id).first()
            if not spec.external_id or existing is None:
                raise
            return _run_rerecord(actor, existing, spec)


def training_run_update(
    *,
    actor: User,
    run: TrainingRun,
    **changes: Any,
) -> TrainingRun:
    """Change what may change once a run is recorded: `status`, `ended_at`, `metrics`, `artifacts` (a
    sequence of ArtifactSpec, replacing the run's). Any other field is refused, naming it. The
    model's owners and stewards (or staff) only."""
    for name in changes:
        if name not in MUTABLE_FIELDS:
            raise errors.Invalid(
                f"{name} cannot change once recorded: only {', '.join(MUTABLE_FIELDS)} do. Record a new run instead.",
                field=name,
            )
    if not user_can_write_model(actor, run.model_id):
        raise errors.Forbidden(_WRITERS_ONLY.format(what="change its training runs"))
    if "status" in changes:
        _status_checked(changes["status"])
    if "metrics" in changes:
        _json_checked(changes["metrics"], "metrics")
    if "artifacts" in changes:
        _artifacts_checked(changes["artifacts"])
    with transaction.atomic():
        locked = TrainingRun.objects.select_for_update().get(pk=run.pk)
        before = run_values(locked)
        for name in ("status", "ended_at", "metrics"):
            if name in changes:
                setattr(locked, name, changes[name])
        _times_checked(locked.started_at, locked.ended_at)
        locked.save()
        if "artifacts" in changes:
            _artifacts_write(locked, changes["artifacts"])
        _changed(actor, locked, before)
    return locked


def training_run_confirm(*, actor: User, run: TrainingRun) -> TrainingRun:
    """A run someone else reported, confirmed by the model's owners or stewards (or staff): from now
    on it may be the model's latest run. Confirming a confirmed run changes nothing."""
    if not user_can_write_model(actor, run.model_id):
        raise errors.Forbidden(_WRITERS_ONLY.format(what="confirm its training runs"))
    with transaction.atomic():
        locked = TrainingRun.objects.select_for_update().get(pk=run.pk)
        if not locked.confirmed:
            locked.confirmed = True
            locked.save(update_fields=["confirmed", "updated_at"])
            change_record(
                actor=actor,
                action=ChangeAction.UPDATE,
                object_type=ObjectType.TRAINING_RUN,
                object_id=locked.pk,
                before={"confirmed": False},
                after={"confirmed": True},
                object_repr=str(locked),
            )
    return locked
