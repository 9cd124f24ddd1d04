"""A request says exactly what it means: a body field that is unknown or read-only, and a query parameter a
view does not take, are a 400 naming them (with the closest name taken, when one is close), never silently
ignored; free-form values (OpenLineage facets, an imported card, a license's sections) keep any key."""

import json
import re
import time
import uuid

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers
from rest_framework.test import APIClient

from catalog.models import Dataset, DatasetVersion, Feature
from config.api.serializers import StrictInputMixin
from governance.choices import Sensitivity
from governance.models import Change, StorageLocation
from lineage.models import Run
from tests.factories import DatasetFactory, OwnershipFactory, UserFactory, VersionFactory
from tests.hostile import deep
from tests.lineage.events import PRODUCER, facet, run_event
from tests.lineage.events import dataset as lineage_dataset
from training.services import model_create, training_run_record
from training.specs import ModelRef, RunSpec
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db

DATASETS = "/api/v1/datasets/"


def errors(response) -> dict:
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    return response.json()["errors"]


# --- Unknown fields ---------------------------------------------------------------------------------


def test_it_refuses_an_unknown_field_naming_it_with_the_close_match(owner_client):
    response = owner_client.post(DATASETS, {"namespace": "team", "name": "typo", "licence": "MIT"})

    assert errors(response) == {"licence": ["Unknown field; did you mean 'license'?"]}
    assert "licence" in response.json()["detail"]
    assert not Dataset.objects.filter(name="typo").exists()


def test_it_lists_the_fields_taken_when_nothing_is_close(owner_client, dataset):
    response = owner_client.patch(f"{DATASETS}{dataset.pk}/", {"colour": "blue"})

    message = errors(response)["colour"][0]
    assert message.startswith("Unknown field; those taken here are ")
    assert "description" in message
    assert "license" in message


def test_it_names_every_mistake_of_a_body_in_one_answer(owner_client):
    response = owner_client.post(DATASETS, {"namespace": "team", "name": 5, "licence": "MIT", "tagz": ["a"]})

    assert set(errors(response)) == {"name", "licence", "tagz"}


def test_it_refuses_unknown_fields_inside_a_nested_object(owner_client, storage_root):
    response = owner_client.post(
        DATASETS,
        {
            "namespace": "team",
            "name": "nested",
            "source": {"uri": "x.csv", "lable_column": "y", "read_options": {"delimter": ";"}},
        },
    )

    assert errors(response) == {
        "source.lable_column": ["Unknown field; did you mean 'label_column'?"],
        "source.read_options.delimter": ["Unknown field; did you mean 'delimiter'?"],
    }
    assert not DatasetVersion.objects.exists()


@pytest.fixture
def world(owner, staff, dataset):
    """A dataset of `owner` with a version and a feature, and a second dataset to link it to."""
    version = VersionFactory(dataset=dataset)
    Feature.objects.create(version=version, name="species", position=0, dtype="string")
    other = DatasetFactory(name="other")
    OwnershipFactory(dataset=other, user=owner)
    model = model_create(actor=owner, namespace="vision", name="classifier")
    run = training_run_record(actor=owner, spec=RunSpec(model=ModelRef(id=model.pk)))
    return {
        "dataset": dataset,
        "version": version,
        "other": other,
        "owner": owner,
        "staff": staff,
        "model": model,
        "run": run,
        "webhook": Webhook.objects.create(url="https://example.org/hook", events=["version.ready"], secret="s" * 16),
    }


