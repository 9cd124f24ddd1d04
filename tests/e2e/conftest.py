"""A real Celery worker, in its own process, consuming from the configured broker and working on
the test database. Tests using it are marked `e2e` and commit their data (transactional_db)."""

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.management.base import CommandError
from django.core.management.commands import flush
from django.db import DatabaseError, connection

from tests.e2e.processes import Service, beat, children, e2e_database_url
from tests.factories import UserFactory, token_for

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _require_real_services() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("end-to-end tests need PostgreSQL: set DATABASE_URL (make test does)")
    if not os.environ.get("CELERY_BROKER_URL"):
        pytest.skip("end-to-end tests need a broker: set CELERY_BROKER_URL (make test does)")


@pytest.fixture(scope="session", autouse=True)
def flush_outlasts_a_deadlock():
    """A transactional test ends by truncating every table while the session's workers and beat keep
    reading some of them: PostgreSQL may break the resulting lock cycle by aborting the truncation.
    The flush then runs again, as a worker would retry its query; any other failure stands."""
    original = flush.Command.handle

    def handle(self, *args, **options):
        for attempt in range(5):
            try:
                return original(self, *args, **options)
            except CommandError as exc:
                cause = exc.__cause__
                if attempt == 4 or not (isinstance(cause, DatabaseError) and "deadlock detected" in str(cause)):
                    raise
                time.sleep(0.2 * (attempt + 1))
        return None

    flush.Command.handle = handle
    yield
    flush.Command.handle = original


class LineageSender:
    """What both clients share for OpenLineage events, which a worker projects after the answer: waiting
    until the projection has taken them, before reading what it writes."""

    def lineage_settled(self, timeout: float = 60) -> None:
        """Wait until none of this caller's lineage events is pending."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.get("/api/v1/lineage/events/", state="pending", limit=100)
            assert response.status_code == 200, response.text
            pending = [event["id"] for event in response.json()["results"]]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"lineage events {pending} still pending after {timeout} s")
            time.sleep(0.2)

    def lineage(self, event, timeout: float = 60) -> dict:
        """POST one event (answered 202, or 200 for a duplicate) and return its resource once the
        projection has taken it (projected or refused)."""
        response = self.post("/api/v1/lineage", event)
        assert response.status_code in (200, 202), response.text
        answer = response.json()
        assert answer["duplicate"] is (response.status_code == 200), answer
        return self.lineage_event(answer["url"], timeout)

    def lineage_event(self, url: str, timeout: float = 60) -> dict:
        """The event resource at `url` once it is no longer pending."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.get(url)
            assert response.status_code == 200, response.text
            event = response.json()
            if event["state"] != "pending":
                return event
            if time.monotonic() > deadline:
                raise AssertionError(f"lineage event {url} still pending after {timeout} s")
            time.sleep(0.2)


@pytest.fixture(scope="session")
def e2e_storage_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e-storage").resolve()


class Workers:
    """Celery worker processes against the test database, which a test may kill and restart."""

    def __init__(self, env: dict[str, str], count: int) -> None:
        self.env = env
        self.count = count
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        self.generation = 0

    def start(self) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.generation += 1
        for index in range(self.count):
            log_path = ARTIFACTS / f"e2e-worker-{self.generation}-{index}.log"
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--loglevel=INFO",
                    "--concurrency=1",
                    "--without-gossip",
                    "--without-mingle",
                    "-n",
                    f"e2e-{uuid.uuid4().hex[:8]}@%h",
                ],
                cwd=settings.BASE_DIR,
                env=self.env,
                stdout=log_path.open("w"),
                stderr=subprocess.STDOUT,
            )
            self.processes.append(process)
            self.logs.append(log_path)
        deadline = time.monotonic() + 60
        for process, log_path in zip(self.processes, self.logs, strict=True):
            while " ready." not in log_path.read_text():
                if process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"A Celery worker did not become ready:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL every worker and its pool children, as a crash or an OOM kill would."""
        for process in self.processes:
            for child in children(process.pid):
                os.kill(child, signal.SIGKILL)
            process.kill()
            process.wait()
        self.processes, self.logs = [], []

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes, self.logs = [], []


