"""Schemathesis against the live OpenAPI schema, authenticated: every operation, 50 examples each,
no 5xx, and every response as the schema documents it (status, content type, body). Then what its strategies
never send, sent to every operation: NUL, lone surrogates and deep nesting in paths, queries and bodies."""

import gzip
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.contrib.auth.models import User
from django.core.management import call_command
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from tests.e2e.conftest import ARTIFACTS
from tests.factories import token_for

pytestmark = [pytest.mark.e2e, pytest.mark.fuzz, pytest.mark.django_db(transaction=True)]

EXAMPLES = int(os.environ.get("CATALOG_FUZZ_EXAMPLES", "50"))
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"


def test_the_api_answers_every_generated_request_as_documented(live_server, storage_root, monkeypatch, tmp_path):
    # Thousands of requests in a few minutes: the rate limits would answer most of them 429.
    for throttle in (UserRateThrottle, AnonRateThrottle):
        monkeypatch.setattr(throttle, "THROTTLE_RATES", {"user": None, "anon": None})
    call_command("load_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115  # real datasets to find
    call_command("load_lineage_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    token = token_for(User.objects.get(username="demo"))

    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{live_server.url}/api/v1/schema/",
            "--header",
            f"Authorization: Token {token}",
            "--max-examples",
            str(EXAMPLES),
            "--phases",
            "examples,fuzzing",
            "--checks",
            CHECKS,
            "--seed",
            "20261201",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )

    # The whole report is kept: the failures come before the warnings, which alone can fill the tail.
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "fuzz-report.txt").write_text(result.stdout + result.stderr)
    failures = result.stdout.find("FAILURES")
    shown = result.stdout[failures : failures + 8000] if failures >= 0 else result.stdout[-6000:]
    assert result.returncode == 0, shown + result.stderr[-2000:]
    assert "Tested: " in result.stdout


# Text the database cannot store, as JSON escapes (the body stays ASCII) and as percent-encoding in URLs: a lone
# surrogate cannot be sent in a URL as anything but invalid UTF-8.
BAD_TEXT = {"nul": ("a\\u0000b", "a%00b"), "surrogate": ("a\\ud800b", "a%ED%A0%80b")}
DEEP = "[" * 1_000 + "]" * 1_000


def _properties(schema: dict, spec: dict) -> list[str]:
    """The top-level member names of a request body's schema (following $ref and allOf)."""
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    names = list(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        names += _properties(part, spec)
    return names


def _bad_bodies(operation: dict, spec: dict) -> dict[str, tuple[str, dict[str, str]]]:
    json_type = {"Content-Type": "application/json"}
    bodies = {
        "deep": ('{"a": ' + DEEP + "}", json_type),
        "deep-array": (DEEP, json_type),
        "nul-key": ('{"\\u0000": 1}', json_type),
    }
    content = operation.get("requestBody", {}).get("content", {})
    schema = next(iter(content.values()), {}).get("schema", {})
    names = _properties(schema, spec) or ["name"]
    for kind, (escaped, _) in BAD_TEXT.items():
        bodies[f"{kind}-members"] = ("{" + ", ".join(f'"{name}": "{escaped}"' for name in names) + "}", json_type)
        bodies[f"{kind}-string"] = (f'"{escaped}"', json_type)
        bodies[f"{kind}-nested"] = (
            "{" + ", ".join(f'"{name}": {{"x": ["{escaped}"]}}' for name in names) + "}",
            json_type,
        )
    return bodies


def test_no_operation_answers_5xx_to_nul_surrogates_or_deep_nesting(live_server, storage_root, monkeypatch):
    for throttle in (UserRateThrottle, AnonRateThrottle):
        monkeypatch.setattr(throttle, "THROTTLE_RATES", {"user": None, "anon": None})
    call_command("load_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    call_command("load_lineage_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    token = token_for(User.objects.get(username="demo"))
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    spec = session.get(f"{live_server.url}/api/v1/schema/", params={"format": "json"}, timeout=30).json()
    # Real ids where a path names something, so that the other parameters reach past the lookup.
    dataset = session.get(f"{live_server.url}/api/v1/datasets/", timeout=30).json()["results"][0]
    known = {"dataset_id": dataset["id"], "id": dataset["id"], "spdx_id": "MIT"}

    failures: list[str] = []
    sent: list[str] = []

    def send(method: str, path: str, **kwargs) -> None:
        sent.append(path)
        response = session.request(method, f"{live_server.url}{path}", timeout=30, **kwargs)
        if response.status_code >= 500:
            failures.append(f"{method} {path} {kwargs.get('data', '')!s:.80}: {response.status_code}")

    for template, item in spec["paths"].items():
        names = re.findall(r"{(\w+)}", template)

        def filled(bad: str | None = None, at: str | None = None, template: str = template) -> str:
            return re.sub(
                r"{(\w+)}", lambda m: bad if m.group(1) == at else known.get(m.group(1), str(uuid.uuid4())), template
            )

        send("OPTIONS", filled())
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            for _, encoded in BAD_TEXT.values():
                for name in names:
                    send(method.upper(), filled(encoded, name))
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "query":
                        send(method.upper(), f"{filled()}?{quote(parameter['name'])}={encoded}")
            if method in {"post", "put", "patch"}:
                for body, headers in _bad_bodies(operation, spec).values():
                    send(method.upper(), filled(), data=body.encode(), headers=headers)
                send(
                    method.upper(),
                    filled(),
                    data=gzip.compress(('{"run": ' + DEEP + "}").encode()),
                    headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
                )

    assert not failures, "\n".join(failures[:50])
    assert len(spec["paths"]) > 20  # the whole schema was walked
    assert len(sent) > 10 * len(spec["paths"])
