"""The one worker loop: claim a job of a known kind, run its handler, record the outcome.

Every server process runs this loop (and ``dockyard worker`` runs it alone); the
queue's leases make each job run once however many loops there are. Handlers do
blocking I/O, so they run in a thread; a handler that raises is retried with
exponential backoff until the job's attempts run out, then its kind may record why.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dockyard.db.engine import Database, DatabaseUnavailable
from dockyard.db.queries import jobs
from dockyard.storage import StorageUnavailable

log = logging.getLogger("dockyard.workers.jobs")


class Retry(Exception):
    """An expected failure (a webhook receiver answered 500): retried like any other,
    logged in one line without a traceback."""


# Failures that are the state of a service, not a bug: one line in the log, then retried.
EXPECTED = (Retry, StorageUnavailable, DatabaseUnavailable)


@dataclass(frozen=True)
class JobKind:
    """A kind of job: its name in the queue, its handler, and what to do when it gives up."""

    name: str
    # may return a function of the connection, run in the transaction that ends the job
    run: Callable[..., Callable[[Any], None] | None]  # (payload) or (payload, progress)
    give_up: Callable[[dict[str, Any], str], None] | None = None
    # the wait before the next try, from the attempts made; None: the worker's backoff
    retry_delay: Callable[[int], float] | None = None
    # jobs of this kind a worker leases at once: >1 only for quick ones (deliveries),
    # which then cost one claim transaction per batch instead of one each
    batch: int = 1
    # a long kind: ``run`` takes a second argument, a JobProgress to say how far it is
    reports_progress: bool = False


class JobProgress:
    """Writes a running job's ``done of total`` to its row, for pages that show it."""

    def __init__(self, db: Database, job_id: int) -> None:
        self.db = db
        self.job_id = job_id

    def __call__(self, done: int, total: int) -> None:
        with self.db.session(write=True) as conn:
            jobs.set_progress(conn, self.job_id, done, total)


def worker_id() -> str:
    """Who holds a lease: host, process and a nonce (two loops in one process differ)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobWorker:
    def __init__(
        self,
        db: Database,
        kinds: Mapping[str, JobKind],
        *,
        lease_seconds: float = 600.0,
        backoff_seconds: float = 30.0,
        idle_seconds: float = 1.0,
    ) -> None:
        self.db = db
        self.kinds = dict(kinds)
        self.id = worker_id()
        self.lease_seconds = lease_seconds
        self.backoff_seconds = backoff_seconds
        self.idle_seconds = idle_seconds
        self._ready: deque[jobs.ClaimedJob] = deque()  # leased by a batch claim, not run yet

    def run_one(self, peek: bool = True) -> bool:
        """Claim and run one due job; False when none is due. Jobs abandoned on every
        attempt are given up on first. ``peek``: read first whether anything is due (so
        an idle worker takes no write lock); skipped right after a job ran, when more
        work is likely (a burst of webhook deliveries goes ~10% faster)."""
        job = self._ready.popleft() if self._ready else self._claim(peek)
        if job is None:
            return False
        kind = self.kinds[job.kind]
        try:
            if kind.reports_progress:
                finish = kind.run(job.payload, JobProgress(self.db, job.id))
            else:
                finish = kind.run(job.payload)
        except Exception as error:  # a handler's failure must never stop the loop
            self._failed(job, kind, f"{type(error).__name__}: {error}", isinstance(error, EXPECTED))
            return True
        with self.db.session(write=True) as conn:
            if callable(finish):  # the handler's outcome commits with the job's end
                finish(conn)
            if not jobs.complete(conn, job.id, self.id):
                log.warning("job %s (%s) finished after its lease was lost", job.id, job.kind)
        return True

    def _claim(self, peek: bool) -> jobs.ClaimedJob | None:
        """Lease the next due job; for a kind that batches, more of that kind with it."""
        if peek:
            with self.db.session() as conn:
                if not jobs.any_due(conn, list(self.kinds)):
                    return None
        with self.db.session(write=True) as conn:
            abandoned = jobs.give_up_abandoned(conn, list(self.kinds))
            job = jobs.claim(conn, self.id, list(self.kinds), self.lease_seconds)
            batch = self.kinds[job.kind].batch if job is not None else 1
            if job is not None and batch > 1:
                more = jobs.claim_many(conn, self.id, [job.kind], self.lease_seconds, batch - 1)
                self._ready.extend(more)
        for dead in abandoned:
            self._give_up(dead, self.kinds[dead.kind], jobs.ABANDONED)
        return job

    def _failed(
        self, job: jobs.ClaimedJob, kind: JobKind, error: str, expected: bool = False
    ) -> None:
        (log.warning if expected else log.exception)(
            "job %s (%s) failed, attempt %d of %d: %s",
            job.id,
            job.kind,
            job.attempts,
            job.max_attempts,
            error,
        )
        delay = kind.retry_delay(job.attempts) if kind.retry_delay is not None else None
        with self.db.session(write=True) as conn:
            state = jobs.fail(conn, job.id, self.id, error, self.backoff_seconds, delay)
        if state == "failed":
            self._give_up(job, kind, error)

    def _give_up(self, job: jobs.ClaimedJob, kind: JobKind, error: str) -> None:
        if kind.give_up is None:
            return
        try:
            kind.give_up(job.payload, error)
        except Exception:
            log.exception("job %s (%s): recording the failure failed too", job.id, job.kind)

    def drain(self) -> int:
        """Run jobs until none is due (jobs waiting out a backoff stay queued); how many."""
        done = 0
        while self.run_one(peek=done == 0):
            done += 1
        return done

    async def loop(self) -> None:
        """Run jobs forever, sleeping briefly when idle; cancel the task to stop."""
        ran = False
        while True:
            try:
                ran = await asyncio.to_thread(self.run_one, not ran)
            except Exception:  # the database was unreachable, say: try again shortly
                log.exception("the job loop could not claim a job")
                ran = False
            if not ran:
                await asyncio.sleep(self.idle_seconds)


def purge_finished_jobs(db: Database, keep_days: int = 7) -> int:
    with db.session(write=True) as conn:
        return jobs.purge_finished(conn, datetime.now(UTC) - timedelta(days=keep_days))
