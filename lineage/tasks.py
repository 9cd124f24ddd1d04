"""The lineage's Celery task: the projector of recorded OpenLineage events (lineage.services.ingest).

Requests ask for it through `lineage_projection_request`. A busy sender records hundreds of events a
second, and one projector run takes them all, so a request sends a message only when none is waiting:
a key in the broker's Redis, set (if absent) by the request that sends the message and removed by the
task as it starts, before it reads the pending events. An event recorded after that removal sends a new
message; one recorded before it is read by the run starting. Beat runs the projector as a sweep too, for
events whose message was lost (a broker that was down)."""

import logging
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
    transaction.on_commit(_dispatch)
    return False


def _dispatch() -> None:
    if _requested():
        return
    try:
        lineage_pending_project_task.delay()
    except Exception:
        # The events are recorded and stay pending; the next request or the sweep asks again.
        _requested(clear=True)
        logger.exception("Could not ask for the lineage projection; the sweep will project the pending events")


@cache
def _broker_redis() -> redis.Redis | None:
    url = settings.CELERY_BROKER_URL
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _requested(*, clear: bool = False) -> bool:
    """Whether a projector run was already asked for (marking it asked for now if not); with `clear`,
    forget it. Without a Redis broker, or should Redis not answer, every request asks."""
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
