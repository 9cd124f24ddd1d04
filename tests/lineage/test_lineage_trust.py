"""Lineage from those who may write it: what an event from someone who may not write a dataset,
job or run changes (nothing but the raw event and unconfirmed edges), and how owners decide."""

import importlib
import uuid

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.urls import reverse

from catalog.models import Dataset
from governance.choices import OwnershipRole
from governance.models import Change, Namespace, Ownership
from lineage.models import ColumnLineage, DatasetAlias, Job, LineageEdge, LineageEvent, ReportedDataset, Run
from lineage.selectors import lineage_upstream
from tests.factories import DatasetFactory, OwnershipFactory, UserFactory, VersionFactory
from tests.lineage.events import BASE_TIME, column_lineage, dataset, facet, run_event, schema


def ref(record, **facets):
    return dataset(record.namespace, record.name, **facets)


def post(client, event, expect=201):
    response = client.post("/api/v1/lineage", event, format="json")
    assert response.status_code == expect, response.content
    return response


@pytest.fixture
def scraped(db):
    """A non-commercial dataset someone else registered."""
    return DatasetFactory(namespace="vendor", name="scraped", license="CC-BY-NC-4.0")


def test_it_holds_a_stranger_s_edge_into_another_s_dataset_unconfirmed_and_out_of_audits(
    client_for, stranger, owner, dataset, scraped
):
    answer = post(client_for(stranger), run_event(inputs=[ref(scraped)], outputs=[ref(dataset)])).json()

    edge = LineageEdge.objects.get()
    assert (edge.source_id, edge.target_id, edge.status) == (scraped.pk, dataset.pk, "unconfirmed")
    statuses = {item["name"]: item["status"] for item in answer["datasets"]}
    assert statuses == {"scraped": "unconfirmed", dataset.name: "unconfirmed"}
    # The audit walks confirmed edges only: the owner's dataset still derives from nothing.
    assert lineage_upstream([dataset.pk])[dataset.pk].depths == {dataset.pk: 0}
    graph = client_for(owner).get(
        "/api/v1/lineage", {"nodeId": f"dataset:{dataset.namespace}:{dataset.name}", "direction": "upstream"}
    )
    node = {item["id"]: item for item in graph.json()["graph"]}[f"dataset:{dataset.namespace}:{dataset.name}"]
    assert [entry["status"] for entry in node["inEdges"]] == ["unconfirmed"]
    listed = client_for(owner).get("/api/v1/lineage/edges/", {"status": "unconfirmed"}).json()
    assert [item["id"] for item in listed["results"]] == [edge.pk]


def test_owners_confirm_a_reported_edge_and_audits_then_follow_it(
    client_for, stranger, owner, steward, dataset, scraped
):
    post(client_for(stranger), run_event(inputs=[ref(scraped)], outputs=[ref(dataset)]))
    edge = LineageEdge.objects.get()

    assert client_for(stranger).post(f"/api/v1/lineage/edges/{edge.pk}/confirm/").status_code == 403
    # Stewards keep the dataset; what it is made from is for its owners to say.
    assert client_for(steward).post(f"/api/v1/lineage/edges/{edge.pk}/confirm/").status_code == 403
    response = client_for(owner).post(f"/api/v1/lineage/edges/{edge.pk}/confirm/")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "confirmed"
    assert set(lineage_upstream([dataset.pk])[dataset.pk].depths) == {dataset.pk, scraped.pk}
    change = Change.objects.get(object_type="edge", action="update")
    assert (change.object_id, change.before, change.after, change.actor) == (
        str(edge.pk),
        {"status": "unconfirmed"},
        {"status": "confirmed"},
        owner,
    )


