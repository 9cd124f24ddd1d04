"""Validation of incoming OpenLineage events against the specification's own JSON schemas.

No Django. Validation is jsonschema-rs's: the schemas ship in ``spec/``, every ``$ref`` between them resolves
through a ``jsonschema_rs.Registry`` built from those files, and the validators are built offline, so nothing is
ever fetched over the network.
"""

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, TypedDict, cast

from jsonschema_rs import Draft202012, Draft202012Validator, Registry, ValidationError, ValidationErrorKind

from config.identities import identity_normalised, identity_problem

SPEC_VERSION = "2-0-2"
MAX_ERRORS = 50
# A message quotes the offending value, which may be a whole facet or a megabyte string.
MAX_MESSAGE_LENGTH = 300
# Objects and arrays nested deeper than this are refused before jsonschema-rs sees them. It recurses with the
# instance on the native stack and overflows it some ten thousand levels down (a segfault, not an exception);
# it raises ValueError for an error whose instance nests deeper than 255; and it collects the errors of an
# anyOf or oneOf by validating the failing branch again, so an invalid chain of nested subset conditions costs
# the square of its depth: 0.4 s at this limit, twice what the jsonschema-based code took at its own. The
# project's examples nest 14 levels at most in an event; a schema facet can hold 46 levels of nested structs.
MAX_DEPTH = 100
# The formats checked: RFC 3339 `date-time` (eventTime) and RFC 4122's hyphenated `uuid` (runId), by
# jsonschema-rs's own checks. Any other format the schemas name (`uri`) is an annotation only, as it has been.
CHECKED_FORMATS = frozenset({"date-time", "uuid"})

SPEC_DIR = Path(__file__).resolve().parent / "spec"
CORE_SCHEMA_ID = f"https://openlineage.io/spec/{SPEC_VERSION}/OpenLineage.json"


class EventKind(StrEnum):
    RUN = "RunEvent"
    DATASET = "DatasetEvent"
    JOB = "JobEvent"


class FacetLevel(StrEnum):
    """Where a facet sits in an event; the values name the core schema's base definition for that place."""

    RUN = "RunFacet"  # run.facets
    JOB = "JobFacet"  # job.facets
    DATASET = "DatasetFacet"  # facets of inputs[], outputs[] and a DatasetEvent's dataset
    INPUT = "InputDatasetFacet"  # inputs[].inputFacets
    OUTPUT = "OutputDatasetFacet"  # outputs[].outputFacets


# The core schema declares `_deleted` on DatasetFacet and JobFacet only: deleting a facet is a change to the
# static metadata of a dataset or a job, which a run's facets and the per-run input/output facets never carry.
DELETABLE_LEVELS = frozenset({FacetLevel.DATASET, FacetLevel.JOB})


class ErrorDetail(TypedDict):
    path: str
    message: str


class InvalidEvent(Exception):
    """The payload is not an OpenLineage event: `errors` says where and why, in document order, at most 50.

    `total` counts them all; the message summarises them. Whoever raises it may pass errors in any order.
    """

    def __init__(self, errors: Iterable[ErrorDetail]) -> None:
        unique = {(error["path"], error["message"]): error for error in errors}
        ordered = [unique[key] for key in sorted(unique, key=_in_document_order)]
        self.errors: list[ErrorDetail] = ordered[:MAX_ERRORS]
        self.total = len(ordered)
        super().__init__(_summary(self.errors, self.total))


InstancePath = tuple[str | int, ...]
Found = tuple[InstancePath, str]


def event_kind(payload: object) -> EventKind:
    """The kind of event, decided by its members: an event with a run is a RunEvent whatever else it carries.

    The core schema's top-level `oneOf` is not used for this. It does accept the project's full example (run,
    job and dataset: DatasetEvent's `not` excludes it), but an event with a job and a dataset and no run is
    both a valid DatasetEvent and a valid JobEvent, so that `oneOf` refuses it; here it is a JobEvent.
    """
    if not isinstance(payload, dict):
        raise _invalid([((), f"An OpenLineage event must be a JSON object, not {_json_type(payload)}.")])
    if "run" in payload:
        return EventKind.RUN
    if "dataset" in payload and "job" not in payload:
        return EventKind.DATASET
    if "job" in payload:
        return EventKind.JOB
    message = "Not an OpenLineage event: a RunEvent has 'run' and 'job', a DatasetEvent 'dataset', a JobEvent 'job'."
    raise _invalid([((), message)])