# (who, method, path, body, the refused key, the close match suggested or None)
ENDPOINTS = [
    ("owner", "patch", "/api/v1/datasets/{dataset}/", {"descripton": "x"}, "descripton", "description"),
    (
        "owner",
        "post",
        "/api/v1/datasets/{dataset}/versions/",
        {"uri": "x.csv", "lable_column": "y"},
        "lable_column",
        "label_column",
    ),
    ("owner", "patch", "/api/v1/versions/{version}/", {"note": "x"}, "note", "notes"),
    ("owner", "patch", "/api/v1/versions/{version}/features/0/", {"rol": "label"}, "rol", "role"),
    ("owner", "patch", "/api/v1/datasets/{dataset}/card/", {"sumary": "x"}, "sumary", "summary"),
    ("owner", "put", "/api/v1/datasets/{dataset}/card/", {"sumary": "x"}, "sumary", "summary"),
    (
        "owner",
        "post",
        "/api/v1/datasets/{dataset}/card/import",
        {"format": "croissant", "content": {}, "contnet": 1},
        "contnet",
        "content",
    ),
    ("owner", "post", "/api/v1/datasets/{dataset}/owners/", {"user": "olivia-owner", "rol": "steward"}, "rol", "role"),
    ("owner", "post", "/api/v1/datasets/{dataset}/grants/", {"user": "olivia-owner", "users": "x"}, "users", "user"),
    ("owner", "put", "/api/v1/datasets/{dataset}/trusted-producers/", {"groups": [], "group": "x"}, "group", "groups"),
    (
        "owner",
        "post",
        "/api/v1/audits/",
        {"datasets": ["{dataset}"], "purpose": {"comercial": True}},
        "purpose.comercial",
        "commercial",
    ),
    (
        "owner",
        "post",
        "/api/v1/lineage/edges/",
        {"source": "{other}", "target": "{dataset}", "descripton": ""},
        "descripton",
        "description",
    ),
    (
        "staff",
        "post",
        "/api/v1/licenses/",
        {"spdx_id": "LicenseRef-typo", "name": "Typo", "terms_source": {"url": "https://example.org", "sectons": {}}},
        "terms_source.sectons",
        "sections",
    ),
    ("staff", "patch", "/api/v1/licenses/MIT/", {"sumary": "x"}, "sumary", "summary"),
    ("owner", "post", "/api/v1/models/", {"namespace": "a", "name": "b", "tag": ["x"]}, "tag", "tags"),
    ("owner", "patch", "/api/v1/models/{model}/", {"descripton": "x"}, "descripton", "description"),
    ("owner", "post", "/api/v1/models/{model}/owners/", {"user": "olivia-owner", "rol": "steward"}, "rol", "role"),
    (
        "owner",
        "post",
        "/api/v1/training-runs/",
        {"model": "{model}", "hyperparams": {}},
        "hyperparams",
        "hyperparameters",
    ),
    (
        "owner",
        "post",
        "/api/v1/training-runs/",
        {"model": "{model}", "inputs": [{"version": "{version}", "rol": "test"}]},
        "inputs.0.rol",
        "role",
    ),
    ("owner", "patch", "/api/v1/training-runs/{run}/", {"metric": {}}, "metric", "metrics"),
    ("staff", "post", "/api/v1/storage-locations/", {"uri": "/srv/data", "user": ["olivia-owner"]}, "user", "users"),
    ("staff", "post", "/api/v1/namespaces/", {"name": "typo-space", "user": ["olivia-owner"]}, "user", "users"),
    (
        "anonymous",
        "post",
        "/api/v1/auth/token/",
        {"username": "olivia-owner", "password": "x", "nme": "ci"},
        "nme",
        "name",
    ),
]


def _filled(value, world):
    if isinstance(value, str):
        return value.format(**{key: getattr(item, "pk", item) for key, item in world.items()})
    if isinstance(value, list):
        return [_filled(item, world) for item in value]
    if isinstance(value, dict):
        return {key: _filled(item, world) for key, item in value.items()}
    return value


@pytest.mark.parametrize(("who", "method", "path", "body", "refused", "close"), ENDPOINTS)
def test_every_endpoint_that_takes_a_body_refuses_unknown_fields(
    client_for, world, who, method, path, body, refused, close
):
    client = APIClient() if who == "anonymous" else client_for(world[who])
    before = list(Dataset.objects.values_list("updated_at", flat=True).order_by("pk"))

    response = getattr(client, method)(_filled(path, world), _filled(body, world), format="json")

    assert errors(response)[refused] == [f"Unknown field; did you mean {close!r}?"]
    assert list(Dataset.objects.values_list("updated_at", flat=True).order_by("pk")) == before


# --- Read-only fields -------------------------------------------------------------------------------


def test_it_refuses_read_only_fields_of_a_registration(owner_client):
    response = owner_client.post(
        DATASETS,
        {"namespace": "team", "name": "ro", "id": str(uuid.uuid4()), "created_at": "2026-01-01T00:00:00Z"},
    )

    assert errors(response) == {
        "id": ["Read-only: it cannot be set here; leave it out."],
        "created_at": ["Read-only: it cannot be set here; leave it out."],
    }
    assert not Dataset.objects.filter(name="ro").exists()


def test_it_refuses_a_field_that_cannot_change_in_a_patch(owner_client, dataset):
    response = owner_client.patch(f"{DATASETS}{dataset.pk}/", {"namespace": "elsewhere", "latest_version": None})

    assert set(errors(response)) == {"namespace", "latest_version"}
    dataset.refresh_from_db()
    assert dataset.namespace == "team-vision"


