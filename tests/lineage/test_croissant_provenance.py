"""The Croissant export of a dataset states its provenance from confirmed lineage (Croissant 1.1, PROV-O):
`prov:wasDerivedFrom` its upstream datasets, `prov:wasGeneratedBy` the job that produced it. An upstream the
reader may not read is a placeholder that names nothing; the document still validates and loads its records
in mlcroissant."""

import json
from urllib.parse import urlsplit

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Dataset
from governance.choices import OwnershipRole, Sensitivity
from lineage.models import Job, LineageEdge
from tests.croissant import assert_same_rows, croissant_frames, mlcroissant_validate
from tests.factories import DatasetFactory, OwnershipFactory, token_for
from tests.lineage.events import dataset as ol_dataset
from tests.lineage.events import run_event

JOB = ("pipelines", "synthesize-flowers")


def _croissant(client, target, **extra):
    response = client.get(f"/api/v1/datasets/{target.pk}/card/croissant", **extra)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def lineage(owner, owner_client, stranger, client_for, iris_csv, send, django_capture_on_commit_callbacks):
    """garden/flowers (registered from a CSV) made by a job from web/crawl and the restricted
    clinic/medical-notes; a stranger reports garden/flowers as made from their own dataset too (unconfirmed)."""
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            "/api/v1/datasets/",
            {"namespace": "garden", "name": "flowers", "source": {"uri": str(iris_csv), "label_column": "species"}},
            format="json",
        )
    assert response.status_code == 201, response.content
    target = Dataset.objects.get(pk=response.json()["id"])
    crawl = DatasetFactory(namespace="web", name="crawl")
    notes = DatasetFactory(namespace="clinic", name="medical-notes", sensitivity=Sensitivity.RESTRICTED)
    for upstream in (crawl, notes):
        OwnershipFactory(dataset=upstream, user=owner, role=OwnershipRole.OWNER)
    send(
        run_event(
            job=JOB,
            inputs=[ol_dataset("web", "crawl"), ol_dataset("clinic", "medical-notes")],
            outputs=[ol_dataset("garden", "flowers")],
            job_facets={},
        )
    )
    Job.objects.filter(namespace=JOB[0], name=JOB[1]).update(description="Reads clinic/medical-notes for flowers.")
    theirs = DatasetFactory(namespace="stranger", name="claimed-source")
    OwnershipFactory(dataset=theirs, user=stranger, role=OwnershipRole.OWNER)
    claim = client_for(stranger).post(
        "/api/v1/lineage",
        run_event(
            job=("stranger", "claims"),
            inputs=[ol_dataset("stranger", "claimed-source")],
            outputs=[ol_dataset("garden", "flowers")],
        ),
        format="json",
    )
    assert claim.status_code in (200, 201), claim.content
    statuses = dict(LineageEdge.objects.filter(target=target).values_list("source__name", "status"))
    assert statuses == {"crawl": "confirmed", "medical-notes": "confirmed", "claimed-source": "unconfirmed"}
    return target, crawl, notes


@pytest.mark.django_db
def test_the_owner_sees_every_confirmed_upstream_and_the_job(owner_client, lineage):
    target, crawl, notes = lineage

    document = _croissant(owner_client, target)

    assert document["@context"]["prov"] == "http://www.w3.org/ns/prov#"
    names = [upstream["name"] for upstream in document["prov:wasDerivedFrom"]]
    assert sorted(names) == ["clinic/medical-notes", "web/crawl"]
    assert "claimed-source" not in json.dumps(document)
    assert {upstream["url"] for upstream in document["prov:wasDerivedFrom"]} == {
        f"http://testserver/api/v1/datasets/{crawl.pk}/",
        f"http://testserver/api/v1/datasets/{notes.pk}/",
    }
    (activity,) = document["prov:wasGeneratedBy"]
    assert activity["@type"] == "prov:Activity"
    assert activity["prov:label"] == "pipelines/synthesize-flowers"
    assert activity["description"] == "Reads clinic/medical-notes for flowers."
    assert activity["url"] == "http://testserver/api/v1/lineage?nodeId=job%3Apipelines%3Asynthesize-flowers"


@pytest.mark.django_db
def test_a_reader_who_may_not_read_an_upstream_gets_a_placeholder_that_names_nothing(stranger_client, lineage):
    target, crawl, notes = lineage

    document = _croissant(stranger_client, target)

    upstream = document["prov:wasDerivedFrom"]
    assert upstream[0] == {
        "@type": "sc:Dataset",
        "name": "web/crawl",
        "url": f"http://testserver/api/v1/datasets/{crawl.pk}/",
    }
    assert upstream[1] == {"@type": "sc:Dataset", "name": "restricted", "description": "A dataset you may not read."}
    text = json.dumps(document)
    assert "medical" not in text
    assert str(notes.pk) not in text
    # The job ran on the restricted dataset: named (it wrote this one), its description withheld.
    (activity,) = document["prov:wasGeneratedBy"]
    assert activity["prov:label"] == "pipelines/synthesize-flowers"
    assert "description" not in activity


@pytest.mark.django_db
def test_a_dataset_without_lineage_states_no_provenance(owner_client, dataset):
    document = _croissant(owner_client, dataset)

    assert "prov:wasDerivedFrom" not in document
    assert "prov:wasGeneratedBy" not in document


@pytest.mark.django_db
def test_the_query_count_does_not_grow_with_the_upstream(owner, owner_client, dataset, send):
    def upstream(count, job):
        for index in range(count):
            source = DatasetFactory(
                namespace="up",
                name=f"{job}-{index}",
                sensitivity=Sensitivity.RESTRICTED if index % 2 else Sensitivity.INTERNAL,
            )
            OwnershipFactory(dataset=source, user=owner, role=OwnershipRole.OWNER)
        send(
            run_event(
                job=("pipelines", job),
                inputs=[ol_dataset("up", f"{job}-{index}") for index in range(count)],
                outputs=[ol_dataset(dataset.namespace, dataset.name)],
            )
        )

    counts = []
    for count, job in ((1, "one"), (12, "many")):
        upstream(count, job)
        with CaptureQueriesContext(connection) as queries:
            document = _croissant(owner_client, dataset)
        counts.append(len(queries))

    assert len(document["prov:wasDerivedFrom"]) == 13
    assert counts[0] == counts[1]


@pytest.mark.django_db(transaction=True)
def test_it_still_validates_and_loads_its_records_in_mlcroissant(
    live_server, stranger, stranger_client, lineage, iris_csv, tmp_path, monkeypatch
):
    target, _, _ = lineage
    document = _croissant(stranger_client, target, HTTP_HOST=urlsplit(live_server.url).netloc)
    assert len(document["prov:wasDerivedFrom"]) == 2
    path = tmp_path / "croissant.json"
    path.write_text(json.dumps(document))

    validation = mlcroissant_validate(path)
    assert validation.returncode == 0, validation.stderr[-2000:]
    frames = croissant_frames(document, tmp_path / "load", token=token_for(stranger), monkeypatch=monkeypatch)
    assert_same_rows(frames["records"], pd.read_csv(iris_csv))

    import mlcroissant as mlc

    metadata = mlc.Dataset(jsonld=str(path)).metadata
    assert "prov:wasDerivedFrom" in metadata.to_json()