# Short limits, so that a killed worker's task comes back within seconds in these tests: Redis
# hands an unacknowledged message out again after the visibility timeout.
E2E_LIMITS = {
    "CELERY_TASK_SOFT_TIME_LIMIT": "40",
    "CELERY_TASK_TIME_LIMIT": "45",
    "CELERY_BROKER_VISIBILITY_TIMEOUT": "50",
    # ... and the workers look for such messages every 2 s (kombu's own pace scans every 100 s).
    "CELERY_BROKER_RESTORE_INTERVAL": "2",
    # The sweeper re-queues a version left pending this long (a lost message, a broker that was down),
    # looking every few seconds: beat runs beside the workers, as in production.
    "CATALOG_PENDING_REQUEUE_AFTER": "2",
    "CATALOG_REQUEUE_INTERVAL": "2",
    "CATALOG_LABEL_QUALITY_SWEEP_INTERVAL": "2",
    # Beat's sweep projects the lineage events a lost message or a killed worker left pending.
    "CATALOG_LINEAGE_PROJECT_INTERVAL": "2",
}


# The buckets of the local S3, GCS and Azure servers (tests/object_store.py) the processes may read sources from.
E2E_OBJECT_STORES = "s3://versioned,s3://unversioned,gs://gcs-data,gs://gcs-versioned,az://az-data"


@pytest.fixture(scope="session")
def e2e_env(django_db_setup, e2e_storage_root, request) -> dict[str, str]:
    """The environment of the processes the e2e tests start: the test database and storage root, and
    the local S3 server with its credentials (in the environment, as workers take them), where moto
    is installed."""
    _require_real_services()
    with contextlib.suppress(pytest.skip.Exception):  # no moto: the object-store tests skip
        request.getfixturevalue("object_store")  # sets AWS_ENDPOINT_URL and the credentials
    with contextlib.suppress(pytest.skip.Exception):  # no fake-gcs-server: the gs:// tests skip
        request.getfixturevalue("gcs_store")  # sets STORAGE_EMULATOR_HOST
    with contextlib.suppress(pytest.skip.Exception):  # no Azurite: the az:// tests skip
        request.getfixturevalue("azure_store")  # sets AZURE_STORAGE_CONNECTION_STRING
    return {
        **os.environ,
        **E2E_LIMITS,
        "DATABASE_URL": e2e_database_url(),
        "CATALOG_STORAGE_ROOTS": str(e2e_storage_root),
        "CATALOG_OBJECT_STORES": E2E_OBJECT_STORES,
        "CONN_MAX_AGE": "0",
    }


@pytest.fixture(scope="session")
def celery_workers(e2e_env, django_db_blocker, tmp_path_factory):
    """Two `celery -A config worker` processes and beat on the test database; stopped before it is
    dropped. Beat's sweeper heals a lost message here as it would in production. It takes only
    versions handed to the broker, so the pending versions of the in-process tests that share this
    database (profiled in their own process, under another storage root) are never sent here."""
    workers = Workers(e2e_env, count=2)
    workers.start()
    ARTIFACTS.mkdir(exist_ok=True)
    scheduler = beat(e2e_env, ARTIFACTS / "e2e-beat.log", tmp_path_factory.mktemp("beat") / "schedule")
    scheduler.start()
    yield workers
    scheduler.stop()
    workers.stop()


@pytest.fixture(scope="session")
def celery_worker_process(celery_workers):
    return celery_workers


@pytest.fixture
def live_catalog(live_server, celery_worker_process, e2e_storage_root, settings):
    """The catalog served over HTTP by a live server, with its tasks consumed by the real worker."""
    settings.CATALOG_STORAGE_ROOTS = [e2e_storage_root]
    return live_server