def test_a_version_says_why_its_source_cannot_change(owner_client, world):
    response = owner_client.patch(f"/api/v1/versions/{world['version'].pk}/", {"uri": "y.csv", "status": "ready"})

    found = errors(response)
    assert "cannot change" in found["uri"][0]
    assert found["status"] == ["Read-only: it cannot be set here; leave it out."]


def test_it_refuses_what_the_catalog_fills_in_on_a_card(owner_client, dataset):
    response = owner_client.patch(f"{DATASETS}{dataset.pk}/card/", {"summary": "ok", "completeness": 1, "facts": {}})

    assert set(errors(response)) == {"completeness", "facts"}


def test_it_refuses_the_read_only_fields_of_a_model_body(staff_client):
    response = staff_client.post("/api/v1/namespaces/", {"name": "ns", "id": 5, "created_at": "2026-01-01"})

    assert set(errors(response)) == {"id", "created_at"}


# --- Free-form values keep any key ------------------------------------------------------------------


def test_an_openlineage_event_keeps_any_facet(client_for, owner):
    event = run_event(
        inputs=[lineage_dataset("warehouse", "clicks", acme_quality=facet(score=0.9, anything={"x": [1]}))],
        outputs=[lineage_dataset("warehouse", "features")],
        run_facets={"acme_cost": facet(dollars=3, region="eu")},
        job_facets={"acme_team": facet(team="ml")},
    )
    event["run"]["facets"]["acme_cost"]["nested"] = {"free": {"form": True}}

    response = client_for(owner).post("/api/v1/lineage", event, format="json")

    assert response.status_code == 201, response.content
    assert Run.objects.get().facets["acme_cost"]["nested"] == {"free": {"form": True}}
    assert event["producer"] == PRODUCER


def test_an_imported_card_and_a_license_text_keep_any_key(owner_client, staff_client, dataset):
    document = {"@context": {}, "name": "x", "description": "An imported card.", "acme:anything": {"k": 1}}
    imported = owner_client.post(
        f"{DATASETS}{dataset.pk}/card/import", {"format": "croissant", "content": document}, format="json"
    )
    license = staff_client.post(
        "/api/v1/licenses/",
        {
            "spdx_id": "LicenseRef-free",
            "name": "Free",
            "terms_source": {"url": "https://example.org", "sections": {"any term": "section 2"}},
        },
        format="json",
    )

    assert imported.status_code == 200, imported.content
    assert license.status_code == 201, license.content


# --- Query parameters -------------------------------------------------------------------------------


def test_it_refuses_an_unknown_query_parameter_of_a_list(owner_client, dataset):
    response = owner_client.get(DATASETS, {"tagg": "tabular"})

    assert errors(response) == {"tagg": ["Unknown query parameter; did you mean 'tag'?"]}


def test_it_takes_pagination_format_search_and_filters(owner_client, dataset):
    response = owner_client.get(
        DATASETS, {"limit": 5, "offset": 0, "format": "json", "search": "signs", "tag": "x", "owner": "olivia-owner"}
    )

    assert response.status_code == 200, response.content


def test_it_refuses_an_unknown_query_parameter_of_an_object(owner_client, world):
    assert errors(owner_client.get(f"{DATASETS}{world['dataset'].pk}/", {"expand": "owners"}))["expand"]
    assert errors(owner_client.get(f"/api/v1/versions/{world['version'].pk}/features/", {"role": "label"}))["role"]


def test_an_object_is_not_filtered_by_the_filters_of_its_list(owner_client, dataset):
    response = owner_client.get(f"{DATASETS}{dataset.pk}/", {"namespace": "elsewhere", "limit": 1})

    assert set(errors(response)) == {"namespace", "limit"}
    assert owner_client.get(f"{DATASETS}{dataset.pk}/", {"format": "json"}).status_code == 200


