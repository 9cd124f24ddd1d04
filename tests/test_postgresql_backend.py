"""The database backend: its health check tells a connection its server ended from a live one without a
round trip, as Django's `SELECT 1` did with one; its parameters are bound on the server."""

import select

import psycopg
import pytest
from django.db import connection, connections

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL backend's own check")


@pytest.fixture
def own_connection():
    """A connection of its own, outside the test's transaction, that the test may break."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def _last_statement_started(wrapper) -> float:
    """When the server last began a statement on this connection (pg_stat_activity's `query_start`)."""
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        return other.execute(
            "SELECT extract(epoch FROM query_start) FROM pg_stat_activity WHERE pid = %s",
            [wrapper.connection.info.backend_pid],
        ).fetchone()[0]


@pytest.mark.django_db
def test_a_live_connection_is_usable_and_checking_it_runs_no_statement(own_connection):
    with own_connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    before = _last_statement_started(own_connection)

    assert all(own_connection.is_usable() for _ in range(3))
    assert _last_statement_started(own_connection) == before


@pytest.mark.django_db
def test_a_connection_whose_backend_was_terminated_is_replaced_before_the_next_query(own_connection):
    pid = own_connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        # Waits (up to 10 s) for the backend to exit: its FATAL message and the end of the stream are sent.
        assert other.execute("SELECT pg_terminate_backend(%s, 10000)", [pid]).fetchone()[0]
    # The backend has exited; what it sent last (an error, then the end of the stream) is on its way.
    poller = select.poll()
    poller.register(own_connection.connection.pgconn.socket, select.POLLIN)
    assert poller.poll(5000)

    # One check, as a request makes one.
    assert not own_connection.is_usable()
    # As at the start of a request: the health check finds it dead and a new connection serves the query.
    own_connection.health_check_done = False
    with own_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


@pytest.mark.django_db
def test_a_connection_in_a_failed_transaction_is_not_usable(own_connection):
    raw = own_connection.connection
    raw.autocommit = False
    with pytest.raises(psycopg.errors.DivisionByZero):
        raw.execute("SELECT 1 / 0")

    assert not own_connection.is_usable()
    raw.rollback()
    assert own_connection.is_usable()


@pytest.mark.django_db
def test_a_connection_the_server_wrote_to_while_idle_is_checked_with_a_statement(own_connection):
    """Something to read on an idle connection (here a notification) is not taken as the end of the
    connection: the check then asks the server, as Django's did, and finds it live."""
    with own_connection.cursor() as cursor:
        cursor.execute("LISTEN catalog_health_check")
    before = _last_statement_started(own_connection)
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("NOTIFY catalog_health_check")
    poller = select.poll()
    poller.register(own_connection.connection.pgconn.socket, select.POLLIN)
    assert poller.poll(5000)

    assert own_connection.is_usable()
    assert _last_statement_started(own_connection) > before


@pytest.mark.django_db
def test_parameters_are_bound_on_the_server_in_unnamed_statements(own_connection):
    document = '{"text": "it\'s \\\\ quoted"}'
    with own_connection.cursor() as cursor:
        for _ in range(6):
            cursor.execute("SELECT %s::jsonb ->> 'text', %s::int + 1", [document, 41])
            assert cursor.fetchone() == ("it's \\ quoted", 42)
        # Sent as parameters, not spliced into the text the server received.
        with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
            received = other.execute(
                "SELECT query FROM pg_stat_activity WHERE pid = %s", [own_connection.connection.info.backend_pid]
            ).fetchone()[0]
        assert "$1" in received
        assert "quoted" not in received
        # None is kept on the server, so a transaction-mode pooler may hand the connection on.
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone() == (0,)
