"""Faults of an object store, over HTTP with gunicorn and real Celery workers: wrong credentials, a
denied permission (a local S3 server that checks both, moto's IAM enforcement), no credentials at
all, an endpoint nothing listens on (or a web server that is no object store), and a store that
throttles (a real loopback proxy answering S3's `503 SlowDown` in front of the local S3 server) each
end the version `failed` with an error that says what to fix, never a 500 nor a version left
`profiling`; a read throttled for a while is retried with backoff and ends `ready`. Hostile object
URLs are a 400 at registration.

Workers take the store's credentials and endpoint from their environment: each fault here has a
worker of its own started with it, consuming a queue of this module's gunicorn, so the session's
shared workers keep theirs."""

from __future__ import annotations

import contextlib
import functools
import io
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.e2e.conftest import ARTIFACTS, E2E_OBJECT_STORES, Caller
from tests.e2e.processes import Service, free_port, worker
from tests.factories import UserFactory
from tests.object_store import GUARDED, GUARDED_KEY, UNVERSIONED, VERSIONED
from tests.realdata_sources import penguins, penguins_file
from tests.throttling_proxy import ThrottlingProxy

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class FaultStack:
    """Gunicorn on a queue of its own; `worker(...)` starts the one worker consuming it, its
    environment changed as a fault needs, and stops it when the block ends."""

    def __init__(self, env: dict[str, str], url: str) -> None:
        self.env = env
        self.url = url
        self.started = 0

    @contextlib.contextmanager
    def worker(self, **changes: str | None) -> Iterator[None]:
        """A worker whose environment has `changes` (a variable given None is left out)."""
        self.started += 1
        name = f"objfaults-{self.started}-{uuid.uuid4().hex[:6]}"
        env = {key: value for key, value in {**self.env, **changes}.items() if value is not None}
        consumer = worker(env, ARTIFACTS / f"e2e-objfaults-worker-{self.started}.log", name)
        consumer.start()
        try:
            yield
        finally:
            consumer.stop()


@pytest.fixture(scope="module")
def fault_stack(e2e_env, object_store) -> Iterator[FaultStack]:
    env = {
        **e2e_env,
        "CELERY_TASK_DEFAULT_QUEUE": f"objfaults-e2e-{uuid.uuid4().hex[:8]}",
        "CATALOG_OBJECT_STORES": f"{E2E_OBJECT_STORES},s3://{GUARDED}",
    }
    ARTIFACTS.mkdir(exist_ok=True)
    server = Service(env, ARTIFACTS / "e2e-objfaults-gunicorn.log", workers=1)
    server.start()
    try:
        yield FaultStack(env, server.url)
    finally:
        server.stop()


@pytest.fixture
def callers(fault_stack) -> tuple[Caller, Caller]:
    suffix = uuid.uuid4().hex[:6]
    return (
        Caller(fault_stack.url, UserFactory(username=f"objfaults-owner-{suffix}")),
        Caller(fault_stack.url, UserFactory(username=f"objfaults-other-{suffix}")),
    )


def _failed(owner: Caller, other: Caller, name: str, source: dict, *, timeout: float = 90) -> str:
    """Register the source (restricted), wait for its version to end, and answer its error: the
    version failed, and someone else may neither read it nor learn its error."""
    body = {"namespace": "objfaults-e2e", "name": name, "sensitivity": "restricted", "source": source}
    registered = owner.post("/api/v1/datasets/", body)
    assert registered.status_code == 201, registered.text
    version_id = registered.json()["latest_version"]["id"]
    version = owner.wait(version_id, timeout=timeout)
    assert version["status"] == "failed", version
    assert version["error"]
    hidden = other.get(f"/api/v1/versions/{version_id}/")
    assert hidden.status_code == 404
    assert version["error"] not in hidden.text
    return version["error"]


