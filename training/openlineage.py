"""An OpenLineage RunEvent read as a training run: plain mapping, no Django, no database.

A run is a training run when one of its outputs is a model (the `datasetType` dataset facet says
`MODEL`) or its job's `jobType` facet says `TRAINING` or `MODEL`. The model is named by that
output's (namespace, name), or by the job's when only the job type says so. Clients name a run's
outputs when it ends, and a run's model never changes once recorded: so an event of a training job
that names no output at all, before the run ends, records nothing yet (its START is read again, from
the lineage run, with the event that names the model or ends the run).

What is read, facet by facet (names and shapes of the specification shipped in
`lineage/openlineage/spec/facets/`):

- `executionParameters` (run): `{"parameters": [{"key", "value", "name", "description"}]}`, a list
  in the specification; each becomes `key: value`, the value kept as sent. Merged with
- `hyperparameters` (run, custom): a JSON object of the run's hyperparameters, kept as sent; it wins
  over an execution parameter of the same key. `metrics` (run, custom) likewise gives the metrics.
- `sourceCodeLocation` (job): `repoUrl` (else `url`) is the repository, `version` the commit, `path`
  the entrypoint; `sourceCode` (job) adds its `language` to the environment.
- `version` (dataset, on an input): `datasetVersion`, which may name a catalog version by
  fingerprint, number or id; on the model's output, the model's version label.
- The role of an input: a `trainingRole` or `role` facet (input or dataset facet, custom) with a
  `role` (or `split`) member: train, validation, test or other; `train` when none is given.

Facets are merged by the lineage before they come here (`event_training_report` reads whatever event
it is given). A run's JSON is bounded as every way in bounds it (`training.specs.json_object_problem`):
hyperparameters or metrics past those bounds are left out (the lineage run keeps them whole) and the
report says why, so a hostile facet never costs the run nor the event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from training.specs import json_object_problem

MODEL_DATASET_TYPE = "MODEL"
TRAINING_JOB_TYPES = frozenset({"TRAINING", "MODEL"})

# A facet's members that belong to OpenLineage, not to what it reports.
FACET_KEYS = frozenset({"_producer", "_schemaURL", "_deleted"})

# The widest values the training run stores; longer ones are left out, never cut.
MAX_LABEL = 255
MAX_CODE_REFERENCE = 2048

FINISHED_STATES = frozenset({"COMPLETE", "FAIL", "ABORT"})
STATUS_OF_STATE = {
    "START": "running",
    "RUNNING": "running",
    "OTHER": "running",
    "COMPLETE": "completed",
    "FAIL": "failed",
    "ABORT": "failed",
}

ROLES = {
    "train": "train",
    "training": "train",
    "validation": "validation",
    "validate": "validation",
    "valid": "validation",
    "val": "validation",
    "eval": "validation",
    "evaluation": "validation",
    "dev": "validation",
    "test": "test",
    "testing": "test",
    "holdout": "test",
}
ROLE_FACETS = ("trainingRole", "role")

# Namespaces that are locations: a model output there is also an artifact at that URI.
LOCATION_SCHEMES = ("s3://", "s3a://", "gs://", "az://", "abfss://", "https://", "http://", "hdfs://")


@dataclass(frozen=True)
class ReportedInput:
    namespace: str
    name: str
    role: str = "train"
    version_label: str = ""

    @property
    def reported(self) -> dict[str, Any]:
        """The input as the sender named it, for a run's list of inputs matching no catalog version."""
        found: dict[str, Any] = {"namespace": self.namespace, "name": self.name, "role": self.role}
        if self.version_label:
            found["version"] = self.version_label
        return found


@dataclass(frozen=True)
class ReportedArtifact:
    uri: str
    size: int | None = None


@dataclass(frozen=True)
class TrainingReport:
    """What one event says of a training run, before anything is resolved against the catalog."""

    run_id: str
    model_namespace: str
    model_name: str
    model_description: str = ""
    model_version: str = ""
    status: str = "running"
    code_repository: str = ""
    code_commit: str = ""
    code_entrypoint: str = ""
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[ReportedInput, ...] = ()
    artifacts: tuple[ReportedArtifact, ...] = ()
    # What was left out, and why: {"hyperparameters": "...", ...}.
    omitted: dict[str, str] = field(default_factory=dict)


