"""A compiled yes/no check for the shipped schemas: the fast path in front of jsonschema.

jsonschema walks the schema for every instance and creates a validator object per subschema visited; a
realistic run event (two inputs, an output with a 20-field schema and column lineage) visits some 750 and
takes about 8 ms. Here each schema is turned once into nested closures that answer "valid or not" in a
fraction of that. Only the keywords the shipped schemas use are supported and any other refuses to compile,
so a spec update cannot make this check silently more lenient than jsonschema. jsonschema stays the
authority: whatever this check refuses is validated again by jsonschema, whose errors the client sees, and a
test compares the two on thousands of mutated events.
"""

import numbers
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote, urljoin

Check = Callable[[Any], bool]

# Keywords that never affect validity (`documentation` is LifecycleStateChangeDatasetFacet's own spelling).
_ANNOTATIONS = frozenset(
    {
        "$schema",
        "$id",
        "$defs",
        "$comment",
        "title",
        "description",
        "example",
        "examples",
        "default",
        "deprecated",
        "documentation",
    }
)
_ASSERTIONS = frozenset(
    {
        "$ref", "type", "enum", "const", "required", "dependentRequired", "minimum", "format",
        "properties", "additionalProperties", "items", "allOf", "anyOf", "oneOf", "not",
    }
)  # fmt: skip


class UnsupportedSchema(Exception):
    """The schema uses something this compiler does not implement; jsonschema alone must be used for it."""


class Compiler:
    """Compiles subschemas of a fixed set of Draft 2020-12 documents, each addressed by `$id#pointer`."""

    def __init__(self, documents: Mapping[str, Any], formats: Mapping[str, Callable[[object], bool]]) -> None:
        self._documents = documents
        self._formats = formats
        self._compiled: dict[str, Check] = {}

    def compile(self, uri: str) -> Check:
        if uri in self._compiled:
            return self._compiled[uri]
        document_uri, _, fragment = uri.partition("#")
        if document_uri not in self._documents:
            raise UnsupportedSchema(f"$ref {uri}: no shipped schema has that $id.")
        if fragment and not fragment.startswith("/"):
            raise UnsupportedSchema(f"$ref {uri}: anchors are not supported.")
        node: Any = self._documents[document_uri]
        for token in unquote(fragment).split("/")[1:]:
            node = node[int(token) if isinstance(node, list) else token.replace("~1", "/").replace("~0", "~")]
        # A recursive schema (nested struct fields, subset conditions) reaches itself before it is compiled.
        compiled: list[Check] = []
        self._compiled[uri] = lambda instance: compiled[0](instance)
        check = self._node(node, document_uri)
        compiled.append(check)
        self._compiled[uri] = check
        return check

    def _node(self, node: Any, base: str) -> Check:
        if node is True:
            return _accept
        if node is False:
            return _refuse
        if not isinstance(node, dict):
            raise UnsupportedSchema(f"{base}: a schema must be an object or a boolean, not {node!r}.")
        unknown = node.keys() - _ASSERTIONS - _ANNOTATIONS
        if unknown:
            raise UnsupportedSchema(f"{base}: keywords {sorted(unknown)} are not supported.")
        if "$id" in node and urljoin(base, node["$id"]) != base:
            raise UnsupportedSchema(f"{base}: an embedded $id ({node['$id']}) is not supported.")
        # Cheap checks first: most refusals are a wrong type or a missing member.
        checks: list[Check] = []
        if "type" in node:
            checks.append(_type(node["type"]))
        if "enum" in node:
            checks.append(_one_of_strings(node["enum"]))
        if "const" in node:
            checks.append(_one_of_strings([node["const"]]))
        if "format" in node and node["format"] in self._formats:
            checks.append(self._formats[node["format"]])
        if "minimum" in node:
            checks.append(_minimum(node["minimum"]))
        if "required" in node:
            checks.append(_required(node["required"]))
        if "dependentRequired" in node:
            checks.append(_dependent_required(node["dependentRequired"]))
        if "properties" in node:
            checks.append(_properties({name: self._node(sub, base) for name, sub in node["properties"].items()}))
        if "additionalProperties" in node:
            known = frozenset(node.get("properties", ()))
            checks.append(_additional_properties(known, self._node(node["additionalProperties"], base)))
        if "items" in node:
            if not isinstance(node["items"], dict | bool):
                raise UnsupportedSchema(f"{base}: items must be one schema in Draft 2020-12.")
            checks.append(_items(self._node(node["items"], base)))
        if "$ref" in node:
            checks.append(self.compile(urljoin(base, node["$ref"])))
        checks.extend(self._node(sub, base) for sub in node.get("allOf", ()))
        if "anyOf" in node:
            checks.append(_any_of([self._node(sub, base) for sub in node["anyOf"]]))
        if "oneOf" in node:
            checks.append(_exactly_one_of([self._node(sub, base) for sub in node["oneOf"]]))
        if "not" in node:
            checks.append(_not(self._node(node["not"], base)))
        return _all_of(checks)


