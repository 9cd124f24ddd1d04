import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import UserFactory

LIST = "/api/v1/datasets/"


@pytest.fixture
def alice(db):
    user = UserFactory(username="alice")
    user.set_password("correct horse battery staple")
    user.save()
    return user


@pytest.mark.django_db
def test_it_exchanges_a_password_for_a_token(alice):
    response = APIClient().post(
        "/api/v1/auth/token/", {"username": "alice", "password": "correct horse battery staple"}
    )

    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=alice).key}


@pytest.mark.django_db
def test_it_rejects_a_wrong_password(alice):
    response = APIClient().post("/api/v1/auth/token/", {"username": "alice", "password": "wrong"})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "Unable to log in" in response.json()["errors"]["non_field_errors"][0]


@pytest.mark.django_db
@pytest.mark.parametrize("keyword", ["Token", "Bearer"])
def test_it_accepts_token_and_bearer_headers(alice, keyword):
    token = Token.objects.create(user=alice)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {token.key}")

    assert client.get(LIST).status_code == 200


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
@pytest.mark.parametrize("path", [LIST, "/api/v1/versions/6f1c1f3e-44f0-4a55-9f57-2b0d8e6e9d0a/"])
def test_it_rejects_anonymous_reads_with_401(path):
    response = APIClient().get(path)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Token realm="api"' or response["WWW-Authenticate"].startswith("Token")


@pytest.mark.django_db
def test_it_accepts_a_session_for_the_browsable_api(alice):
    client = APIClient()
    client.force_login(alice)

    assert client.get(LIST).status_code == 200


@pytest.mark.django_db
def test_issue_token_prints_the_users_token(alice, capsys):
    call_command("issue_token", "alice")

    assert capsys.readouterr().out.strip() == Token.objects.get(user=alice).key


@pytest.mark.django_db
def test_issue_token_rotates_on_request(alice, capsys):
    old = Token.objects.create(user=alice).key

    call_command("issue_token", "alice", "--rotate")

    new = capsys.readouterr().out.strip()
    assert new != old
    assert Token.objects.get(user=alice).key == new


@pytest.mark.django_db
def test_issue_token_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="no user 'ghost'"):
        call_command("issue_token", "ghost")
