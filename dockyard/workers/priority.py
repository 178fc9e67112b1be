"""The lowest CPU priority, for background children (scans, garbage collection)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

NICENESS = 19  # the lowest priority an unprivileged process can take


def lower_priority() -> None:
    """SCHED_IDLE where there is one (Linux): a waking server thread preempts the child at
    once, where at nice 19 the child kept the core for the rest of its time slice and each
    round trip of a chunked push waited for it. Also nice 19, for our autogroup too: where
    the kernel groups processes by session (``sched_autogroup_enabled``) a nice value only
    ranks a process within its session, and sessions share the CPU evenly."""
    os.nice(NICENESS)
    with contextlib.suppress(OSError):  # no autogroups here, or not allowed: nice alone
        Path("/proc/self/autogroup").write_text(str(NICENESS))
    if hasattr(os, "SCHED_IDLE"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
