"""Hardened auth, against gunicorn: rate limits keyed on the real client address, password guessing
refused at the token endpoint and the admin, tokens kept as digests that expire and die with a
password change, stewards who cannot take a dataset from its owners, a /readyz that tells strangers
nothing, request ids of the service's own, and API docs served without a CDN.

Each test calls from a loopback address of its own (127.x.y.z), so the per-address counts it runs up
do not throttle the other tests sharing the session's gunicorn."""

import random
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import requests
from django.utils import timezone
from requests.adapters import HTTPAdapter

from governance.choices import OwnershipRole
from governance.models import AccessToken
from tests.factories import DatasetFactory, OwnershipFactory, UserFactory, token_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long and honest passphrase"
# gunicorn runs 2 worker processes, each counting in its own memory (no CACHE_URL here): a limit of
# N is reached, at the latest, after 2N requests.
WORKERS = 2


class _FromAddress(HTTPAdapter):
    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def _session() -> requests.Session:
    """A client calling from a loopback address no other test uses."""
    address = f"127.{random.randint(1, 254)}.{random.randint(0, 254)}.{random.randint(1, 254)}"
    session = requests.Session()
    session.mount("http://", _FromAddress(address))
    return session


def _user_with_password(username: str, **extra):  # type: ignore[no-untyped-def]
    user = UserFactory(username=username, **extra)
    user.set_password(PASSWORD)
    user.save()
    return user


def _first_429(answers) -> int | None:  # type: ignore[no-untyped-def]
    for index, status in enumerate(answers):
        if status == 429:
            return index
    return None


def test_it_does_not_let_a_rotating_x_forwarded_for_escape_the_anonymous_throttle(people):
    session = _session()
    statuses = []
    for index in range(300):
        response = session.get(
            f"{people.url}/api/v1/datasets/", headers={"X-Forwarded-For": f"203.0.113.{index % 250}"}, timeout=10
        )
        statuses.append(response.status_code)
        if response.status_code == 429:
            break

    first = _first_429(statuses)
    assert first is not None, "300 anonymous requests with rotating X-Forwarded-For were never throttled"
    assert first <= 120 * WORKERS
    assert set(statuses[:first]) == {401}
    assert int(response.headers["Retry-After"]) > 0


