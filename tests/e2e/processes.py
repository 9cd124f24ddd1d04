"""The real processes the fault tests start, stop, freeze and restart: a Redis and a PostgreSQL of their
own (so that taking them down disturbs nothing else), the web service as the image runs it (gunicorn),
and Celery workers and beat."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
import requests
from django.conf import settings


def e2e_database_url() -> str:
    """The URL of the test database, with the credentials the tests logged in with (a stock
    PostgreSQL asks for a password), for the processes the tests start."""
    from django.db import connection

    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user else ""
    return f"postgres://{credentials}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, read from /proc (no procps needed)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def _wait(check: Callable[[], bool], what: str, timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            tail = log.read_text()[-3000:] if log is not None and log.exists() else ""
            pytest.fail(f"{what} within {timeout:.0f} s\n{tail}")
        time.sleep(0.1)


def _stop(process: subprocess.Popen | None, timeout: float = 20) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Redis:
    """A redis-server on a port of its own, keeping nothing on disk: once restarted it is empty, as a
    broker that lost its memory would be."""

    def __init__(self, log: Path) -> None:
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server is not installed")
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
        )
        _wait(self.answers, "Redis did not answer", 10, self.log)

    def stop(self) -> None:
        self.thaw()
        _stop(self.process)
        self.process = None

    def freeze(self) -> None:
        """Stop the process without closing its sockets: connections stay open and nothing answers,
        as with a hung server or a network that drops packets."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)


def _postgres_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]))
    return versions[-1].parent if versions else None


class Postgres:
    """A PostgreSQL cluster of its own (initdb), with its own port and data directory. initdb refuses
    to run as root, so as root the cluster belongs to the `postgres` user."""

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        if self.bin is None:
            pytest.skip("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self.owner: str | None = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root, and there is no postgres user to own a PostgreSQL cluster")
            self.owner = "postgres"
        # Not under pytest's tmp_path: that is private to the user running the tests.
        self.root = Path(tempfile.mkdtemp(prefix="catalog-postgres-"))
        if self.owner is not None:
            shutil.chown(self.root, user=self.owner)
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", self.owner, "--"] if self.owner is not None else []
        # Output to a file, not a pipe: the server pg_ctl starts would hold a pipe open, and the
        # wait for its end would never end.
        with (self.root / "commands.log").open("a") as output:
            result = subprocess.run(
                [*prefix, *command], stdout=output, stderr=subprocess.STDOUT, timeout=120, check=False
            )
        if result.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            commands = (self.root / "commands.log").read_text()[-2000:]
            pytest.fail(f"{' '.join(command)} failed:\n{commands}\n{log}")

    def _pg_ctl(self, action: str, *options: str) -> None:
        assert self.bin is not None
        self._run(str(self.bin / "pg_ctl"), action, "-D", str(self.data), "-w", "-t", "60", *options)

    def init(self) -> None:
        assert self.bin is not None
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"
        )

    def _server_options(self) -> list[str]:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        return ["-l", str(self.log), "-o", options]

    def start(self) -> None:
        self._pg_ctl("start", *self._server_options())

    def stop(self) -> None:
        # fast: open sessions are ended at once, as when a server is restarted under load.
        self._pg_ctl("stop", "-m", "fast")

    def restart(self) -> None:
        self._pg_ctl("restart", "-m", "fast", *self._server_options())

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        with psycopg.connect(self.url("postgres").replace("postgres://", "postgresql://"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def remove(self) -> None:
        if self.data.exists() and (self.data / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def manage(env: dict[str, str], *arguments: str) -> str:
    """Run `manage.py` with this environment and answer what it printed."""
    result = subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"manage.py {' '.join(arguments)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


class Service:
    """`gunicorn -c config/gunicorn.conf.py config.wsgi:application`, as the image runs it, on a free local
    port."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 2) -> None:
        self.env = {**env, "ALLOWED_HOSTS": "127.0.0.1"}
        self.log = log
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            pytest.fail(f"gunicorn exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
        try:
            return requests.get(f"{self.url}/healthz", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet, or its workers still booting
            return False

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "config/gunicorn.conf.py",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--log-level",
                "warning",
            ],
            cwd=settings.BASE_DIR,
            env=self.env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        _wait(self._answers, "gunicorn did not answer /healthz", 60, self.log)

    def pids(self) -> list[int]:
        """The master's pid, then its workers': a worker that died and was replaced changes them."""
        assert self.process is not None
        return [self.process.pid, *children(self.process.pid)]

    def stop(self) -> None:
        _stop(self.process, timeout=30)


class Celery:
    """A `celery -A config` process (a worker or beat), logging to its own file."""

    READY = {"worker": " ready.", "beat": "beat: Starting..."}

    def __init__(self, env: dict[str, str], log: Path, command: str, *options: str) -> None:
        self.env = env
        self.log = log
        self.command = command
        self.options = options
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", self.command, "--loglevel=INFO", *self.options],
            cwd=settings.BASE_DIR,
            env=self.env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"celery {self.command} exited:\n{self.log.read_text()[-3000:]}")
            return self.READY[self.command] in self.log.read_text()

        _wait(ready, f"celery {self.command} did not start", 60, self.log)

    def stop(self) -> None:
        _stop(self.process)


def worker(env: dict[str, str], log: Path, name: str) -> Celery:
    return Celery(env, log, "worker", "--concurrency=1", "--without-gossip", "--without-mingle", "-n", f"{name}@%h")


def beat(env: dict[str, str], log: Path, schedule: Path) -> Celery:
    """Beat sends the periodic tasks of CELERY_BEAT_SCHEDULE; it looks every second here."""
    return Celery(env, log, "beat", "--max-interval=1", "--schedule", str(schedule))
