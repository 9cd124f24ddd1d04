"""Signed webhooks over gunicorn with a real Celery worker and real receivers on loopback: a version of a real
public dataset (palmerpenguins) that becomes ready and an audit that fails reach a receiver that checks each
signature with the secret (its own HMAC code, as the README shows it); a receiver that answers 500 gets the
delivery again with backoff, every attempt recorded in GET /webhooks/{id}/deliveries/.

The service and worker here run with loopback receivers allowed and retries a second apart, on a queue of
their own: settings the session's shared processes do not have."""

import itertools
import shutil
import time
import uuid

import pytest

from tests.e2e.conftest import ARTIFACTS, Caller
from tests.e2e.processes import Service, worker
from tests.factories import UserFactory
from tests.realdata_sources import penguins_file
from tests.webhooks.receiver import Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SECRET = "whsec-e2e-" + uuid.uuid4().hex
MAX_ATTEMPTS = 3


@pytest.fixture(scope="module")
def hooked_catalog(e2e_env):
    env = {
        **e2e_env,
        "CATALOG_WEBHOOK_ALLOW_PRIVATE_URLS": "1",
        "CATALOG_WEBHOOK_RETRY_DELAY": "0.5",
        "CATALOG_WEBHOOK_RETRY_MAX_DELAY": "1",
        "CATALOG_WEBHOOK_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "CELERY_TASK_DEFAULT_QUEUE": f"webhooks-e2e-{uuid.uuid4().hex[:8]}",
    }
    ARTIFACTS.mkdir(exist_ok=True)
    consumer = worker(env, ARTIFACTS / "e2e-webhooks-worker.log", f"webhooks-{uuid.uuid4().hex[:6]}")
    consumer.start()
    server = Service(env, ARTIFACTS / "e2e-webhooks-gunicorn.log", workers=1)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        consumer.stop()


def _deliveries(caller, hook_id, *, count, timeout=60, final=False):
    deadline = time.monotonic() + timeout
    while True:
        answer = caller.get(f"/api/v1/webhooks/{hook_id}/deliveries/")
        assert answer.status_code == 200, answer.text
        results = answer.json()["results"]
        settled = not final or all(item["status"] != "pending" for item in results)
        if (len(results) >= count and settled) or time.monotonic() > deadline:
            return results
        time.sleep(0.3)


def test_a_receiver_gets_signed_deliveries_and_a_failing_one_gets_retries(hooked_catalog, e2e_storage_root):
    suffix = uuid.uuid4().hex[:6]
    staff = Caller(hooked_catalog.url, UserFactory(username=f"hooks-staff-{suffix}", is_staff=True))
    owner = Caller(hooked_catalog.url, UserFactory(username=f"hooks-owner-{suffix}"))
    source = e2e_storage_root / f"penguins-{suffix}.csv"
    shutil.copyfile(penguins_file("penguins.csv"), source)

    with Receiver(secret=SECRET) as good, Receiver(secret=SECRET, default=500) as failing:
        listening = staff.post(
            "/api/v1/webhooks/",
            {"url": good.url, "events": ["version.ready", "audit.completed"], "secret": SECRET},
        )
        broken = staff.post("/api/v1/webhooks/", {"url": failing.url, "events": ["version.ready"], "secret": SECRET})
        assert listening.status_code == 201, listening.text
        assert broken.status_code == 201, broken.text
        assert SECRET not in listening.text
        # Someone not staff may neither list nor read them.
        assert owner.get("/api/v1/webhooks/").status_code == 403
        assert owner.get(f"/api/v1/webhooks/{broken.json()['id']}/deliveries/").status_code == 403

        # A version of a real dataset becomes ready; its dataset has no license, so its audit fails.
        created = owner.post(
            "/api/v1/datasets/",
            {"namespace": "e2e-hooks", "name": f"penguins-{suffix}", "source": {"uri": str(source)}},
        )
        assert created.status_code == 201, created.text
        version = owner.wait(created.json()["latest_version"]["id"])
        assert version["status"] == "ready", version
        audit = owner.post(
            "/api/v1/audits/",
            {"datasets": [created.json()["id"]], "purpose": {"commercial": True}},
        )
        assert audit.status_code == 201, audit.text
        assert audit.json()["verdict"] == "fail"

        [ready] = good.wait_for(1, event="version.ready")
        [audited] = good.wait_for(1, event="audit.completed")
        attempts = failing.wait_for(MAX_ATTEMPTS, event="version.ready")
        [recorded] = _deliveries(staff, broken.json()["id"], count=1, final=True)

    # Signed, verifiable deliveries with the facts a receiver needs.
    assert ready.verified
    assert audited.verified
    assert ready.json["data"]["version"] == {
        "id": version["id"],
        "number": 1,
        "status": "ready",
        "error": "",
        "fingerprint": version["fingerprint"],
    }
    assert ready.json["data"]["dataset"]["name"] == f"penguins-{suffix}"
    assert audited.json["data"]["audit"]["id"] == audit.json()["id"]
    assert audited.json["data"]["audit"]["verdict"] == "fail"
    assert ready.headers["Catalog-Signature"].startswith("t=")

    # The failing receiver: every attempt signed, the same event, later each time, then given up and recorded.
    assert len(attempts) == MAX_ATTEMPTS
    assert all(item.verified for item in attempts)
    assert len({item.json["id"] for item in attempts}) == 1
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(attempts)]
    assert all(gap >= 0.4 for gap in gaps), gaps
    assert (recorded["status"], recorded["attempts"], recorded["response_code"]) == ("failed", MAX_ATTEMPTS, 500)
    assert [attempt["response_code"] for attempt in recorded["history"]] == [500] * MAX_ATTEMPTS
    assert recorded["event"] == "version.ready"
    assert recorded["event_id"] == attempts[0].json["id"]
    [succeeded] = _deliveries(staff, listening.json()["id"], count=2)[-1:]
    assert (succeeded["status"], succeeded["response_code"]) == ("succeeded", 200)


