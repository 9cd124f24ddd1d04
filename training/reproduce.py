"""Everything needed to train a model again: the exact bytes of each input (every file with its size
and sha256), the code, the hyperparameters and the environment, as data and as a report a person
can follow step by step."""

from __future__ import annotations

import json
import shlex
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AnonymousUser, User

from catalog.selectors import datasets_visible_to
from governance.permissions import user_can_write_model
from training.models import TrainingRun
from training.selectors import RESTRICTED_INPUT

RESTRICTED_NOTE = (
    "You may not read this input's dataset: its name, location and files are not shown. Its owners can "
    "grant you read access."
)
# How each provider's own client reads an object's recorded version.
VERSION_READS = {
    "s3": "for S3, `aws s3api get-object --version-id`",
    "gs": "for GCS, the generation: `gcloud storage cp gs://BUCKET/KEY#GENERATION`",
    "az": "for Azure, `az storage blob download --version-id`",
    "abfs": "for Azure, `az storage blob download --version-id`",
}
PURGED_NOTE = (
    "The dataset version was purged from the catalog after the run: it is listed as the run recorded it "
    "(name, number, URI, fingerprint), and its files are no longer known."
)
PURGED_WITHHELD_NOTE = (
    "The dataset version was purged from the catalog after the run. The catalog can no longer tell whether "
    "you may read it, so only the model's owners see what the run recorded of it."
)

# The report lists at most this many files of an input; the JSON answer has them all.
REPORT_FILES = 1000


def run_reproduce(run: TrainingRun, reader: User | AnonymousUser) -> dict[str, Any]:
    """The recipe of a run. Queries: its inputs with their versions and datasets, which of those the
    reader may read, its artifacts (and, with a purged input, whether the reader may write the model).

    An input of a dataset the reader may not read is a placeholder: its role and position, nothing
    that names or locates it. A purged input comes from the run's own record, with no manifest; as
    the catalog cannot tell any more whether the reader could read it, only the model's owners (and
    staff) see that record."""
    inputs = list(run.inputs.select_related("version", "dataset").order_by("position"))
    present = {item.dataset_id for item in inputs if item.dataset_id is not None}
    readable: set[UUID] = (
        set(datasets_visible_to(reader).filter(pk__in=present).values_list("pk", flat=True)) if present else set()
    )
    purged_shown: bool | None = None
    shown_inputs: list[dict[str, Any]] = []
    for item in inputs:
        entry: dict[str, Any] = {"position": item.position, "role": item.role, "pinned": item.pinned}
        version = item.version
        if item.dataset_id is not None and item.dataset_id not in readable:
            entry.update(_placeholder(), note=RESTRICTED_NOTE)
        elif version is None:
            if purged_shown is None:
                purged_shown = user_can_write_model(reader, run.model_id)
            if purged_shown:
                entry.update(
                    dataset=item.dataset_id,
                    dataset_name=item.dataset_label,
                    version=None,
                    version_number=item.version_number,
                    uri=item.uri,
                    fingerprint=item.fingerprint,
                    format=None,
                    read_options=None,
                    label_column=None,
                    splits=None,
                    manifest=None,
                    note=PURGED_NOTE,
                )
            else:
                entry.update(_placeholder(), note=PURGED_WITHHELD_NOTE)
        else:
            dataset = item.dataset
            assert dataset is not None  # a version's dataset is purged with it
            entry.update(
                dataset=dataset.pk,
                dataset_name=f"{dataset.namespace}/{dataset.name}",
                version=version.pk,
                version_number=version.number,
                uri=version.uri,
                fingerprint=item.fingerprint,
                format=version.format,
                read_options=version.read_options,
                label_column=version.label_column,
                splits=version.splits,
                manifest=version.manifest,
                note=(
                    ""
                    if version.fingerprint == item.fingerprint
                    else f"The version's fingerprint is now {version.fingerprint}, not the one the run read."
                ),
            )
        shown_inputs.append(entry)
    model = run.model
    return {
        "run": {
            "id": run.pk,
            "model_version": run.model_version,
            "status": run.status,
            "started_at": run.started_at,
            "ended_at": run.ended_at,
            "source": run.source,
            "purpose": run.purpose,
            "created_at": run.created_at,
        },
        "model": {"id": model.pk, "namespace": model.namespace, "name": model.name},
        "code": {
            "repository": run.code_repository,
            "commit": run.code_commit,
            "entrypoint": run.code_entrypoint,
        },
        "hyperparameters": run.hyperparameters,
        "environment": run.environment,
        "metrics": run.metrics,
        "inputs": shown_inputs,
        "artifacts": [
            {"uri": artifact.uri, "sha256": artifact.sha256 or None, "size": artifact.size}
            for artifact in run.artifacts.order_by("position")
        ],
        "verification": verification_shown(
            run.verification,
            {item.version_id for item in inputs if item.version_id is not None and item.dataset_id in readable},
        ),
    }


