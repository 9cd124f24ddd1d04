"""Retirement, not loss: a retired dataset stays resolvable; staff may purge one nothing references."""

import pytest

from catalog.models import Dataset, DatasetVersion
from catalog.services import dataset_retire
from governance.choices import OwnershipRole
from governance.models import Audit, AuditSubject, Change
from lineage.models import ColumnLineage, LineageEdge, RejectedEdge, RunDataset
from tests.factories import DatasetFactory, OwnershipFactory, VersionFactory
from tests.lineage.events import column_lineage, run_event
from tests.lineage.events import dataset as event_dataset

pytestmark = pytest.mark.django_db


def test_retiring_hides_a_dataset_from_lists_but_not_by_id(owner_client, dataset):
    assert owner_client.delete(f"/api/v1/datasets/{dataset.pk}/").status_code == 204

    listed = [entry["id"] for entry in owner_client.get("/api/v1/datasets/").json()["results"]]
    assert str(dataset.pk) not in listed
    detail = owner_client.get(f"/api/v1/datasets/{dataset.pk}/")
    assert detail.status_code == 200
    assert detail.json()["lifecycle"] == "retired"
    assert owner_client.get(f"/api/v1/changes/?dataset={dataset.pk}&action=retire").json()["count"] == 1


def test_retiring_twice_records_once(owner_client, dataset):
    owner_client.delete(f"/api/v1/datasets/{dataset.pk}/")
    owner_client.delete(f"/api/v1/datasets/{dataset.pk}/")

    assert Change.objects.filter(object_id=str(dataset.pk), action="retire").count() == 1


def test_staff_purge_a_retired_dataset_and_its_history_stays(staff_client, owner, dataset):
    version = VersionFactory(dataset=dataset)
    staff_client.patch(f"/api/v1/datasets/{dataset.pk}/", {"description": "about to go"}, format="json")
    dataset_retire(actor=owner, dataset=dataset)

    response = staff_client.post(f"/api/v1/datasets/{dataset.pk}/purge/")

    assert response.status_code == 204
    assert not Dataset.objects.filter(pk=dataset.pk).exists()
    assert not DatasetVersion.objects.filter(pk=version.pk).exists()
    assert staff_client.get(f"/api/v1/datasets/{dataset.pk}/").status_code == 404
    history = [entry.action for entry in Change.objects.filter(dataset_id=dataset.pk).order_by("created_at")]
    assert history[-3:] == ["update", "retire", "purge"]
    purge = Change.objects.get(dataset_id=dataset.pk, action="purge")
    assert purge.before["name"] == "street-signs"
    assert purge.before["versions"][0]["id"] == str(version.pk)


def test_it_refuses_to_purge_a_dataset_that_is_not_retired(staff_client, dataset):
    response = staff_client.post(f"/api/v1/datasets/{dataset.pk}/purge/")

    assert response.status_code == 409
    assert "retire it" in response.json()["detail"]
    assert Dataset.objects.filter(pk=dataset.pk).exists()


def test_it_refuses_to_purge_a_dataset_lineage_references(staff_client, owner, dataset):
    # Declared by its owner: lineage the owners stand behind.
    LineageEdge.objects.create(source=dataset, target=DatasetFactory(name="derived"), origin="manual", created_by=owner)
    dataset_retire(actor=owner, dataset=dataset)

    response = staff_client.post(f"/api/v1/datasets/{dataset.pk}/purge/")

    assert response.status_code == 409
    assert "lineage edges" in response.json()["detail"]
    assert Dataset.objects.filter(pk=dataset.pk).exists()
    assert not Change.objects.filter(action="purge").exists()


def test_owners_may_not_purge(owner_client, owner, dataset):
    dataset_retire(actor=owner, dataset=dataset)

    assert owner_client.post(f"/api/v1/datasets/{dataset.pk}/purge/").status_code == 403
    assert Dataset.objects.filter(pk=dataset.pk).exists()


# --- What holds a purge back: only what the dataset's owners stand behind ---------------------------

RESEARCH = {"commercial": False, "distribute_model": False, "distribute_data": False}


