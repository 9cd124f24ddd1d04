"""What ingest used to drop: dataset-wide column dependencies and lifecycle state changes, from the
OpenLineage project's own Hive and Spark integration events."""

import pytest

from catalog.models import Dataset
from governance.models import Change
from lineage.models import ColumnLineage, ReportedDataset
from tests.factories import DatasetFactory, OwnershipFactory
from tests.lineage.fixtures import fixture_event

pytestmark = pytest.mark.django_db

WAREHOUSE = "/opt/hive/data/warehouse/test.db/"


def _lineage(output: str) -> dict:
    rows = ColumnLineage.objects.filter(output_dataset__name=WAREHOUSE + output).select_related("input_dataset")
    return {
        (row.output_field, row.input_dataset.name.removeprefix(WAREHOUSE), row.input_field): [
            (item["type"], item["subtype"]) for item in row.transformations
        ]
        for row in rows
    }


def test_it_stores_dataset_wide_dependencies_as_edges_into_every_output_field(send):
    send(fixture_event("cllSimpleQueryIndirect", job="test.xxx_from_t1"))

    # Marquez's reading: the filter on t1.b reaches every field of the output.
    assert _lineage("xxx") == {
        ("a", "t1", "a"): [("DIRECT", "IDENTITY")],
        ("a", "t1", "b"): [("INDIRECT", "FILTER")],
    }
    assert ColumnLineage.objects.filter(status="confirmed").count() == 2


def test_it_adds_dataset_wide_transformations_to_a_direct_dependency_of_the_same_fields(send, owner_client):
    send(fixture_event("cllMultiInsertsComplete", job="test.multi_insert"))

    assert _lineage("t1") == {
        ("id", "t3", "id"): [("DIRECT", "TRANSFORMATION"), ("INDIRECT", "JOIN")],
        ("id", "t4", "id"): [("INDIRECT", "JOIN")],
        ("name", "t4", "name"): [("DIRECT", "IDENTITY")],
        ("name", "t3", "id"): [("INDIRECT", "JOIN")],
        ("name", "t4", "id"): [("INDIRECT", "JOIN")],
    }
    assert _lineage("t2")[("id", "t4", "name")] == [("INDIRECT", "GROUP_BY")]
    assert _lineage("t2")[("name", "t4", "name")] == [("DIRECT", "IDENTITY"), ("INDIRECT", "GROUP_BY")]
    # The column-lineage read returns them with their transformations.
    answer = owner_client.get("/api/v1/column-lineage", {"nodeId": f"datasetField:file:{WAREHOUSE}t1:name", "depth": 1})
    assert answer.status_code == 200, answer.content
    node = {item["id"]: item for item in answer.json()["graph"]}[f"datasetField:file:{WAREHOUSE}t1:name"]
    upstream = {(entry["name"].removeprefix(WAREHOUSE), entry["field"]) for entry in node["data"]["input_fields"]}
    assert upstream == {("t4", "name"), ("t3", "id"), ("t4", "id")}


def test_a_drop_deprecates_the_dataset_its_sender_may_write(send, owner):
    event = fixture_event("pysparkV2DropTableCompleteEvent", job="drop_table.iceberg_drop_table_test")

    send(event)

    dropped = Dataset.objects.get(name="/tmp/iceberg/default/iceberg_drop_table_test")
    assert dropped.lifecycle == "deprecated"
    assert "DROP" in dropped.deprecation_reason
    change = Change.objects.get(object_id=str(dropped.pk), action="update")
    assert change.after["lifecycle"] == "deprecated"
    assert change.actor == owner


def test_a_drop_from_a_sender_who_may_not_write_the_dataset_changes_nothing(client_for, stranger, owner):
    kept = DatasetFactory(namespace="file", name="/tmp/iceberg/default/iceberg_drop_table_test")
    OwnershipFactory(dataset=kept, user=owner, role="owner")

    response = client_for(stranger).post(
        "/api/v1/lineage", fixture_event("pysparkV2DropTableCompleteEvent", job="x"), format="json"
    )

    assert response.status_code == 201, response.content
    kept.refresh_from_db()
    assert kept.lifecycle == "active"
    assert not ReportedDataset.objects.filter(dataset=kept).exists()


def test_a_truncate_is_kept_on_the_dataset_s_reported_facets(send):
    send(fixture_event("pysparkTruncateTableCompleteEvent"))

    truncated = Dataset.objects.get(name="/tmp/truncate_test/truncate_table_test")
    assert truncated.lifecycle == "active"
    report = ReportedDataset.objects.get(dataset=truncated)
    assert report.facets["lifecycleStateChange"]["lifecycleStateChange"] == "TRUNCATE"


def test_an_older_drop_arriving_late_does_not_deprecate_a_dataset_reported_since(send):
    name = "/tmp/iceberg/default/iceberg_drop_table_test"
    later = fixture_event("pysparkV2DropTableCompleteEvent", job="j", event_time="2026-11-03T00:00:00Z")
    later["outputs"][0]["facets"]["lifecycleStateChange"]["lifecycleStateChange"] = "CREATE"
    send(later)
    send(fixture_event("pysparkV2DropTableCompleteEvent", job="j", event_time="2026-11-02T00:00:00Z"))

    assert Dataset.objects.get(name=name).lifecycle == "active"


def test_it_counts_dataset_wide_dependencies_against_the_column_lineage_limit(owner_client, settings):
    # t1: 2 direct + 2 dataset-wide x 2 fields; t2: 2 direct + 3 x 2: 14 entries.
    settings.CATALOG_LINEAGE_MAX_COLUMN_EDGES = 13

    response = owner_client.post("/api/v1/lineage", fixture_event("cllMultiInsertsComplete", job="j"), format="json")

    assert response.status_code == 413
    assert response.json()["column_entries"] == 14
    assert not ColumnLineage.objects.exists()


def test_it_rejects_a_dataset_wide_field_name_longer_than_the_catalog_stores(owner_client):
    event = fixture_event("cllSimpleQueryIndirect", job="j")
    event["outputs"][0]["facets"]["columnLineage"]["dataset"][0]["field"] = "f" * 2000

    response = owner_client.post("/api/v1/lineage", event, format="json")

    assert response.status_code == 400
    assert "1024" in str(response.json()["errors"])
    assert not Dataset.objects.exists()