def _placeholder() -> dict[str, Any]:
    return {
        "dataset": None,
        "dataset_name": RESTRICTED_INPUT,
        "version": None,
        "version_number": None,
        "uri": None,
        "fingerprint": None,
        "format": None,
        "read_options": None,
        "label_column": None,
        "splits": None,
        "manifest": None,
    }


# --- The report -------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("`", "'")


def _block(value: Any) -> list[str]:
    text = json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)
    fence = "```"
    while fence in text:
        fence += "`"
    return [f"{fence}json", text, fence]


def _inline(value: Any) -> str:
    text = str(value).replace("\n", " ")
    fence = "`"
    while fence in text:
        fence += "`"
    return f"`{text}`" if fence == "`" else f"{fence} {text} {fence}"


def verification_shown(verification: dict[str, Any], readable_versions: set[UUID]) -> dict[str, Any] | None:
    """A run's last check as the reader may see it: the files of a version whose dataset the reader
    may not read are not named, nor is the version; that one of them changed is said."""
    if not verification:
        return None
    shown = dict(verification)
    for key in ("changed", "unreadable"):
        shown[key] = [
            entry
            # A purged input's entry names nothing; the others only when the reader may read the dataset.
            if entry.get("version") is None or UUID(str(entry["version"])) in readable_versions
            else {"version": None, "restricted": True, **({"paths": []} if key == "changed" else {"detail": ""})}
            for entry in verification.get(key, [])
        ]
    return shown