def test_a_model_is_told_when_its_training_data_is_relicensed_deprecated_and_retired(hooked_catalog, e2e_storage_root):
    suffix = uuid.uuid4().hex[:6]
    staff = Caller(hooked_catalog.url, UserFactory(username=f"affected-staff-{suffix}", is_staff=True))
    owner = Caller(hooked_catalog.url, UserFactory(username=f"affected-owner-{suffix}"))
    source = e2e_storage_root / f"penguins-affected-{suffix}.csv"
    shutil.copyfile(penguins_file("penguins.csv"), source)

    with Receiver(secret=SECRET) as receiver:
        hook = staff.post("/api/v1/webhooks/", {"url": receiver.url, "events": ["model.affected"], "secret": SECRET})
        assert hook.status_code == 201, hook.text
        created = owner.post(
            "/api/v1/datasets/",
            {
                "namespace": "e2e-affected",
                "name": f"penguins-{suffix}",
                "license": "CC-BY-4.0",
                "source": {"uri": str(source)},
            },
        )
        assert created.status_code == 201, created.text
        dataset_id = created.json()["id"]
        version = owner.wait(created.json()["latest_version"]["id"])
        assert version["status"] == "ready", version
        run = owner.post(
            "/api/v1/training-runs/",
            {
                "model": {"namespace": "e2e-affected", "name": f"species-{suffix}"},
                "model_version": "1.0.0",
                "status": "completed",
                "inputs": [{"version": version["id"], "role": "train"}],
                "purpose": {"commercial": True},
            },
        )
        assert run.status_code == 201, run.text

        # The license now forbids commercial use: the model is told, on a worker, with the reason.
        relicensed = owner.patch(f"/api/v1/datasets/{dataset_id}/", {"license": "CC-BY-NC-4.0"})
        assert relicensed.status_code == 200, relicensed.text
        [license_changed] = receiver.wait_for(1, event="model.affected", timeout=60)
        deprecated = owner.patch(
            f"/api/v1/datasets/{dataset_id}/", {"lifecycle": "deprecated", "deprecation_reason": "Use v2."}
        )
        assert deprecated.status_code == 200, deprecated.text
        assert len(receiver.wait_for(2, event="model.affected", timeout=60)) == 2
        assert owner.delete(f"/api/v1/datasets/{dataset_id}/").status_code == 204
        affected = receiver.wait_for(3, event="model.affected", timeout=60)

    assert all(item.verified for item in affected)
    reasons = [item.json["data"]["reason"] for item in affected]
    assert reasons == ["license_changed", "deprecated", "retired"]
    data = license_changed.json["data"]
    assert (
        data["model"]
        == run.json()["model"]
        == {
            "id": data["model"]["id"],
            "namespace": "e2e-affected",
            "name": f"species-{suffix}",
        }
    )
    assert data["dataset"] == {"id": dataset_id}
    assert data["finding_codes"] == ["upstream_license_changed"]
    assert "upstream_retired" in affected[2].json["data"]["finding_codes"]