def test_owners_reject_a_reported_edge_and_it_is_gone(client_for, stranger, owner, dataset, scraped):
    output = ref(dataset, columnLineage=column_lineage({"label": [(scraped.namespace, scraped.name, "stars")]}))
    post(client_for(stranger), run_event(inputs=[ref(scraped)], outputs=[output]))
    edge = LineageEdge.objects.get()
    assert ColumnLineage.objects.get().status == "unconfirmed"

    response = client_for(owner).post(f"/api/v1/lineage/edges/{edge.pk}/reject/")

    assert response.status_code == 204, response.content
    assert not LineageEdge.objects.exists()
    assert not ColumnLineage.objects.exists()
    assert LineageEvent.objects.count() == 1  # what was said stays on record
    change = Change.objects.get(object_type="edge", action="delete")
    assert (change.object_id, change.after["reason"], change.before["status"]) == (
        str(edge.pk),
        "rejected",
        "unconfirmed",
    )


def test_it_refuses_to_reject_a_confirmed_edge(client_for, owner, dataset, scraped):
    post(client_for(owner), run_event(inputs=[ref(scraped)], outputs=[ref(dataset)]))
    edge = LineageEdge.objects.get()
    assert edge.status == "confirmed"

    response = client_for(owner).post(f"/api/v1/lineage/edges/{edge.pk}/reject/")

    assert response.status_code == 409
    assert "DELETE" in response.json()["detail"]


def test_a_writer_reporting_an_unconfirmed_edge_vouches_for_it(client_for, stranger, owner, dataset, scraped):
    post(client_for(stranger), run_event(inputs=[ref(scraped)], outputs=[ref(dataset)]))
    assert LineageEdge.objects.get().status == "unconfirmed"

    post(client_for(owner), run_event(inputs=[ref(scraped)], outputs=[ref(dataset)], minutes=1))

    assert LineageEdge.objects.get().status == "confirmed"
    change = Change.objects.get(object_type="edge", action="update")
    assert (change.after, change.actor) == ({"status": "confirmed"}, owner)


def test_a_stranger_s_event_leaves_another_s_dataset_facets_alone(client_for, stranger, owner, dataset):
    mine = ref(dataset, schema=schema(("id", "BIGINT")), dataSource=facet(name="lake", uri="s3://lake"))
    post(client_for(owner), run_event(outputs=[mine]))
    VersionFactory(dataset=dataset, number=1, fingerprint="sha256:" + "1" * 64)

    theirs = ref(
        dataset,
        schema=schema(("ssn", "STRING")),
        dataSource=facet(name="evil", uri="s3://evil"),
        documentation=facet(description="Not what it is."),
        ownership=facet(owners=[{"name": f"user:{stranger.username}", "type": "OWNER"}]),
        symlinks=facet(identifiers=[{"namespace": "s3://evil", "name": "copy", "type": "TABLE"}]),
        version=facet(datasetVersion="1"),
    )
    post(client_for(stranger), run_event(outputs=[theirs], minutes=5))

    report = ReportedDataset.objects.get(dataset=dataset)
    assert [field["name"] for field in report.fields] == ["id"]
    assert (report.source_uri, report.reported_version) == ("s3://lake", "")
    assert Dataset.objects.get(pk=dataset.pk).description == "A dataset"
    assert not Ownership.objects.filter(dataset=dataset, user=stranger).exists()
    assert not DatasetAlias.objects.exists()


def test_a_stranger_s_event_leaves_another_s_job_and_run_alone(client_for, stranger, owner):
    run_id = uuid.uuid4()
    job_facets = {"documentation": facet(description="Builds features.")}
    start = run_event(run_id=run_id, event_type="START", job_facets=job_facets, run_facets={"a": facet(x=1)})
    post(client_for(owner), start)

    forged = run_event(
        run_id=run_id,
        event_type="COMPLETE",
        minutes=30,
        job_facets={"documentation": facet(description="Leaks everything.")},
        run_facets={"a": facet(x=2)},
    )
    post(client_for(stranger), forged)

    job, run = Job.objects.get(), Run.objects.get()
    assert (job.owner, run.owner) == (owner, owner)
    assert job.description == "Builds features."
    assert (run.state, run.ended_at, run.facets["a"]["x"]) == ("START", None, 1)
    # The owner's own events still move them along.
    post(client_for(owner), run_event(run_id=run_id, event_type="COMPLETE", minutes=31))
    assert Run.objects.get().state == "COMPLETE"


