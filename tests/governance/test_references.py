"""Datasets named in request bodies by id or by `namespace/name` (audits, declared lineage), resolved
by one selector: a name nobody may read is answered exactly as one that does not exist."""

import unicodedata

import pytest

from catalog.selectors import ReferenceAmbiguous, ReferencesUnknown, datasets_resolve
from governance.choices import OwnershipRole
from lineage.models import LineageEdge
from tests.factories import DatasetFactory, OwnershipFactory, VersionFactory

pytestmark = pytest.mark.django_db

RESEARCH = {"commercial": False, "distribute_model": False, "distribute_data": False}


@pytest.fixture
def make(owner):
    def make(namespace, name, **fields):
        dataset = DatasetFactory(namespace=namespace, name=name, license="CC0-1.0", **fields)
        OwnershipFactory(dataset=dataset, user=owner, role=OwnershipRole.OWNER)
        VersionFactory(dataset=dataset, number=1)
        dataset.refresh_from_db()
        return dataset

    return make


def _audit(client, references):
    return client.post("/api/v1/audits/", {"datasets": references, "purpose": RESEARCH}, format="json")


def test_an_audit_takes_a_dataset_by_its_namespace_and_name(owner_client, make):
    flowers = make("team-tabular", "flowers")

    response = _audit(owner_client, ["team-tabular/flowers"])

    assert response.status_code == 201, response.json()
    assert response.json()["requested"] == [{"dataset": str(flowers.pk), "version": None}]
    assert [checked["name"] for checked in response.json()["checked"]] == ["team-tabular/flowers"]


def test_a_dataset_named_twice_is_audited_once_and_a_version_named_wins(owner_client, make):
    flowers = make("team-tabular", "flowers")
    version = flowers.latest_version

    response = _audit(owner_client, ["team-tabular/flowers", str(flowers.pk), str(version.pk)])

    assert response.status_code == 201, response.json()
    assert response.json()["requested"] == [{"dataset": str(flowers.pk), "version": str(version.pk)}]


def test_a_namespace_and_a_name_may_both_hold_slashes(owner_client, make):
    shards = make("s3://training-data", "reviews/2026/part-1.parquet")

    response = _audit(owner_client, ["s3://training-data/reviews/2026/part-1.parquet"])

    assert response.status_code == 201, response.json()
    assert response.json()["requested"][0]["dataset"] == str(shards.pk)


def test_a_name_is_matched_in_its_one_spelling(owner_client, make):
    cafe = make("menus", unicodedata.normalize("NFC", "café-orders"))

    response = _audit(owner_client, [unicodedata.normalize("NFD", "menus/café-orders")])

    assert response.status_code == 201, response.json()
    assert response.json()["requested"][0]["dataset"] == str(cafe.pk)


def test_an_unknown_name_is_a_400_naming_it(owner_client, make):
    make("team-tabular", "flowers")

    response = _audit(owner_client, ["team-tabular/flowers", "team-tabular/trees"])

    assert response.status_code == 400
    (message,) = response.json()["errors"]["datasets"]
    assert "'team-tabular/trees'" in message
    assert "'team-tabular/flowers'" not in message


def _answer(response, reference: str) -> tuple[int, dict]:
    body = response.json()
    return response.status_code, {
        key: [message.replace(reference, "<reference>") for message in messages]
        for key, messages in body.get("errors", {}).items()
    } | {"detail": body["detail"].replace(reference, "<reference>")}


@pytest.mark.parametrize("by_id", [False, True])
def test_a_restricted_dataset_is_answered_as_a_missing_one(stranger_client, make, by_id):
    secret = make("zebra-vault", "patients", sensitivity="restricted")
    hidden = str(secret.pk) if by_id else "zebra-vault/patients"
    missing = "0f0e5c0e-7c87-4b8e-a58e-2c3a2a9c6e11" if by_id else "zebra-vault/patientz"

    hidden_answer = _audit(stranger_client, [hidden])
    missing_answer = _audit(stranger_client, [missing])

    assert hidden_answer.status_code == 400
    assert _answer(hidden_answer, hidden) == _answer(missing_answer, missing)
    assert "patients" not in str(_answer(hidden_answer, hidden))


