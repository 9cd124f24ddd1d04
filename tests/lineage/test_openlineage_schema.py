"""OpenLineage events against the specification's own schemas: the project's examples pass, and broken events are
refused with the path of what is broken."""

import copy
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from lineage.openlineage import (
    SPEC_VERSION,
    EventKind,
    FacetLevel,
    InvalidEvent,
    event_kind,
    known_facets,
    validate_event,
    validation,
)

EXAMPLES = Path(__file__).parent / "openlineage_examples"
PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.30.0/client/python"
RUN_ID = "0195c2a4-6f1e-7d4b-9a8e-3c1f2b9d4e5a"


def facet(schema: str, /, **members: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"https://openlineage.io/spec/facets/1-0-0/{schema}.json", **members}


def run_event(**members: Any) -> dict[str, Any]:
    """A minimal valid RunEvent with one input and one output, each with room for facets."""
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2025-03-01T12:00:00.123456+00:00",
        "producer": PRODUCER,
        "schemaURL": f"https://openlineage.io/spec/{SPEC_VERSION}/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": RUN_ID, "facets": {}},
        "job": {"namespace": "airflow", "name": "daily.load", "facets": {}},
        "inputs": [{"namespace": "postgres://db:5432", "name": "public.orders", "facets": {}, "inputFacets": {}}],
        "outputs": [{"namespace": "postgres://db:5432", "name": "public.summary", "facets": {}, "outputFacets": {}}],
    }
    event.update(members)
    return event


def dataset_event(**facets: Any) -> dict[str, Any]:
    return {
        "eventTime": "2025-03-01T12:00:00Z",
        "producer": PRODUCER,
        "schemaURL": f"https://openlineage.io/spec/{SPEC_VERSION}/OpenLineage.json#/$defs/DatasetEvent",
        "dataset": {"namespace": "postgres://db:5432", "name": "public.orders", "facets": facets},
    }


def job_event(**facets: Any) -> dict[str, Any]:
    return {
        "eventTime": "2025-03-01T12:00:00Z",
        "producer": PRODUCER,
        "schemaURL": f"https://openlineage.io/spec/{SPEC_VERSION}/OpenLineage.json#/$defs/JobEvent",
        "job": {"namespace": "airflow", "name": "daily.load", "facets": facets},
        "inputs": [{"namespace": "postgres://db:5432", "name": "public.orders"}],
        "outputs": [{"namespace": "postgres://db:5432", "name": "public.summary"}],
    }


def realistic_event() -> dict[str, Any]:
    """What Spark or Airflow send: two inputs, one output with a 20-field schema and column lineage."""
    fields = [{"name": f"col_{index}", "type": "BIGINT" if index % 2 else "VARCHAR"} for index in range(20)]
    return run_event(
        run={
            "runId": RUN_ID,
            "facets": {
                "nominalTime": facet("NominalTimeRunFacet", nominalStartTime="2025-03-01T00:00:00Z"),
                "parent": facet("ParentRunFacet", run={"runId": RUN_ID}, job={"namespace": "airflow", "name": "daily"}),
                "processing_engine": facet("ProcessingEngineRunFacet", version="3.5.0", name="spark"),
            },
        },
        job={
            "namespace": "airflow",
            "name": "daily.load",
            "facets": {
                "jobType": facet("JobTypeJobFacet", processingType="BATCH", integration="SPARK", jobType="TASK"),
                "sql": facet("SQLJobFacet", query="INSERT INTO summary SELECT * FROM orders JOIN customers"),
            },
        },
        inputs=[
            {
                "namespace": "postgres://db:5432",
                "name": f"public.{name}",
                "facets": {"schema": facet("SchemaDatasetFacet", fields=fields[:10])},
                "inputFacets": {"inputStatistics": facet("InputStatisticsInputDatasetFacet", rowCount=1000)},
            }
            for name in ("orders", "customers")
        ],
        outputs=[
            {
                "namespace": "postgres://db:5432",
                "name": "public.summary",
                "facets": {
                    "schema": facet("SchemaDatasetFacet", fields=fields),
                    "columnLineage": facet(
                        "ColumnLineageDatasetFacet",
                        fields={
                            field["name"]: {
                                "inputFields": [
                                    {
                                        "namespace": "postgres://db:5432",
                                        "name": "public.orders",
                                        "field": field["name"],
                                        "transformations": [{"type": "DIRECT", "subtype": "IDENTITY"}],
                                    }
                                ]
                            }
                            for field in fields
                        },
                    ),
                },
                "outputFacets": {"outputStatistics": facet("OutputStatisticsOutputDatasetFacet", rowCount=20)},
            }
        ],
    )