def test_a_stranger_does_not_move_the_version_an_edge_records(client_for, stranger, owner, dataset):
    source = DatasetFactory(namespace="w", name="clicks")
    OwnershipFactory(dataset=source, user=owner)
    first = VersionFactory(dataset=source, number=1, fingerprint="sha256:" + "1" * 64)
    VersionFactory(dataset=source, number=2, fingerprint="sha256:" + "2" * 64)
    post(client_for(owner), run_event(inputs=[ref(source, version=facet(datasetVersion="1"))], outputs=[ref(dataset)]))
    assert LineageEdge.objects.get().source_version == first

    post(
        client_for(stranger),
        run_event(inputs=[ref(source, version=facet(datasetVersion="2"))], outputs=[ref(dataset)], minutes=10),
    )

    edge = LineageEdge.objects.get()
    assert (edge.source_version, edge.status) == (first, "confirmed")


def test_it_refuses_an_event_with_more_edges_than_allowed_and_writes_nothing(owner_client):
    event = run_event(
        inputs=[dataset("w", f"in-{index}") for index in range(200)],
        outputs=[dataset("w", f"out-{index}") for index in range(200)],
    )

    response = owner_client.post("/api/v1/lineage", event, format="json")

    assert response.status_code == 413
    body = response.json()
    assert (body["inputs"], body["outputs"], body["edges"], body["limit"]) == (200, 200, 40000, 1000)
    assert "CATALOG_LINEAGE_MAX_EDGES" in body["detail"]
    assert not LineageEvent.objects.exists()
    assert not Dataset.objects.exists()


def test_the_edge_limit_is_a_setting_and_bounds_column_lineage_too(owner_client, settings):
    settings.CATALOG_LINEAGE_MAX_EDGES = 4
    settings.CATALOG_LINEAGE_MAX_COLUMN_EDGES = 3
    two_by_two = run_event(
        inputs=[dataset("w", "a"), dataset("w", "b")], outputs=[dataset("w", "c"), dataset("w", "d")]
    )
    assert owner_client.post("/api/v1/lineage", two_by_two, format="json").status_code == 201
    three_by_two = run_event(
        inputs=[dataset("w", "a"), dataset("w", "b"), dataset("w", "e")], outputs=[dataset("w", "c"), dataset("w", "d")]
    )
    assert owner_client.post("/api/v1/lineage", three_by_two, format="json").status_code == 413
    fields = column_lineage({f"f{index}": [("w", "a", f"g{index}")] for index in range(4)})
    wide = run_event(inputs=[dataset("w", "a")], outputs=[dataset("w", "c", columnLineage=fields)], minutes=1)

    response = owner_client.post("/api/v1/lineage", wide, format="json")

    assert response.status_code == 413
    assert (response.json()["column_entries"], response.json()["limit"]) == (4, 3)


def test_nobody_claims_a_dataset_first_seen_in_lineage_through_the_ownership_facet(client_for, owner, stranger):
    post(client_for(owner), run_event(outputs=[dataset("w", "made-by-pipeline")]))
    claim = facet(owners=[{"name": f"user:{stranger.username}", "type": "OWNER"}])
    post(client_for(stranger), run_event(outputs=[dataset("w", "made-by-pipeline", ownership=claim)], minutes=1))
    # Nor a dataset nobody answers for.
    orphan = DatasetFactory(namespace="w", name="orphan")
    post(client_for(stranger), run_event(outputs=[ref(orphan, ownership=claim)], minutes=2))

    made = Dataset.objects.get(name="made-by-pipeline")
    assert list(Ownership.objects.filter(dataset=made).values_list("user", "role")) == [(owner.pk, "owner")]
    assert not Ownership.objects.filter(dataset=orphan).exists()


def test_a_symlinks_facet_does_not_lend_another_s_identity(client_for, stranger, dataset):
    # Naming the owner's dataset as a symlink of a new identity would make that identity land on it.
    theirs = dataset_with_symlink("s", "mirror", dataset.namespace, dataset.name)
    post(client_for(stranger), run_event(outputs=[theirs]))

    assert not DatasetAlias.objects.filter(dataset=dataset).exists()
    assert Dataset.objects.filter(namespace="s", name="mirror").exists()


