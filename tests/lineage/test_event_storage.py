"""How a recorded event is kept: its payload compressed with LZ4 where the PostgreSQL server has it
(lineage migration 0007), and read back as it was sent; and how the parsed request is let go."""

import gc
import json
import uuid

import pytest
from django.db import connection

from lineage.models import LineageEvent
from tests.lineage.realistic import realistic_event

pytestmark = pytest.mark.django_db


def _lz4_available() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)")
        return cursor.fetchone() is not None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL storage setting")
def test_a_recorded_events_payload_is_compressed_with_lz4_and_reads_back_as_sent(send):
    if not _lz4_available():
        pytest.skip("this PostgreSQL server was built without LZ4")
    event = realistic_event(seed=7)
    answer = send(event)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_column_compression(payload), pg_column_size(payload), octet_length(payload::text) "
            "FROM lineage_lineageevent WHERE id = %s",
            [answer.json()["event_id"]],
        )
        method, stored, text = cursor.fetchone()

    assert method == "lz4"
    assert stored < text / 2  # a realistic event's schema and column lineage repeat a lot
    assert LineageEvent.objects.get(pk=answer.json()["event_id"]).payload == event


def _parsed(marker: str) -> list[dict]:
    """The events alive that name this job (a dict of plain values is not tracked by the collector, an
    event, which holds dicts, is)."""
    return [
        item
        for item in gc.get_objects()
        if type(item) is dict and type(item.get("job")) is dict and item["job"].get("name") == marker
    ]


@pytest.mark.parametrize("path", ["/api/v1/lineage", "/api/v1/lineage/batch"])
def test_the_parsed_events_go_with_the_request_not_with_the_next_collection(client_for, owner, path):
    # A request is a reference cycle (DRF's Request refers to itself): without the release, the events
    # it parsed would wait for the garbage collector, which is off here.
    marker = f"released-{uuid.uuid4()}"
    event = realistic_event(seed=8)
    event["job"]["name"] = marker
    body = json.dumps(event if path.endswith("lineage") else [event])
    del event
    client = client_for(owner)
    gc.collect()
    gc.disable()
    try:
        response = client.post(path, body, content_type="application/json")
        assert response.status_code in (200, 201), response.content
        del response
        left = _parsed(marker)
    finally:
        gc.enable()

    assert left == []
