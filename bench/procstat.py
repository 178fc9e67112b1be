"""Memory and CPU of a server's whole process tree, read from /proc.

A server may fork workers, so every figure sums the process and all its descendants.
A background thread samples RSS every 50 ms to catch peaks that a before/after reading
would miss; CPU time is cumulative, so it is read on demand around a workload.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
INTERVAL = 0.05


def _children(pid: int) -> list[int]:
    """Direct children via /proc/PID/task/*/children (one read per thread)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                found += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
    return found


def tree(pid: int) -> list[int]:
    """The process and its descendants (bounded: a pid is visited once)."""
    seen, todo = [], [pid]
    while todo and len(seen) < 10_000:
        current = todo.pop()
        if current not in seen:
            seen.append(current)
            todo += _children(current)
    return seen


def _rss_bytes(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def tree_rss(pid: int) -> int:
    return sum(_rss_bytes(member) for member in tree(pid))


def tree_cpu(pid: int) -> float:
    """User + system seconds of the living tree, plus what it has reaped from dead children."""
    total = 0
    for member in tree(pid):
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(v) for v in stat[11:15])  # utime stime cutime cstime
    return total / TICKS


class Watch:
    """Peak RSS of one process tree over the whole run and within the current window."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self.window_peak = 0
        self._lock = threading.Lock()

    def sample(self) -> int:
        rss = tree_rss(self.pid)
        with self._lock:
            self.peak = max(self.peak, rss)
            self.window_peak = max(self.window_peak, rss)
        return rss

    def open_window(self) -> None:
        with self._lock:
            self.window_peak = 0
        self.sample()

    def close_window(self) -> int:
        self.sample()
        with self._lock:
            return self.window_peak

    def cpu(self) -> float:
        return tree_cpu(self.pid)


class Sampler:
    """One daemon thread sampling every watch every 50 ms until stopped."""

    def __init__(self, watches: list[Watch]) -> None:
        self.watches = watches
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(INTERVAL):
            for watch in self.watches:
                watch.sample()

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