def test_a_symlinked_path_gives_way_to_the_dataset_registered_there(client_for, stranger, owner):
    path = "/srv/data/owner/later.csv"
    post(client_for(stranger), run_event(outputs=[dataset_with_symlink("s", "squatter", "file", path)]))
    assert DatasetAlias.objects.get().dataset.name == "squatter"  # the sender's own dataset may name it

    registered = DatasetFactory(namespace="o", name="later")
    OwnershipFactory(dataset=registered, user=owner)
    VersionFactory(dataset=registered, uri=f"file://{path}")
    post(client_for(owner), run_event(inputs=[dataset("file", path)], outputs=[dataset("o", "derived")]))

    assert LineageEdge.objects.get().source == registered


def dataset_with_symlink(namespace, name, target_namespace, target_name):
    identifiers = [{"namespace": target_namespace, "name": target_name, "type": "TABLE"}]
    return dataset(namespace, name, symlinks=facet(identifiers=identifiers))


def test_a_group_the_owners_trust_produces_for_their_dataset(client_for, owner, steward, stranger, dataset, scraped):
    pipelines = Group.objects.create(name="pipelines")
    bot = UserFactory(username="pipeline-bot")
    bot.groups.add(pipelines)
    url = f"/api/v1/datasets/{dataset.pk}/trusted-producers/"

    assert client_for(stranger).put(url, {"groups": ["pipelines"]}, format="json").status_code == 403
    assert client_for(owner).put(url, {"groups": ["nobody"]}, format="json").status_code == 400
    response = client_for(steward).put(url, {"groups": ["pipelines"]}, format="json")
    assert response.status_code == 200, response.content
    assert client_for(owner).get(url).json() == {"groups": ["pipelines"]}
    change = Change.objects.get(object_type="dataset", dataset_id=dataset.pk)
    assert (change.before, change.after) == ({"trusted_producers": []}, {"trusted_producers": ["pipelines"]})

    claim = facet(owners=[{"name": "user:pipeline-bot", "type": "OWNER"}])
    output = ref(dataset, schema=schema(("id", "BIGINT")), ownership=claim)
    post(client_for(bot), run_event(inputs=[ref(scraped)], outputs=[output]))

    assert LineageEdge.objects.get().status == "confirmed"
    assert [field["name"] for field in ReportedDataset.objects.get(dataset=dataset).fields] == ["id"]
    # A producer describes the dataset; it does not name who answers for it.
    assert not Ownership.objects.filter(dataset=dataset, user=bot).exists()


def test_an_owned_namespace_takes_no_dataset_from_a_stranger_s_lineage(client_for, owner, stranger):
    team = Namespace.objects.create(name="team")
    team.users.add(owner)

    answer = post(
        client_for(stranger), run_event(inputs=[dataset("open", "in")], outputs=[dataset("team", "planted")])
    ).json()

    assert not Dataset.objects.filter(namespace="team").exists()
    assert [(item["namespace"], item["name"]) for item in answer["datasets"]] == [("open", "in")]
    assert not LineageEdge.objects.exists()
    assert LineageEvent.objects.count() == 1
    post(client_for(owner), run_event(outputs=[dataset("team", "planted")], minutes=1))
    planted = Dataset.objects.get(namespace="team")
    assert Ownership.objects.get(dataset=planted).user == owner
    assert Ownership.objects.get(dataset=planted).role == OwnershipRole.OWNER


