"""The pre-training audit over a large upstream graph (issue: 10,000 upstream datasets).

A training set reads the first of 50 layers of 200 datasets; every dataset is made from two of the
layer above, so the graph is full of diamonds (10,000 upstream datasets, about 20,000 edges). Each
has an owner, a profiled version and a license (CC-BY-4.0, CC0-1.0, ODbL-1.0 or MIT; one dataset
at the top is CC-BY-NC-4.0, so a commercial audit must find it 50 hops up).

Measured: the audit as a service call and as `POST /api/v1/audits/`, medians; the reference is the
bare upstream walk (the one recursive query) over the same graph. Queries are counted: the target
is the same number as for an audit of a two-dataset graph.
"""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audits.rules import Purpose
from audits.services import audit_run
from catalog.models import Dataset, DatasetVersion
from governance.models import Ownership
from governance.services import access_token_issue
from lineage.models import LineageEdge
from lineage.selectors import lineage_upstream

LICENSES = ("CC-BY-4.0", "CC0-1.0", "ODbL-1.0", "MIT")


def _graph(owner: Any, *, layers: int, width: int, prefix: str) -> Dataset:
    """The training set at the bottom of `layers` layers of `width` datasets; returns it."""
    now = timezone.now()
    datasets = [Dataset(namespace=prefix, name="training-set", license="CC-BY-4.0", created_at=now)]
    for layer in range(layers):
        for index in range(width):
            license = LICENSES[(layer + index) % len(LICENSES)]
            if layer == layers - 1 and index == 0:
                license = "CC-BY-NC-4.0"
            datasets.append(Dataset(namespace=prefix, name=f"l{layer:02d}-{index:03d}", license=license))
    Dataset.objects.bulk_create(datasets, batch_size=2000)
    Ownership.objects.bulk_create(
        [Ownership(dataset=dataset, user=owner, role="owner") for dataset in datasets], batch_size=2000
    )
    versions = [
        DatasetVersion(
            id=uuid.uuid4(),
            dataset=dataset,
            number=1,
            uri=f"file:///bench/{dataset.name}.csv",
            format="csv",
            status="ready",
            status_changed_at=now,
            fingerprint=f"sha256:{uuid.uuid4().hex}{uuid.uuid4().hex}",
            quality={"findings": []},
        )
        for dataset in datasets
    ]
    DatasetVersion.objects.bulk_create(versions, batch_size=2000)
    for dataset, version in zip(datasets, versions, strict=True):
        dataset.latest_version = version
    Dataset.objects.bulk_update(datasets, ["latest_version"], batch_size=2000)
    edges = [LineageEdge(source=datasets[1 + index], target=datasets[0], origin="manual") for index in range(width)]
    for layer in range(1, layers):
        for index in range(width):
            target = datasets[1 + (layer - 1) * width + index]
            for parent in (index, (index + 1) % width):
                edges.append(LineageEdge(source=datasets[1 + layer * width + parent], target=target, origin="manual"))
    LineageEdge.objects.bulk_create(edges, batch_size=5000)
    return datasets[0]


def _median_ms(call: Any, repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def _queries(call: Any) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


def run(*, smoke: bool) -> list[dict]:
    layers, width = (5, 60) if smoke else (50, 200)
    owner = get_user_model().objects.create_user("audit-bench-owner")
    print(f"audit: generating {layers * width:,} upstream datasets ...", flush=True)
    started = time.perf_counter()
    training = _graph(owner, layers=layers, width=width, prefix="bench-audit")
    small = _graph(owner, layers=1, width=1, prefix="bench-audit-small")
    print(f"audit: generated in {time.perf_counter() - started:.1f} s", flush=True)
    purpose = Purpose(commercial=True)

    report = audit_run(actor=owner, datasets=[training.pk], purpose=purpose)
    assert report.counts["datasets"] == layers * width + 1, report.counts
    assert report.verdict == "fail"
    blocker = next(finding for finding in report.findings if finding["code"] == "non_commercial")
    assert len(blocker["path"]) == layers + 1

    audit_queries = _queries(lambda: audit_run(actor=owner, datasets=[training.pk], purpose=purpose))
    small_queries = _queries(lambda: audit_run(actor=owner, datasets=[small.pk], purpose=purpose))
    repeat = 5 if smoke else 3
    walk_ms = _median_ms(lambda: lineage_upstream([training.pk], depth=100), repeat)
    audit_ms = _median_ms(lambda: audit_run(actor=owner, datasets=[training.pk], purpose=purpose), repeat)
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Token {access_token_issue(user=owner).key}"}
    body = {"datasets": [str(training.pk)], "purpose": {"commercial": True}}

    def post() -> None:
        response = client.post("/api/v1/audits/", body, content_type="application/json", **headers)
        assert response.status_code == 201, response.content[:500]

    http_ms = _median_ms(post, repeat)
    upstream = f"{layers * width:,} upstream datasets"
    return [
        {
            "name": f"audit over {upstream} (service)",
            "measured": f"{audit_ms:.0f} ms",
            "reference": f"walk {walk_ms:.0f} ms",
            "ratio": audit_ms / walk_ms,
            "target": "reported",
            "ok": True,
        },
        {
            "name": f"audit over {upstream} (HTTP POST)",
            "measured": f"{http_ms:.0f} ms",
            "reference": f"walk {walk_ms:.0f} ms",
            "ratio": http_ms / walk_ms,
            "target": "reported",
            "ok": True,
        },
        {
            "name": f"audit queries: {upstream} vs a 2-dataset graph",
            "measured": f"{audit_queries} queries",
            "reference": f"{small_queries} queries",
            "ratio": audit_queries / small_queries,
            "target": "= 1 (constant)",
            "ok": audit_queries == small_queries,
        },
    ]
