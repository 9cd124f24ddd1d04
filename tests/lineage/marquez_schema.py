"""Marquez's own OpenAPI description (tests/standards/marquez/openapi.yml, Apache-2.0) walked to check
an answer field by field: each key the schema names has its type, format and enum, arrays' items and
objects' properties recursively, required keys present.

Where Marquez's server and web UI depart from its openapi.yml, /work/shared/standards/marquez-api.md
(summarised in `SERVER_SENDS`) says what a compatible server sends; `null` stands for an unknown value
(§1 of that note: optional values are null, not omitted)."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SPEC_PATH = Path(__file__).resolve().parents[1] / "standards" / "marquez" / "openapi.yml"

# The keys Marquez's server sends in each shape (its Java models), beyond or instead of openapi's.
SERVER_SENDS = {
    # service/models/DatasetData.java: the reduced dataset of a lineage graph node.
    "DatasetData": {
        "id",
        "type",
        "name",
        "physicalName",
        "createdAt",
        "updatedAt",
        "namespace",
        "sourceName",
        "fields",
        "tags",
        "lastModifiedAt",
        "description",
        "lastLifecycleState",
    },
    # service/models/JobData.java.
    "JobData": {
        "id",
        "type",
        "name",
        "simpleName",
        "parentJobName",
        "parentJobUuid",
        "createdAt",
        "updatedAt",
        "namespace",
        "inputs",
        "outputs",
        "location",
        "description",
        "latestRun",
    },
    # db/models/ColumnLineageNodeData.java.
    "ColumnLineageNodeData": {
        "namespace",
        "dataset",
        "datasetVersion",
        "field",
        "fieldType",
        "transformationDescription",
        "transformationType",
        "inputFields",
    },
    "ColumnInputField": {
        "namespace",
        "dataset",
        "datasetVersion",
        "field",
        "transformationDescription",
        "transformationType",
    },
    "Run": {
        "id",
        "createdAt",
        "updatedAt",
        "nominalStartTime",
        "nominalEndTime",
        "state",
        "startedAt",
        "endedAt",
        "durationMs",
        "args",
        "facets",
    },
}


@cache
def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text())


def schema(name: str) -> dict[str, Any]:
    return spec()["components"]["schemas"][name]


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema(node["$ref"].rsplit("/", 1)[1])
    return node


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def errors(node: dict[str, Any], value: Any, path: str = "$") -> list[str]:
    """What of `value` the schema `node` refuses, each with its path; [] when it conforms."""
    node = _resolve(node)
    if value is None:
        return []
    found: list[str] = []
    for key in ("anyOf", "oneOf"):
        if key in node:
            options = [errors(option, value, path) for option in node[key]]
            if all(options):
                found.append(f"{path}: matches none of {key}: {min(options, key=len)}")
    for option in node.get("allOf", []):
        found += errors(option, value, path)
    kind = node.get("type")
    wrong_type = isinstance(kind, str) and kind in _TYPES and not isinstance(value, _TYPES[kind])
    if wrong_type or (kind in ("integer", "number") and isinstance(value, bool)):
        return [*found, f"{path}: {value!r} is not of type {kind}"]
    if "enum" in node and value not in node["enum"]:
        found.append(f"{path}: {value!r} is not one of {node['enum']}")
    if node.get("format") == "date-time" and isinstance(value, str):
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            found.append(f"{path}: {value!r} is not a date-time")
    if node.get("format") == "uuid" and isinstance(value, str):
        try:
            uuid.UUID(value)
        except ValueError:
            found.append(f"{path}: {value!r} is not a uuid")
    if isinstance(value, dict):
        for required in node.get("required", []):
            if required not in value:
                found.append(f"{path}: {required!r} is required")
        for key, child in node.get("properties", {}).items():
            if key in value:
                found += errors(child, value[key], f"{path}.{key}")
    if isinstance(value, list) and "items" in node:
        for index, item in enumerate(value):
            found += errors(node["items"], item, f"{path}[{index}]")
    return found


def check(name: str, value: Any) -> None:
    """Assert that `value` conforms to the openapi.yml schema `name`."""
    assert errors(schema(name), value) == [], (name, errors(schema(name), value))


def check_keys(shape: str, value: dict[str, Any], *, extra: frozenset[str] = frozenset()) -> None:
    """Assert that `value` has exactly the keys Marquez's server sends in `shape` (and `extra`)."""
    assert set(value) - extra == SERVER_SENDS[shape], (shape, set(value) ^ SERVER_SENDS[shape])