# --- The project's examples ---------------------------------------------------------------------------------

SUFFIXES = [
    ("InputDatasetFacet", FacetLevel.INPUT),
    ("OutputDatasetFacet", FacetLevel.OUTPUT),
    ("DatasetFacet", FacetLevel.DATASET),
    ("RunFacet", FacetLevel.RUN),
    ("JobFacet", FacetLevel.JOB),
]
# Where a directory's name and its facet's schema disagree, the schema decides: both extend InputDatasetFacet
# (every subset example carries an inputCondition), so as dataset facets they would only meet the base schema.
PLACED_BY_SCHEMA = {
    "BaseSubsetDatasetFacet": FacetLevel.INPUT,
    "DataQualityAssertionsDatasetFacet": FacetLevel.INPUT,
}


def place(example: Path, facets: dict[str, Any]) -> FacetLevel:
    directory = example.parent.name
    if directory == "LineageFacet":  # one file, two places: each example names its definition in _schemaURL
        (lineage,) = facets.values()
        return FacetLevel.DATASET if lineage["_schemaURL"].endswith("/LineageDatasetFacet") else FacetLevel.JOB
    if directory in PLACED_BY_SCHEMA:
        return PLACED_BY_SCHEMA[directory]
    return next(level for suffix, level in SUFFIXES if directory.endswith(suffix))


def embed(facets: dict[str, Any], level: FacetLevel) -> dict[str, Any]:
    event = run_event()
    owner, member = {
        FacetLevel.RUN: (event["run"], "facets"),
        FacetLevel.JOB: (event["job"], "facets"),
        FacetLevel.DATASET: (event["outputs"][0], "facets"),
        FacetLevel.INPUT: (event["inputs"][0], "inputFacets"),
        FacetLevel.OUTPUT: (event["outputs"][0], "outputFacets"),
    }[level]
    owner[member] = copy.deepcopy(facets)
    return event


FACET_EXAMPLES = sorted(EXAMPLES.glob("*/*.json"))


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_examples_were_copied():
    assert (EXAMPLES / "example_full_event.json").is_file()
    assert len(FACET_EXAMPLES) >= 40


def test_it_accepts_the_full_example_event():
    # It carries run, job and dataset: a RunEvent, whose schema lets the stray dataset through.
    assert validate_event(load(EXAMPLES / "example_full_event.json")) is EventKind.RUN


@pytest.mark.parametrize("example", FACET_EXAMPLES, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_it_accepts_each_facet_example_where_its_schema_puts_it(example):
    facets = load(example)
    level = place(example, facets)
    # Not vacuous: each key is a known facet there, so its own schema was applied, not the base schema alone.
    assert set(facets) <= known_facets(level)
    assert validate_event(embed(facets, level)) is EventKind.RUN


def test_it_accepts_a_realistic_event():
    assert validate_event(realistic_event()) is EventKind.RUN


def test_it_refuses_an_input_subset_among_output_facets():
    facets = load(EXAMPLES / "BaseSubsetDatasetFacet" / "1.json")
    with pytest.raises(InvalidEvent) as caught:
        validate_event(embed(facets, FacetLevel.OUTPUT))
    assert caught.value.errors == [
        {"path": "outputs/0/outputFacets/subset", "message": '"outputCondition" is a required property'}
    ]


# --- Refusals -----------------------------------------------------------------------------------------------


def without(event: dict[str, Any], member: str) -> dict[str, Any]:
    event.pop(member)
    return event


def changed(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = [int(part) if part.isdigit() else part for part in path.split("/")]
    owner: Any = event
    for part in parents:
        owner = owner[part]
    owner[last] = value
    return event


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


# --- Kinds, custom facets, deleted facets -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        pytest.param(run_event(), EventKind.RUN, id="run"),
        pytest.param(dataset_event(), EventKind.DATASET, id="dataset"),
        pytest.param(job_event(), EventKind.JOB, id="job"),
    ],
)
def test_it_recognises_each_kind_of_event(payload, kind):
    assert event_kind(payload) is kind
    assert validate_event(payload) is kind


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        pytest.param({"run": {}, "job": {}, "dataset": {}}, EventKind.RUN, id="run-wins"),
        # Valid as both a DatasetEvent and a JobEvent, which is why the schema's top-level oneOf refuses it.
        pytest.param({"job": {}, "dataset": {}}, EventKind.JOB, id="job-with-dataset"),
        pytest.param({"dataset": {}}, EventKind.DATASET, id="dataset-alone"),
        pytest.param({"run": {}}, EventKind.RUN, id="run-without-job"),
    ],
)
def test_it_decides_the_kind_by_members(payload, kind):
    assert event_kind(payload) is kind


