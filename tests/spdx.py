"""SPDX 3.0.1 documents checked as the specification asks, with no network access: against its JSON schema,
read back by the SPDX 3 Python bindings (spdx-python-model), and against its SHACL shapes with pySHACL.

The official files are in tests/standards/spdx-3.0.1/ (see NOTICE there). spdx-python-model and pyshacl
are dev extras; a test that needs them skips, saying so, where they are not installed.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

SPEC_DIR = Path(__file__).parent / "standards" / "spdx-3.0.1"


def schema_errors(document: dict[str, Any]) -> list[str]:
    """What the JSON schema of SPDX 3.0.1 (draft 2020-12) finds wrong with the document. jsonschema-rs, as
    the lineage's own validation: the schema's unevaluatedProperties under a oneOf of every class cost the
    pure-Python jsonschema about a tenth of a second per element, half a minute for a folder of images."""
    if "validator" not in _SCHEMA:
        schema = json.loads((SPEC_DIR / "spdx-json-schema.json").read_text())
        _SCHEMA["validator"] = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
    return [
        f"$.{'.'.join(str(part) for part in error.instance_path)}: {error.message[:300]}"
        for error in _SCHEMA["validator"].iter_errors(document)
    ]


_SCHEMA: dict[str, Any] = {}


def bindings_load(document: dict[str, Any]) -> list[Any]:
    """The document deserialized by spdx-python-model (types, enumerations, value types), its references
    linked (each must name an element of the document) and serialized again (required properties):
    every object it holds."""
    spdx = pytest.importorskip(
        "spdx_python_model.bindings.v3_0_1", reason="spdx-python-model (a dev extra) is not installed"
    )
    objects = spdx.SHACLObjectSet()
    spdx.JSONLDDeserializer().deserialize_data(document, objects)
    unresolved = objects.link()
    assert not unresolved, f"ids referenced but not in the document: {sorted(unresolved)}"
    spdx.JSONLDSerializer().write(objects, io.BytesIO())
    return list(objects.foreach())


def shacl_report(document: dict[str, Any]) -> tuple[bool, str]:
    """pySHACL's verdict on the document against the SPDX 3.0.1 shapes (the model as shapes and
    ontology, as the SPDX validator runs it), the remote context replaced by the shipped copy."""
    pyshacl = pytest.importorskip("pyshacl", reason="pyshacl (a dev extra) is not installed")
    rdflib = pytest.importorskip("rdflib", reason="rdflib (pyshacl's dependency) is not installed")
    context = json.loads((SPEC_DIR / "spdx-context.jsonld").read_text())
    data = rdflib.Graph().parse(data=json.dumps({**document, "@context": context["@context"]}), format="json-ld")
    shapes = _shapes(rdflib)
    conforms, _, text = pyshacl.validate(data, shacl_graph=shapes, ont_graph=shapes)
    return bool(conforms), str(text)


_SHAPES: dict[str, Any] = {}


def _shapes(rdflib: Any) -> Any:
    # Parsing the model takes a second; every document of a run is checked against the same one.
    if "graph" not in _SHAPES:
        _SHAPES["graph"] = rdflib.Graph().parse(SPEC_DIR / "spdx-model.ttl", format="turtle")
    return _SHAPES["graph"]


def assert_valid_spdx(document: dict[str, Any]) -> None:
    """All three checks pass (skips where the bindings or pySHACL are not installed)."""
    assert schema_errors(document) == []
    bindings_load(document)
    conforms, text = shacl_report(document)
    assert conforms, text


def by_type(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [element for element in document["@graph"] if element.get("type") == kind]


def by_id(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {element["spdxId"]: element for element in document["@graph"] if "spdxId" in element}
