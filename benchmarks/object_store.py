"""A table profiled from object storage against the same file on local disk, in one run: the 5M-row,
15-column Parquet file of `benchmarks.profile_bench` (200,000 rows with --smoke) uploaded to a local
S3 server (moto's standalone server, a process on a loopback port) and profiled by the catalog's
pipeline in this process (`catalog.pipeline.version_profile`, the same code a worker runs), once from
`file://` and once from `s3://`. Measured: the time of each, the peak RSS of this process while the
object source is profiled, and the most bytes the object source held on local disk at once.
Targets: at most 1.3x the local time, peak RSS under 1.5 GiB, local disk under 10% of the file.

Then the same table as CSV, cut into 4 objects under a prefix (read as files, so each is copied to
local disk while it is profiled), against the same 4 files in a local folder: its time, and the most
bytes on local disk at once, whose target is one object (the largest), never the source.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model

from benchmarks.profile_bench import ensure_dataset
from catalog import pipeline, services
from catalog.models import DatasetVersion

BUCKET = "bench"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "bench-key",
    "AWS_SECRET_ACCESS_KEY": "bench-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _s3_server(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    import requests

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/moto-api/", timeout=2)
            return server, url
        except requests.RequestException:
            time.sleep(0.1)
    os.killpg(server.pid, signal.SIGKILL)
    raise SystemExit(f"moto_server did not start:\n{log.read_text()[-2000:]}")


class _Peaks:
    """The peak RSS of this process and the peak bytes under a folder, sampled every 20 ms."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.rss = 0
        self.disk = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.rss = max(self.rss, _rss())
            self.disk = max(self.disk, _bytes_under(self.folder))

    def __enter__(self) -> _Peaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _bytes_under(folder: Path) -> int:
    total = 0
    for dirpath, _dirnames, filenames in os.walk(folder):
        for name in filenames:
            with contextlib.suppress(OSError):  # removed while it was being counted
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def _profiled(uri: str, rows: int) -> Callable[[], float]:
    owner = get_user_model().objects.get_or_create(username="object-store-bench")[0]

    def once() -> float:
        dataset = services.dataset_register(
            actor=owner, namespace="bench", name=f"objects-{time.monotonic_ns()}", source=None
        )
        version = services.version_create(actor=owner, dataset=dataset, uri=uri, format="parquet")
        started = time.perf_counter()
        pipeline.version_profile(version_id=version.pk)
        seconds = time.perf_counter() - started
        status, error, counted = DatasetVersion.objects.values_list("status", "error", "row_count").get(pk=version.pk)
        if status != "ready" or counted != rows:
            raise RuntimeError(f"{uri} was not profiled ({status}, {counted} rows): {error}")
        return seconds

    return once


def _csv_parts(csv: Path, folder: Path, parts: int) -> list[Path]:
    """The CSV file cut into `parts` files of whole lines, each with the header (kept between runs)."""
    folder.mkdir(exist_ok=True)
    paths = [folder / f"part-{index}.csv" for index in range(parts)]
    done = folder.with_name(folder.name + ".done")
    if done.exists():
        return paths
    size = csv.stat().st_size
    with csv.open("rb") as source:
        header = source.readline()
        for index, path in enumerate(paths):
            with path.open("wb") as target:
                target.write(header)
                end = size * (index + 1) // parts
                while source.tell() < end and (line := source.readline()):
                    target.write(line)
    done.touch()
    return paths


def _csv_profiled(uri: str, rows: int) -> Callable[[], float]:
    owner = get_user_model().objects.get_or_create(username="object-store-bench")[0]

    def once() -> float:
        dataset = services.dataset_register(
            actor=owner, namespace="bench", name=f"csv-objects-{time.monotonic_ns()}", source=None
        )
        version = services.version_create(actor=owner, dataset=dataset, uri=uri, format="csv")
        started = time.perf_counter()
        pipeline.version_profile(version_id=version.pk)
        seconds = time.perf_counter() - started
        status, error, counted = DatasetVersion.objects.values_list("status", "error", "row_count").get(pk=version.pk)
        if status != "ready" or counted != rows:
            raise RuntimeError(f"{uri} was not profiled ({status}, {counted} rows): {error}")
        return seconds

    return once


