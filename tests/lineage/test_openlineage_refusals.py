"""Broken OpenLineage events are refused with the path of what is broken and why; errors come in document
order, at most fifty, with short messages; nesting is bounded."""

import copy
from typing import Any

import pytest

from lineage.openlineage import (
    EventKind,
    FacetLevel,
    InvalidEvent,
    event_kind,
    validate_event,
    validation,
)
from tests.lineage.spec_events import (
    EXAMPLES,
    PRODUCER,
    RUN_ID,
    changed,
    embed,
    facet,
    load,
    run_event,
    without,
)

REFUSED = [
    pytest.param(without(run_event(), "eventTime"), "", '"eventTime" is a required property', id="missing-eventTime"),
    pytest.param(
        changed(run_event(), "run/runId", "run-42"), "run/runId", '"run-42" is not a "uuid"', id="runId-not-a-uuid"
    ),
    pytest.param(
        changed(run_event(), "run/runId", RUN_ID.replace("-", "")),
        "run/runId",
        'is not a "uuid"',
        id="runId-unhyphenated",
    ),
    pytest.param(
        changed(run_event(), "eventTime", "yesterday"),
        "eventTime",
        '"yesterday" is not a "date-time"',
        id="eventTime-not-a-date-time",
    ),
    pytest.param(
        changed(run_event(), "eventTime", "2025-03-01"),
        "eventTime",
        'is not a "date-time"',
        id="eventTime-a-date-alone",
    ),
    pytest.param(
        changed(run_event(), "eventTime", "2025-03-01T12:00:00"),
        "eventTime",
        'is not a "date-time"',
        id="eventTime-without-offset",
    ),
    pytest.param(
        changed(run_event(), "eventTime", "2025-02-30T12:00:00Z"),
        "eventTime",
        'is not a "date-time"',
        id="eventTime-February-30",
    ),
    pytest.param(
        changed(run_event(), "eventTime", "2016-12-31T12:59:60Z"),
        "eventTime",
        'is not a "date-time"',
        id="eventTime-leap-second-not-at-midnight-UTC",
    ),
    pytest.param(
        changed(run_event(), "outputs/0/facets", {"schema": facet("SchemaDatasetFacet", fields={"id": "BIGINT"})}),
        "outputs/0/facets/schema/fields",
        '{"id":"BIGINT"} is not of type "array"',
        id="schema-fields-not-a-list",
    ),
    pytest.param(
        changed(
            run_event(),
            "outputs/0/facets",
            {"columnLineage": facet("ColumnLineageDatasetFacet", fields={"id": {"transformationType": "IDENTITY"}})},
        ),
        "outputs/0/facets/columnLineage/fields/id",
        '"inputFields" is a required property',
        id="columnLineage-without-inputFields",
    ),
    pytest.param(
        changed(run_event(), "inputs/0", {"namespace": "postgres://db:5432"}),
        "inputs/0",
        '"name" is a required property',
        id="dataset-without-name",
    ),
    pytest.param(
        changed(
            run_event(),
            "run/facets",
            {"nominalTime": {"_schemaURL": "https://x", "nominalStartTime": "2025-03-01T00:00:00Z"}},
        ),
        "run/facets/nominalTime",
        '"_producer" is a required property',
        id="facet-without-producer",
    ),
    pytest.param(
        changed(run_event(), "run/facets", {"nominalTime": facet("NominalTimeRunFacet", nominalStartTime="midnight")}),
        "run/facets/nominalTime/nominalStartTime",
        '"midnight" is not a "date-time"',
        id="facet-date-time",
    ),
    pytest.param(
        changed(run_event(), "eventType", "DONE"), "eventType", '"DONE" is not one of', id="eventType-not-in-enum"
    ),
    pytest.param(changed(run_event(), "job", None), "job", 'null is not of type "object"', id="job-null"),
]


@pytest.mark.parametrize(("payload", "path", "message"), REFUSED)
def test_it_refuses_a_broken_event_where_it_breaks(payload, path, message):
    with pytest.raises(InvalidEvent) as caught:
        validate_event(payload)
    assert [error["path"] for error in caught.value.errors] == [path]
    assert message in caught.value.errors[0]["message"]
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "event_time",
    [
        "2025-03-01t12:00:00z",
        "2025-03-01T12:00:00.123456789+05:30",
        "2016-12-31T23:59:60Z",  # RFC 3339's leap second, at 23:59:60 UTC
        "2016-12-31T15:59:60-08:00",
    ],
)
def test_it_accepts_rfc_3339_date_times(event_time):
    assert validate_event(run_event(eventTime=event_time)) is EventKind.RUN


