"""Rate limits: requests per user, and per address for anonymous requests, answered 429 with Retry-After.

DRF reads `SimpleRateThrottle.THROTTLE_RATES` from `api_settings` once, when the class is defined: the
`setting_changed` signal reloads `api_settings` but the class attribute keeps the old dict. So the low
rates are set on the throttle classes themselves (and in the settings, so that both agree).
"""

import re
import time

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from config.api import throttling as config_throttling
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


def test_a_user_at_the_limit_gets_one_more_request_each_period_over_the_rate(low_rates, owner_client, monkeypatch):
    """3/min: three at once, then one every 20 seconds; a refusal says how long until the next."""
    now = [1_000_000.0]
    monkeypatch.setattr(config_throttling.UserRateThrottle, "timer", lambda self: now[0])
    burst = [owner_client.get(LIST).status_code for _ in range(3)]
    refused = owner_client.get(LIST)

    now[0] += 19.5
    still_refused = owner_client.get(LIST)
    now[0] += 0.5
    next_one = owner_client.get(LIST)
    after_it = owner_client.get(LIST)

    assert burst == [200, 200, 200]
    assert_throttled(refused)
    assert int(refused["Retry-After"]) == 20
    assert_throttled(still_refused)
    assert int(still_refused["Retry-After"]) == 1
    assert next_one.status_code == 200
    assert_throttled(after_it)


def test_a_busy_senders_throttle_state_is_one_number_whatever_its_rate(settings, owner_client, owner, monkeypatch):
    """What each request reads and writes in the cache stays the same size however many requests the
    rate allows (DRF's own throttle keeps every request's time of the last period)."""
    rates = {"user": "100000/min", "anon": "2/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", rates)
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", rates)
    started = time.time()
    answers = [owner_client.get(LIST).status_code for _ in range(50)]

    kept = cache.get(f"throttle-gcra_user_{owner.pk}")

    assert answers == [200] * 50
    # The time the allowance is used up to: one interval (0.6 ms) past the last request.
    assert isinstance(kept, float)
    assert started < kept <= time.time() + 60 / 100_000


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


# --- The client address ----------------------------------------------------------------------------


def test_it_keys_anonymous_requests_on_the_connection_not_on_x_forwarded_for(low_rates, settings):
    settings.CATALOG_NUM_PROXIES = 0
    client = APIClient()
    refused = [client.get(LIST, HTTP_X_FORWARDED_FOR=f"203.0.113.{index}") for index in range(2)]

    throttled = client.get(LIST, HTTP_X_FORWARDED_FOR="203.0.113.99")

    assert [response.status_code for response in refused] == [401, 401]
    assert_throttled(throttled)


def test_it_keys_on_the_address_the_trusted_proxy_saw(low_rates, settings):
    settings.CATALOG_NUM_PROXIES = 1
    client = APIClient()
    # What a client writes to the left of the proxy's entry is ignored: same address three times.
    for forged in ("10.0.0.1", "10.0.0.2"):
        client.get(LIST, HTTP_X_FORWARDED_FOR=f"{forged}, 198.51.100.7")

    throttled = client.get(LIST, HTTP_X_FORWARDED_FOR="10.0.0.3, 198.51.100.7")
    another_client = client.get(LIST, HTTP_X_FORWARDED_FOR="10.0.0.3, 198.51.100.8")

    assert_throttled(throttled)
    assert another_client.status_code == 401


@pytest.mark.parametrize(
    ("num_proxies", "forwarded", "expected"),
    [
        (0, "1.1.1.1, 2.2.2.2", "127.0.0.1"),
        (1, "1.1.1.1, 2.2.2.2", "2.2.2.2"),
        (2, "1.1.1.1, 2.2.2.2", "1.1.1.1"),
        (3, "1.1.1.1, 2.2.2.2", "1.1.1.1"),
        (1, None, "127.0.0.1"),
    ],
)
def test_it_reads_the_client_address_as_drf_num_proxies_does(settings, rf, num_proxies, forwarded, expected):
    from config.api.throttling import client_address

    settings.CATALOG_NUM_PROXIES = num_proxies
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}

    assert client_address(rf.get("/", REMOTE_ADDR="127.0.0.1", **extra)) == expected


# --- Failed logins ---------------------------------------------------------------------------------


@pytest.fixture
def login_limits(settings):
    settings.CATALOG_LOGIN_FAILURES_PER_ADDRESS = "5/hour"
    settings.CATALOG_LOGIN_FAILURES_PER_USERNAME = "3/hour"


@pytest.fixture
def victim(db):
    user = UserFactory(username="victor")
    user.set_password("the right one, long enough")
    user.save()
    return user


def _login(username: str, password: str, address: str = "192.0.2.1"):  # type: ignore[no-untyped-def]
    return APIClient().post("/api/v1/auth/token/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_it_refuses_logins_for_a_username_after_its_failures_from_any_address(login_limits, victim):
    failures = [_login("victor", f"guess-{index}", address=f"192.0.2.{index}") for index in range(3)]

    refused = _login("victor", "the right one, long enough", address="192.0.2.50")

    assert [response.status_code for response in failures] == [400, 400, 400]
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert _login("Victor ", "guess", address="192.0.2.51").status_code == 429


def test_it_refuses_logins_from_an_address_after_its_failures_for_any_username(login_limits, victim):
    failures = [_login(f"someone-{index}", "guess") for index in range(5)]

    refused = _login("victor", "the right one, long enough")
    elsewhere = _login("victor", "the right one, long enough", address="192.0.2.77")

    assert [response.status_code for response in failures] == [400] * 5
    assert refused.status_code == 429
    assert elsewhere.status_code == 200


def test_it_does_not_count_successful_logins(login_limits, victim):
    answers = [_login("victor", "the right one, long enough") for _ in range(6)]

    assert [response.status_code for response in answers] == [200] * 6


def test_it_counts_admin_login_failures_and_refuses_past_the_limit(login_limits, victim, client):
    victim.is_staff = True
    victim.save()
    failures = [
        client.post("/admin/login/", {"username": "victor", "password": f"guess-{index}"}) for index in range(3)
    ]

    refused = client.post("/admin/login/", {"username": "victor", "password": "the right one, long enough"})

    assert [response.status_code for response in failures] == [200, 200, 200]
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session


def test_it_shares_the_failure_counts_between_the_admin_and_the_token_endpoint(login_limits, victim, client):
    for index in range(3):
        _login("victor", f"guess-{index}", address="127.0.0.1")

    refused = client.post("/admin/login/", {"username": "victor", "password": "the right one, long enough"})

    assert refused.status_code == 429


def test_it_lets_a_staff_member_log_in_to_the_admin_below_the_limit(login_limits, victim, client):
    victim.is_staff = True
    victim.save()
    client.post("/admin/login/", {"username": "victor", "password": "wrong"})

    answer = client.post("/admin/login/", {"username": "victor", "password": "the right one, long enough"})

    assert answer.status_code == 302
    assert client.session["_auth_user_id"] == str(victim.pk)
