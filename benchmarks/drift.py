"""Drift between two profiled versions, from their stored profiles (DESIGN §9: under 100 ms a pair).

Two versions of the profiling benchmark's table (5M rows; 200k with --smoke) are written as Parquet,
the second from another seed with 'price' shifted, registered and profiled in this process like a
worker does. The time to profile one of them is the reference; the drift comparison is timed both
as the service call (the two stored profiles read from the database, compared) and as the HTTP
request, medians over repeated runs. Neither re-reads the data.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from benchmarks.profile_data import TableGenerator
from catalog import pipeline, services
from catalog.models import DatasetVersion
from config.celery_app import app as celery_app
from governance.services import access_token_issue

TARGET_MS = 100.0


def _write(path: Path, rows: int, seed: int, *, shift_price: float = 0.0) -> None:
    writer = None
    for chunk in TableGenerator(rows, seed).chunks():
        if shift_price:
            at = chunk.schema.get_field_index("price")
            chunk = chunk.set_column(at, "price", pc.add(chunk.column("price"), pa.scalar(shift_price)))
        if writer is None:
            writer = pq.ParquetWriter(path, chunk.schema)
        writer.write_table(chunk)
    assert writer is not None
    writer.close()


def _median_ms(call, repeat: int) -> float:  # type: ignore[no-untyped-def]
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def run(*, smoke: bool) -> list[dict]:
    rows = 200_000 if smoke else 5_000_000
    # Registration queues profiling on an in-memory broker nobody consumes: the profiles are made
    # here, by the same call a worker makes, so they can be timed.
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = "memory://localhost/"
    owner = get_user_model().objects.create_user("drift-bench-owner")
    headers = {"HTTP_AUTHORIZATION": f"Token {access_token_issue(user=owner).key}"}
    with tempfile.TemporaryDirectory() as root:
        settings.CATALOG_STORAGE_ROOTS = [Path(root).resolve()]
        print(f"drift: writing two versions of {rows:,} rows ...", flush=True)
        _write(Path(root) / "v1.parquet", rows, 11)
        _write(Path(root) / "v2.parquet", rows, 12, shift_price=20.0)
        dataset = services.dataset_register(actor=owner, namespace="bench", name="drift")
        first = services.version_create(actor=owner, dataset=dataset, uri="v1.parquet")
        pipeline.version_profile(version_id=first.pk)
        second = services.version_create(actor=owner, dataset=dataset, uri="v2.parquet")
        started = time.perf_counter()
        pipeline.version_profile(version_id=second.pk)
        profile_ms = (time.perf_counter() - started) * 1000
    first, second = (DatasetVersion.objects.get(pk=version.pk) for version in (first, second))
    assert (first.status, second.status) == ("ready", "ready"), (first.error, second.error)
    result = services.version_drift(version=second, against=first)
    assert "price" in result["drifted_features"], result["drifted_features"]

    repeat = 20 if smoke else 50
    service_ms = _median_ms(lambda: services.version_drift(version=second, against=first), repeat)
    client = Client()
    url = f"/api/v1/versions/{second.pk}/drift/?against={first.pk}"
    assert client.get(url, **headers).status_code == 200
    http_ms = _median_ms(lambda: client.get(url, **headers), repeat)
    features = len(result["features"])
    return [
        {
            "name": f"drift of {rows:,}-row versions, {features} features (service)",
            "measured": f"{service_ms:.1f} ms",
            "reference": f"profile {profile_ms / 1000:.1f} s",
            "ratio": service_ms / profile_ms,
            "target": f"< {TARGET_MS:.0f} ms",
            "ok": service_ms < TARGET_MS,
        },
        {
            "name": f"drift of {rows:,}-row versions, {features} features (HTTP)",
            "measured": f"{http_ms:.1f} ms",
            "reference": f"profile {profile_ms / 1000:.1f} s",
            "ratio": http_ms / profile_ms,
            "target": f"< {TARGET_MS:.0f} ms",
            "ok": http_ms < TARGET_MS,
        },
    ]