def test_it_accepts_a_run_id_in_upper_case():
    assert validate_event(changed(run_event(), "run/runId", RUN_ID.upper())) is EventKind.RUN


def test_it_checks_no_format_but_date_time_and_uuid():
    # `uri` is an annotation only: producer, _producer and _schemaURL are not refused for their spelling.
    lineage = changed(run_event(producer="airflow"), "run/facets", {"acme": facet("Acme")})
    lineage["run"]["facets"]["acme"]["_producer"] = "spark 3.5"
    assert validate_event(lineage) is EventKind.RUN


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param([run_event()], id="array"),
        pytest.param("an event", id="string"),
        pytest.param(None, id="null"),
        pytest.param(42, id="number"),
    ],
)
def test_it_refuses_what_is_not_an_object(payload):
    with pytest.raises(InvalidEvent) as caught:
        validate_event(payload)
    assert caught.value.errors[0]["path"] == ""
    assert "must be a JSON object" in caught.value.errors[0]["message"]


def test_it_refuses_an_object_that_is_no_kind_of_event():
    with pytest.raises(InvalidEvent) as caught:
        event_kind({"eventTime": "2025-03-01T12:00:00Z", "producer": PRODUCER})
    assert [error["path"] for error in caught.value.errors] == [""]
    assert "'run'" in str(caught.value)


def test_it_lists_every_error_in_document_order_and_at_most_fifty():
    event = run_event(inputs=[{"namespace": "postgres://db:5432"} for _ in range(60)])
    event["run"]["runId"] = "not-a-uuid"
    with pytest.raises(InvalidEvent) as caught:
        validate_event(event)
    paths = [error["path"] for error in caught.value.errors]
    assert len(paths) == 50
    assert caught.value.total == 61
    assert paths[:3] == ["inputs/0", "inputs/1", "inputs/2"]  # inputs/10 comes after inputs/9
    assert paths[10] == "inputs/10"
    assert "61 errors" in str(caught.value)


def test_it_orders_and_counts_errors_whoever_raises_it():
    error = InvalidEvent(
        [
            {"path": "outputs/10/name", "message": "too long"},
            {"path": "outputs/9/name", "message": "too long"},
            {"path": "", "message": "unknown job"},
            {"path": "outputs/9/name", "message": "too long"},
            {"path": "outputs/²", "message": "odd"},
        ]
    )
    assert [entry["path"] for entry in error.errors] == ["", "outputs/9/name", "outputs/10/name", "outputs/²"]
    assert error.total == 4
    assert str(error) == "Invalid OpenLineage event: 4 errors; first at the event: unknown job"


def test_it_points_into_the_alternative_a_subset_condition_meant():
    facets = load(EXAMPLES / "BaseSubsetDatasetFacet" / "2.json")
    condition = facets["subset"]["inputCondition"]  # binary: a compare AND a compare
    condition["left"]["left"] = {"type": "field"}
    condition["right"]["comparison"] = 3
    with pytest.raises(InvalidEvent) as caught:
        validate_event(embed(facets, FacetLevel.INPUT))
    # Not "'locations' is a required property": the `type` constants say which condition each one is.
    assert caught.value.errors == [
        {"path": "inputs/0/inputFacets/subset/inputCondition/left/left", "message": '"field" is a required property'},
        {"path": "inputs/0/inputFacets/subset/inputCondition/right/comparison", "message": '3 is not of type "string"'},
    ]


def test_it_names_the_allowed_types_when_a_lineage_input_has_none_of_them():
    facets = load(EXAMPLES / "LineageFacet" / "mixed-sources.json")
    facets["lineage"]["entries"][0]["inputs"][1]["type"] = "JOBS"
    with pytest.raises(InvalidEvent) as caught:
        validate_event(embed(facets, FacetLevel.JOB))
    assert caught.value.errors == [
        {"path": "job/facets/lineage/entries/0/inputs/1/type", "message": '"JOBS" is not one of "DATASET"'},
        {"path": "job/facets/lineage/entries/0/inputs/1/type", "message": '"JOBS" is not one of "JOB"'},
    ]