def test_it_refuses_password_guessing_at_the_token_endpoint_whatever_the_forwarded_address(people):
    victim = _user_with_password(f"victim-{people.owner.user.username}")
    session = _session()
    statuses = []
    for index in range(300):
        response = session.post(
            f"{people.url}/api/v1/auth/token/",
            json={"username": victim.username, "password": f"guess-{index}"},
            headers={"X-Forwarded-For": f"198.51.100.{index % 250}"},
            timeout=30,
        )
        statuses.append(response.status_code)
        if response.status_code == 429:
            break

    first = _first_429(statuses)
    assert first is not None, "300 password guesses were never throttled"
    assert first <= 10 * WORKERS
    assert set(statuses[:first]) == {400}
    assert response.headers["Content-Type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    assert not AccessToken.objects.filter(user=victim).exists()


def _admin_login(session: requests.Session, url: str, username: str, password: str) -> requests.Response:
    form = session.get(f"{url}/admin/login/", timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
    assert csrf, form.text[:500]
    return session.post(
        f"{url}/admin/login/",
        data={"csrfmiddlewaretoken": csrf.group(1), "username": username, "password": password, "next": "/admin/"},
        allow_redirects=False,
        timeout=30,
    )


def test_it_refuses_password_guessing_at_the_admin_login(people):
    victim = _user_with_password(f"admin-{people.owner.user.username}", is_staff=True)
    session = _session()
    statuses = []
    for index in range(60):
        response = _admin_login(session, people.url, victim.username, f"guess-{index}")
        statuses.append(response.status_code)
        if response.status_code == 429:
            break

    first = _first_429(statuses)
    assert first is not None, "60 admin password guesses were never refused"
    assert first <= 10 * WORKERS
    assert set(statuses[:first]) == {200}
    assert int(response.headers["Retry-After"]) > 0
    assert "sessionid" not in session.cookies


def test_it_keeps_tokens_as_digests_and_the_admin_shows_no_key(people):
    staff = _user_with_password(f"root-{people.owner.user.username}", is_staff=True, is_superuser=True)
    issued = _session().post(
        f"{people.url}/api/v1/auth/token/", json={"username": staff.username, "password": PASSWORD}, timeout=30
    )
    assert issued.status_code == 200, issued.text
    key = issued.json()["token"]

    stored = AccessToken.objects.filter(user=staff).values_list("prefix", "digest", "password_digest", "name")
    assert stored, "no token stored"
    for row in stored:
        assert key not in row
    assert AccessToken.objects.filter(user=people.owner.user).exists()
    for row in AccessToken.objects.filter(user=people.owner.user).values_list("digest", "prefix"):
        assert people.owner.token not in row

    admin = _session()
    assert _admin_login(admin, people.url, staff.username, PASSWORD).status_code == 302
    listed = admin.get(f"{people.url}/admin/governance/accesstoken/", timeout=10)
    assert listed.status_code == 200
    assert key not in listed.text
    assert people.owner.token not in listed.text
    assert people.owner.token[: AccessToken.PREFIX_LENGTH] in listed.text


def test_it_refuses_an_expired_token_and_one_issued_before_a_password_change(people):
    expired_user = _user_with_password(f"expired-{people.owner.user.username}")
    expired = token_for(expired_user)
    changed_user = _user_with_password(f"changed-{people.owner.user.username}")
    before_change = token_for(changed_user)
    for key in (expired, before_change):
        answer = requests.get(f"{people.url}/api/v1/datasets/", headers={"Authorization": f"Token {key}"}, timeout=10)
        assert answer.status_code == 200

    AccessToken.objects.filter(user=expired_user).update(expires_at=timezone.now() - timedelta(seconds=1))
    changed_user.set_password("another passphrase, after a leak")
    changed_user.save()

    for key in (expired, before_change):
        answer = requests.get(f"{people.url}/api/v1/datasets/", headers={"Authorization": f"Token {key}"}, timeout=10)
        assert answer.status_code == 401, answer.text
        assert answer.headers["Content-Type"] == "application/problem+json"


def test_it_does_not_let_a_steward_take_a_dataset_from_its_owner(people):
    dataset = DatasetFactory(namespace="auth-e2e", name=f"owned-{people.owner.user.username}")
    mine = OwnershipFactory(dataset=dataset, user=people.owner.user, role=OwnershipRole.OWNER)
    OwnershipFactory(dataset=dataset, user=people.other.user, role=OwnershipRole.STEWARD)
    owners = f"/api/v1/datasets/{dataset.pk}/owners/"

    last = people.other.delete(f"{owners}{mine.pk}/")
    promote = people.other.post(owners, {"user": people.other.user.username, "role": "owner"})
    hide = people.other.patch(f"/api/v1/datasets/{dataset.pk}/", {"sensitivity": "restricted"})

    assert last.status_code == 409, last.text
    assert promote.status_code == 403, promote.text
    assert hide.status_code == 403, hide.text
    assert people.owner.get(f"/api/v1/datasets/{dataset.pk}/").status_code == 200
    names = {(entry["name"], entry["role"]) for entry in people.owner.get(owners).json()}
    assert (people.owner.user.username, "owner") in names
    assert (people.other.user.username, "owner") not in names


def test_it_tells_an_anonymous_caller_nothing_internal_at_readyz(people):
    anonymous = requests.get(f"{people.url}/readyz", timeout=10)
    ordinary = people.other.get("/readyz")
    staff = people.staff.get("/readyz")

    assert anonymous.status_code == 200
    assert anonymous.json() == {"status": "ok"}
    assert ordinary.json() == {"status": "ok"}
    assert staff.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_it_never_records_a_callers_request_id_in_the_change_log(people):
    dataset = DatasetFactory(namespace="auth-e2e", name=f"ids-{people.owner.user.username}")
    OwnershipFactory(dataset=dataset, user=people.owner.user, role=OwnershipRole.OWNER)

    changed = people.owner.patch(
        f"/api/v1/datasets/{dataset.pk}/", {"description": "new"}, headers={"X-Request-ID": "forged-evidence"}
    )

    assert changed.status_code == 200, changed.text
    assert changed.headers["X-Request-ID"] != "forged-evidence"
    assert changed.headers["X-Client-Request-ID"] == "forged-evidence"
    entries = people.owner.get("/api/v1/changes/", dataset=str(dataset.pk), action="update").json()["results"]
    assert [entry["request_id"] for entry in entries] == [changed.headers["X-Request-ID"]]


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


@pytest.mark.parametrize("path", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_it_serves_the_api_docs_without_loading_anything_from_another_host(people, path):
    page = requests.get(f"{people.url}{path}", timeout=10)
    assets = _Assets()
    assets.feed(page.text)

    assert page.status_code == 200
    assert any(url.endswith(".js") for url in assets.urls), assets.urls
    foreign = [url for url in assets.urls if re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", url, re.IGNORECASE)]
    assert foreign == []
    assert not re.search(r"https?://", " ".join(re.findall(r"<script[^>]*>", page.text)))