def test_a_restricted_namesake_does_not_make_a_name_ambiguous(stranger_client, make):
    # 'team/a/b' reads as ('team', 'a/b') or ('team/a', 'b'): only the one the caller may read counts.
    readable = make("team", "a/b")
    make("team/a", "b", sensitivity="restricted")

    response = _audit(stranger_client, ["team/a/b"])

    assert response.status_code == 201, response.json()
    assert response.json()["requested"][0]["dataset"] == str(readable.pk)


def test_a_name_that_reads_as_two_datasets_asks_for_the_id(owner_client, make):
    make("team", "a/b")
    make("team/a", "b")

    response = _audit(owner_client, ["team/a/b"])

    assert response.status_code == 400
    (message,) = response.json()["errors"]["datasets"]
    assert "more than one dataset" in message


@pytest.mark.parametrize(
    "reference",
    ["flowers", "", "/flowers", "team-tabular/", 42, None, {"namespace": "a"}, ["a/b"], "a/\x00b", "a/" + "b" * 900],
)
def test_it_rejects_what_is_neither_an_id_nor_a_name(owner_client, reference):
    response = _audit(owner_client, [reference])

    assert response.status_code == 400, response.json()
    assert "datasets.0" in response.json()["errors"] or "datasets" in response.json()["errors"]


def test_lineage_is_declared_between_datasets_named_by_namespace_and_name(owner_client, make):
    raw = make("team-tabular", "raw-flowers")
    clean = make("team-tabular", "flowers")

    response = owner_client.post(
        "/api/v1/lineage/edges/",
        {"source": "team-tabular/raw-flowers", "target": str(clean.pk)},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert (response.json()["source"], response.json()["target"]) == (str(raw.pk), str(clean.pk))


def test_lineage_from_a_dataset_to_itself_by_name_and_id_is_refused(owner_client, make):
    flowers = make("team-tabular", "flowers")

    response = owner_client.post(
        "/api/v1/lineage/edges/", {"source": "team-tabular/flowers", "target": str(flowers.pk)}, format="json"
    )

    assert response.status_code == 400
    assert "target" in response.json()["errors"]


def test_lineage_names_each_reference_that_names_nothing_readable(stranger_client, make):
    make("zebra-vault", "patients", sensitivity="restricted")

    response = stranger_client.post(
        "/api/v1/lineage/edges/", {"source": "zebra-vault/patients", "target": "nowhere/at-all"}, format="json"
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["source"] == [
        "No dataset you can read is 'zebra-vault/patients': give its id, or its namespace/name."
    ]
    assert errors["target"] == ["No dataset you can read is 'nowhere/at-all': give its id, or its namespace/name."]
    assert not LineageEdge.objects.exists()


def test_a_stranger_cannot_declare_lineage_into_a_dataset_they_do_not_write(stranger_client, make):
    make("team-tabular", "raw-flowers")
    make("team-tabular", "flowers")

    response = stranger_client.post(
        "/api/v1/lineage/edges/",
        {"source": "team-tabular/raw-flowers", "target": "team-tabular/flowers"},
        format="json",
    )

    assert response.status_code == 403
    assert not LineageEdge.objects.exists()


def test_references_resolve_in_three_queries_however_many(owner, make, django_assert_num_queries):
    datasets = [make("bulk", f"set-{index}") for index in range(30)]
    references = [
        *(f"bulk/set-{index}" for index in range(10)),
        *(str(dataset.pk) for dataset in datasets[10:20]),
        *(str(dataset.latest_version_id) for dataset in datasets[20:]),
    ]

    # The datasets by id, the versions by id (with their datasets), the datasets by name.
    with django_assert_num_queries(3):
        found = datasets_resolve(user=owner, references=references, versions=True)

    assert [found[reference].pk for reference in references[:20]] == [dataset.pk for dataset in datasets[:20]]
    assert [found[reference].dataset_id for reference in references[20:]] == [dataset.pk for dataset in datasets[20:]]


def test_the_selector_tells_unknown_from_ambiguous(owner, make):
    make("team", "a/b")
    make("team/a", "b")

    with pytest.raises(ReferenceAmbiguous):
        datasets_resolve(user=owner, references=["team/a/b"])
    with pytest.raises(ReferencesUnknown) as unknown:
        datasets_resolve(user=owner, references=["team/a/c", "team/a/b/c"])
    assert unknown.value.references == ["team/a/c", "team/a/b/c"]
