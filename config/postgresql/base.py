"""Django's PostgreSQL backend, with a connection health check that costs no round trip.

With CONN_HEALTH_CHECKS, Django checks a kept connection before the first query of each request, so
that one its server ended (a restart, a failover, a terminated backend) is replaced instead of failing
the request. Django's check sends `SELECT 1` and waits for the answer: a round trip on every request.
A server that ends a connection says so first (an error message, then the end of the stream), so
reading what is waiting on the connection, without waiting for more, tells the same: libpq reads it
and marks the connection bad."""

from django.db.backends.postgresql import base
from psycopg import OperationalError, pq

_USABLE = (pq.TransactionStatus.IDLE, pq.TransactionStatus.INTRANS)


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None:
            return False
        pgconn = self.connection.pgconn
        try:
            pgconn.consume_input()
        except OperationalError:
            return False
        # A connection mid-query or in a failed transaction would fail `SELECT 1` too.
        return pgconn.status == pq.ConnStatus.OK and pgconn.transaction_status in _USABLE
