"""Which runs and models learned from a dataset or a version, directly or through confirmed lineage."""

import pytest

from governance.choices import OwnershipRole, Sensitivity
from lineage.choices import EdgeOrigin, EdgeStatus
from lineage.models import LineageEdge
from lineage.services import edge_declare
from tests.factories import DatasetFactory, OwnershipFactory
from tests.training.recorded import record, register, write_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def graph(owner, storage_root, django_capture_on_commit_callbacks):
    """raw (two versions) -> clean -> private (restricted), each with files on disk; a run on each."""

    def dataset(name, **fields):
        made = DatasetFactory(namespace="lab", name=name, **fields)
        OwnershipFactory(dataset=made, user=owner, role=OwnershipRole.OWNER)
        return made

    def version(of, folder, offset=0.0):
        path = write_rows(storage_root / folder / "data.csv", offset=offset)
        return register(django_capture_on_commit_callbacks, actor=owner, dataset=of, path=path)

    raw, clean, private = dataset("raw"), dataset("clean"), dataset("private", sensitivity=Sensitivity.RESTRICTED)
    raw_v1, raw_v2 = version(raw, "raw-1"), version(raw, "raw-2", offset=2.0)
    clean_v1, private_v1 = version(clean, "clean"), version(private, "private")
    edge_declare(actor=owner, source=raw, target=clean)
    edge_declare(actor=owner, source=clean, target=private)
    return {
        "raw": raw,
        "clean": clean,
        "private": private,
        "raw_v1": raw_v1,
        "raw_v2": raw_v2,
        "direct": record(owner, "direct", raw_v1),
        "derived": record(owner, "derived", clean_v1, model_version="2.0.0"),
        "hidden": record(owner, "hidden", private_v1),
        "clean_v1": clean_v1,
    }


def impact(client, kind, pk):
    response = client.get(f"/api/v1/{kind}/{pk}/impact/")
    assert response.status_code == 200, response.content
    return response.json()


def test_it_lists_the_runs_and_models_downstream_with_their_paths(owner_client, graph):
    body = impact(owner_client, "datasets", graph["raw"].pk)

    runs = {run["id"]: run for run in body["training_runs"]}
    assert set(runs) == {str(graph[name].pk) for name in ("direct", "derived", "hidden")}
    assert runs[str(graph["direct"].pk)]["path"] == ["dataset:lab:raw"]
    assert runs[str(graph["direct"].pk)]["version"] == str(graph["raw_v1"].pk)
    assert runs[str(graph["derived"].pk)]["path"] == ["dataset:lab:raw", "dataset:lab:clean"]
    assert runs[str(graph["derived"].pk)]["model_version"] == "2.0.0"
    assert runs[str(graph["derived"].pk)]["version"] == str(graph["clean_v1"].pk)
    assert runs[str(graph["hidden"].pk)]["path"] == ["dataset:lab:raw", "dataset:lab:clean", "dataset:lab:private"]
    assert [model["name"] for model in body["models"]] == ["derived", "direct", "hidden"]


def test_a_dataset_the_reader_may_not_read_is_a_placeholder_on_the_way(stranger_client, graph):
    body = impact(stranger_client, "datasets", graph["raw"].pk)

    hidden = next(run for run in body["training_runs"] if run["id"] == str(graph["hidden"].pk))
    assert hidden["path"] == ["dataset:lab:raw", "dataset:lab:clean", "dataset:restricted:#1"]
    assert hidden["version"] is None
    assert hidden["version_number"] is None
    assert "private" not in str(body)


def test_the_impact_of_a_dataset_the_reader_may_not_read_is_a_404(stranger_client, graph):
    assert stranger_client.get(f"/api/v1/datasets/{graph['private'].pk}/impact/").status_code == 404
    version = graph["private"].versions.get()
    assert stranger_client.get(f"/api/v1/versions/{version.pk}/impact/").status_code == 404


def test_unconfirmed_lineage_is_not_followed(
    owner, owner_client, stranger, graph, storage_root, django_capture_on_commit_callbacks
):
    elsewhere = DatasetFactory(namespace="lab", name="elsewhere")
    OwnershipFactory(dataset=elsewhere, user=owner, role=OwnershipRole.OWNER)
    path = write_rows(storage_root / "elsewhere" / "data.csv")
    version = register(django_capture_on_commit_callbacks, actor=owner, dataset=elsewhere, path=path)
    LineageEdge.objects.create(
        source=graph["raw"],
        target=elsewhere,
        origin=EdgeOrigin.MANUAL,
        status=EdgeStatus.UNCONFIRMED,
        created_by=stranger,
    )
    run = record(owner, "elsewhere", version)

    body = impact(owner_client, "datasets", graph["raw"].pk)

    assert str(run.pk) not in {item["id"] for item in body["training_runs"]}


def test_a_version_lists_runs_that_read_it_and_datasets_derived_from_it(owner_client, owner, graph):
    other = record(owner, "second", graph["raw_v2"])

    first = impact(owner_client, "versions", graph["raw_v1"].pk)
    # The edge to `clean` records no version read: it cannot be ruled out for either version.
    assert {run["id"] for run in first["training_runs"]} == {
        str(graph[name].pk) for name in ("direct", "derived", "hidden")
    }
    # Once lineage says `clean` was made from version 2, version 1 reached no model through it.
    LineageEdge.objects.filter(source=graph["raw"], target=graph["clean"]).update(source_version=graph["raw_v2"])
    again = impact(owner_client, "versions", graph["raw_v1"].pk)
    second = impact(owner_client, "versions", graph["raw_v2"].pk)

    assert {run["id"] for run in again["training_runs"]} == {str(graph["direct"].pk)}
    assert {run["id"] for run in second["training_runs"]} == {
        str(other.pk),
        str(graph["derived"].pk),
        str(graph["hidden"].pk),
    }


def test_an_unknown_id_is_a_404_and_unknown_parameters_a_400(owner_client, graph):
    assert owner_client.get("/api/v1/datasets/00000000-0000-0000-0000-000000000000/impact/").status_code == 404
    assert owner_client.get("/api/v1/versions/not-an-id/impact/").status_code == 404
    assert owner_client.get(f"/api/v1/datasets/{graph['raw'].pk}/impact/", {"depth": "\x00"}).status_code == 400


def test_the_query_count_does_not_grow_with_the_runs(owner, owner_client, graph, django_assert_max_num_queries):
    url = f"/api/v1/datasets/{graph['raw'].pk}/impact/"
    with django_assert_max_num_queries(20) as few:
        impact(owner_client, "datasets", graph["raw"].pk)
    for index in range(6):
        record(owner, f"more-{index}", graph["clean_v1"])
        record(owner, "direct", graph["raw_v1"], model_version=f"1.{index}")

    with django_assert_max_num_queries(len(few.captured_queries)):
        body = owner_client.get(url).json()

    assert len(body["training_runs"]) == 15
