"""Every change to a governed object is in the change log, which cannot be altered."""

import pytest
from django.db import DatabaseError, connection, transaction

from catalog.models import Feature
from governance.models import Change
from tests.factories import DatasetFactory, OwnershipFactory, VersionFactory

pytestmark = pytest.mark.django_db


def _entries(**lookup) -> list[Change]:
    return list(Change.objects.filter(**lookup).order_by("created_at"))


def test_it_records_a_registration_and_its_first_version(owner_client, iris_csv):
    response = owner_client.post(
        "/api/v1/datasets/",
        {"namespace": "flowers", "name": "iris", "license": "cc-by-4.0", "source": {"uri": str(iris_csv)}},
        format="json",
        HTTP_X_REQUEST_ID="req-register-1",
    )
    dataset_id = response.json()["id"]

    kinds = [(entry.object_type, entry.action) for entry in _entries(dataset_id=dataset_id)]
    assert kinds[:3] == [("dataset", "create"), ("ownership", "create"), ("version", "create")]
    created = _entries(object_type="dataset", object_id=dataset_id)[0]
    assert created.actor_name == "olivia-owner"
    # The service's own id: a caller's X-Request-ID never becomes evidence in the change log.
    assert created.request_id == response["X-Request-ID"] != "req-register-1"
    assert created.after["license"] == "CC-BY-4.0"
    assert created.before is None


def test_it_records_only_what_a_change_changed(owner_client, dataset):
    response = owner_client.patch(
        f"/api/v1/datasets/{dataset.pk}/",
        {"description": "Street signs of Berlin", "sensitivity": "internal", "tags": ["vision"]},
        format="json",
    )
    assert response.status_code == 200

    (entry,) = _entries(object_type="dataset", object_id=str(dataset.pk), action="update")
    assert entry.before == {"description": "A dataset", "tags": []}
    assert entry.after == {"description": "Street signs of Berlin", "tags": ["vision"]}


def test_a_change_that_changes_nothing_records_nothing(owner_client, dataset):
    owner_client.patch(f"/api/v1/datasets/{dataset.pk}/", {"description": "A dataset"}, format="json")

    assert not _entries(object_type="dataset", action="update")


def test_it_records_a_version_annotation_and_deprecation(owner_client, dataset):
    version = VersionFactory(dataset=dataset)

    owner_client.patch(
        f"/api/v1/versions/{version.pk}/", {"deprecated": True, "deprecation_reason": "mislabelled"}, format="json"
    )

    (entry,) = _entries(object_type="version", object_id=str(version.pk))
    assert entry.after == {"deprecated": True, "deprecation_reason": "mislabelled"}
    assert entry.dataset_id == dataset.pk


def test_it_records_a_feature_decision(steward_client, dataset):
    version = VersionFactory(dataset=dataset)
    feature = Feature.objects.create(version=version, name="email", position=0, dtype="string", pii=True)

    steward_client.patch(f"/api/v1/versions/{version.pk}/features/0/", {"pii": True}, format="json")

    (entry,) = _entries(object_type="feature", object_id=str(feature.pk))
    assert (entry.actor_name, entry.before, entry.after) == ("sam-steward", {"pii": True}, {"pii": True})


def test_it_records_a_retirement(owner_client, dataset):
    owner_client.delete(f"/api/v1/datasets/{dataset.pk}/")

    (entry,) = _entries(object_type="dataset", action="retire")
    assert entry.after == {"lifecycle": "retired"}


def test_it_records_declared_lineage_edges(owner_client, dataset):
    source = DatasetFactory(name="raw")
    response = owner_client.post(
        "/api/v1/lineage/edges/", {"source": str(source.pk), "target": str(dataset.pk)}, format="json"
    )
    edge_id = response.json()["id"]
    owner_client.delete(f"/api/v1/lineage/edges/{edge_id}/")

    assert [entry.action for entry in _entries(object_type="edge", object_id=str(edge_id))] == ["create", "delete"]


def test_it_records_datasets_and_edges_reported_by_lineage(owner_client):
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2026-11-30T10:00:00Z",
        "producer": "https://example.com/pipeline",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "0193a2f0-0000-7000-8000-000000000001"},
        "job": {"namespace": "etl", "name": "clean"},
        "inputs": [{"namespace": "s3://raw", "name": "events.csv"}],
        "outputs": [{"namespace": "s3://clean", "name": "events.parquet"}],
    }

    assert owner_client.post("/api/v1/lineage", event, format="json").status_code == 201
    owner_client.post("/api/v1/lineage", {**event, "eventTime": "2026-11-30T11:00:00Z"}, format="json")

    assert len(_entries(object_type="dataset", action="create", actor_name="olivia-owner")) == 2
    (edge,) = _entries(object_type="edge")
    assert edge.after["job"] == "etl:clean"


def test_the_api_answers_entries_with_the_contract_fields(owner_client, dataset):
    owner_client.patch(f"/api/v1/datasets/{dataset.pk}/", {"description": "new"}, format="json")

    response = owner_client.get(f"/api/v1/changes/?object_type=dataset&object_id={dataset.pk}")

    assert response.status_code == 200
    (entry,) = response.json()["results"]
    assert set(entry) >= {"id", "actor", "action", "object_type", "object_id", "before", "after", "request_id"}
    assert entry["actor"] == "olivia-owner"
    assert response.headers["X-Request-ID"]


