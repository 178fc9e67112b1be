"""Background work that steps aside while the machine is busy, even on an idle core.

Scheduling priority (SCHED_IDLE, nice 19) keeps a scan off a core the server wants. It
cannot keep it off the core next door: on this project's 2-vCPU machine a CPU-bound task
pinned to one vCPU ran 7-19% slower while a SCHED_IDLE task spun on the other (shared
execution units or memory bandwidth below the guest), and with scans running on the
spare vCPU chunked pushes and image pushes dropped to about 0.9x. So the scan reads its
layers through ``QuietStore``, which between chunks waits while other processes keep the
CPUs busy, that is, while fewer than ``FREE_CORES`` cores are left idle by everything
but the scan itself. Each wait is bounded (``MAX_WAIT``) so a scan always progresses, by
at least one chunk per wait, on a machine that is never idle.

The CPU figures come from ``/proc/stat`` (Linux); where it cannot be read nothing waits.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from dockyard.oci.digest import Digest
from dockyard.storage import BlobStore

FREE_CORES = 1.5  # a scan runs only beside at least this much idle capacity
INTERVAL = 0.05  # seconds between looks at /proc/stat, and the length of one nap
MAX_WAIT = 0.25  # the longest nap before another chunk is read anyway


def _busy_seconds(stat: Path = Path("/proc/stat")) -> float | None:
    """CPU time spent by everything since boot, all cores (idle and iowait excluded)."""
    try:
        fields = stat.read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    if fields[:1] != ["cpu"]:
        return None
    ticks = [int(x) for x in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    times = os.times()
    return times.user + times.system


class QuietWatch:
    """Tells whether other processes leave ``FREE_CORES`` idle, from CPU time deltas."""

    def __init__(
        self,
        cores: int | None = None,
        busy: Callable[[], float | None] = _busy_seconds,
        own: Callable[[], float] = _own_seconds,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_wait: float = MAX_WAIT,
    ) -> None:
        self.cores = cores or os.cpu_count() or 1
        self.max_wait = max_wait
        self._busy, self._own, self._sleep, self._clock = busy, own, sleep, clock
        self._last: tuple[float, float, float] | None = None
        self.busy_now = False

    def _look(self) -> None:
        busy = self._busy()
        if busy is None:
            self.busy_now = False
            return
        now, own = self._clock(), self._own()
        if self._last is not None:
            then, busy_then, own_then = self._last
            others = (busy - busy_then) - (own - own_then)  # CPU-seconds not ours
            self.busy_now = self.cores - others / (now - then) < FREE_CORES
        self._last = (now, busy, own)

    def wait(self) -> None:
        """Return at once on an idle machine; else nap until it is, up to ``max_wait``."""
        if self._last is not None and self._clock() - self._last[0] < INTERVAL:
            if not self.busy_now:
                return  # looked a moment ago: the machine was idle enough
        else:
            self._look()
        waited = 0.0
        while self.busy_now and waited < self.max_wait:
            self._sleep(INTERVAL)
            waited += INTERVAL
            self._look()


class QuietStore:
    """The store as the scanner reads it: each chunk only when ``watch`` says go."""

    def __init__(self, store: BlobStore, watch: QuietWatch) -> None:
        self._store = store
        self._watch = watch

    def read(self, digest: Digest, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        for chunk in self._store.read(digest, start, length):
            self._watch.wait()
            yield chunk
