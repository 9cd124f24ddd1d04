"""The load benchmark's clients (run by `benchmarks/load.py`): a mix of registrations, lists,
detail reads and lineage queries, each client with its own user's token."""

import itertools
import json
import os
import random
import uuid

from locust import HttpUser, between, task

FIXTURE = json.loads(open(os.environ["CATALOG_LOAD_FIXTURE"]).read())  # noqa: SIM115
TOKENS = itertools.cycle(FIXTURE["tokens"])


class CatalogUser(HttpUser):
    wait_time = between(0, 0.05)

    def on_start(self) -> None:
        self.client.headers.update({"Authorization": f"Token {next(TOKENS)}"})

    @task(4)
    def list_datasets(self) -> None:
        self.client.get("/api/v1/datasets/?limit=20", name="GET /datasets/")

    @task(2)
    def search(self) -> None:
        self.client.get("/api/v1/datasets/?search=sensor&limit=20", name="GET /datasets/?search=")

    @task(4)
    def read_dataset(self) -> None:
        self.client.get(f"/api/v1/datasets/{random.choice(FIXTURE['datasets'])}/", name="GET /datasets/{id}/")

    @task(3)
    def read_version(self) -> None:
        self.client.get(f"/api/v1/versions/{random.choice(FIXTURE['versions'])}/", name="GET /versions/{id}/")

    @task(2)
    def lineage(self) -> None:
        node = random.choice(FIXTURE["nodes"])
        self.client.get(f"/api/v1/lineage?nodeId={node}&direction=upstream&depth=5", name="GET /lineage")

    @task(1)
    def register(self) -> None:
        body = {
            "namespace": "load",
            "name": f"registered-{uuid.uuid4().hex}",
            "license": "CC-BY-4.0",
            "source": {"uri": FIXTURE["source"], "label_column": "label"},
        }
        with self.client.post("/api/v1/datasets/", json=body, name="POST /datasets/", catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:200]}")
