"""Hostile bodies get a 4xx that names what is wrong, never a 500: deep JSON, NUL bytes, huge objects,
too many inputs, bad moments, wrong types."""

import json

import pytest

from tests.hostile import deep
from training.models import Model, TrainingRun
from training.specs import MAX_INPUTS, MAX_JSON_DEPTH

pytestmark = pytest.mark.django_db

RUNS = "/api/v1/training-runs/"
MODEL = {"namespace": "vision", "name": "clf"}


def _post(client, body: dict):
    return client.post(RUNS, body, format="json")


def _nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"x": value}
    return value


@pytest.mark.parametrize("field", ["hyperparameters", "metrics", "environment"])
def test_it_refuses_objects_nested_too_deeply(owner_client, field):
    response = _post(owner_client, {"model": MODEL, field: _nested(MAX_JSON_DEPTH + 1)})

    assert response.status_code == 400
    assert "levels deep" in response.json()["errors"][field][0]
    assert not Model.objects.exists()


def test_it_takes_objects_nested_within_the_bound(owner_client):
    response = _post(owner_client, {"model": MODEL, "hyperparameters": _nested(MAX_JSON_DEPTH - 1)})

    assert response.status_code == 201, response.json()


def test_it_refuses_a_body_nested_past_the_parser_s_bound(owner_client):
    body = '{"model": {"namespace": "a", "name": "b"}, "hyperparameters": {"a": ' + deep(5_000) + "}}"

    response = owner_client.generic("POST", RUNS, body, content_type="application/json")

    assert response.status_code == 400


@pytest.mark.parametrize("field", ["hyperparameters", "metrics", "environment"])
def test_it_refuses_what_is_not_an_object(owner_client, field):
    for value in ([1, 2], "text", 3):
        response = _post(owner_client, {"model": MODEL, field: value})
        assert response.status_code == 400
        assert "JSON object" in response.json()["errors"][field][0]


def test_it_refuses_a_nul_anywhere(owner_client):
    for body in (
        {"model": MODEL, "hyperparameters": {"a": "x\u0000y"}},
        {"model": MODEL, "hyperparameters": {"a\u0000": 1}},
        {"model": {"namespace": "vi\u0000sion", "name": "clf"}},
        {"model": MODEL, "model_version": "1\u0000"},
    ):
        response = owner_client.generic("POST", RUNS, json.dumps(body), content_type="application/json")
        assert response.status_code == 400, body
    assert not TrainingRun.objects.exists()


def test_it_refuses_a_huge_object(owner_client):
    response = _post(owner_client, {"model": MODEL, "metrics": {"blob": "x" * 300_000}})

    assert response.status_code == 400
    assert "larger than 256 KiB" in response.json()["errors"]["metrics"][0]


def test_it_refuses_more_inputs_than_a_run_reads(owner_client):
    body = {"model": MODEL, "inputs": [{"dataset": "00000000-0000-0000-0000-000000000001"}] * (MAX_INPUTS + 1)}

    response = _post(owner_client, body)

    assert response.status_code == 400
    assert "inputs" in response.json()["errors"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"started_at": "yesterday"}, "started_at"),
        ({"started_at": "2026-13-40T00:00:00Z"}, "started_at"),
        ({"started_at": 1700000000}, "started_at"),
        ({"started_at": "0001-01-01T00:00:00+05:00"}, "started_at"),
        ({"started_at": "2026-05-02T00:00Z", "ended_at": "2026-05-01T00:00Z"}, "ended_at"),
        ({"status": "exploded"}, "status"),
        ({"model_version": 130}, "model_version"),
        ({"purpose": {"comercial": True}}, "purpose.comercial"),
        ({"artifacts": [{"uri": "s3://m", "sha256": "nothex"}]}, "artifacts.0.sha256"),
        ({"artifacts": [{"uri": "s3://m", "size": -1}]}, "artifacts.0.size"),
        ({"inputs": [{"uri": "x", "fingerprint": "md5:1"}]}, "inputs.0.fingerprint"),
        ({"inputs": "all"}, "inputs"),
        ({"hyperparameters": {"lr": float("inf")}}, None),
    ],
)
def test_it_refuses_malformed_fields_naming_them(owner_client, body, field):
    text = json.dumps({"model": MODEL, **body}).replace("Infinity", "1e999")

    response = owner_client.generic("POST", RUNS, text, content_type="application/json")

    assert response.status_code == 400, response.content
    if field is not None:
        assert field in response.json()["errors"], response.json()


@pytest.mark.parametrize("model", ["not-an-id", 5, ["a"], {"namespace": "a"}, {"namespace": "a", "name": "b", "x": 1}])
def test_it_refuses_a_model_named_wrongly(owner_client, model):
    response = _post(owner_client, {"model": model})

    assert response.status_code == 400
    assert any(key.startswith("model") for key in response.json()["errors"]), response.json()


def test_it_refuses_an_unknown_model_id(owner_client):
    response = _post(owner_client, {"model": "00000000-0000-0000-0000-000000000001"})

    assert response.status_code == 400
    assert response.json()["errors"]["model"] == ["There is no model 00000000-0000-0000-0000-000000000001."]


def test_it_refuses_a_hostile_model_body(owner_client):
    assert owner_client.post("/api/v1/models/", {"namespace": "a\u0000", "name": "b"}, format="json").status_code == 400
    assert owner_client.post("/api/v1/models/", {"namespace": "a", "name": "b" * 600}, format="json").status_code == 400
    assert owner_client.post("/api/v1/models/", {"namespace": "a", "name": "b\u200b"}, format="json").status_code == 400
    assert (
        owner_client.post("/api/v1/models/", {"namespace": "a", "name": "b", "tags": "x"}, format="json").status_code
        == 400
    )
    response = owner_client.generic(
        "POST", "/api/v1/models/", '{"namespace": ' + deep(1_000) + "}", content_type="application/json"
    )
    assert response.status_code == 400
    assert not Model.objects.exists()


def test_a_query_with_a_bad_id_is_refused(owner_client):
    assert owner_client.get(RUNS, {"model": "x"}).status_code == 400
    assert owner_client.get(RUNS, {"dataset": "x\u0000"}).status_code == 400
    assert owner_client.get(RUNS, {"colour": "x"}).status_code == 400
