"""Training runs read from an MLflow tracking server with MLflow's own client (`MlflowClient`): plain
data out, no database. `training.services.mlflow` matches the datasets each run logged to catalog
versions and records the runs.

How an MLflow run becomes a `RunSpec`:

- params are the hyperparameters, each value the string MLflow keeps (MLflow stores every param as
  text); metrics are the latest value of each key (MLflow's own summary of a run: the value of the
  highest step, the latest one logged at that step), a NaN or an infinity spelled "NaN",
  "Infinity" or "-Infinity" since JSON cannot carry them;
- the tags `mlflow.source.git.commit`, `mlflow.source.name` and `mlflow.source.git.repoURL` are the
  code's commit, entrypoint and repository;
- FINISHED is completed, FAILED and KILLED are failed, RUNNING and SCHEDULED are running;
- the model is the registered model a version of which was created from the run (the first one
  registered, when several were), its version label the registered version's number, and that
  version's source an artifact of the run. A run with no registered model version is a training run
  of a model named after its experiment. Both are in the tracking server's namespace,
  `mlflow://<host>[:port][/path]`;
- each dataset the run logged (`mlflow.log_input`) is an `MlflowInput`: its name, digest, source type
  and source URI, and its role from the input tag `mlflow.data.context` (training, validation, test;
  anything else is other).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from training.specs import ArtifactSpec, ModelRef, RunSpec

SOURCE = "mlflow"
STATUSES = {
    "FINISHED": "completed",
    "FAILED": "failed",
    "KILLED": "failed",
    "RUNNING": "running",
    "SCHEDULED": "running",
}
ROLES = {
    "train": "train",
    "training": "train",
    "validation": "validation",
    "valid": "validation",
    "val": "validation",
    "test": "test",
    "testing": "test",
}
CONTEXT_TAG = "mlflow.data.context"
# An input tag naming the catalog fingerprint of the bytes a dataset was read from:
# mlflow.log_input(dataset, context="training", tags={"catalog.fingerprint": "sha256:..."}).
FINGERPRINT_TAG = "catalog.fingerprint"
COMMIT_TAG = "mlflow.source.git.commit"
ENTRYPOINT_TAG = "mlflow.source.name"
REPOSITORY_TAGS = ("mlflow.source.git.repoURL", "mlflow.gitRepoURL")
# Reading a whole experiment a page at a time; the registry is asked about this many runs at once.
PAGE_SIZE = 500
REGISTRY_BATCH = 50
# Before reading, the server is asked once without MLflow's retries (which wait minutes on a server
# that is down): a wrong URI or a server that is down is said at once. The reads after it keep them.
PROBE_TIMEOUT_SECONDS = 15
_RUN_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
_DETAIL_LENGTH = 300


class TrackingServerError(Exception):
    """The tracking server could not be read: a wrong URI, a server that is down or refuses the
    client. Nothing was read from it."""


class ExperimentNotFound(LookupError):
    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(f"The tracking server has no experiment {', '.join(repr(name) for name in names)}.")
        self.names = tuple(names)


@dataclass(frozen=True)
class MlflowInput:
    """A dataset a run logged with `mlflow.log_input`, as MLflow keeps it."""

    name: str
    digest: str
    source_type: str
    source_uri: str
    context: str
    role: str
    fingerprint: str = ""

    def reported(self) -> dict[str, Any]:
        """The input as MLflow reported it, kept on the run when it matches no catalog version."""
        reported = {
            "name": self.name,
            "digest": self.digest,
            "source_type": self.source_type,
            "source": self.source_uri,
            "context": self.context,
            "role": self.role,
        }
        if self.fingerprint:
            reported["fingerprint"] = self.fingerprint
        return reported


@dataclass(frozen=True)
class MlflowRun:
    """One MLflow run: the spec to record, its inputs still to match against the catalog's versions
    (`spec.inputs` is empty), and its experiment's name."""

    spec: RunSpec
    inputs: tuple[MlflowInput, ...]
    experiment: str


def tracking_uri_checked(uri: str) -> str:
    """The tracking URI, or ValueError saying why it is not one: an http:// or https:// URL of a
    tracking server. A database or a folder of runs is not read directly (nothing but the server's
    own rules stands between them and the catalog's process)."""
    uri = uri.strip()
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise ValueError(f"{uri!r} is not a URL.") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{redacted(uri)!r} is not a tracking server's URL: give http://host:port or https://host of an "
            "`mlflow server`."
        )
    return uri


