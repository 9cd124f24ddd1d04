"""Images per second: a generated folder of 20,000 small images (1,000 with --smoke), ten classes
under train/ and test/, profiled by the catalog's own pipeline (registration, the Celery chord
of partitions, the merge, the stored profile and thumbnails) with 1 and then 2 Celery workers
over Redis, each worker one process. The reference for 1 worker is the engine in one process
without Celery; for 2 workers, 1 worker.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.pipeline import profiled_by_workers, worker_environment
from profiler import engine
from profiler.files import expand

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


def run(*, smoke: bool) -> list[dict]:
    count = 1_000 if smoke else 20_000
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory).resolve() / "images"
        print(f"media: generating {count:,} images ...", flush=True)
        generate(root, count)
        env = worker_environment(root.parent)
        started = time.perf_counter()
        in_process = engine.profile_files(expand(root), "images", workers=1)
        engine_seconds = time.perf_counter() - started
        assert in_process["row_count"] == count
        print(f"media: the engine in one process: {count / engine_seconds:,.0f} images/s", flush=True)
        [one] = profiled_by_workers(str(root), "images", count, 1, env, root.parent)
        print(f"media: 1 worker: {count / one:,.0f} images/s", flush=True)
        [two] = profiled_by_workers(str(root), "images", count, 2, env, root.parent)
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