@pytest.fixture
def api(live_catalog):
    owner = UserFactory(username="profile-owner")
    stranger = UserFactory(username="profile-stranger")

    tokens: dict[int, str] = {}

    class Api(LineageSender):
        url = live_catalog.url

        def headers(self, user=owner):
            if user.pk not in tokens:
                tokens[user.pk] = token_for(user)
            return {"Authorization": f"Token {tokens[user.pk]}"}

        def register(self, name, source, **extra):
            response = requests.post(
                f"{self.url}/api/v1/datasets/",
                json={"namespace": "e2e", "name": name, "source": source, **extra},
                headers=self.headers(),
                timeout=10,
            )
            assert response.status_code == 201, response.text
            return response.json()

        def get(self, path, user=owner, **params):
            return requests.get(f"{self.url}{path}", headers=self.headers(user), params=params, timeout=10)

        def post(self, path, body=None, user=owner):
            return requests.post(f"{self.url}{path}", json=body, headers=self.headers(user), timeout=10)

        def patch(self, path, body, user=owner):
            return requests.patch(f"{self.url}{path}", json=body, headers=self.headers(user), timeout=10)

        def wait(self, version_id, timeout=90, statuses=("ready", "failed")):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                body = self.get(f"/api/v1/versions/{version_id}/").json()
                if body["status"] in statuses:
                    return body
                time.sleep(0.3)
            raise AssertionError(f"version {version_id} still {body['status']} after {timeout} s")

    api = Api()
    api.owner = owner
    api.stranger = stranger
    return api


@pytest.fixture(scope="session")
def gunicorn_catalog(e2e_env, celery_workers):
    """The service as the image runs it (gunicorn, 2 gevent workers) on the test database, with
    its tasks consumed by the session's real workers. Its settings are those of its environment:
    a test cannot change them with the `settings` fixture."""
    ARTIFACTS.mkdir(exist_ok=True)
    server = Service(e2e_env, ARTIFACTS / "e2e-gunicorn.log", workers=2)
    server.start()
    yield server
    server.stop()


class Caller(LineageSender):
    """One person calling the service over HTTP with their own token."""

    def __init__(self, url: str, user) -> None:
        self.url = url
        self.user = user
        self.token = token_for(user)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(
            method, f"{self.url}{path}", headers=headers, timeout=kwargs.pop("timeout", 30), **kwargs
        )

    def get(self, path: str, **params) -> requests.Response:
        return self.request("GET", path, params=params)

    def post(self, path: str, body=None, **kwargs) -> requests.Response:
        return self.request("POST", path, json=body, **kwargs)

    def patch(self, path: str, body, **kwargs) -> requests.Response:
        return self.request("PATCH", path, json=body, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def wait(self, version_id: str, timeout: float = 90, statuses=("ready", "failed")) -> dict:
        deadline = time.monotonic() + timeout
        body: dict = {}
        while time.monotonic() < deadline:
            body = self.get(f"/api/v1/versions/{version_id}/").json()
            if body.get("status") in statuses:
                return body
            time.sleep(0.3)
        raise AssertionError(f"version {version_id} still {body.get('status')} after {timeout} s")


@pytest.fixture
def people(gunicorn_catalog):
    """An owner, another ordinary user and a staff member, each calling gunicorn with their own
    token: the cast of the attack tests (`people.owner.post(...)`, `people.other.get(...)`)."""
    suffix = uuid.uuid4().hex[:6]

    class People:
        url = gunicorn_catalog.url
        owner = Caller(gunicorn_catalog.url, UserFactory(username=f"owner-{suffix}"))
        other = Caller(gunicorn_catalog.url, UserFactory(username=f"other-{suffix}"))
        staff = Caller(gunicorn_catalog.url, UserFactory(username=f"staff-{suffix}", is_staff=True))

    return People