def _list_operations():
    """The GET operations of the schema that answer a list (a page or an array), with their query parameters."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in schema["paths"].items():
        operation = operations.get("get")
        if operation is None:
            continue
        content = operation["responses"]["200"].get("content", {}).get("application/json", {})
        answer = content.get("schema", {})
        if answer.get("type") == "array" or answer.get("$ref", "").split("/")[-1].startswith("Paginated"):
            yield (
                path,
                {parameter["name"] for parameter in operation.get("parameters", []) if parameter["in"] == "query"},
            )


def test_every_list_takes_the_query_parameters_it_documents_and_no_other(staff_client, world):
    lists = list(_list_operations())

    assert len(lists) >= 14
    for path, documented in lists:
        # {id}: a version's, but under /webhooks/ a webhook's.
        member = world["webhook"] if path.startswith("/api/v1/webhooks/") else world["version"]
        url = path.format(
            dataset_id=world["dataset"].pk, id=member.pk, version_id=world["version"].pk, model_id=world["model"].pk
        )
        taken = staff_client.get(url, {name: "1" for name in documented})
        if taken.status_code == 400:
            messages = [message for found in errors(taken).values() for message in found]
            assert not any("Unknown query parameter" in message for message in messages), url
        else:
            assert taken.status_code == 200, (url, taken.content)
        assert errors(staff_client.get(url, {"zzz": "1"})) == {"zzz": [_offered(documented)]}, url


def _offered(documented: set[str]) -> str:
    if not documented:
        return "Unknown query parameter; none is taken here."
    return f"Unknown query parameter; those taken here are {', '.join(sorted(documented))}."


# --- Hostile input ----------------------------------------------------------------------------------


def test_it_refuses_a_body_of_many_unknown_fields_naming_a_few(owner_client):
    body = {"namespace": "team", "name": "many", **{f"field{index}": index for index in range(100_000)}}

    response = owner_client.post(DATASETS, body, format="json")

    found = errors(response)
    assert len(found) == 21
    assert found["non_field_errors"] == ["99980 more fields that are not taken here are not named."]
    assert len(response.content) < 10_000
    assert not Dataset.objects.filter(name="many").exists()


def test_it_cuts_a_long_unknown_field_short(owner_client):
    response = owner_client.post(DATASETS, {"namespace": "team", "name": "long", "k" * 100_000: 1}, format="json")

    (refused,) = errors(response)
    assert refused == "k" * 64 + "..."
    assert len(response.content) < 1_000


def test_it_refuses_a_nul_in_a_field_name(owner_client):
    body = json.dumps({"namespace": "team", "name": "nul", "lic\u0000ence": "MIT"})

    response = owner_client.generic("POST", DATASETS, body, content_type="application/json")

    assert "NUL" in errors(response)["lic\\x00ence"][0]


def test_it_refuses_deep_json_quickly(owner_client):
    started = time.monotonic()
    response = owner_client.generic("POST", DATASETS, deep(100_000), content_type="application/json")

    assert response.status_code == 400
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("debug", [False, True])
def test_it_refuses_more_query_parameters_than_it_reads_with_a_problem(owner_client, settings, debug):
    settings.DEBUG = debug
    query = "&".join(f"p{index}=1" for index in range(5_000))

    response = owner_client.get(f"{DATASETS}?{query}")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "more than 1000 parameters" in response.json()["detail"]


def test_it_names_a_few_of_many_unknown_query_parameters(owner_client):
    response = owner_client.get(DATASETS, {f"p{index}": "1" for index in range(900)})

    assert len(errors(response)) == 21


# --- Who may learn what -----------------------------------------------------------------------------


def test_a_stranger_learns_nothing_of_the_fields_of_a_dataset_they_may_not_change(owner, stranger_client):
    shared = DatasetFactory(name="shared")
    OwnershipFactory(dataset=shared, user=owner)
    hidden = DatasetFactory(name="hidden", sensitivity=Sensitivity.RESTRICTED)
    OwnershipFactory(dataset=hidden, user=owner)

    refused = stranger_client.patch(f"{DATASETS}{shared.pk}/", {"licence": "MIT", "description": "mine"})
    unseen = stranger_client.patch(f"{DATASETS}{hidden.pk}/", {"licence": "MIT", "description": "mine"})

    assert refused.status_code == 403
    assert "errors" not in refused.json()
    assert unseen.status_code == 404
    assert set(Dataset.objects.filter(name__in=["shared", "hidden"]).values_list("description", flat=True)) == {
        "A dataset"
    }


def test_another_users_storage_location_is_not_theirs_to_probe(client_for):
    other = client_for(UserFactory(username="not-staff"))

    response = other.post("/api/v1/storage-locations/", {"uri": "/srv", "user": ["x"]}, format="json")

    assert response.status_code == 403
    assert not StorageLocation.objects.exists()


# --- Every body is strict ---------------------------------------------------------------------------


def _nested_serializers(serializer, path):
    yield path, serializer
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        inner = getattr(field, "child", field)
        if isinstance(inner, serializers.BaseSerializer):
            yield from _nested_serializers(inner, f"{path}.{name}")


def test_every_request_body_and_every_object_in_it_is_strict():
    generator = SchemaGenerator()
    generator.get_schema(request=None, public=True)
    checked = 0
    for path, path_regex, method, view in generator._get_paths_and_endpoints():
        if method not in ("POST", "PUT", "PATCH"):
            continue
        inspector = view.schema
        inspector.path, inspector.path_regex, inspector.method = path, path_regex, method
        body = inspector.get_request_serializer()
        if isinstance(body, type) and issubclass(body, serializers.BaseSerializer):
            body = body()
        if not isinstance(body, serializers.BaseSerializer):
            continue  # free-form (an OpenLineage event) or none
        if isinstance(body, serializers.ListSerializer):  # a list of objects (decisions): each is checked
            body = body.child
        for where, serializer in _nested_serializers(body, f"{method} {path}"):
            assert isinstance(serializer, StrictInputMixin), where
            checked += 1

    assert checked > 25


def _operations_with_query(methods=("get", "delete")):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, operations in schema["paths"].items():
        for method in methods:
            operation = operations.get(method)
            if operation is not None:
                documented = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
                yield method, path, documented


def _path_filled(path: str, world, fallback: str) -> str:
    named = {
        "dataset_id": str(world["dataset"].pk),
        "version_id": str(world["version"].pk),
        "position": "0",
        "path": "x",
        "spdx_id": "MIT",
    }
    if path.startswith("/api/v1/datasets/{id}"):
        named["id"] = named["dataset_id"]
    if path.startswith("/api/v1/versions/{id}"):
        named["id"] = named["version_id"]
    return re.sub(r"\{([^}]+)\}", lambda match: named.get(match.group(1), fallback), path)


def test_every_read_and_delete_refuses_a_query_parameter_it_does_not_document(staff_client, world):
    # Views that read their own parameters (graph walks, cards, files, owners) refuse as lists do, before
    # they delete anything.
    operations = list(_operations_with_query())
    assert len(operations) >= 45
    for method, path, documented in operations:
        documented -= {"format"}
        answered = None
        for fallback in ("00000000-0000-4000-8000-000000000000", "1", "x"):
            answered = getattr(staff_client, method)(f"{_path_filled(path, world, fallback)}?zzz=1")
            if "is not an id" not in answered.content.decode():
                break
        assert answered.status_code == 400, (method, path, answered.content[:300])
        assert errors(answered) == {"zzz": [_offered(documented)]}, (method, path)
    assert Dataset.objects.filter(pk=world["dataset"].pk).exists()


def test_a_list_of_owners_is_not_filtered_by_the_parameters_of_their_removal(owner_client, world):
    response = owner_client.get(f"{DATASETS}{world['dataset'].pk}/owners/", {"user": "olivia-owner"})

    assert errors(response) == {"user": ["Unknown query parameter; none is taken here."]}


def test_every_write_refuses_a_query_parameter_it_does_not_document_and_changes_nothing(staff_client, world):
    # A write takes no list's paging or filters either: `POST /datasets/?limit=5` is a mistake to name.
    operations = list(_operations_with_query(methods=("post", "patch", "put")))
    assert len(operations) >= 20
    changes = Change.objects.count()
    for method, path, documented in operations:
        documented -= {"format"}
        answered = None
        for fallback in ("00000000-0000-4000-8000-000000000000", "1", "x"):
            filled = _path_filled(path, world, fallback)
            answered = getattr(staff_client, method)(f"{filled}?zzz=1&limit=5", {}, format="json")
            if "is not an id" not in answered.content.decode():
                break
        assert answered.status_code == 400, (method, path, answered.content[:300])
        assert set(errors(answered)) == {"zzz", "limit"}, (method, path)
    assert Change.objects.count() == changes


def test_every_path_answers_options(staff_client, client, world):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path in schema["paths"]:
        for fallback in ("00000000-0000-4000-8000-000000000000", "1", "x"):
            filled = _path_filled(path, world, fallback)
            answers = [staff_client.options(filled), client.options(filled)]
            if "is not an id" not in answers[0].content.decode():
                break
        for answered in answers:
            assert answered.status_code < 500, (path, answered.content[:300])


def test_a_client_learning_a_route_may_send_any_query(owner_client):
    response = owner_client.options(f"{DATASETS}?zzz=1")

    assert response.status_code == 200
