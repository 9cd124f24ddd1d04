"""The landing page at / points to the API's documentation, its schema and the admin; the admin's
"View site" leads there."""

import re

import pytest

from tests.factories import UserFactory


def _links(page: str) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', page))


def test_it_answers_a_small_page_linking_the_docs_the_schema_and_the_admin(client):
    response = client.get("/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert {"/api/v1/docs/", "/api/v1/schema/", "/api/v1/redoc/", "/admin/"} <= _links(response.content.decode())


@pytest.mark.django_db
def test_every_link_of_the_landing_page_answers(client):
    client.force_login(UserFactory(username="ada-admin", is_staff=True, is_superuser=True))

    for link in _links(client.get("/").content.decode()):
        assert client.get(link).status_code == 200, link


def test_it_answers_head_and_refuses_writes(client):
    assert client.head("/").status_code == 200
    assert client.post("/", {"x": "y"}).status_code == 405
    assert client.delete("/").status_code == 405


@pytest.mark.parametrize(
    ("query", "status"), [("q=%00", 400), ("q=" + "x" * 20_000, 200), ("a[b][c]=1&a[b][c]=2", 200)]
)
def test_hostile_queries_get_no_server_error(client, query, status):
    # A query means nothing to this page; a NUL is refused before any view, as everywhere.
    assert client.get(f"/?{query}").status_code == status


@pytest.mark.django_db
def test_the_admin_s_view_site_link_leads_to_the_landing_page(client):
    client.force_login(UserFactory(username="ada-admin", is_staff=True, is_superuser=True))

    page = client.get("/admin/").content.decode()

    assert re.search(r'<a href="/">View site</a>', page)
    assert "Training-data catalog" in page