def test_it_filters_by_actor_dataset_and_time(owner_client, steward_client, dataset):
    owner_client.patch(f"/api/v1/datasets/{dataset.pk}/", {"description": "one"}, format="json")
    steward_client.patch(f"/api/v1/datasets/{dataset.pk}/", {"description": "two"}, format="json")
    other = DatasetFactory()
    OwnershipFactory(dataset=other, user=dataset.ownerships.get(role="steward").user)
    steward_client.patch(f"/api/v1/datasets/{other.pk}/", {"description": "three"}, format="json")

    by_steward = owner_client.get("/api/v1/changes/?actor=sam-steward&action=update").json()["results"]
    assert [entry["after"]["description"] for entry in by_steward] == ["three", "two"]
    on_dataset = owner_client.get(f"/api/v1/changes/?dataset={dataset.pk}&action=update").json()["results"]
    assert len(on_dataset) == 2
    assert owner_client.get("/api/v1/changes/?since=2999-01-01T00:00:00Z").json()["results"] == []
    assert owner_client.get("/api/v1/changes/?since=yesterday").status_code == 400


def test_it_hides_entries_about_datasets_the_reader_cannot_see(owner_client, stranger_client, staff_client, dataset):
    owner_client.patch(f"/api/v1/datasets/{dataset.pk}/", {"sensitivity": "restricted"}, format="json")

    assert stranger_client.get(f"/api/v1/changes/?dataset={dataset.pk}").json()["results"] == []
    assert len(owner_client.get(f"/api/v1/changes/?dataset={dataset.pk}").json()["results"]) == 1
    assert len(staff_client.get(f"/api/v1/changes/?dataset={dataset.pk}").json()["results"]) == 1


def test_it_lists_a_page_in_a_constant_number_of_queries(owner_client, dataset, django_assert_max_num_queries):
    for index in range(30):
        owner_client.patch(f"/api/v1/datasets/{dataset.pk}/", {"description": f"d{index}"}, format="json")

    # token user; count; page
    with django_assert_max_num_queries(3):
        response = owner_client.get("/api/v1/changes/?object_type=dataset&limit=25")
    assert len(response.json()["results"]) == 25


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_api_refuses_to_alter_the_log(staff_client, dataset, method):
    staff_client.patch(f"/api/v1/datasets/{dataset.pk}/", {"description": "changed"}, format="json")
    entry = Change.objects.filter(object_type="dataset").first()

    url = "/api/v1/changes/" if method == "post" else f"/api/v1/changes/{entry.pk}/"
    response = getattr(staff_client, method)(url, {"action": "delete"}, format="json")

    assert response.status_code == 405
    assert Change.objects.get(pk=entry.pk).action == "update"


def test_the_model_refuses_updates_and_deletes(owner_client, dataset):
    owner_client.patch(f"/api/v1/datasets/{dataset.pk}/", {"description": "changed"}, format="json")
    entry = Change.objects.filter(object_type="dataset").first()

    entry.actor_name = "someone-else"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        Change.objects.filter(pk=entry.pk).update(actor_name="x")
    with pytest.raises(PermissionError):
        Change.objects.filter(pk=entry.pk).delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_the_database_refuses_to_alter_the_log(owner_client, dataset):
    owner_client.patch(f"/api/v1/datasets/{dataset.pk}/", {"description": "changed"}, format="json")
    entry = Change.objects.filter(object_type="dataset").first()

    for statement in (
        "UPDATE governance_change SET actor_name = 'x' WHERE id = %s",
        "DELETE FROM governance_change WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [entry.pk])
    assert Change.objects.get(pk=entry.pk).actor_name == "olivia-owner"


def test_the_admin_shows_the_log_read_only(admin_client, owner_client, dataset):
    owner_client.patch(f"/api/v1/datasets/{dataset.pk}/", {"description": "changed"}, format="json")
    entry = Change.objects.filter(object_type="dataset").first()

    assert admin_client.get("/admin/governance/change/").status_code == 200
    page = admin_client.get(f"/admin/governance/change/{entry.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert admin_client.post(f"/admin/governance/change/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Change.objects.filter(pk=entry.pk).exists()


@pytest.mark.parametrize(
    "moment", ["0304-03-18T19:50:51+21:12", "0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"]
)
def test_it_takes_any_instant_python_reads_without_failing(owner_client, moment):
    response = owner_client.get("/api/v1/changes/", {"since": moment})

    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert "since" in response.json()["errors"]


def test_it_redacts_a_restricted_dataset_from_the_edge_entries_of_a_dataset_the_reader_may_read(
    owner_client, stranger_client, owner
):
    secret = DatasetFactory(namespace="w", name="zebra-secret", sensitivity="restricted")
    OwnershipFactory(dataset=secret, user=owner)
    public = DatasetFactory(namespace="w", name="public")
    OwnershipFactory(dataset=public, user=owner)
    declared = owner_client.post(
        "/api/v1/lineage/edges/", {"source": str(secret.pk), "target": str(public.pk)}, format="json"
    )
    assert declared.status_code == 201, declared.content

    seen = stranger_client.get("/api/v1/changes/", {"object_type": "edge"})
    one = stranger_client.get(f"/api/v1/changes/{seen.json()['results'][0]['id']}/")

    (entry,) = seen.json()["results"]
    assert entry["dataset"] == str(public.pk)
    assert entry["after"]["source"] == "a restricted dataset you may not read"
    assert entry["after"]["target"] == str(public.pk)
    for response in (seen, one):
        assert str(secret.pk) not in response.content.decode()
        assert secret.pk.hex not in response.content.decode()
    assert stranger_client.get("/api/v1/changes/", {"dataset": str(secret.pk)}).json()["results"] == []
    owned = owner_client.get("/api/v1/changes/", {"object_type": "edge"}).json()["results"]
    assert owned[0]["after"]["source"] == str(secret.pk)