def test_staff_confirm_and_reject_reported_edges_in_the_admin(client, client_for, stranger, dataset, scraped):
    other_source = DatasetFactory(namespace="vendor", name="other")
    post(client_for(stranger), run_event(inputs=[ref(scraped), ref(other_source)], outputs=[ref(dataset)]))
    kept, dropped = LineageEdge.objects.order_by("source__name")
    admin = UserFactory(username="ada-admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    url = reverse("admin:lineage_lineageedge_changelist")
    assert client.get(url, {"status": "unconfirmed"}).status_code == 200

    client.post(url, {"action": "confirm", "_selected_action": [kept.pk]})
    client.post(url, {"action": "reject", "_selected_action": [dropped.pk]})

    assert list(LineageEdge.objects.values_list("pk", "status")) == [(kept.pk, "confirmed")]
    assert set(Change.objects.filter(object_type="edge", actor=admin).values_list("action", flat=True)) == {
        "update",
        "delete",
    }


def test_column_lineage_shows_what_waits_for_confirmation(client_for, stranger, owner, dataset, scraped):
    output = ref(dataset, columnLineage=column_lineage({"label": [(scraped.namespace, scraped.name, "stars")]}))
    post(client_for(stranger), run_event(inputs=[ref(scraped)], outputs=[output]))

    graph = client_for(owner).get(
        "/api/v1/column-lineage", {"nodeId": f"datasetField:{dataset.namespace}:{dataset.name}:label"}
    )

    node = {item["id"]: item for item in graph.json()["graph"]}[
        f"datasetField:{dataset.namespace}:{dataset.name}:label"
    ]
    assert [entry["status"] for entry in node["inEdges"]] == ["unconfirmed"]
    assert [entry["status"] for entry in node["data"]["input_fields"]] == ["unconfirmed"]


def test_jobs_and_runs_reported_before_owners_existed_belong_to_their_first_sender(send, owner, stranger):
    backfill = importlib.import_module("lineage.migrations.0004_job_run_owners").owners_from_events
    run_id = uuid.uuid4()
    send(run_event(run_id=run_id))
    LineageEvent.objects.create(
        digest="later",
        kind="RunEvent",
        event_time=BASE_TIME,
        job_namespace="pipelines",
        job_name="build-features",
        run_id=run_id,
        payload={},
        received_by=stranger,
    )
    Job.objects.update(owner=None)
    Run.objects.update(owner=None)

    backfill(apps, None)

    assert (Job.objects.get().owner, Run.objects.get().owner) == (owner, owner)


def test_it_remembers_a_rejection_when_the_sender_reports_the_edge_again(client_for, stranger, owner, dataset, scraped):
    output = ref(dataset, columnLineage=column_lineage({"label": [(scraped.namespace, scraped.name, "stars")]}))
    post(client_for(stranger), run_event(inputs=[ref(scraped)], outputs=[output]))
    edge = LineageEdge.objects.get()
    assert client_for(owner).post(f"/api/v1/lineage/edges/{edge.pk}/reject/").status_code == 204

    # The same report, sent again later (a new event: another time, another run).
    post(client_for(stranger), run_event(inputs=[ref(scraped)], outputs=[output], minutes=5))

    assert not LineageEdge.objects.exists()
    assert not ColumnLineage.objects.exists()
    assert LineageEvent.objects.count() == 2
    assert not Change.objects.filter(object_type="edge", action="create").exclude(object_id=str(edge.pk)).exists()


def test_a_writer_of_the_target_still_reports_a_rejected_edge_confirmed(client_for, stranger, owner, dataset, scraped):
    post(client_for(stranger), run_event(inputs=[ref(scraped)], outputs=[ref(dataset)]))
    client_for(owner).post(f"/api/v1/lineage/edges/{LineageEdge.objects.get().pk}/reject/")

    post(client_for(owner), run_event(inputs=[ref(scraped)], outputs=[ref(dataset)], minutes=5))

    edge = LineageEdge.objects.get()
    assert (edge.source_id, edge.target_id, edge.status, edge.created_by) == (
        scraped.pk,
        dataset.pk,
        "confirmed",
        owner,
    )


def test_a_rejection_holds_only_for_its_sender_and_job(client_for, stranger, owner, dataset, scraped):
    post(client_for(stranger), run_event(inputs=[ref(scraped)], outputs=[ref(dataset)]))
    client_for(owner).post(f"/api/v1/lineage/edges/{LineageEdge.objects.get().pk}/reject/")

    # Through another job, the report is new: the owners decide again.
    post(client_for(stranger), run_event(inputs=[ref(scraped)], outputs=[ref(dataset)], job=("pipelines", "other")))

    edge = LineageEdge.objects.get()
    assert (edge.job.name, edge.status) == ("other", "unconfirmed")