def run(*, smoke: bool) -> list[dict]:
    import boto3

    from config.celery_app import app as celery_app

    rows, runs = (200_000, 1) if smoke else (5_000_000, 3)
    # Registration queues profiling on an in-memory broker nobody consumes: the profiles are made
    # here, by the same call a worker makes, so they can be timed.
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = "memory://localhost/"
    workdir = Path(tempfile.gettempdir()).resolve() / ("profile-bench-smoke" if smoke else "profile-bench")
    workdir.mkdir(exist_ok=True)
    table = ensure_dataset(workdir, rows, ("parquet", "csv"))
    path = table.path("parquet")
    size = path.stat().st_size
    csv_parts = _csv_parts(table.path("csv"), workdir / f"csv-objects-{rows}", 4)
    largest = max(part.stat().st_size for part in csv_parts)
    csv_size = sum(part.stat().st_size for part in csv_parts)
    downloads = Path(tempfile.mkdtemp(prefix="object-store-bench-"))
    saved = {name: os.environ.get(name) for name in [*CREDENTIALS, "AWS_ENDPOINT_URL"]}
    server, url = _s3_server(downloads.parent / "object-store-bench-moto.log")
    try:
        os.environ.update(CREDENTIALS, AWS_ENDPOINT_URL=url)
        client = boto3.client("s3", endpoint_url=url)
        client.create_bucket(Bucket=BUCKET)
        client.upload_file(str(path), BUCKET, f"tables/{path.name}")
        for part in csv_parts:
            client.upload_file(str(part), BUCKET, f"csv/{part.name}")
        settings.CATALOG_STORAGE_ROOTS = [workdir]
        settings.CATALOG_OBJECT_STORES = [f"s3://{BUCKET}"]
        settings.CATALOG_DOWNLOAD_DIR = str(downloads)
        local_once = _profiled(f"file://{path}", rows)
        remote_once = _profiled(f"s3://{BUCKET}/tables/{path.name}", rows)
        local_runs, remote_runs = [], []
        rss = disk = 0
        for _ in range(runs):
            local_runs.append(local_once())
            with _Peaks(downloads) as peaks:
                remote_runs.append(remote_once())
            rss, disk = max(rss, peaks.rss), max(disk, peaks.disk)
        local, remote = statistics.median(local_runs), statistics.median(remote_runs)
        print(
            f"object-store: local {local:.2f} s, s3 {remote:.2f} s, peak RSS {rss / 2**20:.0f} MiB, "
            f"disk {disk / 2**20:.0f} MiB of a {size / 2**20:.0f} MiB file",
            flush=True,
        )
        csv_local = _csv_profiled(f"file://{csv_parts[0].parent}", rows)()
        with _Peaks(downloads) as peaks:
            csv_remote = _csv_profiled(f"s3://{BUCKET}/csv/", rows)()
        csv_disk = peaks.disk
        print(
            f"object-store: CSV in 4 objects: local {csv_local:.2f} s, s3 {csv_remote:.2f} s, "
            f"disk {csv_disk / 2**20:.0f} MiB, largest object {largest / 2**20:.0f} MiB of {csv_size / 2**20:.0f} MiB",
            flush=True,
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(downloads, ignore_errors=True)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    name = f"object store: {rows / 1e6:g}M-row Parquet from S3"
    return [
        {
            "name": f"{name}, time",
            "measured": f"{remote:.2f} s",
            "reference": f"local disk {local:.2f} s",
            "ratio": remote / local,
            "target": "<= 1.3",
            "ok": remote / local <= 1.3,
        },
        {
            "name": f"{name}, peak RSS",
            "measured": f"{rss / 2**20:.0f} MiB",
            "reference": "1536 MiB",
            "ratio": rss / 2**30 / 1.5,
            "target": "< 1.5 GiB",
            "ok": rss < 1.5 * 2**30,
        },
        {
            "name": f"{name}, local disk",
            "measured": f"{disk / 2**20:.0f} MiB",
            "reference": f"file {size / 2**20:.0f} MiB",
            "ratio": disk / size,
            "target": "< 0.10 of the file",
            "ok": disk < 0.1 * size,
        },
        {
            "name": f"object store: {rows / 1e6:g}M-row CSV in 4 objects, time",
            "measured": f"{csv_remote:.2f} s",
            "reference": f"local disk {csv_local:.2f} s",
            "ratio": csv_remote / csv_local,
            "target": "<= 1.3",
            "ok": csv_remote / csv_local <= 1.3,
        },
        {
            "name": f"object store: {rows / 1e6:g}M-row CSV in 4 objects, local disk",
            "measured": f"{csv_disk / 2**20:.0f} MiB",
            "reference": f"largest object {largest / 2**20:.0f} MiB",
            "ratio": csv_disk / largest,
            "target": "<= 1 object",
            "ok": csv_disk <= largest,
        },
    ]
