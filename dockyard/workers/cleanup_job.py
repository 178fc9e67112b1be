"""The ``cleanup`` job kind, the scheduler that queues it, and a run started by hand.

Every server process (and ``dockyard worker``) calls ``schedule_due`` each minute. A due
policy's next run is moved one cadence on and its job queued in the same transaction,
with the dedupe key ``cleanup:<project id>``: however many processes and replicas tick,
each due run is queued once, and a project's policy never runs twice at the same time.
``run_now`` (``dockyard cleanup run``) takes the same key, so a run started by hand
never overlaps a scheduled one.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from dockyard.admin import Conflict
from dockyard.admin.cleanup_policy import next_run
from dockyard.admin.cleanup_service import Cleanups, Progress
from dockyard.db.engine import Database
from dockyard.db.queries import accounts, jobs
from dockyard.db.queries import cleanup as cleanup_rows
from dockyard.db.queries.cleanup import RunRow
from dockyard.db.records import ProjectRecord
from dockyard.workers.jobs import worker_id

log = logging.getLogger("dockyard.workers.cleanup")

KIND = "cleanup"
SCHEDULE_SECONDS = 60.0
SCHEDULER = "cleanup-policy"  # who scheduled runs are in the audit log


def dedupe_key(project_id: int) -> str:
    return f"cleanup:{project_id}"


def schedule_due(db: Database) -> int:
    """Queue a run of every enabled policy whose time has come; how many were queued."""
    now = datetime.now(UTC)
    with db.session() as conn:  # a cheap read first: most minutes nothing is due
        if not cleanup_rows.due(conn, now):
            return 0
    queued = 0
    with db.session(write=True) as conn:
        for project_id, seen, cadence in cleanup_rows.due(conn, now):
            if not cleanup_rows.advance(conn, project_id, seen, next_run(now, cadence)):
                continue  # another scheduler took this one
            payload = {"project_id": project_id, "trigger": "schedule"}
            key = dedupe_key(project_id)
            if jobs.enqueue(conn, KIND, payload, key, max_attempts=3) is not None:
                queued += 1
    return queued


class CleanupJobs:
    def __init__(self, db: Database, cleanups: Cleanups) -> None:
        self.db = db
        self.cleanups = cleanups

    def run(self, payload: dict[str, Any]) -> None:
        with self.db.session() as conn:
            project = accounts.project_by_id(conn, payload["project_id"])
            policy = cleanup_rows.policy(conn, payload["project_id"])
        if project is None or policy is None:
            return  # the project or its policy was deleted since
        if not policy.enabled and payload.get("trigger") == "schedule":
            return  # switched off since it was queued
        run = self.cleanups.run(project, payload.get("trigger", "schedule"), SCHEDULER)
        log.info("cleanup of %s: %s, %d tag(s) deleted", project.path, run.status, run.tags_deleted)


def run_now(
    db: Database,
    cleanups: Cleanups,
    project: ProjectRecord,
    actor: str,
    progress: Progress | None = None,
    lease_seconds: float = 600.0,
) -> RunRow:
    """Run the project's policy here and now, holding its job key: a queued scheduled run
    is taken over (it would do the same); one running elsewhere makes this a Conflict."""
    key, me = dedupe_key(project.id), worker_id()
    with db.session(write=True) as conn:
        payload = {"project_id": project.id, "trigger": "manual"}
        jobs.enqueue(conn, KIND, payload, key, max_attempts=1)
        job = jobs.claim_key(conn, me, key, lease_seconds)
    if job is None:
        raise Conflict(f"a cleanup of {project.path} is running now; try again when it ends")
    try:
        return cleanups.run(project, "manual", actor, progress)
    finally:
        with db.session(write=True) as conn:
            jobs.complete(conn, job.id, me)