def _accept(instance: Any) -> bool:
    return True


def _refuse(instance: Any) -> bool:
    return False


def _is_number(instance: Any) -> bool:
    return isinstance(instance, numbers.Number) and not isinstance(instance, bool)


def _is_integer(instance: Any) -> bool:
    # As jsonschema since Draft 6: 1.0 is an integer, True is not.
    if isinstance(instance, bool):
        return False
    return isinstance(instance, int) or (isinstance(instance, float) and instance.is_integer())


_TYPES: dict[str, Check] = {
    "object": lambda instance: isinstance(instance, dict),
    "array": lambda instance: isinstance(instance, list),
    "string": lambda instance: isinstance(instance, str),
    "boolean": lambda instance: isinstance(instance, bool),
    "null": lambda instance: instance is None,
    "number": _is_number,
    "integer": _is_integer,
}


def _type(expected: str | list[str]) -> Check:
    names = [expected] if isinstance(expected, str) else expected
    unknown = [name for name in names if name not in _TYPES]
    if unknown:
        raise UnsupportedSchema(f"Unknown types {unknown}.")
    if len(names) == 1:
        return _TYPES[names[0]]
    return _any_of([_TYPES[name] for name in names])


def _one_of_strings(values: list[Any]) -> Check:
    # jsonschema compares with `==` once either side is a string, so only strings keep `in` exact here.
    if not all(isinstance(value, str) for value in values):
        raise UnsupportedSchema(f"Only string enum and const values are supported, not {values!r}.")
    allowed = frozenset(values)
    return lambda instance: isinstance(instance, str) and instance in allowed


def _minimum(minimum: int | float) -> Check:
    return lambda instance: not (_is_number(instance) and instance < minimum)  # as jsonschema: NaN passes


def _required(names: list[str]) -> Check:
    def check(instance: Any) -> bool:
        if isinstance(instance, dict):
            for name in names:
                if name not in instance:
                    return False
        return True

    return check


def _dependent_required(dependencies: dict[str, list[str]]) -> Check:
    pairs = list(dependencies.items())

    def check(instance: Any) -> bool:
        if isinstance(instance, dict):
            for name, needed in pairs:
                if name in instance and any(other not in instance for other in needed):
                    return False
        return True

    return check


def _properties(checks: dict[str, Check]) -> Check:
    pairs = list(checks.items())

    def check(instance: Any) -> bool:
        if isinstance(instance, dict):
            for name, sub in pairs:
                if name in instance and not sub(instance[name]):
                    return False
        return True

    return check


def _additional_properties(known: frozenset[str], sub: Check) -> Check:
    if sub is _accept:
        return _accept

    def check(instance: Any) -> bool:
        if isinstance(instance, dict):
            for name, value in instance.items():
                if name not in known and not sub(value):
                    return False
        return True

    return check


def _items(sub: Check) -> Check:
    if sub is _accept:
        return _accept

    def check(instance: Any) -> bool:
        if isinstance(instance, list):
            for item in instance:
                if not sub(item):
                    return False
        return True

    return check


def _all_of(checks: list[Check]) -> Check:
    checks = [check for check in checks if check is not _accept]
    if not checks:
        return _accept
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda instance: first(instance) and second(instance)

    def check(instance: Any) -> bool:
        for sub in checks:  # noqa: SIM110 - all() over a generator makes a realistic event ~40% slower
            if not sub(instance):
                return False
        return True

    return check


def _any_of(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]

    def check(instance: Any) -> bool:
        for sub in checks:  # noqa: SIM110 - as in _all_of
            if sub(instance):
                return True
        return False

    return check


def _exactly_one_of(checks: list[Check]) -> Check:
    def check(instance: Any) -> bool:
        return sum(1 for sub in checks if sub(instance)) == 1

    return check


def _not(sub: Check) -> Check:
    return lambda instance: not sub(instance)
