"""A data card as Croissant 1.1 JSON-LD (https://docs.mlcommons.org/croissant/docs/croissant-spec-1.1.html),
with the Responsible AI vocabulary filled from the card's sections.

`distribution` lists every file of the latest version with its sha256 from the manifest and its format as
it is (a delimited table is `text/csv` or `text/tab-separated-values` as its delimiter makes it); a local
file's `contentUrl` is where the API serves it (`GET /api/v1/versions/{id}/files/{path}`), a URL source's its
URL. The records of a table are a `recordSet` with one field per feature, typed from its Arrow type and
named as the file names its columns; a folder of tables has a record set per file, since Croissant readers
take a file set only from beside the document. A table Croissant cannot state as it is (another delimiter or
runs of spaces, no header row or one leaving a column nameless, another encoding) is read from a CSV copy the
API serves (`?as=csv`), and the card's limitations say so; when even that cannot be done, they say why and no
records are described. Columns Croissant cannot type (structs, maps, durations) are left out of the records,
and the limitations name them.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from catalog.cards.provenance import Provenance
from catalog.downloads import Tables, is_table
from catalog.objects import is_object_url, object_key_of
from profiler.files import format_from_name
from profiler.formats import DELIMITED_FORMATS, MEDIA_FORMATS, TABULAR_FORMATS
from profiler.layout import IMAGE_SUFFIXES, JSONL_SUFFIXES, MANIFEST_NAMES, SPLIT_FOLDERS, TEXT_SUFFIXES

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
    "prov": "http://www.w3.org/ns/prov#",
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
# What a dataset must not be used for follows its use cases, after this line.
OUT_OF_SCOPE = "Not intended for: "
# How a provenance names an upstream dataset the reader may not read.
RESTRICTED = "A dataset you may not read"


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
    if lowered.startswith("time"):
        return "sc:Time"
    return "sc:Text"


def croissant_license(license: dict[str, Any]) -> list[Any] | str:
    """The license as Croissant states it: the URL of each license when all apply (one, or an AND of them);
    otherwise (a choice, OR, or an exception, WITH) the whole SPDX expression as one creative work, since
    a list of URLs would read as all of them applying and would drop the exception."""
    terms = license.get("terms")
    urls = {entry["spdx_id"]: entry["url"] for entry in license["licenses"]}
    if not license["expression"] or terms is None:
        return "unknown"
    parts = terms.get("all_of", [terms])
    if all("license" in part and not part["exception"] and part["license"] in urls for part in parts):
        return [urls[part["license"]] for part in parts]
    return [
        {
            "@type": "sc:CreativeWork",
            "name": license["expression"],
            "description": "An SPDX license expression (https://spdx.org/licenses/): with AND every license "
            "applies, with OR the licensee chooses one, WITH adds the named exception to its license. "
            + " ".join(f"{spdx_id}: {url}." for spdx_id, url in urls.items()),
        }
    ]


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


def _unique_slugs(paths: list[str]) -> dict[str, str]:
    """An id for each path, unique in the document though `a b.csv` and `a_b.csv` slug alike."""
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for path in paths:
        slug = candidate = _slug(path)
        number = 1
        while candidate in taken:
            number += 1
            candidate = f"{slug}-{number}"
        ids[path] = candidate
        taken.add(candidate)
    return ids


# Where a file of the version is served: (manifest path, as a CSV rendition) -> URL.
FileUrl = Callable[[str, bool], str]
# Where the API serves a dataset (by id), and a job's lineage (by namespace and name).
DatasetUrl = Callable[[str], str]
JobUrl = Callable[[str, str], str]
# Past this many files of records, one record set each would make the document unwieldy.
MAX_RECORD_FILES = 200


def card_croissant(
    facts: dict[str, Any],
    card: Any,
    *,
    url: str,
    file_url: FileUrl | None = None,
    tables: Tables | None = None,
    provenance: Provenance | None = None,
    dataset_url: DatasetUrl | None = None,
    job_url: JobUrl | None = None,
) -> dict[str, Any]:
    """The document. With `file_url`, each local file's `contentUrl` is where the API serves it (else its
    path); `tables` says how the delimited tables are written (see catalog.downloads.version_tables);
    `provenance` (catalog.cards.provenance, as the reader may see it) adds `prov:wasDerivedFrom` and
    `prov:wasGeneratedBy`, linked with `dataset_url` and `job_url` where given."""

    def section(name: str) -> str:
        return getattr(card, name, "").strip() if card is not None else ""

    document: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": facts["name"],
        "alternateName": f"{facts['namespace']}/{facts['name']}",
        "description": section("summary") or facts["description"] or f"{facts['namespace']}/{facts['name']}",
        "citeAs": section("citation") or f"{facts['namespace']}/{facts['name']}, {url}",
        "license": croissant_license(facts["license"]),
        "url": url,
        "creator": [
            {"@type": "sc:Person" if kind == "user" else "sc:Organization", "name": name}
            for kind, name in dict.fromkeys(
                (owner["type"], owner["name"]) for owner in facts["owners"] if owner["role"] == "owner"
            )
        ]
        or [{"@type": "sc:Organization", "name": facts["namespace"]}],
        "datePublished": facts["created_at"].date().isoformat(),
        "keywords": list(getattr(card, "task_categories", None) or []),
        "isLiveDataset": False,
    }
    for name, prop in [*RAI.items(), *ALSO.items()]:
        if section(name):
            document[prop] = section(name)
    if section("out_of_scope_uses"):
        document["rai:dataUseCases"] = "\n\n".join(
            filter(None, [section("intended_uses"), OUT_OF_SCOPE + section("out_of_scope_uses")])
        )
    if provenance:
        document.update(croissant_provenance(provenance, dataset_url=dataset_url, job_url=job_url))
    version = facts["version"]
    if version is None:
        document["distribution"] = []
        document["recordSet"] = []
        return document
    document["version"] = f"{version['number']}.0.0"
    document["sha256"] = version["fingerprint"].removeprefix("sha256:") if version["fingerprint"] else None
    remote = version["uri"][:8].lower() == "https://"
    stored = is_object_url(str(version["uri"]))

    def location(path: str, rendition: bool = False) -> str:
        if remote and not rendition:
            return str(version["uri"])
        if stored and not rendition:  # an object of an object store: its own URL
            return object_key_of(str(version["uri"]), path)
        return file_url(path, rendition) if file_url is not None else _location(version["uri"], path)

    tables = tables or Tables()
    media = version["format"] in MEDIA_FORMATS
    tabular = version["format"] in TABULAR_FORMATS
    record_paths = [
        entry["path"] for entry in version["manifest"] if tabular and _record_format(entry["path"], version["format"])
    ]
    ids = _unique_slugs([entry["path"] for entry in version["manifest"]])
    files = []
    for entry in version["manifest"]:
        files.append(
            {
                "@type": "cr:FileObject",
                "@id": ids[entry["path"]],
                "name": entry["path"],
                "contentUrl": location(entry["path"]),
                "contentSize": f"{entry['size']} B",
                "encodingFormat": _encoding(entry["path"], version["format"], tables, media=media),
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
    limitations: list[str] = []
    if tables.problem:
        limitations.append(f"Croissant readers cannot read the records of these files: {tables.problem}")
        record_paths = []
    elif len(record_paths) > MAX_RECORD_FILES:
        limitations.append(
            f"The records are in {len(record_paths)} files; this document describes the records of none of them "
            f"(it would take a record set per file, and it describes at most {MAX_RECORD_FILES})."
        )
        record_paths = []
    sources: dict[str, str] = {path: ids[path] for path in record_paths}
    if tables.renditions and tables.dialect is not None:
        limitations.append(
            f"The tables are {tables.dialect.describe()}, which Croissant cannot state: their records are read "
            "from a UTF-8 comma-separated copy with a header row that the catalog serves for each (`?as=csv`, "
            "with its own sha256); the files as registered are listed too."
        )
        for path in record_paths:
            rendition = {
                "@type": "cr:FileObject",
                "@id": f"{ids[path]}.as-csv",
                "name": f"{path} as CSV",
                "description": f"{path} re-written as comma-separated values under a header of its column names.",
                "contentUrl": location(path, True),
                "encodingFormat": "text/csv",
                "sha256": tables.renditions[path],
            }
            document["distribution"].append(rendition)
            sources[path] = rendition["@id"]
    left_out = left_out_features(version) if record_paths else []
    if left_out:
        limitations.append(
            "The records leave out the columns "
            + ", ".join(repr(name) for name in left_out)
            + " (structs, maps and lists of them, which Croissant readers cannot take from a table's column; "
            "durations, which Croissant has no type for)."
        )
    if limitations:
        document["rai:dataLimitations"] = "\n\n".join(filter(None, [document.get("rai:dataLimitations"), *limitations]))
    several = len(record_paths) > 1
    document["recordSet"] = [
        _table_records(version, path, sources[path], f"records.{ids[path]}" if several else "records")
        for path in record_paths
    ]
    return document


def croissant_provenance(
    provenance: Provenance, *, dataset_url: DatasetUrl | None = None, job_url: JobUrl | None = None
) -> dict[str, Any]:
    """Croissant 1.1 provenance (W3C PROV-O): `prov:wasDerivedFrom` each upstream dataset, a restricted one
    as a dataset with no name, id or link; `prov:wasGeneratedBy` an activity per job that produced it."""
    document: dict[str, Any] = {}
    upstream = []
    for source in provenance["derived_from"]:
        if source.get("restricted"):
            upstream.append({"@type": "sc:Dataset", "name": "restricted", "description": RESTRICTED + "."})
            continue
        entry: dict[str, Any] = {"@type": "sc:Dataset", "name": f"{source['namespace']}/{source['name']}"}
        if dataset_url is not None:
            entry["url"] = dataset_url(source["id"])
        upstream.append(entry)
    if upstream:
        document["prov:wasDerivedFrom"] = upstream
    activities = []
    for job in provenance["generated_by"]:
        activity: dict[str, Any] = {"@type": "prov:Activity", "prov:label": f"{job['namespace']}/{job['name']}"}
        if job["description"]:
            activity["description"] = job["description"]
        if job_url is not None:
            activity["url"] = job_url(job["namespace"], job["name"])
        activities.append(activity)
    if activities:
        document["prov:wasGeneratedBy"] = activities
    return document


def _record_format(path: str, format: str) -> bool:
    return is_table(path, format) if format in DELIMITED_FORMATS else format_from_name(path) == format


def _encoding(path: str, format: str, tables: Tables, *, media: bool) -> str:
    """A file's format as it is: a delimited table's as its delimiter makes it (a table Croissant cannot
    read as it is keeps the format its name gives; its records come from a rendition)."""
    found = format_from_name(path)
    if media or found is None:
        return _file_encoding(path)
    if found in DELIMITED_FORMATS and tables.dialect is not None and tables.dialect.croissant_format:
        return tables.dialect.croissant_format
    return ENCODINGS[found]


_LIST = re.compile(r"^(?:large_|fixed_size_)?list<[^:<>]+: (.+)>(?:\[\d+\])?$")
_NESTED = ("struct<", "map<", "list<", "large_list<", "fixed_size_list<", "dictionary<", "union<")
# Types no Croissant data type says.
_UNTYPED = ("duration", "month_day_nano_interval")


def left_out_features(version: dict[str, Any]) -> list[str]:
    """Features a record set leaves out: structs and maps, and lists of them (Croissant would need a
    sub-field per member, which readers do not take from a table's column), and durations (no Croissant type
    says one; as text or a number in some unit, a reader would get another value than the file holds)."""
    return [feature["name"] for feature in version["features"] if _field_type(feature["dtype"]) is None]


def _field_type(dtype: str) -> dict[str, Any] | None:
    """A feature's Croissant type: its data type, an array of one for a list; None when nested deeper."""
    lowered = dtype.lower()
    listed = _LIST.match(lowered)
    if listed:
        element = listed.group(1)
        if element.startswith((*_NESTED, *_UNTYPED)):
            return None
        return {"dataType": croissant_type(element), "isArray": True, "arrayShape": "-1"}
    if lowered.startswith(("struct<", "map<", "union<", *_UNTYPED)):
        return None
    return {"dataType": croissant_type(dtype)}


