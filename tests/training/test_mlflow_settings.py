"""Beat imports from MLflow only when a tracking server is configured; each case runs in a fresh
interpreter with a clean environment, as tests/test_settings.py does."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "entry = s.CELERY_BEAT_SCHEDULE.get('import-mlflow-runs'); "
    "print(json.dumps([entry and [entry['task'], entry['schedule'].total_seconds()], s.CATALOG_MLFLOW_EXPERIMENTS, "
    "s.CATALOG_MLFLOW_IMPORT_USER]))"
)


def _settings(env: dict[str, str], tmp_path) -> list:
    keep = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env={
            **keep,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CATALOG_ENV_FILE": str(tmp_path / "no.env"),
            "DEBUG": "1",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_without_a_tracking_server_beat_imports_nothing(tmp_path):
    assert _settings({}, tmp_path) == [None, [], ""]


def test_with_a_tracking_server_beat_imports_its_experiments_as_the_user_named(tmp_path):
    env = {
        "CATALOG_MLFLOW_TRACKING_URI": "http://mlflow:5000",
        "CATALOG_MLFLOW_EXPERIMENTS": "flowers,street-signs",
        "CATALOG_MLFLOW_IMPORT_USER": "mlflow-import",
        "CATALOG_MLFLOW_IMPORT_INTERVAL": "600",
    }

    assert _settings(env, tmp_path) == [
        ["training.tasks.mlflow_import_scheduled", 600.0],
        ["flowers", "street-signs"],
        "mlflow-import",
    ]
