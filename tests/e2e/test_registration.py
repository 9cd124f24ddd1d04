"""Register over HTTP, let the real worker profile over the real broker, read the result over HTTP."""

import hashlib
import time

import pytest
import requests

from tests.factories import UserFactory, token_for
from tests.fingerprints import independent_fingerprint

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def wait_for_version(base_url: str, headers: dict, version_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = requests.get(f"{base_url}/api/v1/versions/{version_id}/", headers=headers, timeout=10).json()
        if body["status"] not in ("pending", "profiling") or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


@pytest.fixture
def token_headers() -> dict:
    return {"Authorization": f"Bearer {token_for(UserFactory(username='e2e-user'))}"}


def test_a_registered_file_is_fingerprinted_by_the_worker(live_catalog, e2e_storage_root, token_headers):
    data = b"text,label\nhello,greeting\nbye,farewell\n" * 1000
    (e2e_storage_root / "greetings.csv").write_bytes(data)

    response = requests.post(
        f"{live_catalog.url}/api/v1/datasets/",
        json={"namespace": "e2e", "name": "greetings", "source": {"uri": "greetings.csv", "label_column": "label"}},
        headers=token_headers,
        timeout=10,
    )

    assert response.status_code == 201, response.text
    latest = response.json()["latest_version"]
    assert latest["status"] == "pending"
    version = wait_for_version(live_catalog.url, token_headers, latest["id"])
    assert version["status"] == "ready", version
    assert version["fingerprint"] == independent_fingerprint({"greetings.csv": data})
    assert version["size_bytes"] == len(data)
    assert version["manifest"] == [
        {"path": "greetings.csv", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    ]


def test_a_folder_is_fingerprinted_and_a_file_escaping_the_roots_fails_it(
    live_catalog, e2e_storage_root, token_headers
):
    folder = e2e_storage_root / "shards"
    (folder / "nested").mkdir(parents=True)
    files = {"part-0.jsonl": b'{"x": 1}\n', "nested/part-1.jsonl": b'{"x": 2}\n'}
    for relative, data in files.items():
        (folder / relative).write_bytes(data)
    registered = requests.post(
        f"{live_catalog.url}/api/v1/datasets/",
        json={"namespace": "e2e", "name": "shards", "source": {"uri": "shards"}},
        headers=token_headers,
        timeout=10,
    ).json()

    first = wait_for_version(live_catalog.url, token_headers, registered["latest_version"]["id"])
    assert first["status"] == "ready", first
    assert first["fingerprint"] == independent_fingerprint(files)
    assert first["file_count"] == 2

    # Registration does not walk a folder (it answers in constant time); the worker confines every file.
    leaky = e2e_storage_root / "leaky"
    leaky.mkdir()
    (leaky / "ok.jsonl").write_bytes(b"{}\n")
    (leaky / "escape.jsonl").symlink_to("/etc/hostname")
    second = requests.post(
        f"{live_catalog.url}/api/v1/datasets/{registered['id']}/versions/",
        json={"uri": "leaky"},
        headers=token_headers,
        timeout=10,
    )
    assert second.status_code == 201, second.text
    assert second.json()["number"] == 2
    failed = wait_for_version(live_catalog.url, token_headers, second.json()["id"])
    assert failed["status"] == "failed", failed
    assert failed["error"] == "escape.jsonl resolves to a location outside the allowed storage roots."
    assert failed["fingerprint"] == ""
    dataset = requests.get(
        f"{live_catalog.url}/api/v1/datasets/{registered['id']}/", headers=token_headers, timeout=10
    ).json()
    assert dataset["latest_version"]["status"] == "failed"
