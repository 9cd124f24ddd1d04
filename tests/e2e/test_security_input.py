"""Input that stopped a web worker or answered 500 in the security review, sent to gunicorn: each is now a
4xx that says why, answered in well under a second, and the workers that answered it keep serving."""

import gzip
import json
import time
import unicodedata

import pytest

from tests.hostile import ALIAS_BOMB, deep

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EVENT = {
    "eventType": "COMPLETE",
    "eventTime": "2026-11-01T12:00:00Z",
    "producer": "https://example.com/trainer",
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    "run": {"runId": "0195c2a8-6a2b-7d7e-9d62-5a0f8c9d2b11"},
    "job": {"namespace": "attack", "name": "job"},
    "inputs": [{"namespace": "attack", "name": "in"}],
    "outputs": [{"namespace": "attack", "name": "out"}],
}


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def _dataset(people, name: str) -> dict:
    created = people.owner.post("/api/v1/datasets/", {"namespace": "attack", "name": name})
    assert created.status_code == 201, created.text
    return created.json()


def _still_serving(gunicorn_catalog, pids: list[int], people) -> None:
    assert gunicorn_catalog.pids() == pids, "a gunicorn worker died and was replaced"
    for _ in range(4):  # both workers, whichever takes each request
        assert people.owner.get("/api/v1/datasets/", namespace="attack").status_code == 200


def test_it_refuses_a_yaml_alias_bomb_in_a_card_quickly_and_keeps_serving(people, gunicorn_catalog):
    dataset = _dataset(people, f"bomb-{people.owner.user.username}")
    pids = gunicorn_catalog.pids()

    response, took = timed(
        lambda: people.owner.post(
            f"/api/v1/datasets/{dataset['id']}/card/import", {"format": "huggingface", "content": ALIAS_BOMB}
        )
    )

    assert response.status_code == 400, response.text
    assert took < 1, took
    assert "anchors or aliases" in response.json()["errors"]["content"][0]
    _still_serving(gunicorn_catalog, pids, people)


def test_it_refuses_a_field_node_id_with_a_thousand_colons_quickly_and_keeps_serving(people, gunicorn_catalog):
    pids = gunicorn_catalog.pids()

    response, took = timed(lambda: people.other.get("/api/v1/column-lineage", nodeId="datasetField:" + ":" * 1_000))

    assert response.status_code == 400, response.text
    assert took < 1, took
    assert "colons" in response.json()["errors"]["nodeId"][0]
    _still_serving(gunicorn_catalog, pids, people)


def test_it_refuses_json_nested_a_thousand_deep_even_unauthenticated_and_gzipped(people, gunicorn_catalog):
    nested = deep(1_000)
    pids = gunicorn_catalog.pids()

    token, took = timed(
        lambda: people.other.request(
            "POST",
            "/api/v1/auth/token/",
            data='{"username": ' + nested + "}",
            headers={"Authorization": "", "Content-Type": "application/json"},
        )
    )
    lineage = people.other.request(
        "POST",
        "/api/v1/lineage",
        data=gzip.compress(('{"run": ' + nested + "}").encode()),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )

    for response in (token, lineage):
        assert response.status_code == 400, response.text
        assert "more than 100 levels deep" in response.json()["detail"]
    assert took < 1, took
    _still_serving(gunicorn_catalog, pids, people)


@pytest.mark.parametrize("bad", ["\\u0000", "\\ud800"])
def test_it_refuses_nul_and_lone_surrogates_in_an_event(people, bad):
    body = json.dumps(EVENT).replace('"name": "out"', f'"name": "out{bad}"')

    response = people.other.request("POST", "/api/v1/lineage", data=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 400, response.text
    assert "outputs.0.name" in response.json()["errors"]


def test_it_refuses_nul_in_a_query_and_a_path(people):
    for path in ("/api/v1/lineage?nodeId=dataset:%00:%00", "/api/v1/licenses/%00/"):
        response = people.other.get(path)

        assert response.status_code == 400, (path, response.text)
        assert "NUL" in response.json()["detail"]


def test_it_refuses_an_as_of_hour_that_does_not_exist(people):
    dataset = _dataset(people, f"moments-{people.owner.user.username}")

    response = people.owner.get(f"/api/v1/datasets/{dataset['id']}/versions/", as_of="2026-01-01T25:00:00Z")

    assert response.status_code == 400, response.text
    assert "as_of" in response.json()["errors"]


def test_it_answers_options_on_the_card_import(people):
    dataset = _dataset(people, f"options-{people.owner.user.username}")

    response = people.owner.request("OPTIONS", f"/api/v1/datasets/{dataset['id']}/card/import")

    assert response.status_code == 200, response.text


def test_it_refuses_names_that_pass_for_others_and_folds_twins(people):
    suffix = people.owner.user.username
    confusable = people.other.post(
        "/api/v1/datasets/", {"namespace": "attack", "name": f"patients-secr\u0435t-{suffix}"}
    )
    invisible = people.other.post("/api/v1/datasets/", {"namespace": "attack", "name": f"patients\u200b-{suffix}"})
    composed = people.owner.post("/api/v1/datasets/", {"namespace": "attack", "name": f"r\u00e9sum\u00e9s-{suffix}"})
    decomposed = people.other.post(
        "/api/v1/datasets/",
        {"namespace": "attack", "name": unicodedata.normalize("NFD", f"r\u00e9sum\u00e9s-{suffix}")},
    )

    assert confusable.status_code == 400, confusable.text
    assert "mixes Cyrillic and Latin letters" in confusable.json()["errors"]["name"][0]
    assert invisible.status_code == 400, invisible.text
    assert "ZERO WIDTH SPACE" in invisible.json()["errors"]["name"][0]
    assert composed.status_code == 201, composed.text
    assert decomposed.status_code == 409, decomposed.text


def test_it_answers_a_location_from_the_route(people):
    response = people.owner.post(
        "/api/v1/datasets/?format=json", {"namespace": "attack", "name": f"located-{people.owner.user.username}"}
    )

    assert response.status_code == 201, response.text
    assert response.headers["Location"] == f"{people.url}/api/v1/datasets/{response.json()['id']}/"


def test_it_does_not_tell_the_address_a_refused_host_resolves_to(people):
    response = people.other.post(
        "/api/v1/datasets/",
        {"namespace": "attack", "name": "internal", "source": {"uri": "https://localhost/data.csv"}},
    )

    assert response.status_code == 400, response.text
    message = response.json()["errors"]["source.uri"][0]
    assert "private, loopback or reserved" in message
    assert "127.0.0.1" not in message
    assert "::1" not in message


def test_it_escapes_a_dataset_name_in_the_audit_report(people):
    dataset = _dataset(people, f"[Approved by legal](https://evil.example) {people.owner.user.username}")
    purpose = {"commercial": True, "distribute_model": False, "distribute_data": False}
    audit = people.owner.post("/api/v1/audits/", {"datasets": [dataset["id"]], "purpose": purpose})
    assert audit.status_code == 201, audit.text

    text = people.owner.get(f"/api/v1/audits/{audit.json()['id']}/markdown").text

    assert "(https://evil.example)" not in text.replace(r"\(https://evil.example\)", "")
    assert r"\[Approved by legal\]\(https://evil.example\)" in text
