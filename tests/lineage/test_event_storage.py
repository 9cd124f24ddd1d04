"""How a recorded event is kept: its payload compressed with LZ4 where the PostgreSQL server has it
(lineage migration 0007), and read back as it was sent."""

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