def _facet(facets: object, key: str) -> dict[str, Any]:
    value = facets.get(key) if isinstance(facets, Mapping) else None
    if not isinstance(value, dict) or value.get("_deleted") is True:
        return {}
    return value


def _text(value: object, limit: int) -> str:
    """A string member, or "" when it is absent, not a string or longer than the field that keeps it."""
    return value.strip() if isinstance(value, str) and len(value.strip()) <= limit else ""


def is_model_output(dataset: Mapping[str, Any]) -> bool:
    kind = _facet(dataset.get("facets"), "datasetType").get("datasetType")
    return isinstance(kind, str) and kind.strip().upper() == MODEL_DATASET_TYPE


def is_training_job(job: Mapping[str, Any]) -> bool:
    kind = _facet(job.get("facets"), "jobType").get("jobType")
    return isinstance(kind, str) and kind.strip().upper() in TRAINING_JOB_TYPES


def status_of(state: str) -> str:
    """A run state (OpenLineage's eventType) as a training run's status."""
    return STATUS_OF_STATE.get(state.upper(), "running")


def _bounded(name: str, value: dict[str, Any], omitted: dict[str, str]) -> dict[str, Any]:
    if (problem := json_object_problem(value)) is not None:
        omitted[name] = problem
        return {}
    return value


def execution_parameters(facets: object) -> dict[str, Any]:
    """The `executionParameters` run facet as `{key: value}`, values as sent; a parameter without a
    value is kept as null. A facet sent as an object instead of the specification's list is read as
    `{key: value}` already."""
    parameters = _facet(facets, "executionParameters").get("parameters")
    if isinstance(parameters, dict):
        return {str(key): value for key, value in parameters.items()}
    found: dict[str, Any] = {}
    for item in parameters if isinstance(parameters, list) else []:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            found[item["key"]] = item.get("value")
    return found


def _object_facet(facets: object, key: str) -> dict[str, Any]:
    return {name: value for name, value in _facet(facets, key).items() if name not in FACET_KEYS}


def hyperparameters(facets: object) -> dict[str, Any]:
    """`executionParameters` merged with the `hyperparameters` run facet, which wins on a shared key."""
    return {**execution_parameters(facets), **_object_facet(facets, "hyperparameters")}


def input_role(dataset: Mapping[str, Any]) -> str:
    for facets in (dataset.get("inputFacets"), dataset.get("facets")):
        for key in ROLE_FACETS:
            facet = _facet(facets, key)
            value = facet.get("role", facet.get("split"))
            if isinstance(value, str) and value.strip():
                return ROLES.get(value.strip().lower(), "other")
    return "train"


def version_label(dataset: Mapping[str, Any]) -> str:
    value = _facet(dataset.get("facets"), "version").get("datasetVersion")
    return _text(value, MAX_LABEL) if isinstance(value, str) else ""


def location_uri(namespace: str, name: str) -> str:
    """The URI a dataset identity names when its namespace is a location (naming spec), else ""."""
    lowered = namespace.lower()
    if lowered in ("file", "file:", "file://") and name.startswith("/"):
        return "file://" + name
    if lowered.startswith(LOCATION_SCHEMES):
        return namespace.rstrip("/") + "/" + name.lstrip("/")
    return ""


def _code(job_facets: object) -> tuple[str, str, str, dict[str, Any]]:
    location = _facet(job_facets, "sourceCodeLocation")
    repository = _text(location.get("repoUrl"), MAX_CODE_REFERENCE) or _text(location.get("url"), MAX_CODE_REFERENCE)
    commit = _text(location.get("version"), MAX_LABEL)
    entrypoint = _text(location.get("path"), MAX_CODE_REFERENCE)
    environment: dict[str, Any] = {}
    language = _text(_facet(job_facets, "sourceCode").get("language"), MAX_LABEL)
    if language:
        environment["language"] = language
    if repository and location.get("url") and location.get("url") != repository:
        url = _text(location.get("url"), MAX_CODE_REFERENCE)
        if url:
            environment["source_url"] = url
    for key in ("branch", "tag", "type"):
        value = _text(location.get(key), MAX_LABEL)
        if value:
            environment[f"source_{key}"] = value
    return repository, commit, entrypoint, environment