def test_it_escapes_slashes_in_paths():
    lineage = facet("ColumnLineageDatasetFacet", fields={"a/b": {}})
    with pytest.raises(InvalidEvent) as caught:
        validate_event(changed(run_event(), "outputs/0/facets", {"columnLineage": lineage}))
    assert caught.value.errors[0]["path"] == "outputs/0/facets/columnLineage/fields/a~1b"


def nested_structs(levels: int) -> dict[str, Any]:
    """A schema facet whose first field holds `levels` nested structs: the event nests 7 + 2 * levels deep."""
    field: dict[str, Any] = {"name": "leaf"}
    for depth in range(levels):
        field = {"name": f"struct_{depth}", "fields": [field]}
    return changed(run_event(), "outputs/0/facets", {"schema": facet("SchemaDatasetFacet", fields=[field])})


def custom_facet_nested(depth: int) -> dict[str, Any]:
    """A run event that nests `depth` deep, in a custom run facet: the event, run, facets, the facet and then some."""
    value: dict[str, Any] = {}
    for _ in range(depth - 5):
        value = {"deeper": value}
    return run_event(run={"runId": RUN_ID, "facets": {"acme": facet("Acme", deep=value)}})


def subset_conditions_nested(levels: int) -> dict[str, Any]:
    """An input subset whose condition is `levels` binary conditions deep, with a broken one at the bottom."""
    facets = load(EXAMPLES / "BaseSubsetDatasetFacet" / "2.json")
    condition = facets["subset"]["inputCondition"]
    node = copy.deepcopy(condition["left"])
    node["left"] = {"type": "field"}
    for _ in range(levels):
        node = {**copy.deepcopy(condition), "left": node}
    facets["subset"]["inputCondition"] = node
    return embed(facets, FacetLevel.INPUT)


# 100,000 levels would overflow jsonschema-rs's native stack: a segfault, were the event not refused before.
@pytest.mark.parametrize("levels", [2_000, 100_000])
def test_it_refuses_an_event_nested_too_deeply_to_validate(levels):
    with pytest.raises(InvalidEvent) as caught:
        validate_event(nested_structs(levels))
    assert caught.value.errors == [{"path": "", "message": "The event is nested too deeply to validate."}]


def test_it_counts_the_depth_of_any_member():
    assert validate_event(custom_facet_nested(validation.MAX_DEPTH)) is EventKind.RUN
    with pytest.raises(InvalidEvent, match="nested too deeply"):
        validate_event(custom_facet_nested(validation.MAX_DEPTH + 1))


def test_it_validates_structs_nested_as_deep_as_allowed():
    levels = (validation.MAX_DEPTH - 7) // 2
    assert validate_event(nested_structs(levels)) is EventKind.RUN
    broken = nested_structs(levels)
    leaf = broken["outputs"][0]["facets"]["schema"]["fields"][0]
    while "fields" in leaf:
        leaf = leaf["fields"][0]
    leaf["fields"] = "none"
    with pytest.raises(InvalidEvent) as caught:
        validate_event(broken)
    assert caught.value.errors[0]["message"] == '"none" is not of type "array"'


def test_it_reports_the_errors_of_an_event_as_deep_as_allowed():
    # The error for a missing job is about the whole event, all of it as deep as allowed.
    with pytest.raises(InvalidEvent) as caught:
        validate_event(without(custom_facet_nested(validation.MAX_DEPTH), "job"))
    assert caught.value.errors == [{"path": "", "message": '"job" is a required property'}]
    # Every binary condition is a oneOf whose errors are collected by validating the branch again.
    levels = validation.MAX_DEPTH - 7  # the event, inputs, the input, inputFacets, subset; a compare and a field
    with pytest.raises(InvalidEvent) as caught:
        validate_event(subset_conditions_nested(levels))
    path = "inputs/0/inputFacets/subset/inputCondition/" + "left/" * (levels + 1)
    assert caught.value.errors == [{"path": path.rstrip("/"), "message": '"field" is a required property'}]


def test_it_keeps_messages_short():
    with pytest.raises(InvalidEvent) as caught:
        validate_event(changed(run_event(), "eventTime", "x" * 100_000))
    assert len(caught.value.errors[0]["message"]) <= validation.MAX_MESSAGE_LENGTH