def validate_event(payload: object, *, document_checked: bool = False) -> EventKind:
    """Validate an event against the 2-0-2 schema of its kind and each known facet against its own schema.

    Facets with a key no shipped facet schema defines at that place are custom facets: only the base facet
    schema applies to them. A dataset or job facet whose `_deleted` is true deletes that facet, and its other
    members are ignored. Before the schemas, an event nested deeper than MAX_DEPTH, text that cannot be stored
    (NUL, lone surrogates) anywhere, and job and dataset names that could pass for others or are not in NFC
    (`identities_normalised` makes them so), are refused; `document_checked` says the caller refused the first
    two already (the API's JSON parser does, with the same limit). Raises InvalidEvent.
    """
    kind = event_kind(payload)
    event = cast(dict[str, Any], payload)  # event_kind refuses anything but an object
    if not document_checked:
        deep, texts = _depth_and_texts(event, MAX_DEPTH)
        if deep:
            raise _invalid([((), "The event is nested too deeply to validate.")])
        # One search over every key and string at once; the walk that says where only when it finds something.
        if _UNSTORABLE.search("\n".join(texts)) and (unstorable := list(_unstorable_text(event))):
            raise _invalid(unstorable)
    if unusable := list(_identity_problems(event)):
        raise _invalid(unusable)
    found = _check(event, kind)
    if found:
        raise _invalid(found)
    return kind


def _check(event: dict[str, Any], kind: EventKind) -> list[Found]:
    spec = _spec()
    found: list[Found] = []
    deleted: list[InstancePath] = []
    for path, level, facets in _facet_maps(event, kind):
        validators = spec.facets[level]
        for key, facet in facets.items():
            if level in DELETABLE_LEVELS and isinstance(facet, dict) and facet.get("_deleted") is True:
                deleted.append((*path, key))
                continue
            validator = validators.get(key)
            if validator is not None:
                found.extend(((*path, key, *where), message) for where, message in _errors(validator, facet))
    found.extend(
        (where, message)
        for where, message in _errors(spec.events[kind], event)
        if not any(where[: len(marker)] == marker for marker in deleted)
    )
    return found


def identities_normalised(payload: object) -> None:
    """Rewrite, in place, each namespace and name that identifies a job or a dataset in the event to its one
    spelling (NFC), so that a name sent composed and the same name sent decomposed are one job or dataset."""
    for _, identity in _identities(payload):
        for key in ("namespace", "name"):
            value = identity.get(key)
            # ASCII text is in NFC already: only other text is looked at.
            if isinstance(value, str) and not value.isascii():
                identity[key] = identity_normalised(value)


def _identities(event: object) -> Iterator[tuple[InstancePath, dict[str, Any]]]:
    """The objects whose namespace and name identify a job or a dataset (which the catalog creates if it does
    not know them): the job, the datasets, their symlinks and the inputs of their column lineage."""
    if not isinstance(event, dict):
        return
    if isinstance(event.get("job"), dict):
        yield ("job",), event["job"]
    datasets: list[tuple[InstancePath, object]] = [(("dataset",), event.get("dataset"))]
    for key in ("inputs", "outputs"):
        if isinstance(event.get(key), list):
            datasets.extend(((key, index), item) for index, item in enumerate(event[key]))
    for path, dataset in datasets:
        if not isinstance(dataset, dict):
            continue
        yield path, dataset
        facets = dataset.get("facets")
        if not isinstance(facets, dict):
            continue
        symlinks = facets.get("symlinks")
        identifiers = symlinks.get("identifiers") if isinstance(symlinks, dict) else None
        for index, identifier in enumerate(identifiers if isinstance(identifiers, list) else []):
            if isinstance(identifier, dict):
                yield (*path, "facets", "symlinks", "identifiers", index), identifier
        column_lineage = facets.get("columnLineage")
        fields = column_lineage.get("fields") if isinstance(column_lineage, dict) else None
        for name, spec in fields.items() if isinstance(fields, dict) else ():
            sources = spec.get("inputFields") if isinstance(spec, dict) else None
            for index, source in enumerate(sources if isinstance(sources, list) else []):
                if isinstance(source, dict):
                    yield (*path, "facets", "columnLineage", "fields", name, "inputFields", index), source
        # Dataset-wide dependencies name datasets too, which the catalog creates like the others.
        wide = column_lineage.get("dataset") if isinstance(column_lineage, dict) else None
        for index, source in enumerate(wide if isinstance(wide, list) else []):
            if isinstance(source, dict):
                yield (*path, "facets", "columnLineage", "dataset", index), source


