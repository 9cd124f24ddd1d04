"""Load: 32 concurrent clients for 60 s (8 for 10 s with --smoke) against gunicorn (2 workers) on
PostgreSQL, with a Celery worker over Redis profiling what they register.

The clients (`benchmarks/locustfile.py`, run by locust headless) mix registrations with a source,
dataset lists, searches, dataset and version reads and lineage queries, each with its own user's
token (so the per-user rate limit applies as it would in production). The reference is the same
mix from a single client, measured in the same run: the ratio is how far throughput scales.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from benchmarks.server import Server, database_url
from catalog import services
from catalog.models import DatasetVersion
from governance.services import access_token_issue
from lineage.models import LineageEdge

BROKER = os.environ.get("CATALOG_LOAD_BROKER", "redis://127.0.0.1:6379/7")


def _fixture(root: Path, clients: int) -> dict[str, Any]:
    """Users, datasets with a profiled-looking version each, and a lineage chain to query."""
    users = [get_user_model().objects.create_user(f"load-{index}") for index in range(clients)]
    tokens = [access_token_issue(user=user).key for user in users]
    source = root / "load" / "sample.csv"
    source.parent.mkdir(parents=True)
    source.write_text(
        "sensor,reading,label\n" + "".join(f"s{i % 7},{i * 0.5},{('ok', 'fault')[i % 5 == 0]}\n" for i in range(2000))
    )
    datasets, versions = [], []
    for index in range(200):
        dataset = services.dataset_register(
            actor=users[index % clients],
            namespace="load",
            name=f"sensor-{index:03d}",
            description="Sensor readings for the load benchmark.",
            license="CC-BY-4.0",
        )
        version = DatasetVersion.objects.create(
            dataset=dataset,
            number=1,
            uri=source.as_uri(),
            format="csv",
            status="ready",
            status_changed_at=timezone.now(),
            row_count=2000,
            fingerprint="sha256:" + "0" * 64,
        )
        datasets.append(dataset)
        versions.append(version)
    LineageEdge.objects.bulk_create(
        [LineageEdge(source=upper, target=lower, origin="manual") for upper, lower in itertools.pairwise(datasets)]
    )
    return {
        "tokens": tokens,
        "datasets": [str(dataset.pk) for dataset in datasets],
        "versions": [str(version.pk) for version in versions],
        "nodes": [f"dataset:load:{dataset.name}" for dataset in datasets[::10]],
        "source": "load/sample.csv",
    }


def celery_worker(env: dict[str, str], log: Path, name: str) -> subprocess.Popen:
    """`celery -A config worker`, one process, started and ready (its output in `log`)."""
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
            f"{name}-{os.getpid()}@%h",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while " ready." not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the Celery worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return process


def _locust(url: str, fixture: Path, clients: int, seconds: int, prefix: Path) -> dict[str, float]:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(Path(__file__).with_name("locustfile.py")),
            "--headless",
            "-u",
            str(clients),
            "-r",
            str(clients),
            "-t",
            f"{seconds}s",
            "--host",
            url,
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        env={**os.environ, "CATALOG_LOAD_FIXTURE": str(fixture)},
        check=False,
        capture_output=True,
        timeout=seconds + 120,
    )
    with open(f"{prefix}_stats.csv", newline="") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    total = rows["Aggregated"]
    return {
        "requests": int(total["Request Count"]),
        "failures": int(total["Failure Count"]),
        "rps": float(total["Requests/s"]),
        "p50": float(total["50%"]),
        "p95": float(total["95%"]),
        "p99": float(total["99%"]),
        "registrations": int(rows.get("POST /datasets/", {}).get("Request Count", 0) or 0),
    }


def run(*, smoke: bool) -> list[dict]:
    clients, seconds = (8, 10) if smoke else (32, 60)
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory).resolve()
        settings.CATALOG_STORAGE_ROOTS = [root]
        fixture = _fixture(root, clients)
        fixture_path = root / "fixture.json"
        fixture_path.write_text(json.dumps(fixture))
        env = {"CELERY_BROKER_URL": BROKER, "CATALOG_STORAGE_ROOTS": str(root)}
        server = Server(2, root / "gunicorn.log", env=env)
        worker_env = {**os.environ, **env, "DATABASE_URL": database_url(), "SECRET_KEY": "bench-only", "DEBUG": "0"}
        worker = celery_worker(worker_env, root / "worker.log", "load")
        try:
            server.wait_ready({"Authorization": f"Token {fixture['tokens'][0]}"})
            print(
                f"load: 1 client for {max(seconds // 3, 5)} s, then {clients} clients for {seconds} s ...", flush=True
            )
            single = _locust(server.url, fixture_path, 1, max(seconds // 3, 5), root / "single")
            loaded = _locust(server.url, fixture_path, clients, seconds, root / "loaded")
            deadline = time.monotonic() + 120
            registered = DatasetVersion.objects.filter(dataset__name__startswith="registered-")
            while registered.exclude(status__in=["ready", "failed"]).exists() and time.monotonic() < deadline:
                time.sleep(1)
            profiled = registered.filter(status="ready").count()
            waiting = registered.exclude(status="ready").count()
        finally:
            server.stop()
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()  # a label analysis it still runs is not what is measured
                worker.wait(timeout=10)
    print(
        f"load: {clients} clients: {loaded['requests']:,} requests, {loaded['failures']} failures, "
        f"{loaded['rps']:.1f} req/s, p50 {loaded['p50']:.0f} ms, p95 {loaded['p95']:.0f} ms, p99 {loaded['p99']:.0f} ms; "
        f"registrations profiled by the worker: {profiled}, not (yet): {waiting}",
        flush=True,
    )
    return [
        {
            "name": f"load: {clients} clients, {seconds} s, gunicorn -w 2 + 1 worker",
            "measured": f"{loaded['rps']:.0f} req/s, {loaded['failures']} err",
            "reference": f"1 client {single['rps']:.0f} req/s",
            "ratio": loaded["rps"] / single["rps"] if single["rps"] else 0.0,
            "target": "0 errors",
            "ok": loaded["failures"] == 0 and single["failures"] == 0 and waiting == 0,
        },
        {
            "name": f"load: latency p50 / p95 / p99 ({clients} clients)",
            "measured": f"{loaded['p50']:.0f}/{loaded['p95']:.0f}/{loaded['p99']:.0f} ms",
            "reference": f"1 client p50 {single['p50']:.0f} ms",
            "ratio": loaded["p50"] / single["p50"] if single["p50"] else 0.0,
            "target": "reported",
            "ok": True,
        },
    ]
