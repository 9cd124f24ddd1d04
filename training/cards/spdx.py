"""A training run as an SPDX 3.0.1 document (the AI and Dataset profiles): an `ai_AIPackage` for the model
the run trained, and the `dataset_DatasetPackage` of each version it read (`catalog.cards.spdx`), linked
by relationships.

- `trainedOn` for the inputs read as `train` and as `validation`: validation data shapes the model
  (early stopping, tuning), so the model was trained on it in the sense of the AI profile; `testedOn`
  for `test`; `other` (with a comment) for inputs read for anything else. One relationship per role,
  its `comment` naming the role, so a reader still tells training from validation data.
- An input whose dataset the reader may not read has no package, no id and no name here; a purged
  input has nothing left to describe. Either is said by an `Annotation` on the model's package (how
  many, in which role), and the relationship of that role is `incomplete`; `complete` otherwise.
- The code (repository, commit, entry point) is the package's `software_sourceInfo`, the software
  profile's statement of where a package came from, with the repository as a `vcs` external reference.
  A `software_Package` for the code would need a relationship the profiles do not define for "built
  from" (`generates` reads from the code to the model and says nothing of a commit), and a hash SPDX
  would take as the hash of the code's bytes, which a commit id is not.
- `ai_typeOfModel`, `ai_domain` and `ai_autonomyType` are not written: the catalog records none of them.

| Element | spdxId |
|---|---|
| the model's package | `<base>training-runs/<run id>/model` |
| the document | `<base>training-runs/<run id>/document` |
| a relationship | `<base>training-runs/<run id>/relationships/<type>-<role>` |
| the note on withheld or purged inputs | `<base>training-runs/<run id>/annotations/inputs` |

Agents and dataset packages keep the ids of `catalog.cards.spdx`, so the package of a version is the same
element in the version's document and in the run's.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Prefetch

from catalog.cards.facts import label_as_shown
from catalog.cards.spdx import CREATION_INFO, SpdxIds, dataset_package, relationship, spdx_document, spdx_time
from catalog.models import DataCard, DatasetVersion, Feature
from catalog.selectors import datasets_visible_to, personal_data_visible_to
from governance.choices import OwnershipRole, PrincipalType
from governance.models import ModelOwnership, Ownership
from training.choices import InputRole, RunStatus
from training.models import TrainingInput, TrainingRun

# What each role of an input becomes, with the words the relationship's comment uses for it.
RELATIONSHIPS: dict[str, tuple[str, str]] = {
    InputRole.TRAIN: ("trainedOn", "training data"),
    InputRole.VALIDATION: ("trainedOn", "validation data (read while training, e.g. for early stopping or tuning)"),
    InputRole.TEST: ("testedOn", "test data"),
    InputRole.OTHER: ("other", "data read by the training run for another purpose"),
}
ROLE_ORDER = [InputRole.TRAIN, InputRole.VALIDATION, InputRole.TEST, InputRole.OTHER]
PROFILES = ("core", "software", "simpleLicensing", "dataset", "ai")


def _value(value: Any) -> str:
    # DictionaryEntry values are strings: a string as it is, anything else (numbers, nested objects) as JSON.
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def dictionary(values: dict[str, Any]) -> list[dict[str, str]]:
    """A JSON object as SPDX `DictionaryEntry` objects, by key."""
    return [{"type": "DictionaryEntry", "key": key, "value": _value(values[key])} for key in sorted(values)]


def _absolute_uri(text: str) -> bool:
    parts = urlsplit(text)
    return bool(parts.scheme and (parts.netloc or parts.path)) and not any(ch.isspace() for ch in text)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _by_role(counts: Counter[str]) -> str:
    return ", ".join(f"{counts[role]} read as {role}" for role in ROLE_ORDER if counts[role])


def _model_agents(ids: SpdxIds, run: TrainingRun) -> list[dict[str, Any]]:
    """The model's owners as agents (people for users, organizations for groups); its namespace when it
    has none, as for a dataset."""
    agents: dict[str, dict[str, Any]] = {}
    ownerships = ModelOwnership.objects.filter(model_id=run.model_id, role=OwnershipRole.OWNER).select_related(
        "user", "group"
    )
    for ownership in ownerships:
        if ownership.principal_type == PrincipalType.GROUP:
            spdx_id = ids.agent("groups", ownership.principal_name)
            agents[spdx_id] = {**_base("Organization", spdx_id), "name": ownership.principal_name}
        else:
            spdx_id = ids.agent("users", ownership.principal_name)
            agents[spdx_id] = {**_base("Person", spdx_id), "name": ownership.principal_name}
    if not agents:
        spdx_id = ids.agent("namespaces", run.model.namespace)
        agents[spdx_id] = {**_base("Organization", spdx_id), "name": run.model.namespace}
    return list(agents.values())


def _base(kind: str, spdx_id: str) -> dict[str, Any]:
    return {"type": kind, "spdxId": spdx_id, "creationInfo": CREATION_INFO}


def _model_package(ids: SpdxIds, run: TrainingRun, *, site: str, agents: list[dict[str, Any]]) -> dict[str, Any]:
    model = run.model
    artifacts = list(run.artifacts.all())
    run_url = f"{site.rstrip('/')}/api/v1/training-runs/{run.pk}/"
    first = artifacts[0].uri if artifacts else ""
    package: dict[str, Any] = {
        **_base("ai_AIPackage", f"{ids.base}training-runs/{run.pk}/model"),
        "name": f"{model.namespace}/{model.name}",
        "software_primaryPurpose": "model",
        "software_downloadLocation": first if _absolute_uri(first) else run_url,
        "suppliedBy": agents[0]["spdxId"],
        "originatedBy": [agent["spdxId"] for agent in agents],
    }
    if run.model_version:
        package["software_packageVersion"] = run.model_version
    if model.description.strip():
        package["description"] = model.description.strip()
    # The model exists once its training has completed: built and released then, as far as the catalog knows.
    if run.status == RunStatus.COMPLETED and run.ended_at is not None:
        package["builtTime"] = package["releaseTime"] = spdx_time(run.ended_at)
    hashes = [
        {
            "type": "Hash",
            "algorithm": "sha256",
            "hashValue": artifact.sha256,
            "comment": f"The sha256 of {artifact.uri}",
        }
        for artifact in artifacts
        if artifact.sha256
    ]
    if hashes:
        package["verifiedUsing"] = hashes
    if run.hyperparameters:
        package["ai_hyperparameter"] = dictionary(run.hyperparameters)
    if run.metrics:
        package["ai_metric"] = dictionary(run.metrics)
    code = [
        f"{label} {value}"
        for label, value in (
            ("repository", run.code_repository),
            ("commit", run.code_commit),
            ("entry point", run.code_entrypoint),
        )
        if value
    ]
    if code:
        package["software_sourceInfo"] = f"Trained by the code at {', '.join(code)}."
    if run.code_repository:
        package["externalRef"] = [
            {
                "type": "ExternalRef",
                "externalRefType": "vcs",
                "locator": [run.code_repository],
                **({"comment": f"commit {run.code_commit}"} if run.code_commit else {}),
            }
        ]
    started = f", started {spdx_time(run.started_at)}" if run.started_at else ""
    ended = f", ended {spdx_time(run.ended_at)}" if run.ended_at else ""
    package["comment"] = f"Trained by training run {run.pk} ({run.status}{started}{ended}); the run: {run_url}"
    return package


def _versions(inputs: list[TrainingInput]) -> dict[Any, DatasetVersion]:
    ids = {item.version_id for item in inputs if item.version_id is not None}
    if not ids:
        return {}
    versions = (
        DatasetVersion.objects.filter(pk__in=ids)
        .select_related("dataset")
        .defer("profile")
        .prefetch_related(Prefetch("features", queryset=Feature.objects.order_by("position")))
    )
    return {version.pk: version for version in versions}


def run_spdx(run: TrainingRun, *, reader: User | AnonymousUser, ids: SpdxIds, site: str) -> dict[str, Any]:
    """The SPDX document of a run, as `reader` may see it (see the module). Queries, whatever the number of
    inputs: the inputs, which of their datasets the reader may read, their versions and features, the
    datasets' cards and owners, the model's owners and the run's artifacts; and, per input whose label is
    personal data, whether the reader may see its classes (else their folders go by aliases)."""
    inputs = list(TrainingInput.objects.filter(run=run).order_by("position"))
    named = {item.dataset_id for item in inputs if item.dataset_id is not None}
    readable = set(datasets_visible_to(reader).filter(pk__in=named).values_list("pk", flat=True)) if named else set()
    shown: list[TrainingInput] = []
    withheld: Counter[str] = Counter()
    purged: Counter[str] = Counter()
    for item in inputs:
        if item.dataset_id is not None and item.dataset_id not in readable:
            withheld[item.role] += 1
        elif item.version_id is None:
            purged[item.role] += 1
        else:
            shown.append(item)
    versions = _versions(shown)
    datasets = {version.dataset_id for version in versions.values()}
    cards = {card.dataset_id: card for card in DataCard.objects.filter(dataset_id__in=datasets)} if datasets else {}
    owners: dict[Any, list[dict[str, str]]] = defaultdict(list)
    for ownership in Ownership.objects.filter(dataset_id__in=datasets).select_related("user", "group"):
        owners[ownership.dataset_id].append(
            {"type": ownership.principal_type, "name": ownership.principal_name, "role": ownership.role}
        )

    agents = _model_agents(ids, run)
    model = _model_package(ids, run, site=site, agents=agents)
    elements: list[dict[str, Any]] = [model, *agents]
    packages: list[dict[str, Any]] = []
    targets: dict[str, list[str]] = defaultdict(list)
    for item in shown:
        version = versions[item.version_id]
        package_id = ids.version(version.pk)
        if package_id not in targets[item.role]:
            targets[item.role].append(package_id)
        if any(element["spdxId"] == package_id for element in packages):
            continue
        masked = label_as_shown(version, shows_personal=False)[3]
        shows = personal_data_visible_to(user=reader, dataset_id=version.dataset_id) if masked else True
        package = dataset_package(
            version,
            ids=ids,
            shows_personal=shows,
            card=cards.get(version.dataset_id) or DataCard(dataset=version.dataset),
            site=site,
            owners=owners[version.dataset_id],
        )
        packages.extend(package.elements)

    run_base = f"{ids.base}training-runs/{run.pk}"
    for role in ROLE_ORDER:
        if not targets[role]:
            continue
        kind, words = RELATIONSHIPS[role]
        missing = withheld[role] + purged[role]
        elements.append(
            relationship(
                f"{run_base}/relationships/{kind}-{role}",
                model["spdxId"],
                kind,
                targets[role],
                completeness="incomplete" if missing else "complete",
                comment=f"The dataset versions the run read as {words}"
                + (
                    f"; {_plural(missing, 'more input')} of this role not described here (see the annotation)."
                    if missing
                    else "."
                ),
            )
        )
    notes = []
    if withheld:
        notes.append(
            f"{_plural(sum(withheld.values()), 'input')} of this run ({_by_role(withheld)}) "
            "belong to datasets you may not read: they are withheld from this document."
        )
    if purged:
        notes.append(
            f"{_plural(sum(purged.values()), 'input')} of this run ({_by_role(purged)}) "
            "were purged from the catalog after the run: nothing is left to describe them."
        )
    if notes:
        elements.append(
            {
                **_base("Annotation", f"{run_base}/annotations/inputs"),
                "annotationType": "other",
                "subject": model["spdxId"],
                "statement": " ".join(notes),
            }
        )
    label = f"{run.model.namespace}/{run.model.name}" + (f" {run.model_version}" if run.model_version else "")
    return spdx_document(
        ids=ids,
        document_id=f"{run_base}/document",
        name=f"{label}, training run {run.pk}",
        roots=[model["spdxId"]],
        elements=[*elements, *packages],
        profiles=PROFILES,
    )
