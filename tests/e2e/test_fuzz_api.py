"""Schemathesis against the live OpenAPI schema, authenticated: every operation, 50 examples each,
no 5xx, and every response as the schema documents it (status, content type, body)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from tests.factories import token_for

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db(transaction=True)]

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

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Tested: " in result.stdout