def _environment(run_facets: object, job_facets: object) -> dict[str, Any]:
    environment: dict[str, Any] = {}
    engine = _facet(run_facets, "processingEngine")
    for key, name in (("name", "engine"), ("version", "engine_version")):
        value = _text(engine.get(key), MAX_LABEL)
        if value:
            environment[name] = value
    integration = _text(_facet(job_facets, "jobType").get("integration"), MAX_LABEL)
    if integration:
        environment["integration"] = integration
    return environment


def event_training_report(
    event: Mapping[str, Any], *, state: str | None = None, model: tuple[str, str] | None = None
) -> TrainingReport | None:
    """The training run a validated RunEvent reports, or None when it reports none.

    `state` is the run's state when the caller knows more than this one event (the lineage keeps the
    state of highest rank across the run's events); the event's own `eventType` otherwise. `model` is
    the model an earlier event of the run named: the run is then a training run of that model, even
    from an event that says nothing of it (a START arriving after the COMPLETE that named the model)."""
    run = event.get("run")
    job = event.get("job")
    if not isinstance(run, Mapping) or not isinstance(job, Mapping):
        return None
    outputs = [item for item in event.get("outputs") or [] if isinstance(item, Mapping)]
    output = next((item for item in outputs if is_model_output(item)), None)
    state = (state or str(event.get("eventType") or "OTHER")).upper()
    if output is None and model is None:
        if not is_training_job(job):
            return None
        # Clients name a run's outputs when it ends: until then its model may yet be a MODEL output,
        # and a run's model never changes once recorded. The lineage run keeps what these events say.
        if not outputs and state not in FINISHED_STATES:
            return None
    named = model or (
        (str(output["namespace"]), str(output["name"]))
        if output is not None
        else (str(job["namespace"]), str(job["name"]))
    )
    run_facets = run.get("facets") or {}
    job_facets = job.get("facets") or {}

    omitted: dict[str, str] = {}
    repository, commit, entrypoint, code_environment = _code(job_facets)
    environment = {**_environment(run_facets, job_facets), **code_environment}

    inputs = tuple(
        ReportedInput(
            namespace=str(item["namespace"]),
            name=str(item["name"]),
            role=input_role(item),
            version_label=version_label(item),
        )
        for item in event.get("inputs") or []
        if isinstance(item, Mapping) and "namespace" in item and "name" in item
    )
    artifacts: tuple[ReportedArtifact, ...] = ()
    description = ""
    model_version = ""
    # Another output than the run's model tells nothing of it.
    if output is not None and (str(output["namespace"]), str(output["name"])) == named:
        model_version = version_label(output)
        description = _text(_facet(output.get("facets"), "documentation").get("description"), 10_000)
        uri = location_uri(named[0], named[1])
        if uri and len(uri) <= MAX_CODE_REFERENCE:
            size = _facet(output.get("outputFacets"), "outputStatistics").get("size")
            valid_size = size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None
            artifacts = (ReportedArtifact(uri=uri, size=valid_size),)

    return TrainingReport(
        run_id=str(run.get("runId", "")),
        model_namespace=named[0],
        model_name=named[1],
        model_description=description,
        model_version=model_version,
        status=status_of(state),
        code_repository=repository,
        code_commit=commit,
        code_entrypoint=entrypoint,
        hyperparameters=_bounded("hyperparameters", hyperparameters(run_facets), omitted),
        metrics=_bounded("metrics", _object_facet(run_facets, "metrics"), omitted),
        environment=environment,
        inputs=inputs,
        artifacts=artifacts,
        omitted=omitted,
    )
