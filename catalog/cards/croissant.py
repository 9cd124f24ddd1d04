"""A data card as Croissant 1.1 JSON-LD (https://docs.mlcommons.org/croissant/docs/croissant-spec-1.1.html),
with the Responsible AI vocabulary filled from the card's sections.

`distribution` lists every file of the latest version with its sha256; the `recordSet` has one field
per feature, typed from its Arrow type. A local file's `contentUrl` is its absolute path (where the
catalog and its workers read it); a remote one's, its URL.
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from catalog.profiling.layout import IMAGE_SUFFIXES, JSONL_SUFFIXES, MANIFEST_NAMES, SPLIT_FOLDERS, TEXT_SUFFIXES

CONFORMS_TO = "http://mlcommons.org/croissant/1.1"

CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "arrayShape": "cr:arrayShape",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}

ENCODINGS = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "parquet": "application/x-parquet",
    "jsonl": "application/jsonlines",
    "images": "image/*",
    "text": "text/plain",
}

# Card sections -> the Croissant RAI properties they fill.
RAI = {
    "collection": "rai:dataCollection",
    "preprocessing": "rai:dataPreprocessingProtocol",
    "labeling": "rai:dataAnnotationProtocol",
    "personal_information": "rai:personalSensitiveInformation",
    "biases_and_limitations": "rai:dataLimitations",
    "intended_uses": "rai:dataUseCases",
    "maintenance": "rai:dataReleaseMaintenancePlan",
}
# The biases section fills both: Croissant keeps biases and limitations apart.
ALSO = {"biases_and_limitations": "rai:dataBiases"}


def croissant_type(dtype: str) -> str:
    lowered = dtype.lower()
    if lowered.startswith(("int", "uint")):
        return "sc:Integer"
    if lowered in ("double", "float", "float64", "float32", "halffloat", "float16") or lowered.startswith("decimal"):
        return "sc:Float"
    if lowered in ("bool", "boolean"):
        return "sc:Boolean"
    if lowered.startswith("date"):
        return "sc:Date"
    if lowered.startswith("timestamp"):
        return "sc:DateTime"
    return "sc:Text"


def _location(uri: str, relative_path: str) -> str:
    """Where one file of a source is: an absolute path for local sources, a URL for remote ones."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        root = PurePosixPath(unquote(parsed.path))
        # A single-file source's manifest names the file itself; a folder's, paths inside it.
        return str(root) if root.name == relative_path else str(root / relative_path)
    return uri


def _slug(text: str) -> str:
    return "".join(char if char.isalnum() or char in "-_." else "_" for char in text) or "_"


def card_croissant(facts: dict[str, Any], card: Any, *, url: str) -> dict[str, Any]:
    def section(name: str) -> str:
        return getattr(card, name, "").strip() if card is not None else ""

    licenses = facts["license"]["licenses"]
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": facts["name"],
        "alternateName": f"{facts['namespace']}/{facts['name']}",
        "description": section("summary") or facts["description"] or f"{facts['namespace']}/{facts['name']}",
        "citeAs": section("citation") or f"{facts['namespace']}/{facts['name']}, {url}",
        "license": [entry["url"] for entry in licenses] or "unknown",
        "url": url,
        "creator": [
            {"@type": "sc:Person" if owner["type"] == "user" else "sc:Organization", "name": owner["name"]}
            for owner in facts["owners"]
            if owner["role"] == "owner"
        ]
        or [{"@type": "sc:Organization", "name": facts["namespace"]}],
        "datePublished": facts["created_at"].date().isoformat(),
        "keywords": list(getattr(card, "task_categories", None) or []),
        "isLiveDataset": False,
    }
    for name, prop in [*RAI.items(), *ALSO.items()]:
        if section(name):
            document[prop] = section(name)
    version = facts["version"]
    if version is None:
        document["distribution"] = []
        document["recordSet"] = []
        return document
    document["version"] = f"{version['number']}.0.0"
    document["sha256"] = version["fingerprint"].removeprefix("sha256:") if version["fingerprint"] else None
    encoding = ENCODINGS.get(version["format"], "application/octet-stream")
    media = version["format"] in ("images", "text")
    files = []
    for entry in version["manifest"]:
        files.append(
            {
                "@type": "cr:FileObject",
                "@id": _slug(entry["path"]),
                "name": entry["path"],
                "contentUrl": _location(version["uri"], entry["path"]),
                "contentSize": f"{entry['size']} B",
                "encodingFormat": _file_encoding(entry["path"]) if media else encoding,
                "sha256": entry["sha256"],
            }
        )
    document["distribution"] = files
    if files and media:
        file_set, record_set = _folder_records(version)
        if file_set is not None:
            document["distribution"].append(file_set)
        document["recordSet"] = [record_set] if record_set is not None else []
        return document
    if not files or version["format"] not in ("csv", "tsv", "parquet", "jsonl"):
        document["recordSet"] = []
        return document
    if len(files) == 1:
        source: dict[str, Any] = {"fileObject": {"@id": files[0]["@id"]}}
    else:
        # Several files hold the records: a file set, read relative to where the document sits.
        suffix = PurePosixPath(version["manifest"][0]["path"]).suffix
        document["distribution"].append(
            {"@type": "cr:FileSet", "@id": "source-files", "encodingFormat": encoding, "includes": f"**/*{suffix}"}
        )
        source = {"fileSet": {"@id": "source-files"}}
    document["recordSet"] = [
        {
            "@type": "cr:RecordSet",
            "@id": "records",
            "name": "records",
            "description": f"The rows of version {version['number']} ({version['row_count']} records).",
            "field": [
                {
                    "@type": "cr:Field",
                    "@id": f"records/{_slug(feature['name'])}",
                    "name": feature["name"],
                    "description": feature["description"]
                    or f"{feature['logical_type'] or feature['dtype']} ({feature['role']})",
                    "dataType": croissant_type(feature["dtype"]),
                    "source": {**source, "extract": {"column": feature["name"]}},
                }
                for feature in version["features"]
            ],
        }
    ]
    return document