def _identity_problems(event: object) -> Iterator[Found]:
    """Namespaces and names that could pass for others (config.identities says which), or that are not in
    their one spelling (NFC): such a name would make a second job or dataset that looks like the first."""
    for path, identity in _identities(event):
        for key in ("namespace", "name"):
            value = identity.get(key)
            if not isinstance(value, str):
                continue  # the schema says what is wrong with it
            if problem := _name_problem(value):
                yield (*path, key), problem


@lru_cache(maxsize=8192)
def _name_problem(value: str) -> str | None:
    """Why a namespace or name cannot identify anything, or None. An event names the same few datasets
    over and over (each column-lineage input names its dataset), and pipelines send the same names in
    event after event: each distinct name is examined once."""
    if value != identity_normalised(value):
        return "The name is not in Unicode normalisation form C (NFC); send it composed."
    if problem := identity_problem(value):
        return f"The name {problem}."
    return None


def known_facets(level: FacetLevel) -> frozenset[str]:
    """The facet keys a shipped facet schema defines at this place in an event."""
    return frozenset(_spec().facets[level])


def _depth_and_texts(value: object, limit: int) -> tuple[bool, list[str]]:
    """Whether objects and arrays nest more than `limit` deep, and (when not) every key and string of the
    value; level by level, so without recursion of its own."""
    texts: list[str] = [value] if isinstance(value, str) else []
    level = [value]
    for _ in range(limit):
        next_level = []
        for node in level:
            if isinstance(node, dict):
                texts.extend(key for key in node if isinstance(key, str))
                children: Iterable[object] = node.values()
            elif isinstance(node, list | tuple):
                children = node
            else:
                continue
            for child in children:
                kind = type(child)
                if kind is str:
                    texts.append(child)  # type: ignore[arg-type]
                elif kind not in _SCALARS:  # by exact type, so fast; containers' subclasses are still walked
                    next_level.append(child)
        if not next_level:
            return False, texts
        level = next_level
    return True, texts


_SCALARS = frozenset({str, int, float, bool, type(None)})

# PostgreSQL stores no NUL in text or jsonb, and a lone surrogate (half of a UTF-16 pair) is no character and
# cannot be encoded as UTF-8: an event carrying either in a name, a facet key or a value could not be kept.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable_text(event: object) -> Iterator[Found]:
    """Keys and strings that hold NUL or a lone surrogate, in no particular order; iterative (depth is bounded
    before, but the walk needs no stack of its own anyway)."""
    pending: list[tuple[object, InstancePath]] = [(event, ())]
    while pending:
        node, path = pending.pop()
        if isinstance(node, str):
            if _UNSTORABLE.search(node):
                yield path, "The text holds a NUL character or a lone surrogate, which cannot be stored."
        elif isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and _UNSTORABLE.search(key):
                    # Not walked further: the paths below would hold the key, and the answer must not.
                    yield path, f"The key {key!a} holds a NUL character or a lone surrogate, which cannot be stored."
                else:
                    pending.append((value, (*path, key)))
        elif isinstance(node, list | tuple):
            pending.extend((value, (*path, index)) for index, value in enumerate(node))


def _errors(validator: Draft202012Validator, instance: object) -> Iterator[Found]:
    for error in validator.iter_errors(instance):
        for leaf in _leaves(error):
            yield tuple(leaf.instance_path), leaf.message


@dataclass(frozen=True)
class _Spec:
    events: Mapping[EventKind, Draft202012Validator]
    facets: Mapping[FacetLevel, Mapping[str, Draft202012Validator]]


@cache
def _spec() -> _Spec:
    """Validators for every event kind and every (place, facet key), built once per process."""
    documents = _load_documents()
    # Resolves every $ref between the shipped documents now; one to anything else fails here.
    registry = Registry(documents.items(), draft=Draft202012)
    unchecked = dict.fromkeys(_format_names(documents) - CHECKED_FORMATS, _any_string)

    def validator(uri: str) -> Draft202012Validator:
        # A subschema of a registered document, through a $ref to it: `…/OpenLineage.json#/$defs/RunEvent`.
        return Draft202012Validator(
            {"$ref": uri}, registry=registry, validate_formats=True, formats=unchecked, offline=True
        )

    facets: dict[FacetLevel, dict[str, Draft202012Validator]] = {level: {} for level in FacetLevel}
    for (level, key), uri in _facet_schema_uris(documents).items():
        facets[level][key] = validator(uri)
    events = {kind: validator(f"{CORE_SCHEMA_ID}#/$defs/{kind.value}") for kind in EventKind}
    return _Spec(events=events, facets=facets)


