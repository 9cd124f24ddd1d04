"""Governance over HTTP on a live server, with the real worker profiling and verifying in the background."""

import time

import pytest
import requests

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _wait_for_change(api, **params) -> list[dict]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        results = api.get("/api/v1/changes/", **params).json()["results"]
        if results:
            return results
        time.sleep(0.3)
    raise AssertionError(f"no change-log entry for {params}")


def test_governance_over_http(api, e2e_storage_root):
    path = e2e_storage_root / "governed" / "loans.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("amount,email,label\n" + "".join(f"{i},user{i}@example.org,{i % 2}\n" for i in range(500)))

    # A bad license expression is refused with the id it does not know, and nothing is registered.
    refused = requests.post(
        f"{api.url}/api/v1/datasets/",
        json={"namespace": "e2e", "name": "loans", "license": "CC-BY-NC-4.0 AND CC-BY-NC-9.0"},
        headers=api.headers(),
        timeout=10,
    )
    assert refused.status_code == 400
    assert "CC-BY-NC-9.0" in refused.json()["errors"]["license"][0]

    dataset = api.register("loans", {"uri": "governed/loans.csv", "label_column": "label"}, license="cc-by-nc-4.0")
    assert dataset["license"] == "CC-BY-NC-4.0"
    version = api.wait(dataset["latest_version"]["id"])
    assert version["status"] == "ready"

    # The license says what it allows.
    license = api.get("/api/v1/licenses/CC-BY-NC-4.0/").json()
    assert license["terms"]["commercial_use"] is False
    assert license["terms"]["non_commercial"] is True

    # A stranger cannot change the dataset; its owner can, and a stale write is refused.
    url = f"/api/v1/datasets/{dataset['id']}/"
    assert api.patch(url, {"description": "mine now"}, user=api.stranger).status_code == 403
    etag = api.get(url).headers["ETag"]
    changed = requests.patch(
        f"{api.url}{url}",
        json={"description": "Loan applications, 2026"},
        headers={**api.headers(), "If-Match": etag},
        timeout=10,
    )
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    stale = requests.patch(
        f"{api.url}{url}",
        json={"description": "overwritten"},
        headers={**api.headers(), "If-Match": etag},
        timeout=10,
    )
    assert stale.status_code == 412
    assert api.get(url).json()["description"] == "Loan applications, 2026"

    # Personal data: the email feature is suggested by profiling; its values are masked for a stranger.
    email = next(feature for feature in version["features"] if feature["name"] == "email")
    assert email["pii_status"] == "suggested"
    stranger_view = api.get(f"/api/v1/versions/{version['id']}/", user=api.stranger).json()
    stranger_email = next(feature for feature in stranger_view["features"] if feature["name"] == "email")
    assert "@example.org" not in str(stranger_email["statistics"]["top_values"])

    # Every change is in the change log, with who made it.
    log = api.get("/api/v1/changes/", dataset=dataset["id"]).json()["results"]
    assert {(entry["object_type"], entry["action"]) for entry in log} >= {
        ("dataset", "create"),
        ("ownership", "create"),
        ("version", "create"),
        ("dataset", "update"),
    }
    update = next(entry for entry in log if entry["action"] == "update")
    assert update["actor"] == "profile-owner"
    assert update["after"] == {"description": "Loan applications, 2026"}
    assert update["request_id"] == changed.headers["X-Request-ID"]

    # A worker's finding is recorded too: the source changes, verification marks the version.
    path.write_text("amount,email,label\n1,a@b.org,0\n")
    assert api.post(f"/api/v1/versions/{version['id']}/verify/").status_code == 202
    (marked,) = _wait_for_change(api, object_id=version["id"], object_type="version", action="update")
    assert marked["actor"] == ""
    assert marked["after"]["source_changed"] is True

    # And the log cannot be altered.
    entry_url = f"{api.url}/api/v1/changes/{update['id']}/"
    for method in (requests.put, requests.patch, requests.delete):
        assert method(entry_url, json={"action": "delete"}, headers=api.headers(), timeout=10).status_code == 405
    assert api.get(f"/api/v1/changes/{update['id']}/").json() == update