def test_wrong_credentials_and_a_denied_permission_fail_with_what_to_fix(fault_stack, callers, guarded_object_store):
    owner, other = callers
    run = uuid.uuid4().hex[:8]
    key = f"s3://{GUARDED}/{GUARDED_KEY}"
    prefix = f"s3://{GUARDED}/{GUARDED_KEY.rpartition('/')[0]}/"
    store = {"AWS_ENDPOINT_URL": guarded_object_store.url}

    unknown_secret = "wrong-secret-" + uuid.uuid4().hex
    with fault_stack.worker(**store, AWS_ACCESS_KEY_ID="AKIAUNKNOWNTOTHESTORE", AWS_SECRET_ACCESS_KEY=unknown_secret):
        # A prefix is listed first: the store's answer names the unknown key.
        error = _failed(owner, other, f"unknown-prefix-{run}", {"uri": prefix, "format": "csv"})
        assert "does not accept the workers' credentials" in error
        assert "InvalidAccessKeyId" in error
        assert "AWS_ACCESS_KEY_ID" in error
        # A single key is asked for by a HEAD, whose 403 has no body to say why: still what to check.
        error = _failed(owner, other, f"unknown-key-{run}", {"uri": key})
        assert "refused access" in error
        assert "AWS_ACCESS_KEY_ID" in error
        assert unknown_secret not in error

    key_id, secret = guarded_object_store.writer
    with fault_stack.worker(**store, AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret):
        error = _failed(owner, other, f"denied-prefix-{run}", {"uri": prefix, "format": "csv"})
        assert "refused access" in error
        assert "AccessDenied" in error or "Access Denied" in error
        assert "s3:ListBucket" in error
        assert "s3:GetObject" in error
        error = _failed(owner, other, f"denied-key-{run}", {"uri": key})
        assert "refused access" in error
        assert secret not in error


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


def test_a_wrong_endpoint_fails_naming_the_setting(fault_stack, callers, object_store, tmp_path):
    owner, other = callers
    run = uuid.uuid4().hex[:8]
    object_store.put(UNVERSIONED, f"{run}/penguins.csv", penguins_file("penguins.csv").read_bytes())
    source = {"uri": f"s3://{UNVERSIONED}/{run}/penguins.csv"}

    # Nothing listens there.
    with fault_stack.worker(AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}", CATALOG_OBJECT_RETRY_ATTEMPTS="2"):
        error = _failed(owner, other, f"nowhere-{run}", source)
    assert "endpoint cannot be reached" in error
    assert "AWS_ENDPOINT_URL" in error

    # A web server answers there, but it is no object store: every key is Not Found.
    handler = functools.partial(_QuietFiles, directory=str(tmp_path))
    web = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        with fault_stack.worker(AWS_ENDPOINT_URL=f"http://127.0.0.1:{web.server_address[1]}"):
            error = _failed(owner, other, f"elsewhere-{run}", source)
    finally:
        web.shutdown()
        web.server_close()
    assert "does not exist in the object store" in error
    assert "AWS_ENDPOINT_URL" in error


def test_a_worker_without_credentials_fails_saying_where_to_set_them(fault_stack, callers, object_store):
    owner, other = callers
    run = uuid.uuid4().hex[:8]
    object_store.put(UNVERSIONED, f"{run}/penguins.csv", penguins_file("penguins.csv").read_bytes())
    # No key in the environment, no credentials file, no instance metadata to ask.
    nothing = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None, "AWS_PROFILE": None}

    with fault_stack.worker(
        **nothing,
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials",
        AWS_CONFIG_FILE="/nonexistent/config",
        AWS_EC2_METADATA_DISABLED="true",
    ):
        error = _failed(owner, other, f"keyless-{run}", {"uri": f"s3://{UNVERSIONED}/{run}/penguins.csv"})

    assert "the workers have no credentials" in error


def test_a_throttled_read_is_retried_with_backoff_and_endless_throttling_fails_naming_it(
    fault_stack, callers, object_store
):
    owner, other = callers
    run = uuid.uuid4().hex[:8]
    data = penguins_file("penguins.csv").read_bytes()
    object_store.put(VERSIONED, f"{run}/penguins.csv", data)

    # Throttled for a while: the first 3 requests are answered 503 SlowDown, the reads retried with
    # backoff (6 tries a request, the default) go through, and the version is profiled.
    with ThrottlingProxy(object_store.url, throttled=3) as proxy, fault_stack.worker(AWS_ENDPOINT_URL=proxy.url):
        registered = owner.post(
            "/api/v1/datasets/",
            {
                "namespace": "objfaults-e2e",
                "name": f"slowed-{run}",
                "source": {"uri": f"s3://{VERSIONED}/{run}/penguins.csv"},
            },
        )
        assert registered.status_code == 201, registered.text
        version = owner.wait(registered.json()["latest_version"]["id"], timeout=120)
        assert version["status"] == "ready", version["error"]
        assert version["row_count"] == 344
        assert proxy.slowed_down == 3
        assert proxy.forwarded >= 1
        # Backoff: the tries were spread out, not made at once.
        throttled_at = [at for at, _method, _path, status in proxy.answered if status == 503]
        first_forwarded = next(at for at, _method, _path, status in proxy.answered if status != 503)
        assert first_forwarded > throttled_at[0]

    # Throttled for ever: with 3 tries a request, the version fails within a bounded time, naming
    # the throttling and what to do, instead of waiting in `profiling`.
    with (
        ThrottlingProxy(object_store.url, throttled=None) as proxy,
        fault_stack.worker(AWS_ENDPOINT_URL=proxy.url, CATALOG_OBJECT_RETRY_ATTEMPTS="3"),
    ):
        started = time.monotonic()
        error = _failed(owner, other, f"throttled-{run}", {"uri": f"s3://{VERSIONED}/{run}/penguins.csv"}, timeout=60)
        elapsed = time.monotonic() - started

    assert "kept throttling" in error
    assert "CATALOG_OBJECT_RETRY_ATTEMPTS" in error
    # At most 3 tries a request, a call made at most twice (profiler.objects.S3_CALLS): nothing more.
    assert 3 <= proxy.slowed_down <= 2 * 3 * 2
    assert proxy.forwarded == 0
    print(f"endless throttling failed the version in {elapsed:.1f} s after {proxy.slowed_down} answers of 503")


