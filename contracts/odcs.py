"""A contract as an Open Data Contract Standard (ODCS v3.1.0) document and back: plain data, no Django.

What ODCS says itself is said its way: `required`, `unique`, `logicalType` and its options (string
lengths and pattern, numeric and date bounds), the library metrics `nullValues` (a percentage),
`invalidValues` (with `validValues`) and `rowCount`. Everything else, the ML checks first, is a
quality rule of type `custom` run by the engine ENGINE, its `implementation` naming the check and its
limits: `range` (bounds the property's logical type cannot carry), `drift`, `duplicate_share`,
`classes`, `label_conflicts`, `split_leakage`. The catalog's own logical types, the enforcement and
the reference version travel as custom properties. An export read back is the same contract.

Reading YAML is bounded: at most MAX_YAML_CHARS, nesting at most MAX_YAML_DEPTH, no anchors or
aliases (a few hundred bytes of nested aliases stand for billions of values).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import yaml

from contracts.rules import ContractInvalid

API_VERSION = "v3.1.0"
ENGINE = "training-data-catalog"
MAX_YAML_CHARS = 1024 * 1024
MAX_YAML_DEPTH = 32
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# The catalog's logical types as ODCS names them.
ODCS_TYPES = {
    "numeric": "number",
    "categorical": "string",
    "boolean": "boolean",
    "datetime": "timestamp",
    "text": "string",
    "identifier": "string",
    "constant": "string",
}


def _percent(share: float) -> float:
    return float(Decimal(repr(share)) * 100)


# The operators a share's upper limit is read from, in order ("less than" is read as "at most").
SHARE_OPERATORS = ("mustBeLessOrEqualTo", "mustBe", "mustBeLessThan")


def _share(rule: dict[str, Any], where: str, default: Any = None) -> Any:
    """The share a rule allows: exactly, from the catalog's own custom property when the rule carries
    it (a percentage does not always convert back to the same float), else from its limit in percent
    (or a limit of 0 rows)."""
    exact = _custom_properties(rule.get("customProperties"), f"{where}.customProperties").get("catalogShare")
    if exact is not None:
        return exact
    key = next((operator for operator in SHARE_OPERATORS if operator in rule), None)
    limit = rule[key] if key is not None else default
    field = f"{where}.{key or SHARE_OPERATORS[0]}"
    if isinstance(limit, bool) or not isinstance(limit, int | float):
        raise ContractInvalid("Expected a limit in percent.", field=field)
    if rule.get("unit") != "percent":
        if limit != 0:
            raise ContractInvalid("A limit in rows is not a share: give it in percent (unit: percent).", field=field)
        return 0.0
    return min(1.0, max(0.0, float(Decimal(repr(float(limit))) / 100)))


def _custom(check: str, **implementation: Any) -> dict[str, Any]:
    return {"type": "custom", "engine": ENGINE, "implementation": {"check": check, **implementation}}


def _property(rule: dict[str, Any]) -> dict[str, Any]:
    logical = rule["logical_type"]
    odcs_type = ODCS_TYPES[logical] if isinstance(logical, str) else None
    prop: dict[str, Any] = {"name": rule["name"]}
    if odcs_type is not None:
        prop["logicalType"] = odcs_type
    prop["required"] = rule["required"]
    prop["unique"] = rule["unique"]
    options: dict[str, Any] = {}
    quality: list[dict[str, Any]] = []
    low, high = rule["min"], rule["max"]
    numeric_bounds = all(value is None or isinstance(value, int | float) for value in (low, high))
    text_bounds = all(value is None or isinstance(value, str) for value in (low, high))
    if (low is not None or high is not None) and (
        (odcs_type == "number" and numeric_bounds) or (odcs_type == "timestamp" and text_bounds)
    ):
        options.update({key: value for key, value in (("minimum", low), ("maximum", high)) if value is not None})
    elif low is not None or high is not None:
        quality.append(_custom("range", min=low, max=high))
    string_options = {"minLength": rule["min_length"], "maxLength": rule["max_length"], "pattern": rule["pattern"]}
    if odcs_type == "string":
        options.update({key: value for key, value in string_options.items() if value is not None})
    elif any(value is not None for value in string_options.values()):
        quality.append(
            _custom("string", min_length=rule["min_length"], max_length=rule["max_length"], pattern=rule["pattern"])
        )
    if options:
        prop["logicalTypeOptions"] = options
    if rule["max_null_fraction"] is not None:
        quality.append(
            {
                "metric": "nullValues",
                "mustBeLessOrEqualTo": _percent(rule["max_null_fraction"]),
                "unit": "percent",
                "customProperties": [{"property": "catalogShare", "value": rule["max_null_fraction"]}],
            }
        )
    if rule["allowed_values"] is not None:
        quality.append(
            {
                "metric": "invalidValues",
                "arguments": {"validValues": list(rule["allowed_values"])},
                "mustBeLessOrEqualTo": _percent(rule["max_outside_share"] or 0.0),
                "unit": "percent",
                "customProperties": [{"property": "catalogShare", "value": rule["max_outside_share"] or 0.0}],
            }
        )
    if rule["max_drift"]:
        quality.append(_custom("drift", limits=dict(rule["max_drift"])))
    if quality:
        prop["quality"] = quality
    prop["customProperties"] = [{"property": "catalogLogicalType", "value": logical}]
    return prop


def odcs_document(
    contract: dict[str, Any], *, contract_id: str, name: str, version: int, description: str = ""
) -> dict[str, Any]:
    """The ODCS v3.1.0 document of a contract in normal form (`contracts.rules.contract_parsed`)."""
    rules = contract["dataset"]
    quality: list[dict[str, Any]] = []
    if rules["min_rows"] is not None:
        quality.append({"metric": "rowCount", "mustBeGreaterOrEqualTo": rules["min_rows"], "unit": "rows"})
    if rules["max_rows"] is not None:
        quality.append({"metric": "rowCount", "mustBeLessOrEqualTo": rules["max_rows"], "unit": "rows"})
    if rules["max_duplicate_share"] is not None:
        quality.append(_custom("duplicate_share", max_share=rules["max_duplicate_share"]))
    if rules["classes"] is not None or rules["min_class_share"] is not None:
        quality.append(_custom("classes", classes=rules["classes"], min_share=rules["min_class_share"]))
    if rules["max_label_conflict_share"] is not None:
        quality.append(_custom("label_conflicts", max_share=rules["max_label_conflict_share"]))
    if rules["no_split_leakage"]:
        quality.append(_custom("split_leakage", allowed=False))
    for index, rule in enumerate(quality):
        rule["id"] = f"dataset_rule_{index + 1}"
    properties = [_property(rule) for rule in contract["features"]]
    for index, prop in enumerate(properties):
        prop["id"] = f"feature_{index + 1}"
        for number, rule in enumerate(prop.get("quality", [])):
            rule["id"] = f"feature_{index + 1}_rule_{number + 1}"
    schema: dict[str, Any] = {
        "id": "dataset",
        "name": name.split("/")[-1] or "dataset",
        "logicalType": "object",
        "physicalType": "table",
        "properties": properties,
    }
    if quality:
        schema["quality"] = quality
    custom = [{"property": "catalogEnforcement", "value": contract["enforcement"]}]
    if contract["reference_version"] is not None:
        custom.append({"property": "catalogReferenceVersion", "value": contract["reference_version"]})
    document: dict[str, Any] = {
        "apiVersion": API_VERSION,
        "kind": "DataContract",
        "id": contract_id,
        "name": name,
        "version": f"{version}.0.0",
        "status": "active",
        "schema": [schema],
        "customProperties": custom,
    }
    if description:
        document["description"] = {"purpose": description}
    return document


def odcs_yaml(document: dict[str, Any]) -> str:
    return yaml.dump(document, Dumper=_DUMPER, sort_keys=False, allow_unicode=True)


def odcs_loaded(text: str) -> dict[str, Any]:
    """A YAML document read within bounds (ContractInvalid otherwise): no anchors or aliases, nesting
    and length bounded, a mapping at the top."""
    if len(text) > MAX_YAML_CHARS:
        raise ContractInvalid(f"The document is longer than {MAX_YAML_CHARS // 1024} KiB.", field="odcs")
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise ContractInvalid("Anchors and aliases (& and *) are not read; write the values out.", field="odcs")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise ContractInvalid(f"The document nests more than {MAX_YAML_DEPTH} levels deep.", field="odcs")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        data = yaml.load(text, Loader=_LOADER)  # noqa: S506  # a safe loader
    except yaml.YAMLError as exc:
        raise ContractInvalid(f"The document is not YAML: {str(exc)[:300]}", field="odcs") from None
    if not isinstance(data, dict):
        raise ContractInvalid("An ODCS document is a mapping at the top.", field="odcs")
    return data


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ContractInvalid("Expected a list.", field=where)
    return value


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ContractInvalid("Expected a mapping.", field=where)
    return value


def _custom_properties(value: Any, where: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for index, item in enumerate(_list(value, where)):
        item = _mapping(item, f"{where}.{index}")
        if isinstance(item.get("property"), str):
            found[item["property"]] = item.get("value")
    return found


def _rule_read(rule: dict[str, Any], where: str, into: dict[str, Any]) -> None:
    """One quality rule of a property or of the schema, read into a contract's keys."""
    if rule.get("type") == "custom":
        if rule.get("engine") != ENGINE:
            return  # another engine's rule: not the catalog's to check
        implementation = _mapping(rule.get("implementation"), f"{where}.implementation")
        check = implementation.get("check")
        if check == "range":
            into["min"], into["max"] = implementation.get("min"), implementation.get("max")
        elif check == "string":
            into["min_length"] = implementation.get("min_length")
            into["max_length"] = implementation.get("max_length")
            into["pattern"] = implementation.get("pattern")
        elif check == "drift":
            into["max_drift"] = implementation.get("limits")
        elif check == "duplicate_share":
            into["max_duplicate_share"] = implementation.get("max_share")
        elif check == "classes":
            into["classes"], into["min_class_share"] = implementation.get("classes"), implementation.get("min_share")
        elif check == "label_conflicts":
            into["max_label_conflict_share"] = implementation.get("max_share")
        elif check == "split_leakage":
            into["no_split_leakage"] = implementation.get("allowed") is False
        else:
            raise ContractInvalid(f"Unknown check {check!r} of the engine {ENGINE}.", field=f"{where}.implementation")
        return
    metric = rule.get("metric")
    if metric == "nullValues":
        into["max_null_fraction"] = _share(rule, where)
    elif metric == "invalidValues":
        arguments = _mapping(rule.get("arguments") or {}, f"{where}.arguments")
        into["allowed_values"] = arguments.get("validValues")
        into["max_outside_share"] = _share(rule, where, 0)
    elif metric == "rowCount":
        if "mustBeGreaterOrEqualTo" in rule:
            into["min_rows"] = rule["mustBeGreaterOrEqualTo"]
        if "mustBeLessOrEqualTo" in rule:
            into["max_rows"] = rule["mustBeLessOrEqualTo"]


