"""The asker that asks for projector runs for a web process's requests: once for commits close together,
always after the last of them, again for a commit after an ask, and from a thread of its own in a forked
process. Its `ask` here records when it ran (in the service it is `lineage.tasks._dispatch`)."""

import os
import select
import time

from lineage.tasks import ProjectionAsker


def _asks_after(asks: list[float], count: int, timeout: float = 5.0) -> list[float]:
    deadline = time.monotonic() + timeout
    while len(asks) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # and no more come
    return list(asks)


def test_commits_close_together_are_asked_for_once_after_the_last_of_them():
    asks: list[float] = []
    # A long gathering, so that a stalled loop on a busy machine still wakes it within one.
    asker = ProjectionAsker(lambda: asks.append(time.monotonic()), gather_for=0.5)
    woken = []
    for _ in range(50):
        woken.append(time.monotonic())
        asker.wake()

    assert len(_asks_after(asks, 1)) == 1
    assert asks[0] > woken[-1]


def test_a_commit_after_an_ask_is_asked_for_again():
    asks: list[float] = []
    asker = ProjectionAsker(lambda: asks.append(time.monotonic()), gather_for=0.01)
    asker.wake()
    _asks_after(asks, 1)
    woken = time.monotonic()
    asker.wake()

    assert len(_asks_after(asks, 2)) == 2
    assert asks[1] > woken


def test_an_ask_that_fails_does_not_stop_the_asker():
    asks: list[str] = []

    def ask() -> None:
        asks.append("tried")
        if len(asks) == 1:
            raise ConnectionError("the broker is down")

    asker = ProjectionAsker(ask, gather_for=0.01)
    asker.wake()
    _asks_after(asks, 1)
    asker.wake()

    assert _asks_after(asks, 2) == ["tried", "tried"]


def test_a_forked_process_asks_from_a_thread_of_its_own():
    read, write = os.pipe()
    asker = ProjectionAsker(lambda: os.write(write, f"{os.getpid()}\n".encode()), gather_for=0.01)
    asker.wake()  # the parent's thread, which the child does not inherit
    assert os.read(read, 100).decode().strip() == str(os.getpid())

    child = os.fork()
    if child == 0:  # pragma: no cover - the child's exit status is the assertion
        try:
            asker.wake()
            time.sleep(1)
        finally:
            os._exit(0)
    try:
        ready, _, _ = select.select([read], [], [], 5)
        assert ready, "the forked process never asked"
        assert os.read(read, 100).decode().strip() == str(child)
    finally:
        os.waitpid(child, 0)
        os.close(read)
        os.close(write)