def _ready(owner: Caller, name: str, source: dict) -> dict:
    registered = owner.post("/api/v1/datasets/", {"namespace": "objfaults-e2e", "name": name, "source": source})
    assert registered.status_code == 201, registered.text
    version = owner.wait(registered.json()["latest_version"]["id"], timeout=120)
    assert version["status"] == "ready", version["error"]
    return version


def test_reads_throttled_now_and_then_profile_as_the_same_reads_unthrottled(fault_stack, callers, object_store):
    owner, _other = callers
    run = uuid.uuid4().hex[:8]
    table = pa.Table.from_pandas(penguins(), preserve_index=False)
    for index, start in enumerate(range(0, table.num_rows, 100)):
        sink = io.BytesIO()
        pq.write_table(table.slice(start, 100), sink, row_group_size=50)
        object_store.put(VERSIONED, f"{run}/parquet/part-{index}.parquet", sink.getvalue())
    source = {"uri": f"s3://{VERSIONED}/{run}/parquet/", "format": "parquet"}

    with ThrottlingProxy(object_store.url, throttled=0) as proxy, fault_stack.worker(AWS_ENDPOINT_URL=proxy.url):
        calm = _ready(owner, f"calm-{run}", source)
        assert proxy.slowed_down == 0
        # Every third request, listings and the range reads of the objects alike, is answered SlowDown.
        proxy.throttle(first=0, every=3)
        busy = _ready(owner, f"busy-{run}", source)

    throttled_reads = [path for _at, _method, path, status in proxy.answered if status == 503 and ".parquet" in path]
    print(
        f"{proxy.slowed_down} of {len(proxy.answered)} requests answered SlowDown, {len(throttled_reads)} of them reads"
    )
    assert proxy.slowed_down >= 3
    assert throttled_reads, proxy.answered
    assert busy["fingerprint"] == calm["fingerprint"]
    assert busy["row_count"] == calm["row_count"] == 344
    assert [(f["name"], f["statistics"]) for f in busy["features"]] == [
        (f["name"], f["statistics"]) for f in calm["features"]
    ]


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("s3://versioned-evil/a.csv", "CATALOG_OBJECT_STORES"),
        ("s3://unversioned-evil/a.csv", "CATALOG_OBJECT_STORES"),
        ("s3://training-data/a.csv", "CATALOG_OBJECT_STORES"),
        ("s3://unversioned/../versioned/a.csv", "'..'"),
        ("s3://unversioned/a/./b.csv", "'.'"),
        ("s3://unversioned//a.csv", "empty"),
        ("s3://unversioned/a\x00.csv", "NUL"),
        ("s3://unversioned/a\u0085.csv", "U+0085"),
        ("s3://unversioned/" + "k" * 1100 + ".csv", "at most 1024"),
        ("s3://key:secret@unversioned/a.csv", "credentials"),
        ("s3:///a.csv", "bucket"),
        ("s3://unversioned/\u202egpj.csv", "U+202E"),
    ],
)
def test_hostile_object_urls_are_refused_at_registration_with_a_reason(people, uri, why):
    answer = people.owner.post(
        "/api/v1/datasets/",
        {"namespace": "objfaults-e2e", "name": f"hostile-{uuid.uuid4().hex[:8]}", "source": {"uri": uri}},
    )

    assert answer.status_code == 400, answer.text
    reason = " ".join(answer.json()["errors"]["source.uri"])
    assert why in reason, reason
