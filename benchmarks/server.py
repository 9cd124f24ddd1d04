"""`gunicorn config.wsgi:application` on the benchmark database, on a free local port: the server the lineage
ingestion, load and pipeline benchmarks send their requests to."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import requests
from django.conf import settings
from django.db import connection


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url() -> str:
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    credentials = f"{user}{password}@" if user else ""
    return f"postgres://{credentials}{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


class Server:
    """`gunicorn config.wsgi:application` on the benchmark database, on a free local port."""

    def __init__(self, workers: int, log: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        base = {key: value for key, value in os.environ.items() if key != "CELERY_BROKER_URL"}
        env = {
            **base,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url(),
            "SECRET_KEY": "bench-only",
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            **(env or {}),
        }
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "config/gunicorn.conf.py",
                    "config.wsgi:application",
                    "-w",
                    str(workers),
                    "-b",
                    f"127.0.0.1:{self.port}",
                    "--log-level",
                    "warning",
                ],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, headers: dict[str, str], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                response = requests.get(f"{self.url}/api/v1/jobs/?limit=1", headers=headers, timeout=10)
            except requests.ConnectionError:  # not listening yet
                time.sleep(0.2)
                continue
            if response.status_code == 200:
                return
            raise RuntimeError(
                f"gunicorn answered {response.status_code}: {response.text[:300]}\n{self.log.read_text()[-3000:]}"
            )
        raise RuntimeError(f"gunicorn did not answer in {timeout:.0f} s:\n{self.log.read_text()[-3000:]}")

    def workers_cpu(self) -> float | None:
        """CPU seconds (user and system) the web workers have used so far, read from /proc (None without
        it): the processes gunicorn's master forked."""
        proc = Path("/proc")
        if not proc.is_dir():
            return None
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                # After the command's closing parenthesis: state, ppid, ..., utime and stime (fields 14, 15).
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # ended meanwhile
            if int(fields[1]) == self.process.pid:
                total += int(fields[11]) + int(fields[12])
        return total / ticks

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # a graceful stop: the workers close their connections
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
