import logging

import pytest

from config.celery_app import app as celery_app
from config.middleware import RequestIdLogFilter
from tests.factories import UserFactory, token_for


def test_healthz_answers_while_the_process_runs(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.fixture
def broker_down(settings, monkeypatch):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    # The discard port: nothing listens there.
    monkeypatch.setattr(celery_app.conf, "broker_write_url", "redis://127.0.0.1:9/0")


@pytest.mark.django_db
def test_readyz_checks_the_database_and_the_broker_for_staff(client):
    client.force_login(UserFactory(username="ops", is_staff=True))

    response = client.get("/readyz")

    assert response.status_code == 200, response.json()
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_readyz_answers_503_with_the_reason_to_staff_when_the_broker_is_down(client, broker_down):
    staff = UserFactory(username="ops", is_staff=True)

    response = client.get("/readyz", HTTP_AUTHORIZATION=f"Token {token_for(staff)}")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["broker"].startswith("broker unreachable")


@pytest.mark.django_db
def test_readyz_tells_an_anonymous_caller_only_the_status(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_tells_anonymous_and_ordinary_callers_nothing_of_a_failure(client, broker_down):
    anonymous = client.get("/readyz")
    ordinary = client.get("/readyz", HTTP_AUTHORIZATION=f"Token {token_for(UserFactory(username='ann'))}")
    bad_token = client.get("/readyz", HTTP_AUTHORIZATION="Token not-a-key")

    for response in (anonymous, ordinary, bad_token):
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable"}
        assert b"6379" not in response.content
        assert b"127.0.0.1" not in response.content


def test_unknown_api_paths_answer_problem_json(client):
    response = client.get("/api/v1/nothing-here/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 404


@pytest.mark.django_db
def test_responses_carry_a_request_id_the_service_made(client):
    given = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")
    other = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")

    assert len(given["X-Request-ID"]) == 32
    assert given["X-Request-ID"] != "abc-123"
    assert given["X-Request-ID"] != other["X-Request-ID"]
    assert given["X-Client-Request-ID"] == "abc-123"


@pytest.mark.django_db
def test_it_keeps_a_callers_request_id_bounded_and_printable(client):
    forged = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nforged\x1b[31m" + "x" * 500)
    absent = client.get("/healthz")

    assert forged["X-Client-Request-ID"] == "badidforged[31m" + "x" * (128 - len("badidforged[31m"))
    assert "X-Client-Request-ID" not in absent


def test_log_lines_carry_both_ids():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "message", None, None)

    RequestIdLogFilter().filter(record)

    assert record.request_id == "-"
    assert record.client_request_id == "-"
