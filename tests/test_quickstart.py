"""The quick start with no server installed: SQLite and tasks in-process, as `make run` sets it up
(migrate, the demo dataset, the demo lineage, whose training run records a model), then the pages
and endpoints a first reader opens, each answering 200. Queries only PostgreSQL runs (DISTINCT ON,
say) fail here first."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

READER = """
import json, logging
logging.disable(logging.CRITICAL)
from django.contrib.auth.models import User
from django.test import Client
from training.models import TrainingRun

run = TrainingRun.objects.get()
dataset, version = run.inputs.values_list("dataset_id", "version_id").get()
client = Client(HTTP_HOST="localhost")
client.force_login(User.objects.get(username="demo"))
paths = [
    "/api/v1/datasets/", f"/api/v1/datasets/{dataset}/", f"/api/v1/versions/{version}/",
    f"/api/v1/versions/{version}/spdx", f"/api/v1/datasets/{dataset}/card/croissant",
    "/api/v1/models/", f"/api/v1/models/{run.model_id}/", "/api/v1/training-runs/",
    f"/api/v1/training-runs/{run.pk}/", f"/api/v1/training-runs/{run.pk}/reproduce",
    f"/api/v1/training-runs/{run.pk}/spdx", f"/api/v1/models/{run.model_id}/training-content-summary",
    f"/api/v1/datasets/{dataset}/impact/", f"/api/v1/versions/{version}/impact/",
    "/admin/catalog/dataset/", f"/admin/catalog/dataset/{dataset}/change/",
    "/admin/training/model/", f"/admin/training/model/{run.model_id}/change/",
    "/admin/training/trainingrun/", f"/admin/training/trainingrun/{run.pk}/change/",
]
answers = {path: client.get(path).status_code for path in paths}
recorded = client.post(
    "/api/v1/training-runs/",
    json.dumps({"model": {"namespace": "models", "name": "quick"}, "inputs": [{"dataset": str(dataset)}],
                "purpose": {"commercial": True}}),
    content_type="application/json",
)
answers["POST /api/v1/training-runs/"] = recorded.status_code
audited = client.post("/api/v1/audits/", json.dumps({"models": [str(run.model_id)], "purpose": {}}),
                      content_type="application/json")
answers["POST /api/v1/audits/"] = audited.status_code
print(json.dumps({"answers": answers, "source": run.source, "model": str(run.model),
                  "pinned": list(run.inputs.values_list("pinned", flat=True))}))
"""


def test_the_quick_start_serves_the_demo_and_its_model_on_sqlite(tmp_path):
    keep = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    env = {
        **keep,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CATALOG_STORAGE_ROOTS": str(tmp_path / "data"),
        "CATALOG_ENV_FILE": str(tmp_path / "no.env"),
    }

    def manage(*arguments: str) -> str:
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *arguments],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    manage("migrate", "--verbosity", "0")
    manage("load_demo")
    manage("load_lineage_demo")
    read = json.loads(manage("shell", "--command", READER).strip().splitlines()[-1])

    assert (read["source"], read["model"], read["pinned"]) == ("openlineage", "models/fault-detector", [True])
    expected = {path: 201 if path.startswith("POST") else 200 for path in read["answers"]}
    assert read["answers"] == expected
