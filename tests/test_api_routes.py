"""Every path under /api/ answers as a client types it: with or without its trailing slash, and with a
problem document, never Django's HTML page, for a path no route takes, a malformed id or a method the
path does not allow, with DEBUG on as well as off."""

import re
import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from catalog.models import Dataset
from config.api.routes import NOT_FOUND_NAME
from governance.choices import Sensitivity
from tests.factories import DatasetFactory, OwnershipFactory, VersionFactory

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
# What each converter is given when a route is turned into a path.
_SAMPLES = {"uuid": str(uuid.UUID(int=1)), "int": "7", "str": "MIT", "path": "train/part-1.csv"}
_CONVERTER = re.compile(r"<(?:(\w+):)?\w+>")


def _endpoints(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _endpoints(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name != NOT_FOUND_NAME:
            yield entry.name, prefix + str(entry.pattern)


def _api_routes():
    """(name, concrete path) of every route of the API and of the probes."""
    for name, route in _endpoints(get_resolver().url_patterns):
        if route.startswith(("api/", "healthz", "readyz")):
            yield name, "/" + _CONVERTER.sub(lambda m: _SAMPLES[m.group(1) or "str"], route)


def _other_form(path: str) -> str:
    return path[:-1] if path.endswith("/") else path + "/"


def test_it_resolves_every_api_route_with_and_without_its_trailing_slash():
    routes = list(_api_routes())

    assert len(routes) > 40
    for name, path in routes:
        assert resolve(path).url_name == name, path
        assert resolve(_other_form(path)).url_name == name, _other_form(path)


def test_it_reverses_each_route_in_the_form_it_is_written_in():
    assert reverse("dataset-list") == "/api/v1/datasets/"
    assert reverse("lineage") == "/api/v1/lineage"
    assert reverse("dataset-card-markdown", args=[uuid.UUID(int=1)]).endswith("/card/markdown")
    assert reverse("healthz") == "/healthz"


def test_the_schema_documents_each_route_once_in_the_form_it_is_written_in():
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]

    assert "/api/v1/datasets/" in paths
    assert "/api/v1/datasets" not in paths
    assert "/api/v1/lineage" in paths
    assert "/api/v1/datasets/{dataset_id}/card/markdown" in paths
    assert not {path.rstrip("/") for path in paths if path.endswith("/")} & set(paths)


@pytest.mark.parametrize("debug", [False, True])
def test_it_registers_a_dataset_posted_without_the_trailing_slash(owner_client, settings, debug):
    settings.DEBUG = debug

    response = owner_client.post("/api/v1/datasets", {"namespace": "team", "name": "no-slash"})

    assert response.status_code == 201, response.content
    assert response["Location"].endswith(f"/api/v1/datasets/{response.json()['id']}/")
    assert Dataset.objects.filter(name="no-slash").exists()


def test_it_takes_every_method_in_either_form(owner_client, dataset):
    base = f"/api/v1/datasets/{dataset.pk}"

    assert owner_client.get(base).status_code == 200
    assert owner_client.patch(base, {"description": "Changed"}).json()["description"] == "Changed"
    assert owner_client.get(f"{base}/card/markdown/").status_code == 200
    assert owner_client.get(f"{base}/owners").status_code == 200
    assert owner_client.delete(base).status_code == 204
    node = f"dataset:{dataset.namespace}:{dataset.name}"
    assert owner_client.get("/api/v1/lineage/", {"nodeId": node}).status_code == 200
    assert APIClient().get("/healthz/").status_code == 200


def test_a_retry_in_the_other_form_is_the_same_idempotent_request(owner_client):
    body = {"namespace": "team", "name": "retried"}
    first = owner_client.post("/api/v1/datasets/", body, HTTP_IDEMPOTENCY_KEY="retry-1")
    again = owner_client.post("/api/v1/datasets", body, HTTP_IDEMPOTENCY_KEY="retry-1")

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Dataset.objects.filter(name="retried").count() == 1


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/api/v1/datasetz/", "/api/v1/nothing-here", "/api/v2/datasets/", "/api", "/api/"])
def test_it_answers_a_path_no_route_takes_with_a_problem_document(stranger_client, settings, debug, path):
    settings.DEBUG = debug

    response = stranger_client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    assert response.json() == {
        "type": "urn:catalog:problem:not_found",
        "title": "Not Found",
        "status": 404,
        "detail": f"There is nothing at {path}.",
    }


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_it_answers_any_method_on_an_unknown_path_with_a_problem_and_no_csrf_page(settings, method):
    settings.DEBUG = True
    client = APIClient(enforce_csrf_checks=True)

    response = getattr(client, method)("/api/v1/typo", {"a": 1}, format="json")

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM


@pytest.mark.parametrize(
    ("path", "segment", "kind"),
    [
        ("/api/v1/datasets/3f0c.../", "3f0c...", "UUID"),
        ("/api/v1/datasets/3f0c", "3f0c", "UUID"),
        ("/api/v1/datasets/not-an-id/versions/", "not-an-id", "UUID"),
        (f"/api/v1/versions/{uuid.UUID(int=1)}/features/first/", "first", "whole number"),
        ("/api/v1/namespaces/team/", "team", "whole number"),
    ],
)
def test_it_answers_a_malformed_id_with_a_problem_naming_it(stranger_client, settings, path, segment, kind):
    settings.DEBUG = True

    response = stranger_client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    assert f"{segment!r} is not an id" in response.json()["detail"]
    assert kind in response.json()["detail"]


def test_it_cuts_a_long_malformed_id_short_in_the_answer(stranger_client):
    response = stranger_client.get(f"/api/v1/datasets/{'x' * 5000}/")

    assert response.status_code == 404
    assert len(response.json()["detail"]) < 5300  # the path once, the id cut to 64 characters


@pytest.mark.parametrize("path", ["/api/v1/versions/", "/api/v1/versions"])
def test_it_answers_the_versions_collection_which_has_no_list_with_a_problem(stranger_client, path):
    response = stranger_client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM


@pytest.mark.parametrize("debug", [False, True])
def test_it_answers_a_method_a_path_does_not_allow_with_a_problem(owner_client, dataset, settings, debug):
    settings.DEBUG = debug
    version = VersionFactory(dataset=dataset)

    answers = [
        owner_client.put(f"/api/v1/datasets/{dataset.pk}/", {"name": "x"}),
        owner_client.put(f"/api/v1/datasets/{dataset.pk}", {"name": "x"}),
        owner_client.delete(f"/api/v1/versions/{version.pk}"),
        owner_client.post("/api/v1/changes", {}),
        owner_client.patch("/api/v1/lineage", {}),
    ]

    for response in answers:
        assert response.status_code == 405, response.content
        assert response["Content-Type"] == PROBLEM
        assert response.json()["type"] == "urn:catalog:problem:method_not_allowed"
        assert response["Allow"]


def test_a_stranger_finds_a_restricted_dataset_in_neither_form(owner, stranger_client):
    hidden = DatasetFactory(name="hidden", sensitivity=Sensitivity.RESTRICTED)
    OwnershipFactory(dataset=hidden, user=owner)

    for path in (f"/api/v1/datasets/{hidden.pk}/", f"/api/v1/datasets/{hidden.pk}"):
        response = stranger_client.get(path)
        assert response.status_code == 404
        assert response["Content-Type"] == PROBLEM
    assert stranger_client.patch(f"/api/v1/datasets/{hidden.pk}", {"description": "mine"}).status_code == 404
    hidden.refresh_from_db()
    assert hidden.description == "A dataset"


def test_a_request_django_refuses_before_any_view_is_a_problem_document(client):
    response = client.get("/api/v1/datasets/", HTTP_HOST="attacker.example")

    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert "attacker" not in response.content.decode()


def test_paths_outside_the_api_keep_their_own_pages(client):
    assert client.get("/admin").status_code == 301
    assert client.get("/no-such-page")["Content-Type"].startswith("text/html")
