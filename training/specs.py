"""What a training run is recorded from, whichever way it came in (REST, OpenLineage, MLflow): plain
data, no database. The services resolve it against the catalog and record one `TrainingRun`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class ModelRef:
    """A model by its id, or by (namespace, name): one that does not exist yet is created when the
    run is recorded, with the recorder as its owner."""

    id: UUID | None = None
    namespace: str = ""
    name: str = ""
    description: str = ""


@dataclass(frozen=True)
class InputRef:
    """One dataset version a run read, named in one of these ways:

    - `version`: a version's id;
    - `dataset`: a dataset's id, resolved to its latest ready version (recorded as that version);
    - `uri` and `fingerprint`: the version of those bytes;
    - `namespace` and `name` (OpenLineage, MLflow), with `version_label` when the sender named a
      version (a fingerprint, a version number or a version id); without one, the dataset's latest
      ready version at `at` is taken and the input is recorded `pinned=False`.

    `reported` is the input as the sender gave it, kept on the run when it matches no version."""

    role: str = "train"
    version: UUID | None = None
    dataset: UUID | None = None
    uri: str = ""
    fingerprint: str = ""
    namespace: str = ""
    name: str = ""
    version_label: str = ""
    at: datetime | None = None
    reported: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ArtifactSpec:
    uri: str
    sha256: str = ""
    size: int | None = None


@dataclass(frozen=True)
class RunSpec:
    model: ModelRef
    model_version: str = ""
    status: str = "running"
    started_at: datetime | None = None
    ended_at: datetime | None = None
    code_repository: str = ""
    code_commit: str = ""
    code_entrypoint: str = ""
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[InputRef, ...] = ()
    artifacts: tuple[ArtifactSpec, ...] = ()
    purpose: dict[str, bool] | None = None
    source: str = "api"
    # The run's id where it came from (OpenLineage runId, MLflow run_id): recording the same one
    # again updates that run instead of adding another.
    external_id: str = ""
    lineage_run_id: UUID | None = None
    # Inputs an integration reported that match no catalog version, as reported.
    unmatched_inputs: tuple[dict[str, Any], ...] = ()