def _audit(client, dataset):
    response = client.post("/api/v1/audits/", {"datasets": [str(dataset.pk)], "purpose": RESEARCH}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _send(client, event):
    response = client.post("/api/v1/lineage", event, format="json")
    assert response.status_code == 201, response.content


def _ref(record, **facets):
    return event_dataset(record.namespace, record.name, **facets)


@pytest.fixture
def theirs(stranger):
    """A dataset of the stranger's own."""
    record = DatasetFactory(namespace="elsewhere", name="their-set")
    OwnershipFactory(dataset=record, user=stranger, role=OwnershipRole.OWNER)
    return record


def test_a_reader_s_audit_does_not_hold_a_purge_back_and_keeps_its_report(
    client_for, staff_client, owner, stranger, dataset
):
    version = VersionFactory(dataset=dataset)
    report = _audit(client_for(stranger), dataset)
    dataset_retire(actor=owner, dataset=dataset)

    response = staff_client.post(f"/api/v1/datasets/{dataset.pk}/purge/")

    assert response.status_code == 204, response.content
    subject = AuditSubject.objects.get(audit_id=report["id"])
    assert (subject.dataset_id, subject.version_id) == (None, None)
    audit = Audit.objects.get(pk=report["id"])
    assert [entry["dataset"] for entry in audit.checked] == [str(dataset.pk)]
    kept = client_for(stranger).get(f"/api/v1/audits/{report['id']}/")
    assert kept.status_code == 200
    assert kept.json()["checked"] == report["checked"]
    purge = Change.objects.get(dataset_id=dataset.pk, action="purge")
    assert purge.after == {"released": {"audits": [report["id"]]}}
    assert purge.before["versions"][0]["id"] == str(version.pk)


@pytest.mark.parametrize("auditor", ["owner", "steward", "staff"])
def test_an_audit_by_who_answers_for_the_dataset_or_staff_holds_a_purge_back(
    request, client_for, staff_client, owner, dataset, auditor
):
    report = _audit(client_for(request.getfixturevalue(auditor)), dataset)
    dataset_retire(actor=owner, dataset=dataset)

    response = staff_client.post(f"/api/v1/datasets/{dataset.pk}/purge/")

    assert response.status_code == 409
    assert "audit subjects" in response.json()["detail"]
    assert Dataset.objects.filter(pk=dataset.pk).exists()
    assert AuditSubject.objects.get(audit_id=report["id"]).dataset_id == dataset.pk


def test_the_database_lets_an_audit_subject_only_lose_its_dataset(client_for, stranger, dataset):
    from django.db import DatabaseError, connection, transaction

    report = _audit(client_for(stranger), dataset)
    subject = AuditSubject.objects.get(audit_id=report["id"])
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    for statement in (
        "UPDATE governance_auditsubject SET role = 'upstream' WHERE id = %s",
        "DELETE FROM governance_auditsubject WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [subject.pk])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE governance_auditsubject SET dataset_id = NULL WHERE id = %s", [subject.pk])
    assert AuditSubject.objects.get(pk=subject.pk).dataset_id is None


def test_lineage_a_reader_reported_goes_with_the_purge_and_is_recorded(
    client_for, staff_client, owner, stranger, dataset, theirs
):
    outsider = client_for(stranger)
    # Into the owner's dataset (held unconfirmed), and out of it into the stranger's own (confirmed
    # by the stranger, who writes that one), with column lineage both ways.
    _send(
        outsider,
        run_event(
            inputs=[_ref(theirs)],
            outputs=[_ref(dataset, columnLineage=column_lineage({"a": [(theirs.namespace, theirs.name, "x")]}))],
            job=("pipelines", "into"),
        ),
    )
    _send(
        outsider,
        run_event(
            inputs=[_ref(dataset)],
            outputs=[_ref(theirs, columnLineage=column_lineage({"y": [(dataset.namespace, dataset.name, "b")]}))],
            job=("pipelines", "out-of"),
        ),
    )
    edges = {(edge.source_id, edge.target_id): edge for edge in LineageEdge.objects.all()}
    assert edges[(theirs.pk, dataset.pk)].status == "unconfirmed"
    assert edges[(dataset.pk, theirs.pk)].status == "confirmed"
    assert RunDataset.objects.filter(dataset=dataset).count() == 2
    dataset_retire(actor=owner, dataset=dataset)

    response = staff_client.post(f"/api/v1/datasets/{dataset.pk}/purge/")

    assert response.status_code == 204, response.content
    assert not LineageEdge.objects.exists()
    assert not ColumnLineage.objects.exists()
    # The stranger's runs keep what they said of the stranger's own dataset.
    assert set(RunDataset.objects.values_list("dataset_id", flat=True)) == {theirs.pk}
    removed = Change.objects.filter(object_type="edge", action="delete")
    assert {(entry.object_id, entry.dataset_id, entry.after["reason"]) for entry in removed} == {
        (str(edges[(theirs.pk, dataset.pk)].pk), dataset.pk, "purged"),
        # Under the stranger's dataset: its owners see where its upstream went.
        (str(edges[(dataset.pk, theirs.pk)].pk), theirs.pk, "purged"),
    }
    released = Change.objects.get(dataset_id=dataset.pk, action="purge").after["released"]
    assert sorted(released["edges"]) == sorted(edge.pk for edge in edges.values())
    assert len(released["column_lineage"]) == 2
    assert sorted(entry["direction"] for entry in released["run_datasets"]) == ["input", "output"]


@pytest.mark.parametrize("reporter", ["owner", "staff"])
def test_lineage_out_of_it_its_owners_or_staff_reported_holds_a_purge_back(
    request, client_for, staff_client, owner, dataset, theirs, reporter
):
    theirs_owner = request.getfixturevalue(reporter)
    OwnershipFactory(dataset=theirs, user=owner, role=OwnershipRole.OWNER)
    _send(client_for(theirs_owner), run_event(inputs=[_ref(dataset)], outputs=[_ref(theirs)]))
    dataset_retire(actor=owner, dataset=dataset)

    response = staff_client.post(f"/api/v1/datasets/{dataset.pk}/purge/")

    assert response.status_code == 409
    assert "lineage edges" in response.json()["detail"]
    assert LineageEdge.objects.get().status == "confirmed"
    assert RunDataset.objects.filter(dataset=dataset).exists()
    assert not Change.objects.filter(object_type="edge", action="delete").exists()


def test_confirmed_lineage_into_it_holds_a_purge_back(client_for, staff_client, owner, stranger, dataset, theirs):
    _send(client_for(stranger), run_event(inputs=[_ref(theirs)], outputs=[_ref(dataset)]))
    edge = LineageEdge.objects.get()
    assert client_for(owner).post(f"/api/v1/lineage/edges/{edge.pk}/confirm/").status_code == 200
    dataset_retire(actor=owner, dataset=dataset)

    response = staff_client.post(f"/api/v1/datasets/{dataset.pk}/purge/")

    assert response.status_code == 409
    assert "lineage edges" in response.json()["detail"]
    # Refused whole: what others reported stays too, and nothing is recorded.
    assert RunDataset.objects.filter(dataset=dataset).exists()
    assert not Change.objects.filter(action__in=["purge", "delete"]).exists()


def test_a_purge_forgets_the_rejections_of_the_dataset(client_for, staff_client, owner, stranger, dataset, theirs):
    _send(client_for(stranger), run_event(inputs=[_ref(theirs)], outputs=[_ref(dataset)]))
    client_for(owner).post(f"/api/v1/lineage/edges/{LineageEdge.objects.get().pk}/reject/")
    assert RejectedEdge.objects.exists()
    dataset_retire(actor=owner, dataset=dataset)

    assert staff_client.post(f"/api/v1/datasets/{dataset.pk}/purge/").status_code == 204
    assert not RejectedEdge.objects.exists()


def test_entries_left_about_a_purged_restricted_dataset_do_not_name_it(
    client_for, staff_client, owner, stranger, dataset, theirs
):
    client_for(owner).patch(f"/api/v1/datasets/{dataset.pk}/", {"sensitivity": "restricted"}, format="json")
    version = VersionFactory(dataset=dataset)
    LineageEdge.objects.create(source=dataset, target=theirs, origin="manual", created_by=stranger)
    dataset_retire(actor=owner, dataset=dataset)
    assert staff_client.post(f"/api/v1/datasets/{dataset.pk}/purge/").status_code == 204

    listed = client_for(stranger).get("/api/v1/changes/", {"dataset": str(theirs.pk)}).json()["results"]

    (removed,) = [entry for entry in listed if entry["object_type"] == "edge"]
    assert removed["after"] == {"reason": "purged"}
    assert str(dataset.pk) not in str(listed)
    assert str(version.pk) not in str(listed)
    assert removed["before"]["source"] == "a restricted dataset you may not read"
    staff_listed = staff_client.get("/api/v1/changes/", {"dataset": str(theirs.pk)}).json()["results"]
    assert str(dataset.pk) in str(staff_listed)
