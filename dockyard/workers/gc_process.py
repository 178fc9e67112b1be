"""The server's garbage collection passes run in a child process, gently.

A pass is CPU work in Python between write transactions. On a thread of a server process
it held the GIL against request handling, and its batches of 100 objects held SQLite's
write lock for tens of milliseconds: pushes during a pass took 20 times as long at p99
(``bench/gc_pass.py``, docs/benchmarks.md). So each server process hands its passes to one
long-lived child (started on first use, again if it dies) whose GIL is its own, and which
gives way three times over:

- each transaction is sized to hold the database about ``MAX_HOLD`` (the collector halves
  or grows each phase's batch as it goes), so a push that meets one waits that long at most;
- after each it rests ``REST`` times as long as it took, so waiting writers go first;
- before the next it waits while the rest of the machine keeps the CPUs busy
  (``quiet.QuietWatch``, as scans do), up to ``MAX_WAIT``, so it always progresses.

It runs at normal CPU priority on purpose: a child at SCHED_IDLE or nice 19 that a busy
machine preempts *while it holds the write lock* would stall every push behind it
(priority inversion); the three rules above already keep it off the CPU when serving
needs it. ``dockyard gc`` does none of this: an operator asked for the pass now.

The child is ``python -m dockyard.workers.gc_process``: it reads the settings, then one
``now`` flag per pass, from stdin, and answers each with what the pass removed (the
``Removed.as_dict(verbose=True)`` dict) or an error message, pickled.
"""

from __future__ import annotations

import os
import pickle
import time
from typing import IO, Any

from dockyard.config import Settings
from dockyard.workers.child import ChildGone, PickleChild, child_main, send
from dockyard.workers.quiet import QuietWatch

BATCH = 100  # the most objects one transaction takes
MAX_HOLD = 0.010  # seconds one transaction should hold the database
REST = 1.0  # after each transaction, rest this many times as long as it took
MAX_WAIT = 1.0  # on a machine that stays busy, one transaction a second at least
PASS_SECONDS = 10.0  # a pass reports (and is audited) at least this often; the next goes on


class GcProcessError(RuntimeError):
    """The child died or the pass failed; the next pass tries again."""


class GcProcess:
    """Runs ``Collector.run`` in the child; one pass at a time."""

    def __init__(self, settings: Settings) -> None:
        self._child = PickleChild("dockyard.workers.gc_process", settings)

    def run(self, now: bool = False) -> dict[str, Any]:
        try:
            kind, value = self._child.call(now)
        except ChildGone as error:
            raise GcProcessError(f"the garbage collection process died ({error})") from error
        if kind != "removed":
            raise GcProcessError(str(value))
        return value  # type: ignore[return-value]

    @property
    def pid(self) -> int | None:
        return self._child.pid

    def close(self) -> None:
        self._child.close()


class Gentle:
    """The collector's pace in the child: rest after each transaction, then wait for
    spare CPU."""

    def __init__(self, watch: QuietWatch | None = None, parent: int | None = None) -> None:
        self._watch = watch or QuietWatch(max_wait=MAX_WAIT)
        self._parent = parent  # the server process; we stop mid-pass if it is gone

    def __call__(self, held: float) -> None:
        if self._parent is not None and os.getppid() != self._parent:
            os._exit(0)  # orphaned (the server was killed): leases make stopping safe
        time.sleep(held * REST)
        self._watch.wait()


def _serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    from dockyard.db.engine import Database
    from dockyard.registry.gc import Collector
    from dockyard.storage import open_store

    settings: Settings = pickle.load(requests)
    db = Database(settings.effective_database_url, settings.sqlite_synchronous)
    collector = Collector(
        db,
        open_store(settings),
        untagged=settings.gc_untagged_manifests,
        batch=BATCH,
        pace=Gentle(parent=os.getppid()),
        max_hold=MAX_HOLD,
    )
    while True:
        try:
            now = pickle.load(requests)
        except EOFError:
            return  # the server process is gone
        try:
            removed = collector.run(now=now, seconds=PASS_SECONDS)
            reply: tuple[str, object] = ("removed", removed.as_dict(verbose=True))
        except Exception as error:  # the database or the store failed; the next pass retries
            reply = ("error", f"{type(error).__name__}: {error}")
        send(replies, reply)


def main() -> None:
    child_main(_serve)


if __name__ == "__main__":
    main()
