"""The web server as the image runs it (config/gunicorn.conf.py): gevent workers, whose client connections
each hold a database connection of their own while they last and close it when they end.

Here the service keeps its database connections (CONN_MAX_AGE as deployed, not the 0 of the session's
shared server) and names them (PGAPPNAME), so PostgreSQL can say how many it holds."""

import socket
import threading
import time
import uuid

import pytest
import requests
from django.db import connection

from tests.e2e.conftest import ARTIFACTS, Caller
from tests.e2e.processes import Service
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CONNECTIONS = 6


@pytest.fixture(scope="module")
def served(e2e_env):
    name = f"e2e-server-{uuid.uuid4().hex[:8]}"
    env = {**e2e_env, "CONN_MAX_AGE": "60", "PGAPPNAME": name, "GUNICORN_WORKER_CONNECTIONS": str(CONNECTIONS)}
    ARTIFACTS.mkdir(exist_ok=True)
    server = Service(env, ARTIFACTS / "e2e-server-gunicorn.log", workers=1)
    server.start()
    try:
        yield server, name
    finally:
        server.stop()


def _held(name: str) -> int:
    """The database connections the service holds now."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [name])
        return cursor.fetchone()[0]


def _settles_at(name: str, count: int, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while (held := _held(name)) != count and time.monotonic() < deadline:
        time.sleep(0.1)
    return held


def test_a_kept_alive_client_reuses_one_database_connection_closed_when_it_leaves(served):
    server, name = served
    caller = Caller(server.url, UserFactory(username=f"server-{uuid.uuid4().hex[:6]}"))
    with requests.Session() as session:
        session.headers.update(caller.headers)
        for _ in range(15):
            assert session.get(f"{server.url}/api/v1/jobs/", timeout=30).status_code == 200
        assert _held(name) == 1
    assert _settles_at(name, 0) == 0


def test_clients_that_connect_for_each_request_leave_no_database_connection_open(served):
    server, name = served
    caller = Caller(server.url, UserFactory(username=f"server-{uuid.uuid4().hex[:6]}"))
    for _ in range(40):  # requests.request opens and closes a connection of its own each time
        assert caller.get("/api/v1/datasets/").status_code == 200
    assert _settles_at(name, 0) == 0


def test_concurrent_clients_are_served_at_once_within_the_bound(served):
    """Twice as many kept-alive clients as a worker serves at once: every request is answered, the
    worker never holds more database connections than its bound, and none once they have left."""
    server, name = served
    caller = Caller(server.url, UserFactory(username=f"server-{uuid.uuid4().hex[:6]}"))
    statuses: list[int] = []
    peak = 0
    done = threading.Event()

    def client() -> None:
        with requests.Session() as session:
            session.headers.update(caller.headers)
            for _ in range(10):
                statuses.append(session.get(f"{server.url}/api/v1/lineage/events/", timeout=60).status_code)

    def watch() -> None:
        nonlocal peak
        try:
            while not done.is_set():
                peak = max(peak, _held(name))
                time.sleep(0.02)
        finally:
            connection.close()  # this thread's own

    watcher = threading.Thread(target=watch)
    watcher.start()
    clients = [threading.Thread(target=client) for _ in range(2 * CONNECTIONS)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    done.set()
    watcher.join()
    assert statuses == [200] * (20 * CONNECTIONS)
    assert 1 <= peak <= CONNECTIONS
    assert _settles_at(name, 0) == 0


def test_clients_that_stall_before_their_request_do_not_hold_the_worker(served):
    """Twice as many connections as the worker serves at once, each sending half a request line and
    nothing more: each is dropped once the worker has waited `keepalive` seconds for its headers, and a
    client behind them is answered."""
    server, name = served
    caller = Caller(server.url, UserFactory(username=f"server-{uuid.uuid4().hex[:6]}"))
    host, port = server.url.removeprefix("http://").split(":")
    stalled = []
    try:
        for _ in range(2 * CONNECTIONS):
            sock = socket.create_connection((host, int(port)), timeout=30)
            sock.sendall(b"GET /api/v1/jo")
            stalled.append(sock)
        answer = caller.request("GET", "/api/v1/jobs/", timeout=60)
        assert answer.status_code == 200, answer.text
        # The stalled ones were closed by the server, with nothing written back.
        for sock in stalled:
            assert sock.recv(1024) == b""
    finally:
        for sock in stalled:
            sock.close()
    assert _settles_at(name, 0) == 0