def _file_encoding(path: str) -> str:
    guessed, _ = mimetypes.guess_type(path)
    if PurePosixPath(path).suffix.lower() in JSONL_SUFFIXES:
        return "application/jsonlines"
    return guessed or "application/octet-stream"


def _folder_records(version: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A file set of a folder's images or `.txt` documents, and its records: the picture or text
    of each, its path, and its label and split when folders name them (as the profile reads them).
    A manifest's labels, or documents in JSON Lines, are not described (the records would need a join)."""
    paths = [entry["path"] for entry in version["manifest"]]
    suffixes = IMAGE_SUFFIXES if version["format"] == "images" else TEXT_SUFFIXES
    items = [path for path in paths if PurePosixPath(path).suffix.lower() in suffixes]
    if not items:
        return None, None
    found = sorted({PurePosixPath(path).suffix.lower() for path in items})
    file_set = {
        "@type": "cr:FileSet",
        "@id": "item-files",
        "name": "item-files",
        "description": f"The {version['format'] if version['format'] == 'images' else 'documents'} of the folder, "
        "read relative to where this document sits (put it at the top of the folder).",
        "encodingFormat": sorted({_file_encoding(f"x{suffix}") for suffix in found}),
        "includes": [f"**/*{suffix}" for suffix in found],
    }

    def field(name: str, data_type: str, description: str, extract: dict[str, Any], **more: Any) -> dict[str, Any]:
        return {
            "@type": "cr:Field",
            "@id": f"items/{name}",
            "name": name,
            "description": description,
            "dataType": data_type,
            "source": {"fileSet": {"@id": "item-files"}, "extract": extract, **more},
        }

    content = "sc:ImageObject" if version["format"] == "images" else "sc:Text"
    fields = [
        field(
            "content",
            content,
            "The picture." if content == "sc:ImageObject" else "The text.",
            {"fileProperty": "content"},
        ),
        field("path", "sc:Text", "The file's path in the folder.", {"fileProperty": "fullpath"}),
    ]
    has_manifest = any(path.lower() in MANIFEST_NAMES for path in paths)
    splits = "|".join(sorted(SPLIT_FOLDERS, key=len, reverse=True))
    in_splits = all(path.split("/")[0].lower() in SPLIT_FOLDERS and path.count("/") >= 2 for path in items)
    in_classes = all(path.count("/") >= (2 if in_splits else 1) for path in items)
    if in_classes and not has_manifest:
        label = rf"^(?:(?i:{splits})/)?([^/]+)/.*$" if in_splits else r"^([^/]+)/.*$"
        fields.append(
            field(
                "label",
                "sc:Text",
                "The class: the first folder below the split.",
                {"fileProperty": "fullpath"},
                transform={"regex": label},
            )
        )
    if in_splits:
        fields.append(
            field(
                "split",
                "sc:Text",
                "The split: the folder at the top.",
                {"fileProperty": "fullpath"},
                transform={"regex": r"^([^/]+)/.*$"},
            )
        )
    record_set = {
        "@type": "cr:RecordSet",
        "@id": "items",
        "name": "items",
        "description": f"One record per item of version {version['number']} ({version['row_count']} items).",
        "field": fields,
    }
    return file_set, record_set


def card_from_croissant(document: dict[str, Any]) -> dict[str, Any]:
    """The card sections a Croissant document states (its description, citation and RAI fields)."""

    def text(key: str) -> str:
        value = document.get(key)
        if isinstance(value, list):
            return "\n\n".join(str(item) for item in value if item)
        if isinstance(value, dict):  # a language map
            return str(value.get("en") or next(iter(value.values()), ""))
        return str(value or "").strip()

    sections = {name: text(prop) for name, prop in RAI.items()}
    sections["summary"] = text("description")
    sections["citation"] = text("citeAs")
    keywords = document.get("keywords") or []
    return {**sections, "task_categories": [str(word) for word in keywords if isinstance(word, str)][:50]}