def contract_from_odcs(document: dict[str, Any]) -> dict[str, Any]:
    """The contract an ODCS document states (to be read by `contracts.rules.contract_parsed`): its first
    schema object's properties and quality rules, and the catalog's custom properties."""
    if document.get("kind", "DataContract") != "DataContract":
        raise ContractInvalid("Not a DataContract.", field="odcs.kind")
    schemas = _list(document.get("schema"), "odcs.schema")
    if len(schemas) > 1:
        raise ContractInvalid("A dataset's contract describes one schema object.", field="odcs.schema")
    schema = _mapping(schemas[0], "odcs.schema.0") if schemas else {}
    custom = _custom_properties(document.get("customProperties"), "odcs.customProperties")
    features = []
    for index, raw in enumerate(_list(schema.get("properties"), "odcs.schema.0.properties")):
        where = f"odcs.schema.0.properties.{index}"
        prop = _mapping(raw, where)
        own = _custom_properties(prop.get("customProperties"), f"{where}.customProperties")
        feature: dict[str, Any] = {"name": prop.get("name")}
        if "catalogLogicalType" in own:
            feature["logical_type"] = own["catalogLogicalType"]
        else:
            back = {"number": "numeric", "integer": "numeric", "boolean": "boolean", "timestamp": "datetime"}
            feature["logical_type"] = back.get(str(prop.get("logicalType")))
        for key, target in (("required", "required"), ("unique", "unique")):
            if key in prop:
                feature[target] = prop[key]
        options = _mapping(prop.get("logicalTypeOptions") or {}, f"{where}.logicalTypeOptions")
        for key, target in (
            ("minimum", "min"),
            ("maximum", "max"),
            ("minLength", "min_length"),
            ("maxLength", "max_length"),
            ("pattern", "pattern"),
        ):
            if key in options:
                feature[target] = options[key]
        for number, rule in enumerate(_list(prop.get("quality"), f"{where}.quality")):
            _rule_read(_mapping(rule, f"{where}.quality.{number}"), f"{where}.quality.{number}", feature)
        features.append(feature)
    dataset: dict[str, Any] = {}
    for number, rule in enumerate(_list(schema.get("quality"), "odcs.schema.0.quality")):
        _rule_read(_mapping(rule, f"odcs.schema.0.quality.{number}"), f"odcs.schema.0.quality.{number}", dataset)
    contract: dict[str, Any] = {
        "enforcement": custom.get("catalogEnforcement", "warn"),
        "reference_version": custom.get("catalogReferenceVersion"),
        "features": features,
        "dataset": dataset,
    }
    return contract
