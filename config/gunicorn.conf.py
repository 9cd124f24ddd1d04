"""How gunicorn runs the service: `gunicorn -c config/gunicorn.conf.py config.wsgi:application`, as the
image, the end-to-end tests and the benchmarks start it. Options given on the command line win.

Each worker process serves its connections as greenlets (gevent): a request waiting on PostgreSQL or
Redis lets another one run, as threads would, without what threads cost in one process. With 4 threads
a worker spent about 0.6 ms of CPU more on each lineage event than one serving a request at a time: 30
context switches a request, each thread taking the interpreter's lock back in turn after every query.
Greenlets switch where a request waits, in the worker's one thread. Psycopg cooperates with gevent by
itself (3.1.14 and later); Redis and the other clients use the standard library's sockets, which gevent
makes cooperative when the worker starts, before the application is imported.

Django keeps one database connection per greenlet, as it would per thread: it serves the requests of
one client connection (kept alive for `keepalive` seconds between them) and is closed when that
connection ends. So the client connections a worker serves at once, GUNICORN_WORKER_CONNECTIONS, bound
the database connections it holds. Work that holds the processor for long belongs to the Celery
workers: a request that did would hold back the others of its worker."""

import os

from gunicorn.workers.ggevent import GeventWorker


class Worker(GeventWorker):
    """gunicorn's gevent worker, closing a client connection's database connections when it ends.

    Without this, the greenlet's connection would be dropped unclosed and closed only when the cyclic
    garbage collector reached it, which may be thousands of requests later: clients that connect
    anew for each request would pile up open database connections until PostgreSQL refused more."""

    def handle(self, listener, client, addr):
        try:
            super().handle(listener, client, addr)
        finally:
            from django.db import connections  # imported in the worker, once gevent has patched

            connections.close_all()


worker_class = Worker
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
# Client connections each worker serves at once, and so the database connections it may hold: with the
# image's 2 workers, 64 of PostgreSQL's default 100, leaving the rest to the Celery workers and beat.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "32"))
# Seconds a worker waits for a request's headers, the first as the next on a kept-alive connection: a
# client that stalls before them holds one of those connections no longer (gunicorn's default, stated
# here because the bound depends on it; tests/e2e/test_web_server.py).
keepalive = 2
