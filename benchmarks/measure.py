"""A child process measured as the profiling benchmark (benchmarks/profile_bench.py) measures every tool: wall
time, peak RSS (the child's own ru_maxrss and the sampled sum over its session), exit status and output."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

CHILD_TIMEOUT = 3600.0
SAMPLE_INTERVAL = 0.1


@dataclass
class Measurement:
    seconds: float
    returncode: int
    process_rss: int  # bytes: ru_maxrss from wait4, the largest single process of the child's tree
    tree_rss: int  # bytes: the largest sampled sum over the child's session
    processes: int  # the most processes seen at once in the child's session
    stdout: bytes
    stderr: str
    timed_out: bool = False
    leftover: int = 0  # processes still running when the child exited

    @property
    def peak_rss(self) -> int:
        return max(self.process_rss, self.tree_rss)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.leftover

    def failure(self) -> str:
        if self.timed_out:
            return f"timed out after {self.seconds:.0f} s"
        if self.returncode == 0 and self.leftover:
            return f"left {self.leftover} process(es) running after it exited"
        tail = self.stderr.strip().splitlines()[-3:]
        return f"exit {self.returncode}: " + " | ".join(tail)


def _session_members(session: int) -> list[tuple[int, int]]:
    """(pid, bytes resident) of the live processes of a session: the child started in a session of its own and
    whatever it started, even once reparented."""
    page = os.sysconf("SC_PAGE_SIZE")
    members: list[tuple[int, int]] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is stat's field 3 (state): the session is field 6, rss (pages) field 24.
        if int(fields[3]) == session and fields[0] != b"Z":
            members.append((int(entry), int(fields[21]) * page))
    return members


def _resident(members: list[tuple[int, int]]) -> int:
    """Bytes resident over processes: RSS for one, PSS for several (pages forked workers share count once)."""
    if len(members) <= 1:
        return sum(rss for _, rss in members)
    total = 0
    for pid, rss in members:
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
                pss = next(line for line in handle if line.startswith(b"Pss:"))
            total += int(pss.split()[1]) * 1024
        except (OSError, StopIteration):
            total += rss
    return total


def _kill_session(session: int) -> int:
    """Kill what is left of a child's session; how many processes that was."""
    members = _session_members(session)
    for pid, _ in members:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(members)


class _Watcher(threading.Thread):
    """Samples the child's session until stopped; kills the session past the deadline."""

    def __init__(self, pid: int, timeout: float) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.deadline = time.monotonic() + timeout
        self.done = threading.Event()
        self.tree_rss = 0
        self.processes = 0
        self.timed_out = False

    def run(self) -> None:
        while not self.done.wait(SAMPLE_INTERVAL):
            members = _session_members(self.pid)
            self.tree_rss = max(self.tree_rss, _resident(members))
            self.processes = max(self.processes, len(members))
            if time.monotonic() > self.deadline and not self.timed_out:
                self.timed_out = True
                _kill_session(self.pid)


def measure(command: Sequence[str], timeout: float = CHILD_TIMEOUT) -> Measurement:
    """Run `command` as a child in a session of its own; wall time, peak RSS, exit status and output.
    Processes it leaves running after it exits are killed, and the run counts as failed."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err, cwd=ROOT, start_new_session=True)
        watcher = _Watcher(child.pid, timeout)
        watcher.start()
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not yet reaped: its pid stays ours
        seconds = time.perf_counter() - start
        watcher.done.set()
        watcher.join()
        leftover = _kill_session(child.pid)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measurement(
            seconds=seconds,
            returncode=child.returncode,
            process_rss=usage.ru_maxrss * 1024,
            tree_rss=watcher.tree_rss,
            processes=watcher.processes,
            stdout=out.read(),
            stderr=err.read().decode(errors="replace"),
            timed_out=watcher.timed_out,
            leftover=leftover,
        )


def python_call(function: Callable[..., None], *arguments: object) -> list[str]:
    """A command running `function(*arguments)`, a function of a module, in a fresh interpreter (arguments as
    strings)."""
    code = f"import sys; from {function.__module__} import {function.__name__} as f; f(*sys.argv[1:])"
    return [PYTHON, "-c", code, *map(str, arguments)]
