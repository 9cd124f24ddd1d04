"""A real Celery worker, in its own process, consuming from the configured broker and working on
the test database. Tests using it are marked `e2e` and commit their data (transactional_db)."""

import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _require_real_services() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("end-to-end tests need PostgreSQL: set DATABASE_URL (make test does)")
    if not os.environ.get("CELERY_BROKER_URL"):
        pytest.skip("end-to-end tests need a broker: set CELERY_BROKER_URL (make test does)")


@pytest.fixture(scope="session")
def e2e_storage_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e-storage").resolve()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, e2e_storage_root):
    """Start `celery -A config worker` against the test database; stop it before the database goes."""
    _require_real_services()
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    name = f"e2e-{uuid.uuid4().hex[:8]}@%h"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CATALOG_STORAGE_ROOTS": str(e2e_storage_root),
        "CONN_MAX_AGE": "0",
    }
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "e2e-worker.log"
    log = log_path.open("w")
    worker = subprocess.Popen(
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
            name,
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    ready = threading.Event()

    def watch() -> None:
        while worker.poll() is None and not ready.is_set():
            if " ready." in log_path.read_text():
                ready.set()
            time.sleep(0.2)

    threading.Thread(target=watch, daemon=True).start()
    if not ready.wait(timeout=60):
        worker.kill()
        pytest.fail(f"The Celery worker did not become ready:\n{log_path.read_text()[-3000:]}")
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    log.close()


@pytest.fixture
def live_catalog(live_server, celery_worker_process, e2e_storage_root, settings):
    """The catalog served over HTTP by a live server, with its tasks consumed by the real worker."""
    settings.CATALOG_STORAGE_ROOTS = [e2e_storage_root]
    return live_server