def redacted(uri: str) -> str:
    """The URI without the user name, password, query and fragment it may carry."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<a URI that cannot be parsed>"
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def tracking_namespace(uri: str) -> str:
    """The namespace of the models read from a tracking server: mlflow://<host>[:port][/path]."""
    parts = urlsplit(redacted(uri))
    return f"mlflow://{parts.netloc}{parts.path.rstrip('/')}"


def _moment(milliseconds: int | None) -> datetime | None:
    if milliseconds is None:
        return None
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)


def _milliseconds(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _metric(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _source_uri(source: str) -> str:
    """Where a dataset's source says its bytes are: the `uri` (or `path`, `url`) of its JSON, a bare
    absolute path made a file:// URI."""
    try:
        parsed = json.loads(source)
    except ValueError:
        parsed = source
    if isinstance(parsed, dict):
        located = next((parsed[key] for key in ("uri", "url", "path") if isinstance(parsed.get(key), str)), "")
    else:
        located = parsed if isinstance(parsed, str) else ""
    if located.startswith("/"):
        return "file://" + quote(located)
    return located


def _inputs(run: Any) -> tuple[MlflowInput, ...]:
    found = []
    for item in getattr(run.inputs, "dataset_inputs", None) or ():
        tags = {tag.key: tag.value for tag in item.tags or ()}
        context = tags.get(CONTEXT_TAG, "")
        dataset = item.dataset
        found.append(
            MlflowInput(
                name=dataset.name or "",
                digest=dataset.digest or "",
                source_type=dataset.source_type or "",
                source_uri=_source_uri(dataset.source or ""),
                context=context,
                role=ROLES.get(context.strip().lower(), "other"),
                fingerprint=tags.get(FINGERPRINT_TAG, "").strip(),
            )
        )
    return tuple(found)


def run_spec(run: Any, *, experiment: str, namespace: str, registered: Sequence[Any] = ()) -> MlflowRun:
    """What an MLflow run (`mlflow.entities.Run`) records, with the registered model versions that
    were created from it (`mlflow.entities.model_registry.ModelVersion`)."""
    info, data = run.info, run.data
    tags = dict(data.tags or {})
    first = min(registered, key=lambda version: (version.creation_timestamp or 0, version.name), default=None)
    if first is not None:
        model, model_version = ModelRef(namespace=namespace, name=first.name), str(first.version)
        artifacts: tuple[ArtifactSpec, ...] = (ArtifactSpec(uri=first.source),) if first.source else ()
    else:
        model, model_version, artifacts = ModelRef(namespace=namespace, name=experiment), "", ()
    user_tags = {key: value for key, value in tags.items() if not key.startswith("mlflow.")}
    environment = {
        "mlflow": {
            "experiment": experiment,
            "experiment_id": info.experiment_id,
            "run_name": info.run_name or "",
            "user": info.user_id or tags.get("mlflow.user", ""),
            "source_type": tags.get("mlflow.source.type", ""),
            "artifact_uri": info.artifact_uri or "",
            "tags": user_tags,
        }
    }
    spec = RunSpec(
        model=model,
        model_version=model_version,
        status=STATUSES.get(info.status, "running"),
        started_at=_moment(info.start_time),
        ended_at=_moment(info.end_time),
        code_repository=next((tags[name] for name in REPOSITORY_TAGS if tags.get(name)), ""),
        code_commit=tags.get(COMMIT_TAG, ""),
        code_entrypoint=tags.get(ENTRYPOINT_TAG, ""),
        hyperparameters=dict(data.params or {}),
        metrics={key: _metric(value) for key, value in (data.metrics or {}).items()},
        environment=environment,
        artifacts=artifacts,
        source=SOURCE,
        external_id=info.run_id,
    )
    return MlflowRun(spec=spec, inputs=_inputs(run), experiment=experiment)


@contextlib.contextmanager
def _without_retries() -> Iterator[None]:
    """MLflow's client reads its retries and timeout from the environment at each request."""
    values = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": str(PROBE_TIMEOUT_SECONDS)}
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _failure(uri: str, exc: Exception) -> TrackingServerError:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    detail = detail.replace(uri, redacted(uri))
    if len(detail) > _DETAIL_LENGTH:
        detail = detail[:_DETAIL_LENGTH] + "..."
    return TrackingServerError(f"The MLflow tracking server at {redacted(uri)} could not be read: {detail}")


class _Reader:
    def __init__(self, uri: str) -> None:
        # MLflow's client reports its use to MLflow's makers unless told not to: the catalog does not,
        # unless its operators say otherwise (MLFLOW_DISABLE_TELEMETRY=false).
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        from mlflow.tracking import MlflowClient

        self.uri = uri
        self.client = MlflowClient(tracking_uri=uri, registry_uri=uri)

    def experiments(self, names: Sequence[str]) -> list[tuple[str, str]]:
        from mlflow.entities import ViewType

        if not names:
            every, token = [], None
            while True:
                page = self.client.search_experiments(
                    view_type=ViewType.ACTIVE_ONLY, max_results=PAGE_SIZE, page_token=token
                )
                every += [(experiment.experiment_id, experiment.name) for experiment in page]
                token = page.token
                if not token:
                    return every
        found, missing = [], []
        for name in dict.fromkeys(names):
            experiment = self.client.get_experiment_by_name(name)
            if experiment is None:
                missing.append(name)
            else:
                found.append((experiment.experiment_id, experiment.name))
        if missing:
            raise ExperimentNotFound(missing)
        return found

    def runs(self, experiment_id: str, since: datetime | None) -> Iterator[Any]:
        """The experiment's active runs; with `since`, those that started or ended since then (a run
        that started before and finished after is read again, to record how it ended)."""
        from mlflow.entities import ViewType

        filters = [""]
        if since is not None:
            moment = _milliseconds(since)
            filters = [f"attributes.start_time >= {moment}", f"attributes.end_time >= {moment}"]
        seen: set[str] = set()
        for filter_string in filters:
            token = None
            while True:
                page = self.client.search_runs(
                    [experiment_id],
                    filter_string=filter_string,
                    run_view_type=ViewType.ACTIVE_ONLY,
                    max_results=PAGE_SIZE,
                    order_by=["attributes.start_time ASC"],
                    page_token=token,
                )
                for run in page:
                    if run.info.run_id not in seen:
                        seen.add(run.info.run_id)
                        yield run
                token = page.token
                if not token:
                    break

    def registered(self, run_ids: Iterable[str]) -> dict[str, list[Any]]:
        """The registered model versions created from each of these runs."""
        wanted = [run_id for run_id in run_ids if _RUN_ID.match(run_id)]
        versions: dict[str, list[Any]] = {}
        for start in range(0, len(wanted), REGISTRY_BATCH):
            batch = ", ".join(f"'{run_id}'" for run_id in wanted[start : start + REGISTRY_BATCH])
            token = None
            while True:
                page = self.client.search_model_versions(
                    f"run_id IN ({batch})", max_results=PAGE_SIZE, page_token=token
                )
                for version in page:
                    if version.run_id:
                        versions.setdefault(version.run_id, []).append(version)
                token = page.token
                if not token:
                    break
        return versions


def mlflow_runs(uri: str, *, experiments: Sequence[str] = (), since: datetime | None = None) -> Iterator[MlflowRun]:
    """The runs of the named experiments (every active experiment when none is named), oldest first,
    each read whole before it is yielded. TrackingServerError when the server cannot be read,
    ExperimentNotFound (before any run) for a name it does not know."""
    from mlflow.exceptions import MlflowException

    uri = tracking_uri_checked(uri)
    namespace = tracking_namespace(uri)
    reader = _Reader(uri)
    try:
        with _without_retries():
            chosen = reader.experiments(experiments)
    except MlflowException as exc:
        raise _failure(uri, exc) from exc
    for experiment_id, name in chosen:
        try:
            runs = reader.runs(experiment_id, since)
            while True:
                page = [run for _, run in zip(range(REGISTRY_BATCH), runs, strict=False)]
                if not page:
                    break
                registered = reader.registered(run.info.run_id for run in page)
                for run in page:
                    yield run_spec(
                        run, experiment=name, namespace=namespace, registered=registered.get(run.info.run_id, ())
                    )
        except MlflowException as exc:
            raise _failure(uri, exc) from exc
