"""OpenLineage events against the specification's own schemas: the project's examples pass, each kind of event
is recognised, custom and deleted facets are held to what the schemas say, and nothing is fetched over the network.
Broken events are in test_openlineage_refusals.py."""

import socket
from pathlib import Path
from typing import Any

import pytest

from lineage.openlineage import (
    EventKind,
    FacetLevel,
    InvalidEvent,
    event_kind,
    known_facets,
    validate_event,
    validation,
)
from tests.lineage.spec_events import (
    EXAMPLES,
    RUN_ID,
    changed,
    dataset_event,
    embed,
    facet,
    job_event,
    load,
    realistic_event,
    run_event,
    without,
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


FACET_EXAMPLES = sorted(EXAMPLES.glob("*/*.json"))


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
