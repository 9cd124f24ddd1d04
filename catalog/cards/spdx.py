"""A dataset version as SPDX 3.0.1 JSON-LD (https://spdx.github.io/spdx-spec/v3.0.1/): a
`dataset_DatasetPackage` with a `software_File` per file of its manifest, its declared license and the
agents it originated from.

`dataset_package` gives the elements of one version, so that a document about something else (a training
run's `ai_AIPackage`, with `trainedOn` relationships to the versions it read) can hold the packages of
several versions; `spdx_document` wraps elements in the creation information and the `SpdxDocument` every
document needs. Every element names the one `CreationInfo` of its document (`CREATION_INFO`).

Element ids (`spdxId`) are URIs made of the catalog's own ids under one base (`SpdxIds`): the setting
`CATALOG_SPDX_NAMESPACE` when it is set, else `<scheme>://<host>/spdx/` of the request. The same version
keeps the same ids in every document served under one base, so documents about a version and about a run
trained on it name the same package; set the setting when the service answers under several host names.

| Element | spdxId |
|---|---|
| the version's package | `<base>versions/<version id>` |
| file number n of its manifest (in manifest order) | `<base>versions/<version id>/files/<n>` |
| its declared license | `<base>versions/<version id>/license` |
| its relationships | `<base>versions/<version id>/relationships/<type>[-<n>]` |
| an owner | `<base>agents/users/<username>` or `<base>agents/groups/<group name>` |
| a namespace (no owner recorded) | `<base>agents/namespaces/<namespace>` |
| the catalog, which creates the documents | `<base>agents/catalog` |

Nothing a reader may not see is written: the folders of a manifest named after the classes of a
personal-data label go by their aliases (`class 1`, ...) unless the reader owns or stewards the dataset,
as in every other export; the statistics and sample of a version are never part of the document.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from django.conf import settings

from catalog.cards.croissant import ENCODINGS
from catalog.cards.facts import label_as_shown
from catalog.choices import LogicalType, SourceFormat, VersionStatus
from catalog.models import DataCard, DatasetVersion
from catalog.selectors import dataset_owners
from governance.choices import OwnershipRole, PrincipalType, Sensitivity
from governance.licensing import LicenseExpressionInvalid, license_expression_parse
from profiler.files import format_from_name
from profiler.layout import JSONL_SUFFIXES
from profiler.pii import aliased_paths

SPEC_VERSION = "3.0.1"
CONTEXT = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
MEDIA_TYPE = "application/spdx+json"
# The blank node of a document's one CreationInfo, which every element names.
CREATION_INFO = "_:creationinfo"
# The license of the SPDX metadata itself, as SPDX documents conventionally state it.
DATA_LICENSE = "CC0-1.0"
CATALOG_NAME = "training-data-catalog"

# Sensitivity -> the traffic-light scale of `dataset_confidentialityLevel`.
CONFIDENTIALITY: dict[str, str] = {
    Sensitivity.PUBLIC: "clear",
    Sensitivity.INTERNAL: "green",
    Sensitivity.CONFIDENTIAL: "amber",
    Sensitivity.RESTRICTED: "red",
}
# The logical types of a table's features -> the kinds of data SPDX names (beside `structured`).
DATASET_TYPES: dict[str, str] = {
    LogicalType.NUMERIC: "numeric",
    LogicalType.CATEGORICAL: "categorical",
    LogicalType.BOOLEAN: "categorical",
    LogicalType.TEXT: "text",
    LogicalType.DATETIME: "timestamp",
}


def spdx_base(site: str) -> str:
    """The base of every spdxId: `CATALOG_SPDX_NAMESPACE` when set, else `<site>/spdx/` (`site` being
    `<scheme>://<host>` of the request). Always ends with a slash."""
    configured = (getattr(settings, "CATALOG_SPDX_NAMESPACE", "") or "").strip()
    base = configured or f"{site.rstrip('/')}/spdx/"
    return base if base.endswith("/") else f"{base}/"


def _segment(text: str) -> str:
    return quote(text, safe="")


@dataclass(frozen=True)
class SpdxIds:
    """The spdxIds of a base (see the module's table)."""

    base: str

    def version(self, version_id: object) -> str:
        return f"{self.base}versions/{version_id}"

    def of_version(self, version_id: object, *parts: object) -> str:
        return "/".join([self.version(version_id), *(_segment(str(part)) for part in parts)])

    def agent(self, kind: str, name: str) -> str:
        return f"{self.base}agents/{kind}/{_segment(name)}"

    @property
    def catalog(self) -> str:
        return f"{self.base}agents/catalog"

    @property
    def data_license(self) -> str:
        return f"{self.base}licenses/{DATA_LICENSE}"


@dataclass
class DatasetPackage:
    """A version's package: its id, and every element it takes (itself first). Agents may be shared
    with other packages of one document; `spdx_document` keeps one of each id."""

    package_id: str
    elements: list[dict[str, Any]] = field(default_factory=list)


def spdx_time(moment: datetime) -> str:
    """A date-time as SPDX takes it: UTC, `Z`, whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _element(kind: str, spdx_id: str, **properties: Any) -> dict[str, Any]:
    return {"type": kind, "spdxId": spdx_id, "creationInfo": CREATION_INFO, **properties}


def relationship(spdx_id: str, source: str, kind: str, targets: Iterable[str], **properties: Any) -> dict[str, Any]:
    """A Relationship element (`from` -> each of `targets`)."""
    return _element(
        "Relationship", spdx_id, **{"from": source, "relationshipType": kind, "to": list(targets)}, **properties
    )


def dataset_types(version: DatasetVersion) -> list[str]:
    """What kinds of data the version holds: `image` or `text` for folders of them; for a table,
    `structured` and what its features are (`numeric`, `categorical`, `text`, `timestamp`);
    `noAssertion` before profiling has said."""
    if version.format == SourceFormat.IMAGES:
        return ["image"]
    if version.format == SourceFormat.TEXT:
        return ["text"]
    features = list(version.features.all())
    if not features:
        return ["noAssertion"]
    kinds = ["structured"]
    for feature in features:
        kind = DATASET_TYPES.get(feature.logical_type)
        if kind is not None and kind not in kinds:
            kinds.append(kind)
    return kinds


def personal_information(version: DatasetVersion) -> str:
    """`yes` when a feature is personal data (detected, or decided by a person), `no` when the profiled
    version has none, `noAssertion` while it is not profiled."""
    features = list(version.features.all())
    if any(feature.pii for feature in features):
        return "yes"
    if version.status == VersionStatus.READY and features:
        return "no"
    return "noAssertion"


def content_type(path: str) -> str | None:
    """A file's media type, as the Croissant export states it; None when nothing says."""
    if PurePosixPath(path).suffix.lower() in JSONL_SUFFIXES:
        return "application/jsonlines"
    found = format_from_name(path)
    if found in ENCODINGS and found not in ("images", "text"):
        return ENCODINGS[found]
    guessed, _ = mimetypes.guess_type(path)
    return guessed if guessed and guessed.count("/") == 1 else None


def _agents(ids: SpdxIds, version: DatasetVersion, owners: list[dict[str, str]] | None) -> list[dict[str, Any]]:
    """The owners of the version's dataset as agents: people for users, organizations for groups; the
    namespace as an organization when no owner is recorded."""
    agents: dict[str, dict[str, Any]] = {}
    for owner in dataset_owners(version.dataset) if owners is None else owners:
        if owner["role"] != OwnershipRole.OWNER:
            continue
        if owner["type"] == PrincipalType.GROUP:
            spdx_id = ids.agent("groups", owner["name"])
            agents[spdx_id] = _element("Organization", spdx_id, name=owner["name"])
        else:
            spdx_id = ids.agent("users", owner["name"])
            agents[spdx_id] = _element("Person", spdx_id, name=owner["name"])
    if not agents:
        spdx_id = ids.agent("namespaces", version.dataset.namespace)
        agents[spdx_id] = _element("Organization", spdx_id, name=version.dataset.namespace)
    return list(agents.values())


def _declared_license(expression: str) -> str | None:
    """The dataset's license in its normal form; None when unknown (or not an expression SPDX reads)."""
    if not expression:
        return None
    try:
        parsed = license_expression_parse(expression)
    except LicenseExpressionInvalid:
        return None
    return parsed.expression or None


def _card_text(card: DataCard | None, *sections: str) -> str:
    if card is None:
        return ""
    return "\n\n".join(text for section in sections if (text := getattr(card, section, "").strip()))


def dataset_package(
    version: DatasetVersion,
    *,
    ids: SpdxIds,
    shows_personal: bool,
    card: DataCard | None = None,
    site: str | None = None,
    owners: list[dict[str, str]] | None = None,
) -> DatasetPackage:
    """The elements of one version: its `dataset_DatasetPackage`, the agents it originated from, its
    declared license with the `hasDeclaredLicense` relationship, and a `software_File` with its sha256 per
    file of the manifest, each in a `hasDataFile` relationship. `card` is the dataset's data card and
    `owners` its owners as `dataset_owners` gives them (each read when not given: a document of many
    versions reads them for all at once); `site` (`<scheme>://<host>`) makes the download location of a
    local source the API's page of the version, whose manifest links every file. Reads the features
    prefetched on the version."""
    dataset = version.dataset
    if card is None:
        card = DataCard.objects.filter(dataset=dataset).first()
    package_id = ids.version(version.pk)
    agents = _agents(ids, version, owners)
    _, _, aliases, _ = label_as_shown(version, shows_personal=shows_personal)
    manifest = aliased_paths(version.manifest or [], aliases)
    remote = version.uri[:8].lower() == "https://"
    if remote:
        download = version.uri
    elif site:
        download = f"{site.rstrip('/')}/api/v1/versions/{version.pk}/"
    else:
        download = ids.version(version.pk)
    released = version.profiled_at or version.created_at
    package: dict[str, Any] = _element(
        "dataset_DatasetPackage",
        package_id,
        name=f"{dataset.namespace}/{dataset.name}",
        software_packageVersion=str(version.number),
        software_downloadLocation=download,
        software_primaryPurpose="data",
        builtTime=spdx_time(version.created_at),
        releaseTime=spdx_time(released),
        originatedBy=[agent["spdxId"] for agent in agents],
        dataset_datasetType=dataset_types(version),
    )
    description = _card_text(card, "summary") or dataset.description.strip()
    if description:
        package["description"] = description
    if version.fingerprint:
        package["verifiedUsing"] = [
            {
                "type": "Hash",
                "algorithm": "sha256",
                "hashValue": version.fingerprint.removeprefix("sha256:"),
                "comment": "The catalog's fingerprint of the version: the sha256 of its manifest (every "
                "file's path, size and sha256), not of one archive.",
            }
        ]
    if version.size_bytes is not None:
        package["dataset_datasetSize"] = version.size_bytes
    texts = {
        "dataset_dataCollectionProcess": _card_text(card, "collection"),
        "dataset_intendedUse": _card_text(card, "intended_uses"),
    }
    out_of_scope = _card_text(card, "out_of_scope_uses")
    if out_of_scope:
        texts["dataset_intendedUse"] = "\n\n".join(
            filter(None, [texts["dataset_intendedUse"], f"Not intended for: {out_of_scope}"])
        )
    package.update({key: text for key, text in texts.items() if text})
    for key, section in (
        ("dataset_knownBias", "biases_and_limitations"),
        ("dataset_dataPreprocessing", "preprocessing"),
    ):
        if text := _card_text(card, section):
            package[key] = [text]
    package["dataset_hasSensitivePersonalInformation"] = personal_information(version)
    package["dataset_confidentialityLevel"] = CONFIDENTIALITY.get(dataset.sensitivity, "amber")
    if remote:
        package["dataset_datasetAvailability"] = "directDownload"
    elements = [package, *agents]
    expression = _declared_license(dataset.license)
    if expression is not None:
        license_id = ids.of_version(version.pk, "license")
        elements.append(
            _element("simplelicensing_LicenseExpression", license_id, simplelicensing_licenseExpression=expression)
        )
        elements.append(
            relationship(
                ids.of_version(version.pk, "relationships", "hasDeclaredLicense"),
                package_id,
                "hasDeclaredLicense",
                [license_id],
            )
        )
    for number, entry in enumerate(manifest, start=1):
        file_id = ids.of_version(version.pk, "files", number)
        file: dict[str, Any] = _element(
            "software_File", file_id, name=str(entry["path"]), software_fileKind="file", software_primaryPurpose="data"
        )
        media_type = content_type(str(entry["path"]))
        if media_type:
            file["contentType"] = media_type
        if entry.get("sha256"):
            file["verifiedUsing"] = [{"type": "Hash", "algorithm": "sha256", "hashValue": entry["sha256"]}]
        elements.append(file)
        elements.append(
            relationship(
                ids.of_version(version.pk, "relationships", f"hasDataFile-{number}"),
                package_id,
                "hasDataFile",
                [file_id],
            )
        )
    return DatasetPackage(package_id=package_id, elements=elements)


def spdx_document(
    *,
    ids: SpdxIds,
    document_id: str,
    name: str,
    roots: list[str],
    elements: Iterable[dict[str, Any]],
    profiles: Iterable[str] = ("core", "software", "simpleLicensing", "dataset"),
    created: datetime | None = None,
) -> dict[str, Any]:
    """A whole document: the CreationInfo (created by the catalog, now unless `created`), the catalog as
    its agent, the SpdxDocument with `roots` as its root elements and every element (one of each
    spdxId: packages of one document may share agents), and the CC0-1.0 license of the metadata."""
    kept: dict[str, dict[str, Any]] = {}
    for element in elements:
        kept.setdefault(element["spdxId"], element)
    creator = _element("SoftwareAgent", ids.catalog, name=CATALOG_NAME)
    data_license = _element(
        "simplelicensing_LicenseExpression", ids.data_license, simplelicensing_licenseExpression=DATA_LICENSE
    )
    for element in (creator, data_license):
        kept.setdefault(element["spdxId"], element)
    document = _element(
        "SpdxDocument",
        document_id,
        name=name,
        profileConformance=list(profiles),
        rootElement=roots,
        dataLicense=ids.data_license,
        element=list(kept),
    )
    creation = {
        "type": "CreationInfo",
        "@id": CREATION_INFO,
        "specVersion": SPEC_VERSION,
        "created": spdx_time(created or datetime.now(UTC)),
        "createdBy": [ids.catalog],
    }
    return {"@context": CONTEXT, "@graph": [creation, document, *kept.values()]}


def version_spdx(
    version: DatasetVersion, *, ids: SpdxIds, shows_personal: bool, site: str | None = None
) -> dict[str, Any]:
    """The SPDX document of one version: its package (see `dataset_package`) as the root."""
    package = dataset_package(version, ids=ids, shows_personal=shows_personal, site=site)
    dataset = version.dataset
    return spdx_document(
        ids=ids,
        document_id=ids.of_version(version.pk, "document"),
        name=f"{dataset.namespace}/{dataset.name} version {version.number}",
        roots=[package.package_id],
        elements=package.elements,
    )
