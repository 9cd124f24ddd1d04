import hashlib
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from governance.models import AccessToken
from tests.factories import UserFactory, token_for

LIST = "/api/v1/datasets/"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def alice(db):
    user = UserFactory(username="alice")
    user.set_password(PASSWORD)
    user.save()
    return user


def _client(key: str, keyword: str = "Token") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {key}")
    return client


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@pytest.mark.django_db
def test_it_exchanges_a_password_for_a_token_shown_once_and_stored_as_a_digest(alice, settings):
    settings.CATALOG_TOKEN_TTL = timedelta(days=30)

    response = APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD, "name": "laptop"})

    assert response.status_code == 200
    key = response.json()["token"]
    stored = AccessToken.objects.get(user=alice)
    assert stored.name == "laptop"
    assert stored.digest == _digest(key)
    assert key not in {stored.prefix, stored.digest, stored.password_digest, stored.name}
    assert stored.prefix == key[: AccessToken.PREFIX_LENGTH]
    expires = timezone.now() + timedelta(days=30)
    assert abs(stored.expires_at - expires) < timedelta(minutes=1)
    assert response.json()["expires_at"] is not None
    assert _client(key).get(LIST).status_code == 200


@pytest.mark.django_db
def test_it_issues_a_new_token_on_each_login(alice):
    first = APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}).json()["token"]
    second = APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}).json()["token"]

    assert first != second
    assert _client(first).get(LIST).status_code == 200
    assert _client(second).get(LIST).status_code == 200


@pytest.mark.django_db
def test_it_rejects_a_wrong_password(alice):
    response = APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": "wrong"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "Unable to log in" in response.json()["errors"]["non_field_errors"][0]
    assert not AccessToken.objects.exists()


@pytest.mark.django_db
def test_it_rejects_a_login_without_a_password(alice):
    response = APIClient().post("/api/v1/auth/token/", {"username": "alice"})

    assert response.status_code == 400
    assert "password" in response.json()["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize("keyword", ["Token", "Bearer"])
def test_it_accepts_token_and_bearer_headers(alice, keyword):
    assert _client(token_for(alice), keyword).get(LIST).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header", ["Token", "Bearer wrong-key", "Token a b", "Basic YWxpY2U6c2VjcmV0", "Token \u00e9\u00e9"]
)
def test_it_rejects_bad_credentials_with_401(alice, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get(LIST)

    assert response.status_code == 401
    assert response.json()["status"] == 401


@pytest.mark.django_db
def test_it_rejects_the_digest_itself_as_a_key(alice):
    token_for(alice)
    stored = AccessToken.objects.get(user=alice)

    assert _client(stored.digest).get(LIST).status_code == 401


@pytest.mark.django_db
def test_it_rejects_a_key_that_shares_only_the_prefix(alice):
    key = token_for(alice)
    forged = key[: AccessToken.PREFIX_LENGTH] + "x" * (len(key) - AccessToken.PREFIX_LENGTH)

    assert _client(forged).get(LIST).status_code == 401


@pytest.mark.django_db
def test_it_rejects_an_expired_token_with_401(alice):
    key = token_for(alice)
    AccessToken.objects.filter(user=alice).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = _client(key).get(LIST)

    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


@pytest.mark.django_db
def test_it_issues_tokens_that_never_expire_when_the_ttl_is_empty(alice, settings):
    settings.CATALOG_TOKEN_TTL = None

    key = token_for(alice)

    assert AccessToken.objects.get(user=alice).expires_at is None
    assert _client(key).get(LIST).status_code == 200


@pytest.mark.django_db
def test_it_revokes_tokens_when_the_password_changes(alice):
    key = token_for(alice)
    assert _client(key).get(LIST).status_code == 200

    alice.set_password("a different password, chosen later")
    alice.save()

    assert _client(key).get(LIST).status_code == 401
    assert _client(token_for(alice)).get(LIST).status_code == 200


@pytest.mark.django_db
def test_it_rejects_the_token_of_an_inactive_user(alice):
    key = token_for(alice)
    alice.is_active = False
    alice.save()

    assert _client(key).get(LIST).status_code == 401


@pytest.mark.django_db
def test_it_records_when_a_token_was_last_used(alice):
    key = token_for(alice)

    _client(key).get(LIST)

    assert AccessToken.objects.get(user=alice).last_used_at is not None


@pytest.mark.django_db
@pytest.mark.parametrize("path", [LIST, "/api/v1/versions/6f1c1f3e-44f0-4a55-9f57-2b0d8e6e9d0a/"])
def test_it_rejects_anonymous_reads_with_401(path):
    response = APIClient().get(path)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.django_db
def test_it_accepts_a_session_for_the_browsable_api(alice):
    client = APIClient()
    client.force_login(alice)

    assert client.get(LIST).status_code == 200


@pytest.mark.django_db
def test_issue_token_prints_a_new_token_kept_as_a_digest(alice, capsys):
    call_command("issue_token", "alice", "--name", "ci")

    key = capsys.readouterr().out.strip()
    stored = AccessToken.objects.get(user=alice)
    assert stored.digest == _digest(key)
    assert stored.name == "ci"
    assert _client(key).get(LIST).status_code == 200


@pytest.mark.django_db
def test_issue_token_rotates_on_request(alice, capsys):
    old = token_for(alice)

    call_command("issue_token", "alice", "--rotate")

    new = capsys.readouterr().out.strip()
    assert new != old
    assert [token.digest for token in AccessToken.objects.filter(user=alice)] == [_digest(new)]
    assert _client(old).get(LIST).status_code == 401
    assert _client(new).get(LIST).status_code == 200


@pytest.mark.django_db
def test_issue_token_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="no user 'ghost'"):
        call_command("issue_token", "ghost")


@pytest.mark.django_db
def test_the_admin_lists_no_key_and_shows_a_new_one_once(alice, client):
    staff = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(staff)
    existing = token_for(alice)

    listed = client.get("/admin/governance/accesstoken/")
    added = client.post("/admin/governance/accesstoken/add/", {"user": alice.pk, "name": "from the admin"})

    assert listed.status_code == 200
    assert existing not in listed.content.decode()
    assert added.status_code == 200
    new = AccessToken.objects.get(name="from the admin")
    shown = added.content.decode()
    key = shown.split('id="issued-token"', 1)[1].split(">", 1)[1].split("<", 1)[0]
    assert new.digest == _digest(key)
    assert "no-cache" in added["Cache-Control"] or "no-store" in added["Cache-Control"]
    detail = client.get(f"/admin/governance/accesstoken/{new.pk}/change/").content.decode()
    assert key not in detail
    assert key not in client.get("/admin/governance/accesstoken/").content.decode()
    assert _client(key).get(LIST).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_former_plaintext_tokens_working_as_digests_and_deletes_the_plaintext():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    user = UserFactory(username="legacy")
    legacy_key = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
    executor = MigrationExecutor(connection)
    target = next(
        key for key in executor.loader.graph.nodes if key[0] == "governance" and key[1].endswith("_access_tokens")
    )
    before = [parent for parent in executor.loader.graph.node_map[target].parents if parent.key[0] == "governance"]
    executor.migrate([before[0].key])
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp with time zone NOT NULL, "
            "user_id integer NOT NULL)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, now(), %s)", [legacy_key, user.pk])
    try:
        executor = MigrationExecutor(connection)
        executor.migrate([target])
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM authtoken_token")
            remaining = cursor.fetchone()[0]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS authtoken_token")
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert remaining == 0
    stored = AccessToken.objects.get(user=user)
    assert stored.digest == _digest(legacy_key)
    assert _client(legacy_key).get(LIST).status_code == 200