def test_it_validates_a_dataset_event_facets():
    with pytest.raises(InvalidEvent) as caught:
        validate_event(dataset_event(schema=facet("SchemaDatasetFacet", fields=[{"type": "BIGINT"}])))
    assert caught.value.errors[0]["path"] == "dataset/facets/schema/fields/0"


def test_it_refuses_a_run_event_without_a_job():
    with pytest.raises(InvalidEvent) as caught:
        validate_event(without(run_event(), "job"))
    assert caught.value.errors == [{"path": "", "message": '"job" is a required property'}]


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(run_event(run={"runId": RUN_ID, "facets": {"acme_cost": facet("AcmeCost", dollars=3)}}), id="run"),
        pytest.param(job_event(acme_owner=facet("AcmeOwner", team="data")), id="job"),
        pytest.param(dataset_event(acme_tier=facet("AcmeTier", tier=1)), id="dataset"),
        # A known key elsewhere is custom here: `sql` is a job facet, not a run facet.
        pytest.param(
            run_event(run={"runId": RUN_ID, "facets": {"sql": facet("Sql", query=42)}}), id="known-key-elsewhere"
        ),
    ],
)
def test_it_accepts_custom_facets(payload):
    validate_event(payload)


def test_it_holds_custom_facets_to_the_base_facet_schema():
    with pytest.raises(InvalidEvent) as caught:
        validate_event(run_event(run={"runId": RUN_ID, "facets": {"acme_cost": {"dollars": 3}}}))
    assert {error["message"] for error in caught.value.errors} == {
        '"_producer" is a required property',
        '"_schemaURL" is a required property',
    }


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(dataset_event(schema={"_deleted": True}, acme_tier={"_deleted": True}), id="dataset-event"),
        pytest.param(job_event(sql={"_deleted": True}), id="job-event"),
        pytest.param(
            changed(run_event(), "inputs/0/facets", {"columnLineage": {"_deleted": True}}), id="input-dataset"
        ),
        pytest.param(
            changed(run_event(), "job/facets", {"ownership": facet("Ownership", _deleted=True)}), id="with-base"
        ),
    ],
)
def test_it_accepts_deleted_dataset_and_job_facets(payload):
    validate_event(payload)


def test_it_refuses_a_deleted_run_facet():
    # The core schema declares _deleted on dataset and job facets only: run facets describe one run.
    with pytest.raises(InvalidEvent):
        validate_event(run_event(run={"runId": RUN_ID, "facets": {"nominalTime": {"_deleted": True}}}))


# --- Offline ------------------------------------------------------------------------------------------------


def test_it_builds_and_validates_without_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("validation tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    validation._spec.cache_clear()
    try:
        assert validate_event(realistic_event()) is EventKind.RUN
        with pytest.raises(InvalidEvent):
            validate_event(changed(realistic_event(), "outputs/0/facets/schema/fields/3", {}))
    finally:
        validation._spec.cache_clear()


def test_it_refuses_to_build_on_a_schema_it_does_not_ship(monkeypatch):
    documents = validation._load_documents()
    elsewhere = "https://example.com/Elsewhere.json"
    documents[elsewhere] = {"$id": elsewhere, "$ref": "https://openlineage.io/spec/facets/9-9-9/Missing.json"}
    monkeypatch.setattr(validation, "_load_documents", lambda: documents)
    validation._spec.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"Missing\.json"):
            validation._spec()
    finally:
        validation._spec.cache_clear()


@pytest.mark.parametrize("bad", ["\x00", "\ud800"])
def test_it_refuses_unstorable_text_in_names_facet_keys_and_values(bad):
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-01T12:00:00Z",
        "producer": "https://example.com/trainer",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "0195c2a8-6a2b-7d7e-9d62-5a0f8c9d2b11", "facets": {f"k{bad}": {"v": 1}}},
        "job": {"namespace": "ml", "name": f"build{bad}"},
        "inputs": [{"namespace": "s3://raw", "name": "clicks", "facets": {"custom": {"v": [f"x{bad}"]}}}],
    }

    with pytest.raises(InvalidEvent) as caught:
        validate_event(event)

    paths = {error["path"] for error in caught.value.errors}
    assert paths == {"run/facets", "job/name", "inputs/0/facets/custom/v/0"}
    assert all(error["message"].isascii() for error in caught.value.errors)
