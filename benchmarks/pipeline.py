"""The profiling pipeline run for real: Celery workers of their own over Redis, a version
registered as the API registers it, timed from registration to its stored profile."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model

from benchmarks.load import celery_worker
from benchmarks.server import database_url
from catalog import services
from catalog.models import DatasetVersion
from catalog.tasks import version_profile_task
from config.celery_app import app

BROKER = os.environ.get("CATALOG_PIPELINE_BROKER", "redis://127.0.0.1:6379/8")


def worker_environment(storage_root: Path) -> dict[str, str]:
    """The workers' environment, sources confined to `storage_root`; this process registers with
    the same roots, and no task of it runs in-process. The queue is emptied of what an interrupted
    run left in it."""
    settings.CATALOG_STORAGE_ROOTS = [storage_root]
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    with app.connection_for_write(BROKER) as connection:
        app.control.purge(connection=connection)
    return {
        **os.environ,
        "CELERY_BROKER_URL": BROKER,
        "DATABASE_URL": database_url(),
        "CATALOG_STORAGE_ROOTS": str(storage_root),
        "SECRET_KEY": "bench-only",
        "DEBUG": "0",
        # What is measured is profiling: the label analysis that follows it would take the workers.
        "CATALOG_LABEL_QUALITY": "0",
    }


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()  # a task it still runs is not what is measured
            process.wait(timeout=10)


def profiled_by_workers(
    uri: str, format: str, rows: int, workers: int, env: dict[str, str], logs: Path, *, runs: int = 1
) -> list[float]:
    """Seconds from registration to a stored profile of `rows` rows, `runs` times, with `workers`
    Celery workers of one process each (started once, before the first run)."""
    processes = [
        celery_worker(env, logs / f"pipeline-worker-{workers}-{index}.log", f"pipeline-{workers}-{index}")
        for index in range(workers)
    ]
    seconds = []
    try:
        owner = get_user_model().objects.get_or_create(username="pipeline-bench")[0]
        for _ in range(runs):
            dataset = services.dataset_register(
                actor=owner, namespace="bench", name=f"{format}-{workers}-{time.monotonic_ns()}", source=None
            )
            started = time.perf_counter()
            version = services.version_create(actor=owner, dataset=dataset, uri=uri, format=format)
            # Queued as registration queues it, on the workers' broker: this process's own Celery
            # configuration (in-process tasks, or a broker another suite connected to) is not theirs.
            with app.connection_for_write(BROKER) as connection:
                version_profile_task.apply_async(args=[str(version.pk)], connection=connection)
            deadline = time.monotonic() + 1800
            while True:
                status, error = DatasetVersion.objects.values_list("status", "error").get(pk=version.pk)
                if status in ("ready", "failed") or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            seconds.append(time.perf_counter() - started)
            if status != "ready":
                raise RuntimeError(f"{uri} was not profiled ({status}): {error}")
            counted = DatasetVersion.objects.values_list("row_count", flat=True).get(pk=version.pk)
            if counted != rows:
                raise RuntimeError(f"the profile of {uri} counts {counted} rows, not {rows}")
    finally:
        _stop(processes)
    return seconds