def _table_records(version: dict[str, Any], path: str, file_id: str, record_id: str) -> dict[str, Any]:
    several = record_id != "records"
    field_ids = _unique_slugs([feature["name"] for feature in version["features"]])
    return {
        "@type": "cr:RecordSet",
        "@id": record_id,
        "name": record_id,
        "description": f"The rows of {path}"
        if several
        else f"The rows of version {version['number']} ({version['row_count']} records).",
        "field": [
            {
                "@type": "cr:Field",
                "@id": f"{record_id}/{field_ids[feature['name']]}",
                "name": feature["name"],
                "description": feature["description"]
                or f"{feature['logical_type'] or feature['dtype']} ({feature['role']})",
                **typed,
                "source": {"fileObject": {"@id": file_id}, "extract": {"column": feature["name"]}},
            }
            for feature in version["features"]
            if (typed := _field_type(feature["dtype"])) is not None
        ],
    }


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
    # The use cases this catalog writes end with what the dataset is not intended for.
    uses, marker, out_of_scope = sections["intended_uses"].partition(OUT_OF_SCOPE)
    if marker:
        sections["intended_uses"], sections["out_of_scope_uses"] = uses.strip(), out_of_scope.strip()
    sections["summary"] = text("description")
    sections["citation"] = text("citeAs")
    keywords = document.get("keywords") or []
    return {**sections, "task_categories": [str(word) for word in keywords if isinstance(word, str)][:50]}
