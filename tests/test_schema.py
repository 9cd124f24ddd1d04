import pytest
import yaml
from django.core.management import call_command


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "openapi.yaml"
    # --fail-on-warn: any warning of drf-spectacular fails the test, as it fails CI.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def test_it_documents_the_catalog_operations(schema):
    paths = schema["paths"]
    assert set(paths["/api/v1/datasets/"]) >= {"get", "post"}
    assert set(paths["/api/v1/datasets/{id}/"]) >= {"get", "patch", "delete"}
    assert set(paths["/api/v1/datasets/{dataset_id}/versions/"]) >= {"get", "post"}
    assert "get" in paths["/api/v1/versions/{id}/"]
    assert "post" in paths["/api/v1/auth/token/"]


def test_every_operation_documents_its_errors_as_problem_details(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            errors = {code: response for code, response in operation["responses"].items() if code.startswith("4")}
            assert "400" in errors, (method, path)
            for code, response in errors.items():
                assert list(response["content"]) == ["application/problem+json"], (method, path, code)
            if path != "/api/v1/auth/token/":
                assert "401" in errors, (method, path)


def test_every_operation_documents_refused_fields_and_methods(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "unknown" in operation["responses"]["400"]["description"], (method, path)
            assert "405" in operation["responses"], (method, path)


def test_every_request_body_documents_that_it_takes_no_other_member(schema):
    bodies = {name: body for name, body in schema["components"]["schemas"].items() if name.endswith("Request")}

    assert len(bodies) > 20
    assert {name for name, body in bodies.items() if body.get("additionalProperties") is not False} == set()


def test_registration_documents_the_conflict(schema):
    conflict = schema["paths"]["/api/v1/datasets/"]["post"]["responses"]["409"]
    ref = conflict["content"]["application/problem+json"]["schema"]["$ref"]
    assert ref.endswith("/ConflictProblem")
    assert "existing_id" in schema["components"]["schemas"]["ConflictProblem"]["properties"]


def test_it_serves_the_schema_and_the_docs(client):
    assert client.get("/api/v1/schema/").status_code == 200
    assert client.get("/api/v1/docs/").status_code == 200
    assert client.get("/api/v1/redoc/").status_code == 200
