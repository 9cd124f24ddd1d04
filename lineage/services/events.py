"""An OpenLineage event as the projection reads it: the datasets it names, its times, and the limits
on what one event may write, checked before anything is."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from django.conf import settings

from config import errors
from config.moments import moment_in_utc
from lineage.choices import Direction
from lineage.openlineage import ErrorDetail, EventKind, InvalidEvent
from lineage.selectors import Identity

# The widest identities and field names the catalog stores; longer ones are refused, never cut.
MAX_NAMESPACE = 255
MAX_NAME = 512
MAX_FIELD = 1024


@dataclass
class _EventDataset:
    """One dataset as an event names it, with the facets it carries at its level."""

    identity: Identity
    direction: str | None
    facets: dict[str, Any]
    io_facets: dict[str, Any]

    @property
    def symlinks(self) -> list[tuple[Identity, str]]:
        facet = self.facets.get("symlinks") or {}
        return [
            ((item["namespace"], item["name"]), str(item.get("type", "")))
            for item in facet.get("identifiers", [])
            if isinstance(item, dict) and "namespace" in item and "name" in item
        ]


# An event's canonical JSON: keys sorted, no spaces, text as UTF-8 (escaping only what JSON must), and
# each float in the shortest form that reads back as the same number, by msgspec: six times faster
# than the standard library's encoder, which took a fifth of the time of recording an event.
_CANONICAL = msgspec.json.Encoder(order="sorted")


def _canonical(payload: Mapping[str, Any]) -> bytes:
    return _CANONICAL.encode(payload)


def _event_time(text: str, path: str = "eventTime") -> datetime:
    try:
        return moment_in_utc(datetime.fromisoformat(text))
    except ValueError as exc:  # MomentOutOfRange included
        raise InvalidEvent([{"path": path, "message": f"{text!r} is not a usable date-time: {exc}"}]) from None


def _time_key(moment: datetime) -> str:
    # One fixed UTC format, so stored times compare as strings.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _parse_datasets(kind: str, payload: Mapping[str, Any]) -> list[_EventDataset]:
    found: list[_EventDataset] = []
    if kind == EventKind.DATASET:
        item = payload["dataset"]
        found.append(_EventDataset((item["namespace"], item["name"]), None, dict(item.get("facets") or {}), {}))
        return found
    for key, direction, io_key in (
        ("inputs", Direction.INPUT, "inputFacets"),
        ("outputs", Direction.OUTPUT, "outputFacets"),
    ):
        for item in payload.get(key) or []:
            found.append(
                _EventDataset(
                    (item["namespace"], item["name"]),
                    direction,
                    dict(item.get("facets") or {}),
                    dict(item.get(io_key) or {}),
                )
            )
    return found


def _column_lineage_identities(datasets: Sequence[_EventDataset]) -> set[Identity]:
    found: set[Identity] = set()
    for item in datasets:
        facet = item.facets.get("columnLineage") or {}
        for spec in (facet.get("fields") or {}).values():
            for source in spec.get("inputFields") or []:
                found.add((source["namespace"], source["name"]))
        for source in _dataset_wide(facet):
            found.add((source["namespace"], source["name"]))
    return found


def _dataset_wide(facet: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The columnLineage facet's `dataset` entries: input fields that affect the whole output dataset
    (joins, filters, grouping, sorting, window functions)."""
    return [entry for entry in facet.get("dataset") or [] if isinstance(entry, dict)]


def _output_fields(item: _EventDataset) -> list[str]:
    """The fields of an event's dataset that dataset-wide column lineage reaches: those its
    columnLineage facet maps and those its schema facet lists, in that order."""
    facet = item.facets.get("columnLineage") or {}
    names = list(facet.get("fields") or {})
    for entry in (item.facets.get("schema") or {}).get("fields") or []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            names.append(entry["name"])
    return list(dict.fromkeys(names))


