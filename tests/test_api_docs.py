"""Swagger UI and ReDoc are served from the application's own static files: no script, style, font or
icon from another host."""

import re

import pytest
from django.contrib.staticfiles import finders

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)
LOCAL_ASSET = re.compile(r"""(?:src|href)\s*=\s*["'](/static/[^"']+)["']""")


@pytest.mark.parametrize("path", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_the_api_docs_load_nothing_from_another_host(client, path):
    response = client.get(path)

    assert response.status_code == 200
    page = response.content.decode()
    assert not EXTERNAL.search(page), EXTERNAL.search(page)
    assets = LOCAL_ASSET.findall(page)
    assert any(asset.endswith(".js") for asset in assets), assets
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset
