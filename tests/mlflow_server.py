"""A real MLflow tracking server for the tests (`mlflow server`, SQLite backend), started once per session.

The server is a process of its own from its own venv, as PostgreSQL and Redis are (`make install`
builds .venv-mlflow from requirements/mlflow-server-lock.txt; CATALOG_TEST_MLFLOW_SERVER names another
`mlflow` executable). The runs are logged with the service's own client, mlflow-skinny."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.processes import free_port

QUIET = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
SERVER = Path(
    os.environ.get("CATALOG_TEST_MLFLOW_SERVER")
    or Path(__file__).resolve().parents[2] / ".venv-mlflow" / "bin" / "mlflow"
)


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A tracking server of the session's own, its URL in MLFLOW_TRACKING_URI for the client that
    logs the runs. Stopped (with the workers it started) at the end of the session."""
    if not os.access(SERVER, os.X_OK):
        pytest.skip(f"no MLflow tracking server at {SERVER}: run `make install`, which builds .venv-mlflow")
    workdir = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (workdir / "server.log").open("w")
    command = [
        str(SERVER),
        "server",
        "--backend-store-uri",
        f"sqlite:///{workdir / 'mlflow.db'}",
        "--default-artifact-root",
        (workdir / "artifacts").as_uri(),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    server = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **QUIET}, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not answer /health:\n{(workdir / 'server.log').read_text()[-3000:]}")
            time.sleep(0.2)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("MLFLOW_TRACKING_URI", url)
            for name, value in QUIET.items():
                patch.setenv(name, value)
            yield url
    finally:
        # The server's own process group: the CLI and the uvicorn workers it started.
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        log.close()