def reproduce_markdown(recipe: dict[str, Any]) -> str:
    """The recipe as a Markdown report: what to fetch, how to check it, how to run it."""
    run, model, code = recipe["run"], recipe["model"], recipe["code"]
    title = f"{model['namespace']}/{model['name']}" + (f" {run['model_version']}" if run["model_version"] else "")
    lines = [
        f"# Reproducing {_cell(title)}",
        "",
        f"Training run `{run['id']}` ({run['status']}, recorded from {run['source']}"
        + (f", started {run['started_at']}" if run["started_at"] else "")
        + (f", ended {run['ended_at']}" if run["ended_at"] else "")
        + ").",
        "",
        "## 1. Code",
        "",
    ]
    if code["repository"] or code["commit"] or code["entrypoint"]:
        if code["repository"]:
            lines.append(f"- Repository: {_inline(code['repository'])}")
        if code["commit"]:
            lines.append(f"- Commit: {_inline(code['commit'])}")
        if code["entrypoint"]:
            lines.append(f"- Entry point: {_inline(code['entrypoint'])}")
        if code["repository"] and code["commit"]:
            lines += [
                "",
                "```sh",
                # Quoted for the shell: what a sender wrote must not run when a person pastes it.
                f"git clone {shlex.quote(code['repository'])} code && cd code",
                f"git checkout {shlex.quote(code['commit'])}",
                "```",
            ]
    else:
        lines.append("The run recorded no code reference.")
    lines += ["", "## 2. Environment", ""]
    lines += _block(recipe["environment"]) if recipe["environment"] else ["The run recorded no environment."]
    lines += ["", "## 3. Data", ""]
    if not recipe["inputs"]:
        lines.append("The run recorded no input.")
    for item in recipe["inputs"]:
        heading = f"### Input {item['position'] + 1}: {_cell(item['dataset_name'])}"
        if item["version_number"] is not None:
            heading += f" v{item['version_number']}"
        lines += [
            heading,
            "",
            f"- Role: {item['role']}" + ("" if item["pinned"] else " (resolved to the latest ready version)"),
        ]
        if item["uri"]:
            lines.append(f"- Location: {_inline(item['uri'])}")
        if item["fingerprint"]:
            lines.append(f"- Fingerprint: `{item['fingerprint']}`")
        if item.get("format"):
            lines.append(f"- Format: {item['format']}")
        if item.get("label_column"):
            lines.append(f"- Label column: {_inline(item['label_column'])}")
        if item.get("read_options"):
            lines.append(f"- Read options: {_inline(json.dumps(item['read_options'], sort_keys=True))}")
        if item.get("splits"):
            lines.append(f"- Splits: {_inline(json.dumps(item['splits'], sort_keys=True))}")
        if item.get("note"):
            lines += ["", f"> {item['note']}"]
        manifest = item["manifest"]
        if manifest:
            lines += [
                "",
                f"{len(manifest)} file(s). Copy them under one directory, then check every byte with "
                "`sha256sum -c` from that directory:",
                "",
                "```text",
                *(f"{entry['sha256']}  {entry['path']}" for entry in manifest[:REPORT_FILES]),
                "```",
            ]
            if len(manifest) > REPORT_FILES:
                lines.append(
                    f"The first {REPORT_FILES} files are listed; the JSON answer of this endpoint lists all {len(manifest)}."
                )
            versioned = [entry for entry in manifest[:REPORT_FILES] if entry.get("version_id")]
            if versioned:
                scheme = str(item["uri"] or "").partition("://")[0].lower()
                lines += [
                    "",
                    "The objects are in a versioned bucket: read these exact object versions "
                    f"({VERSION_READS.get(scheme, VERSION_READS['s3'])}), whatever the keys hold now:",
                    "",
                    "```text",
                    *(f"{entry['version_id']}  {entry['path']}" for entry in versioned),
                    "```",
                ]
        lines.append("")
    lines += ["## 4. Hyperparameters", ""]
    lines += _block(recipe["hyperparameters"]) if recipe["hyperparameters"] else ["The run recorded none."]
    lines += ["", "## 5. Train, and compare", ""]
    if code["entrypoint"]:
        lines.append(f"Run {_inline(code['entrypoint'])} with the hyperparameters above on the data of section 3.")
    else:
        lines.append("Train with the hyperparameters above on the data of section 3.")
    if recipe["metrics"]:
        lines += ["The run reported these metrics:", ""]
        lines += ["| metric | value |", "|---|---|"]
        lines += [f"| {_cell(name)} | {_cell(value)} |" for name, value in sorted(recipe["metrics"].items())]
    if recipe["artifacts"]:
        lines += ["", "It produced:", ""]
        lines += ["| artifact | sha256 | size |", "|---|---|---|"]
        lines += [
            f"| {_cell(artifact['uri'])} | {artifact['sha256'] or ''} | {artifact['size'] if artifact['size'] is not None else ''} |"
            for artifact in recipe["artifacts"]
        ]
    verification = recipe.get("verification")
    if verification:
        lines += [
            "",
            "## Last check of the inputs",
            "",
            f"{verification.get('status')} at {verification.get('checked_at')}.",
        ]
    return "\n".join(lines) + "\n"
