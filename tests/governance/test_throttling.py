"""Rate limits: requests per user, and per address for anonymous requests, answered 429 with Retry-After.

DRF reads `SimpleRateThrottle.THROTTLE_RATES` from `api_settings` once, when the class is defined: the
`setting_changed` signal reloads `api_settings` but the class attribute keeps the old dict. So the low
rates are set on the throttle classes themselves (and in the settings, so that both agree).
"""

import re

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from tests.factories import UserFactory

LIST = "/api/v1/datasets/"
RATES = {"user": "3/min", "anon": "2/min"}

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_rates(settings, monkeypatch):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": RATES}
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", RATES)
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", RATES)
    return RATES


def assert_throttled(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == "application/problem+json"
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 60
    body = response.json()
    assert body["status"] == 429
    assert body["title"] == "Too Many Requests"
    assert body["type"].endswith("throttled")
    waited = re.search(r"available in (\d+) seconds?", body["detail"])
    assert waited, body["detail"]
    assert int(waited.group(1)) == retry_after


def test_it_uses_the_configured_rates_by_default(settings):
    configured = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]

    assert UserRateThrottle().rate == configured["user"]
    assert AnonRateThrottle().rate == configured["anon"]


def test_it_answers_the_fourth_request_of_a_user_in_a_minute_with_429(low_rates, owner_client):
    answers = [owner_client.get(LIST) for _ in range(3)]

    throttled = owner_client.get(LIST)

    assert [response.status_code for response in answers] == [200, 200, 200]
    assert_throttled(throttled)


def test_it_counts_a_users_requests_across_endpoints(low_rates, owner_client, dataset):
    owner_client.get(LIST)
    owner_client.get(f"/api/v1/datasets/{dataset.pk}/")
    owner_client.patch(f"/api/v1/datasets/{dataset.pk}/", {"description": "x"}, format="json")

    throttled = owner_client.get("/api/v1/licenses/CC-BY-4.0/")

    assert_throttled(throttled)


def test_it_does_not_throttle_another_user_for_one_users_requests(low_rates, owner_client, client_for):
    for _ in range(4):
        owner_client.get(LIST)
    assert owner_client.get(LIST).status_code == 429

    other = client_for(UserFactory(username="otto-other")).get(LIST)

    assert other.status_code == 200


def test_it_throttles_anonymous_requests_by_the_anon_rate_counting_refusals(low_rates):
    client = APIClient()
    refused = [client.get(LIST) for _ in range(2)]

    throttled = client.get(LIST)

    assert [response.status_code for response in refused] == [401, 401]
    assert_throttled(throttled)


def test_it_throttles_requests_with_a_wrong_token_by_the_anon_rate(low_rates):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    refused = [client.get(LIST) for _ in range(2)]

    throttled = client.get(LIST)

    assert [response.status_code for response in refused] == [401, 401]
    assert_throttled(throttled)


def test_it_throttles_password_logins_by_the_anon_rate(low_rates):
    client = APIClient()
    wrong = {"username": "nobody", "password": "guess"}
    refused = [client.post("/api/v1/auth/token/", wrong) for _ in range(2)]

    throttled = client.post("/api/v1/auth/token/", wrong)

    assert [response.status_code for response in refused] == [400, 400]
    assert_throttled(throttled)


def test_it_does_not_count_anonymous_requests_against_a_user(low_rates, owner_client):
    anonymous = APIClient()
    for _ in range(3):
        anonymous.post("/api/v1/auth/token/", {"username": "nobody", "password": "guess"})

    answers = [owner_client.get(LIST) for _ in range(3)]

    assert [response.status_code for response in answers] == [200, 200, 200]