def _load_documents() -> dict[str, dict[str, Any]]:
    documents: dict[str, dict[str, Any]] = {}
    for path in [SPEC_DIR / "OpenLineage.json", *sorted((SPEC_DIR / "facets").glob("*.json"))]:
        contents = json.loads(path.read_text(encoding="utf-8"))
        uri = contents["$id"]
        if uri in documents:
            raise RuntimeError(f"Two shipped schemas have the $id {uri}; the second is {path.name}.")
        documents[uri] = contents
    if CORE_SCHEMA_ID not in documents:
        raise RuntimeError(f"spec/OpenLineage.json is not the {SPEC_VERSION} core schema.")
    return documents


def _format_names(schema: object) -> set[str]:
    if isinstance(schema, list):
        return {name for item in schema for name in _format_names(item)}
    if not isinstance(schema, dict):
        return set()
    names = {name for value in schema.values() for name in _format_names(value)}
    if isinstance(schema.get("format"), str):
        names.add(schema["format"])
    return names


def _any_string(value: str) -> bool:
    return True


_LEVEL_BY_BASE = {level.value: level for level in FacetLevel}


def _facet_schema_uris(documents: Mapping[str, Mapping[str, Any]]) -> dict[tuple[FacetLevel, str], str]:
    """Which schema validates a facet, by place and key, read off each facet file's own base definitions.

    Key alone is ambiguous (`tags` is a dataset, a job and a run facet; `dataQualityMetrics` a dataset and an
    input facet), and so are two files: LineageFacet.json is a dataset or a job facet and
    BaseSubsetDatasetFacet.json an input or an output facet. Those are split into their branches, so that an
    input facet is not accepted for being valid as an output facet.
    """
    uris: dict[tuple[FacetLevel, str], str] = {}
    for document_uri, document in documents.items():
        if document_uri == CORE_SCHEMA_ID:
            continue
        for key in document.get("properties", {}):
            for level, pointer in _levels(document, f"/properties/{_escape(key)}").items():
                if (level, key) in uris:
                    raise RuntimeError(
                        f"Two facet schemas define {key!r} as a {level}: {uris[level, key]}, {document_uri}."
                    )
                uris[level, key] = f"{document_uri}#{pointer}"
    return uris


def _levels(document: Mapping[str, Any], pointer: str) -> dict[FacetLevel, str]:
    """The places the subschema at `pointer` applies to, each with the narrowest subschema for that place."""
    node = _resolve(document, pointer)
    bases = _bases(document, node)
    if len(bases) == 1:
        return {bases.pop(): pointer}
    while isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
        pointer = node["$ref"][1:]
        node = _resolve(document, pointer)
    levels: dict[FacetLevel, str] = {}
    for keyword in ("anyOf", "oneOf"):
        for index, branch in enumerate(node.get(keyword, ())):
            ref = branch.get("$ref")
            branch_pointer = ref[1:] if isinstance(ref, str) and ref.startswith("#") else f"{pointer}/{keyword}/{index}"
            for level, narrowest in _levels(document, branch_pointer).items():
                if level in levels:
                    raise RuntimeError(f"{document['$id']}#{pointer} has two {level} branches.")
                levels[level] = narrowest
    if not levels:
        raise RuntimeError(f"{document['$id']}#{pointer} extends none of the core schema's facet definitions.")
    return levels


def _bases(document: Mapping[str, Any], node: Mapping[str, Any], depth: int = 0) -> set[FacetLevel]:
    """The core facet definitions a subschema extends, through $ref and allOf/anyOf/oneOf (not properties)."""
    if depth > 32:
        raise RuntimeError(f"{document['$id']}: $ref chain too deep or cyclic.")
    ref = node.get("$ref")
    if isinstance(ref, str):
        if ref.startswith("#"):
            return _bases(document, _resolve(document, ref[1:]), depth + 1)
        target, _, fragment = ref.partition("#")
        base = _LEVEL_BY_BASE.get(fragment.rsplit("/", 1)[-1]) if target == CORE_SCHEMA_ID else None
        return {base} if base is not None else set()
    found: set[FacetLevel] = set()
    for keyword in ("allOf", "anyOf", "oneOf"):
        for branch in node.get(keyword, ()):
            found |= _bases(document, branch, depth + 1)
    return found


