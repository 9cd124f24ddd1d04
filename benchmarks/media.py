"""Images per second: a generated folder of 20,000 small images (1,000 with --smoke), ten classes
under train/ and test/, profiled by the catalog's own pipeline (registration, the Celery chord
of partitions, the merge, the stored profile and thumbnails) with 1 and then 2 Celery workers
over Redis, each worker one process. The reference for 1 worker is the engine in one process
without Celery; for 2 workers, 1 worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from PIL import Image

from benchmarks.lineage import _database_url
from benchmarks.load import celery_worker
from catalog import services
from catalog.models import DatasetVersion
from catalog.profiling import engine
from catalog.profiling.files import expand
from catalog.tasks import version_profile_task
from config.celery_app import app

BROKER = os.environ.get("CATALOG_MEDIA_BROKER", "redis://127.0.0.1:6379/8")
CLASSES = 10


def generate(root: Path, count: int, seed: int = 0) -> None:
    """`count` 32x32 pictures (coloured 4x4 blocks scaled up, PNG and JPEG in turn), 80% under train/."""
    rng = np.random.default_rng(seed)
    for index in range(count):
        split = "train" if index % 5 else "test"
        folder = root / split / f"class-{index % CLASSES}"
        folder.mkdir(parents=True, exist_ok=True)
        blocks = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
        picture = Image.fromarray(blocks).resize((32, 32), Image.Resampling.NEAREST)
        if index % 2:
            picture.save(folder / f"{index:06d}.jpg", quality=90)
        else:
            picture.save(folder / f"{index:06d}.png")


def _workers(count: int, env: dict[str, str], logs: Path) -> list[subprocess.Popen]:
    return [
        celery_worker(env, logs / f"media-worker-{count}-{index}.log", f"media-{count}-{index}")
        for index in range(count)
    ]


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(timeout=60)


def _profiled_by_workers(root: Path, count: int, workers: int, env: dict[str, str], logs: Path) -> float:
    """Seconds from registration to a stored profile, with `workers` Celery workers."""
    processes = _workers(workers, env, logs)
    try:
        owner = get_user_model().objects.get_or_create(username="media-bench")[0]
        dataset = services.dataset_register(
            actor=owner, namespace="bench", name=f"images-{workers}-{time.monotonic_ns()}", source=None
        )
        started = time.perf_counter()
        version = services.version_create(actor=owner, dataset=dataset, uri=str(root), format="images")
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
        elapsed = time.perf_counter() - started
    finally:
        _stop(processes)
    if status != "ready":
        raise RuntimeError(f"the folder was not profiled ({status}): {error}")
    rows = DatasetVersion.objects.values_list("row_count", flat=True).get(pk=version.pk)
    if rows != count:
        raise RuntimeError(f"the profile counts {rows} images, not {count}")
    return elapsed


def run(*, smoke: bool) -> list[dict]:
    count = 1_000 if smoke else 20_000
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory).resolve() / "images"
        print(f"media: generating {count:,} images ...", flush=True)
        generate(root, count)
        settings.CATALOG_STORAGE_ROOTS = [root.parent]
        # Registration here must not profile in this process; the task goes to the workers below.
        settings.CELERY_TASK_ALWAYS_EAGER = False
        app.conf.task_always_eager = False
        with app.connection_for_write(BROKER) as connection:
            app.control.purge(connection=connection)  # what an interrupted run left in this queue
        env = {
            **os.environ,
            "CELERY_BROKER_URL": BROKER,
            "DATABASE_URL": _database_url(),
            "CATALOG_STORAGE_ROOTS": str(root.parent),
            "SECRET_KEY": "bench-only",
            "DEBUG": "0",
        }
        started = time.perf_counter()
        in_process = engine.profile_files(expand(root), "images", workers=1)
        engine_seconds = time.perf_counter() - started
        assert in_process["row_count"] == count
        print(f"media: the engine in one process: {count / engine_seconds:,.0f} images/s", flush=True)
        one = _profiled_by_workers(root, count, 1, env, root.parent)
        print(f"media: 1 worker: {count / one:,.0f} images/s", flush=True)
        two = _profiled_by_workers(root, count, 2, env, root.parent)
        print(f"media: 2 workers: {count / two:,.0f} images/s", flush=True)
    return [
        {
            "name": f"media: {count:,} images profiled, 1 Celery worker",
            "measured": f"{count / one:,.0f} images/s",
            "reference": f"engine {count / engine_seconds:,.0f} images/s",
            "ratio": engine_seconds / one,
            "target": "reported",
            "ok": True,
        },
        {
            "name": f"media: {count:,} images profiled, 2 Celery workers",
            "measured": f"{count / two:,.0f} images/s",
            "reference": f"1 worker {count / one:,.0f} images/s",
            "ratio": one / two,
            "target": "> 1 (the workers share it)",
            "ok": one / two > 1.0 or smoke,
        },
    ]
