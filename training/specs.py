"""What a training run is recorded from, whichever way it came in (REST, OpenLineage, MLflow): plain
data, no database. The services resolve it against the catalog and record one `TrainingRun`."""

from __future__ import annotations

import math
import re
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


# Bounds of what one run may carry, whichever way it comes in: far above a real training run (a
# few dozen inputs, hundreds of hyperparameters), far below what would make a run costly to store,
# show or audit.
MAX_INPUTS = 500
MAX_ARTIFACTS = 500
MAX_UNMATCHED_INPUTS = 500
# A JSON object of a run (hyperparameters, metrics, environment): nested at most this deep, and at
# most this many bytes once encoded.
MAX_JSON_DEPTH = 20
MAX_JSON_BYTES = 256 * 1024
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def json_object_problem(value: Any, *, max_depth: int = MAX_JSON_DEPTH, max_bytes: int = MAX_JSON_BYTES) -> str | None:
    """Why this value cannot be kept as a run's JSON object, said for a person; None when it can.

    Iterative, so a deep value cannot exhaust the stack here. NUL and lone surrogates are refused as
    PostgreSQL refuses them in jsonb."""
    if not isinstance(value, dict):
        return "must be a JSON object ({...})."
    pending: list[tuple[Any, int]] = [(value, 1)]
    size = 0
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict | list):
            if depth > max_depth:
                return f"nests objects and arrays more than {max_depth} levels deep; flatten it."
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, item in items:
                if isinstance(key, str):
                    pending.append((key, depth))
                pending.append((item, depth + 1))
                size += 2
        elif isinstance(node, str):
            size += len(node) + 2
            if size <= max_bytes and _UNSTORABLE.search(node):
                return "holds a NUL character or a lone surrogate, which text may not contain."
        elif isinstance(node, float) and not math.isfinite(node):
            return "holds NaN or an infinity, which JSON cannot carry."
        else:
            size += 8
        if size > max_bytes:
            return f"is larger than {max_bytes // 1024} KiB."
    return None