def _resolve(document: Mapping[str, Any], pointer: str) -> Mapping[str, Any]:
    node: Any = document
    for token in pointer.split("/")[1:]:
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def _facet_maps(
    payload: Mapping[str, Any], kind: EventKind
) -> Iterator[tuple[InstancePath, FacetLevel, Mapping[str, Any]]]:
    """Every facets object of the event with its place. Wrongly typed members are the base schema's to report."""

    def facets(
        path: InstancePath, owner: object, member: str, level: FacetLevel
    ) -> Iterator[tuple[InstancePath, FacetLevel, Mapping[str, Any]]]:
        if isinstance(owner, dict) and isinstance(value := owner.get(member), dict):
            yield (*path, member), level, value

    if kind is EventKind.DATASET:
        yield from facets(("dataset",), payload.get("dataset"), "facets", FacetLevel.DATASET)
        return
    if kind is EventKind.RUN:
        yield from facets(("run",), payload.get("run"), "facets", FacetLevel.RUN)
    yield from facets(("job",), payload.get("job"), "facets", FacetLevel.JOB)
    for side, member, level in (
        ("inputs", "inputFacets", FacetLevel.INPUT),
        ("outputs", "outputFacets", FacetLevel.OUTPUT),
    ):
        datasets = payload.get(side)
        if isinstance(datasets, list):
            for index, dataset in enumerate(datasets):
                yield from facets((side, index), dataset, "facets", FacetLevel.DATASET)
                yield from facets((side, index), dataset, member, level)


def _leaves(error: ValidationError) -> list[ValidationError]:
    """The errors worth showing: an anyOf/oneOf failure by itself says only that no branch matched.

    The core schema wraps every facets object in a one-branch anyOf, whose errors are simply the facet's. Where
    there are several branches (subset conditions, lineage entries and inputs), they are told apart by a `type`
    constant: the branches whose constant the instance meets are the ones it was meant for, and of those the
    one whose errors reach deepest into the instance came closest. Preferring the shallowest error instead
    would blame a binary condition for lacking `locations`.
    """
    if not isinstance(error.kind, ValidationErrorKind.AnyOf | ValidationErrorKind.OneOfNotValid):
        return [error]  # oneOf matched by several branches says so itself, and its branches have no errors
    branches = [[leaf for sub_error in branch for leaf in _leaves(sub_error)] for branch in error.kind.context]
    branches = [leaves for leaves in branches if leaves]
    if len(branches) == 1:
        return branches[0]
    depth = len(error.instance_path)

    def discriminates(leaf: ValidationError) -> bool:
        return leaf.kind.name in ("const", "enum") and len(leaf.instance_path) <= depth + 1

    meant = [leaves for leaves in branches if not any(discriminates(leaf) for leaf in leaves)]
    if not meant:  # the constant itself is wrong: say which values each branch takes
        return [leaf for leaves in branches for leaf in leaves if discriminates(leaf)] or [error]
    return max(meant, key=lambda leaves: (max(len(leaf.instance_path) for leaf in leaves), -len(leaves)))


def _invalid(found: Iterable[Found]) -> InvalidEvent:
    return InvalidEvent(ErrorDetail(path=_render(path), message=_shorten(message)) for path, message in found)


def _in_document_order(error: tuple[str, str]) -> tuple[tuple[tuple[int, int, str], ...], str]:
    """inputs/2 before inputs/10: indexes compare as numbers, members as strings."""
    path, message = error
    tokens = path.split("/") if path else []
    return tuple(
        (0, int(token), "") if token.isascii() and token.isdigit() else (1, 0, token) for token in tokens
    ), message


def _render(path: InstancePath) -> str:
    return "/".join(_escape(str(part)) for part in path)


def _escape(token: str) -> str:
    """A JSON pointer token (RFC 6901): a facet or field name may itself hold a slash."""
    return token.replace("~", "~0").replace("/", "~1")


def _shorten(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE_LENGTH else message[: MAX_MESSAGE_LENGTH - 1] + "…"


def _summary(errors: list[ErrorDetail], total: int) -> str:
    if not errors:
        return "Invalid OpenLineage event."
    first = errors[0]
    where = first["path"] or "the event"
    if total == 1:
        return f"Invalid OpenLineage event: {where}: {first['message']}"
    listed = f", the first {len(errors)} listed" if total > len(errors) else ""
    return f"Invalid OpenLineage event: {total} errors{listed}; first at {where}: {first['message']}"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__
