"""Django's PostgreSQL backend, with a connection health check that costs no round trip while the
server has said nothing.

With CONN_HEALTH_CHECKS, Django checks a kept connection before the first query of each request, so
that one its server ended (a restart, a failover, a terminated backend) is replaced instead of failing
the request. Django's check sends `SELECT 1` and waits for the answer: a round trip on every request.
Between requests the server sends an idle connection nothing, unless it is ending it (an error
message, then the end of the stream) or, rarely, a notice or a changed setting. So a connection with
nothing to read is taken as it is, and only one the server wrote to is checked Django's way."""

import select

from django.db.backends.postgresql import base
from psycopg import OperationalError, pq

_USABLE = (pq.TransactionStatus.IDLE, pq.TransactionStatus.INTRANS)


def _written_to(socket: int) -> bool:
    """Whether the server sent anything (or closed the connection) that nobody has read yet."""
    poller = select.poll()
    poller.register(socket, select.POLLIN)
    return bool(poller.poll(0))


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None:
            return False
        pgconn = self.connection.pgconn
        # Known bad, mid-query or in a failed transaction: `SELECT 1` would fail too.
        if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status not in _USABLE:
            return False
        try:
            written_to = _written_to(pgconn.socket)
        except (OSError, OperationalError):
            return False
        return not written_to or super().is_usable()