def _check_sizes(payload: Mapping[str, Any], datasets: Sequence[_EventDataset], extra: Iterable[Identity]) -> None:
    errors: list[ErrorDetail] = []

    def check(identity: Identity, where: str) -> None:
        namespace, name = identity
        if len(namespace) > MAX_NAMESPACE:
            errors.append(ErrorDetail(path=where, message=f"namespace is longer than {MAX_NAMESPACE} characters"))
        if len(name) > MAX_NAME:
            errors.append(ErrorDetail(path=where, message=f"name is longer than {MAX_NAME} characters"))

    job = payload.get("job")
    if isinstance(job, dict):
        check((job["namespace"], job["name"]), "job")
    for item in datasets:
        check(item.identity, f"dataset {item.identity[0]}:{item.identity[1]}"[:200])
        for alias, _ in item.symlinks:
            check(alias, "facets/symlinks")
        facet = item.facets.get("columnLineage") or {}
        names = [source.get("field", "") for source in _dataset_wide(facet)]
        for output_field, spec in (facet.get("fields") or {}).items():
            names += [output_field, *(source.get("field", "") for source in spec.get("inputFields") or [])]
        if any(len(name) > MAX_FIELD for name in names) or (
            _dataset_wide(facet) and any(len(name) > MAX_FIELD for name in _output_fields(item))
        ):
            errors.append(ErrorDetail(path="facets/columnLineage", message=f"a field name is longer than {MAX_FIELD}"))
    for identity in extra:
        check(identity, "facets/columnLineage/inputFields")
    if errors:
        raise InvalidEvent(errors)


class EventTooLarge(errors.TooLarge):
    """An event that would write more lineage than one event may: refused whole, nothing written.
    Its counts (inputs, outputs, edges, ...) travel into the problem document."""

    code = "too_much_lineage"


def _check_bounds(datasets: Sequence[_EventDataset]) -> None:
    """Every input of an event is joined to every output, so a few hundred names make tens of
    thousands of edges (and change-log rows): the product is bounded, as are column-lineage entries."""
    inputs = len({item.identity for item in datasets if item.direction == Direction.INPUT})
    outputs = len({item.identity for item in datasets if item.direction == Direction.OUTPUT})
    limit = settings.CATALOG_LINEAGE_MAX_EDGES
    if inputs * outputs > limit:
        raise EventTooLarge(
            f"The event joins {inputs} inputs to {outputs} outputs, {inputs * outputs} edges; one event may "
            f"report at most {limit} (CATALOG_LINEAGE_MAX_EDGES). Split it into several events.",
            inputs=inputs,
            outputs=outputs,
            edges=inputs * outputs,
            limit=limit,
        )
    entries = 0
    for item in datasets:
        facet = item.facets.get("columnLineage") or {}
        for spec in (facet.get("fields") or {}).values():
            entries += len(spec.get("inputFields") or [])
        # Each dataset-wide input field reaches every field of the output.
        entries += len(_dataset_wide(facet)) * len(_output_fields(item))
    column_limit = settings.CATALOG_LINEAGE_MAX_COLUMN_EDGES
    if entries > column_limit:
        raise EventTooLarge(
            f"The event's columnLineage facets hold {entries} input fields; one event may report at most "
            f"{column_limit} (CATALOG_LINEAGE_MAX_COLUMN_EDGES). Split it into several events.",
            column_entries=entries,
            limit=column_limit,
        )


def _merge_facets(facets: dict[str, Any], times: dict[str, str], incoming: Mapping[str, Any], moment: datetime) -> bool:
    """Keep, for each facet, the value of the latest event that carried it, whatever the arrival order."""
    stamp = _time_key(moment)
    changed = False
    for key, value in incoming.items():
        if times.get(key, "") > stamp:
            continue
        if isinstance(value, dict) and value.get("_deleted") is True:
            changed |= facets.pop(key, None) is not None
        elif facets.get(key) != value:
            facets[key] = value
            changed = True
        times[key] = stamp
    return changed
