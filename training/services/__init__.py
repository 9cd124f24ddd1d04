"""Writes of the training app: models (`registry`), which versions a run's inputs name (`inputs`), and
training runs (`runs`). Every way in (REST, OpenLineage, MLflow) records a run with
`training_run_record(actor=..., spec=RunSpec(...))`."""

from training.services.inputs import ResolvedInput, input_resolve
from training.services.narratives import training_content_narrative_update
from training.services.registry import ModelExists, model_create, model_from_ref, model_update, model_values
from training.services.runs import (
    MUTABLE_FIELDS,
    run_values,
    training_run_confirm,
    training_run_record,
    training_run_update,
)

__all__ = [
    "MUTABLE_FIELDS",
    "ModelExists",
    "ResolvedInput",
    "input_resolve",
    "model_create",
    "model_from_ref",
    "model_update",
    "model_values",
    "run_values",
    "training_content_narrative_update",
    "training_run_confirm",
    "training_run_record",
    "training_run_update",
]
