"""The list of background loops, and the loop that runs one of them forever."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.db.queries import management, periodic
from dockyard.db.queries import tokens as audit_rows
from dockyard.registry import Registry
from dockyard.registry.gc import Collector
from dockyard.storage import open_store
from dockyard.workers.cleanup_job import SCHEDULE_SECONDS, schedule_due
from dockyard.workers.gc_process import GcProcess
from dockyard.workers.jobs import JobWorker, purge_finished_jobs, worker_id
from dockyard.workers.kinds import job_kinds

log = logging.getLogger("dockyard.workers")
GIVE_UP_AFTER = 10
SWEEP_SECONDS = 6 * 3600.0  # queue what no event queued (reviews lost to a crash, say)


def delete_due_repositories(db: Database, gc_delay: timedelta = timedelta(days=1)) -> int:
    """Carry out scheduled repository deletions; each is one all-or-nothing transaction."""
    with db.session() as conn:
        due = management.due_deletions(conn)
    done = 0
    for repository_id in due:
        with db.session(write=True) as conn:
            if not management.claim_deletion(conn, repository_id):
                continue
        try:
            after = datetime.now(UTC) + gc_delay
            db.transact(
                lambda conn, rid=repository_id, at=after: management.delete_repository(
                    conn, rid, at
                )
            )
            done += 1
        except Exception:
            log.exception("deleting repository %s failed; will retry", repository_id)
            with db.session(write=True) as conn:
                management.deletion_failed(conn, repository_id, GIVE_UP_AFTER)
    return done


def collect(db: Database, passes: GcProcess) -> None:
    """One pass of the server's garbage collection (in the gentle child process); what
    it removed goes to the audit log in summary (nothing is written when it removed
    nothing)."""
    removed = passes.run()
    removed.pop("per_repository", None)
    if removed["manifests"] or removed["blob_links"] or removed["blobs"]:
        with db.session(write=True) as conn:
            audit_rows.audit(conn, "gc", "gc", "registry", None, json.dumps(removed))


def loops(settings: Settings, db: Database, registry: Registry) -> list[Callable[[], Awaitable]]:
    """Every background loop a server process runs. Loops that every replica ticks take
    turns through the database, so each period's pass runs once whatever the count; the
    others (deletions, jobs, cleanup schedules) claim each item of work on their own."""
    idle = timedelta(seconds=settings.upload_ttl_seconds)
    delay = timedelta(seconds=settings.gc_review_delay_seconds)
    collector = Collector(db, open_store(settings), untagged=settings.gc_untagged_manifests)
    passes = GcProcess(settings)
    interval = float(settings.gc_interval_seconds)
    turns = Turns(db)
    return [
        lambda: turns.every(600.0, "purge idle uploads", lambda: registry.uploads.purge_idle(idle)),
        lambda: every(1.0, "delete repositories", lambda: delete_due_repositories(db, delay)),
        lambda: turns.every(interval, "garbage collection", lambda: collect(db, passes)),
        lambda: turns.every(SWEEP_SECONDS, "gc sweep", lambda: collector.sweep(delay)),
        lambda: job_worker(settings, db).loop(),
        lambda: turns.every(3600.0, "purge finished jobs", lambda: purge_finished_jobs(db)),
        lambda: every(SCHEDULE_SECONDS, "schedule cleanups", lambda: schedule_due(db)),
    ]


def job_worker(settings: Settings, db: Database) -> JobWorker:
    """The loop that runs every job kind (scans, rematches, cleanups ...) from the queue."""
    store = open_store(settings)
    return JobWorker(db, job_kinds(settings, db, store), lease_seconds=settings.job_lease_seconds)


async def every(seconds: float, name: str, job: Callable[[], object]) -> None:
    while True:
        try:
            await asyncio.to_thread(job)
        except Exception:
            log.exception("%s failed", name)
        await asyncio.sleep(seconds)


class Turns:
    """Periodic loops that run once per period across every process on one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.holder = worker_id()

    def take(self, name: str, seconds: float) -> bool:
        """Whether this process runs the pass of ``name`` that is due now (if one is)."""
        now = datetime.now(UTC)
        with self.db.session(write=True) as conn:
            return periodic.take_turn(
                conn, name, self.holder, now, now + timedelta(seconds=seconds)
            )

    def run_if_due(self, seconds: float, name: str, job: Callable[[], object]) -> bool:
        if not self.take(name, seconds):
            return False
        job()
        return True

    async def every(self, seconds: float, name: str, job: Callable[[], object]) -> None:
        """Tick every ``seconds``; run ``job`` on the ticks where this process has the turn."""
        await every(seconds, name, lambda: self.run_if_due(seconds, name, job))
