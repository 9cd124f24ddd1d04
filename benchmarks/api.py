"""API targets of DESIGN §9: list throughput against a bare ListAPIView, and registration time that
does not grow with the size of the dataset registered."""

import os
import statistics
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from catalog.models import Dataset, Tag
from config.celery_app import app as celery_app
from governance.choices import OwnershipRole
from governance.models import Ownership
from governance.services import access_token_issue


def _populate(count: int, owner) -> None:
    tags = [Tag.objects.get_or_create(name=name)[0] for name in ("vision", "tabular", "nlp")]
    datasets = Dataset.objects.bulk_create(
        Dataset(namespace=f"team-{index % 7}", name=f"dataset-{index:06d}", description="Benchmark rows " * 8)
        for index in range(count)
    )
    Dataset.tags.through.objects.bulk_create(
        Dataset.tags.through(dataset_id=dataset.pk, tag_id=tags[index % 3].pk) for index, dataset in enumerate(datasets)
    )
    Ownership.objects.bulk_create(
        Ownership(dataset=dataset, user=owner, role=OwnershipRole.OWNER) for dataset in datasets
    )


def _query_count(client: Client, url: str, headers: dict) -> int:
    with CaptureQueriesContext(connection) as queries:
        client.get(url, **headers)
    return len(queries.captured_queries)


def _requests_per_second(client: Client, url: str, headers: dict, requests: int) -> float:
    start = time.perf_counter()
    for _ in range(requests):
        response = client.get(url, **headers)
        assert response.status_code == 200, response.content[:300]
    return requests / (time.perf_counter() - start)


def _compare(client: Client, url: str, reference: str, headers: dict, requests: int, rounds: int = 5) -> dict:
    """Alternate the two endpoints round by round, so machine noise falls on both alike."""
    for target in (url, reference):
        client.get(target, **headers)  # warm up
    ours, bare = [], []
    for _ in range(rounds):
        ours.append(_requests_per_second(client, url, headers, requests // rounds))
        bare.append(_requests_per_second(client, reference, headers, requests // rounds))
    return {
        "ours": statistics.median(ours),
        "bare": statistics.median(bare),
        "ratio": statistics.median(o / b for o, b in zip(ours, bare, strict=True)),
        "our_queries": _query_count(client, url, headers),
        "bare_queries": _query_count(client, reference, headers),
    }


def _registration_seconds(client: Client, headers: dict, uri: str, name: str, repeat: int) -> float:
    samples = []
    for index in range(repeat):
        start = time.perf_counter()
        response = client.post(
            "/api/v1/datasets/",
            {"namespace": "bench", "name": f"{name}-{index}", "source": {"uri": uri, "format": "csv"}},
            content_type="application/json",
            **headers,
        )
        samples.append(time.perf_counter() - start)
        assert response.status_code == 201, response.content[:300]
    return statistics.median(samples)


def run(*, smoke: bool) -> list[dict]:
    rows, requests, page = (300, 60, 50) if smoke else (10_000, 400, 50)
    owner = get_user_model().objects.create_user("bench-owner")
    token = access_token_issue(user=owner)
    headers = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    _populate(rows, owner)
    client = Client()

    listing = _compare(
        client, f"/api/v1/datasets/?limit={page}", f"/bench/bare-datasets/?limit={page}", headers, requests
    )
    results = [
        {
            "name": f"dataset list, {page}/page of {rows} rows (req/s)",
            "measured": f"{listing['ours']:.0f} req/s, {listing['our_queries']} queries",
            "reference": f"{listing['bare']:.0f} req/s, {listing['bare_queries']} queries",
            "ratio": listing["ratio"],
            "target": ">= 0.50",
            "ok": listing["ratio"] >= 0.5,
        }
    ]

    # Registration answers before any byte is read: a 1 KiB and a multi-GiB (sparse) source take alike.
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = "memory://localhost/"
    with tempfile.TemporaryDirectory() as root:
        settings.CATALOG_STORAGE_ROOTS = [Path(root).resolve()]
        small = Path(root) / "small.csv"
        small.write_text("a,b\n" + "1,2\n" * 200)
        large = Path(root) / "large.csv"
        with large.open("wb") as handle:
            handle.truncate((1 if smoke else 8) * 1024**3)
        repeat = 10 if smoke else 40
        small_s = _registration_seconds(client, headers, str(small), "small", repeat)
        large_s = _registration_seconds(client, headers, str(large), "large", repeat)
        size = os.path.getsize(large) // 1024**3
    results.append(
        {
            "name": f"registration, {size} GiB source vs 1 KiB (median s)",
            "measured": f"{large_s * 1000:.1f} ms",
            "reference": f"{small_s * 1000:.1f} ms",
            "ratio": large_s / small_s,
            "target": "<= 1.50",
            "ok": large_s / small_s <= 1.5,
        }
    )
    return results
