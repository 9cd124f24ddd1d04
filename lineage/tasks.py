"""The lineage's Celery task: the projector of recorded OpenLineage events (lineage.services.ingest).

Requests ask for it through `lineage_projection_request`. A busy sender records hundreds of events a
second, and one projector run takes them all, so a request sends a message only when none is waiting:
a key in the broker's Redis, set (if absent) by the request that sends the message and removed by the
task as it starts, before it reads the pending events. An event recorded after that removal sends a new
message; one recorded before it is read by the run starting. Beat runs the projector as a sweep too, for
events whose message was lost (a broker that was down).

A request does not wait for that key: its commit wakes the process's asker (`ProjectionAsker`), a thread
that asks once for all the commits of a short gathering."""

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable
from functools import cache

import redis
from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction

from lineage import services

logger = logging.getLogger(__name__)

# Set while a projector run is asked for and not yet started; it expires, should its message be lost.
REQUESTED_KEY = "catalog:lineage:projection-requested"
REQUESTED_FOR = 60  # seconds
# How long the asker gathers commits into one ask. The ask (a Redis round trip) was a tenth of the CPU of
# a request recording one event; gathered, a busy sender's events share it. At about 300 events a second
# on one web process, 10 ms asked 485 times for 2,300 events and 50 ms 131 times, with 14% fewer context
# switches a request; a projector run waits 40 ms more to be asked for, against seconds to project.
GATHER_FOR = 0.05  # seconds


@shared_task(
    name="lineage.tasks.lineage_pending_project",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    max_retries=8,
)
def lineage_pending_project_task() -> int:
    _requested(clear=True)
    return services.lineage_pending_project()


def lineage_projection_request() -> bool:
    """Have the pending events projected: at once, in this process, when tasks run in-process (no
    broker), so the caller reads its events in the graph (True: they are projected); otherwise by a
    worker, once the current transaction commits (False)."""
    if lineage_pending_project_task.app.conf.task_always_eager:
        services.lineage_pending_project()
        return True
    transaction.on_commit(_asker.wake)
    return False


class ProjectionAsker:
    """Asks for a projector run (`ask`) on behalf of this process's requests, once for all the commits of
    a gathering of GATHER_FOR seconds, from a thread of its own: `wake` costs a request nothing more.

    Every ask follows the commits that woke it, so an event is never left behind: committed before a run
    starts, the run reads it; after, the ask that follows its commit sends a new message. The thread is
    started on first use, and again in a process forked after that. Should the process end with an ask
    due, it asks as it exits; should it die, beat's sweep projects the events."""

    def __init__(self, ask: Callable[[], None], gather_for: float = GATHER_FOR) -> None:
        self.ask = ask
        self.gather_for = gather_for
        self._lock = threading.Lock()
        self._pid = 0
        self._wanted = threading.Event()

    def wake(self) -> None:
        if self._pid != os.getpid():
            self._start()
        self._wanted.set()

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._wanted = threading.Event()
            threading.Thread(target=self._run, args=(self._wanted,), name="lineage-asker", daemon=True).start()
            atexit.register(self._at_exit, self._wanted)
            self._pid = os.getpid()

    def _run(self, wanted: threading.Event) -> None:
        while True:
            wanted.wait()
            time.sleep(self.gather_for)
            # Cleared before asking: a commit from here on wakes the next round.
            wanted.clear()
            self._ask()

    def _at_exit(self, wanted: threading.Event) -> None:
        if wanted.is_set():
            wanted.clear()
            self._ask()

    def _ask(self) -> None:
        try:
            self.ask()
        except Exception:  # the thread must outlive any one failure
            logger.exception("Asking for the lineage projection failed; the sweep will project the pending events")


def _dispatch() -> None:
    if _requested():
        return
    try:
        lineage_pending_project_task.delay()
    except Exception:
        # The events are recorded and stay pending; the next request or the sweep asks again.
        _requested(clear=True)
        logger.exception("Could not ask for the lineage projection; the sweep will project the pending events")


_asker = ProjectionAsker(_dispatch)


@cache
def _broker_redis() -> redis.Redis | None:
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _requested(*, clear: bool = False) -> bool:
    """Whether a projector run was already asked for (marking it asked for now if not); with `clear`,
    forget it. Without a Redis broker, or should Redis not answer, every ask sends a message."""
    client = _broker_redis()
    if client is None:
        return False
    try:
        if clear:
            client.delete(REQUESTED_KEY)
            return False
        return not client.set(REQUESTED_KEY, 1, nx=True, ex=REQUESTED_FOR)
    except redis.RedisError:
        return False
