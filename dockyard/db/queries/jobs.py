"""The job queue: enqueue in the caller's transaction, claim with a lease, finish.

A job is claimed by setting it ``running`` with a lease; a worker that dies leaves the
lease to expire and the job becomes claimable again (its attempt counted). Every
function takes the caller's connection: ``enqueue`` commits or rolls back with the
change that caused the work, and ``claim`` must run in a write transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Connection

from dockyard.db.models import Job
from dockyard.db.queries._upsert import insert_for

MAX_BACKOFF_SECONDS = 3600.0
ABANDONED = "the worker running it stopped before finishing, every attempt"


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


@dataclass(frozen=True)
class JobRow:
    id: int
    kind: str
    payload: dict[str, Any]
    state: str
    attempts: int
    run_after: datetime
    leased_by: str | None
    last_error: str | None
    dedupe_key: str | None
    progress_done: int | None = None
    progress_total: int | None = None


def enqueue(
    conn: Connection,
    kind: str,
    payload: dict[str, Any],
    dedupe_key: str | None = None,
    run_after: datetime | None = None,
    max_attempts: int = 5,
) -> int | None:
    """Queue a job; its id, or None when a live job with the same dedupe key exists."""
    now = datetime.now(UTC)
    stmt = insert_for(conn, Job).values(
        kind=kind,
        payload=json.dumps(payload, sort_keys=True),
        state="queued",
        attempts=0,
        max_attempts=max_attempts,
        run_after=run_after or now,
        dedupe_key=dedupe_key,
        created_at=now,
        updated_at=now,
    )
    if dedupe_key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["dedupe_key"])
    return conn.execute(stmt.returning(Job.id)).scalar()


def _due(kinds: list[str], now: datetime, give_up_too: bool = False) -> Any:
    """Queued and due, or running with an expired lease (a dead worker's) and attempts
    left; with ``give_up_too`` also those out of attempts, which only giving up takes."""
    queued = and_(Job.state == "queued", Job.run_after <= now)
    abandoned = and_(Job.state == "running", Job.lease_expires_at < now)
    if not give_up_too:
        abandoned = and_(abandoned, Job.attempts < Job.max_attempts)
    return and_(Job.kind.in_(kinds), or_(queued, abandoned))


def any_due(conn: Connection, kinds: list[str]) -> bool:
    """A cheap read before claiming, so idle workers do not take SQLite's write lock."""
    stmt = select(Job.id).where(_due(kinds, datetime.now(UTC), give_up_too=True)).limit(1)
    return conn.execute(stmt).first() is not None


def claim(
    conn: Connection, worker_id: str, kinds: list[str], lease_seconds: float
) -> ClaimedJob | None:
    found = claim_many(conn, worker_id, kinds, lease_seconds, 1)
    return found[0] if found else None


def claim_many(
    conn: Connection, worker_id: str, kinds: list[str], lease_seconds: float, limit: int
) -> list[ClaimedJob]:
    """Lease the ``limit`` oldest due jobs of ``kinds`` (or ones whose lease expired).

    PostgreSQL: the inner SELECT locks the rows with FOR UPDATE SKIP LOCKED, so concurrent
    claimers each skip rows another is taking and never wait or collide. SQLite has no
    row locks and needs none: the caller's write transaction began with BEGIN IMMEDIATE,
    so SQLite runs one writer at a time and this single UPDATE ... WHERE id = (SELECT ...)
    RETURNING picks and leases the row with no other writer in between.
    """
    now = datetime.now(UTC)
    pick = select(Job.id).where(_due(kinds, now)).order_by(Job.run_after, Job.id).limit(limit)
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    stmt = (
        update(Job)
        .where(Job.id.in_(pick))
        .values(
            state="running",
            attempts=Job.attempts + 1,
            leased_by=worker_id,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            updated_at=now,
        )
        .returning(Job.id, Job.kind, Job.payload, Job.attempts, Job.max_attempts)
    )
    rows = sorted(conn.execute(stmt), key=lambda row: row.id)
    return [
        ClaimedJob(row.id, row.kind, json.loads(row.payload), row.attempts, row.max_attempts)
        for row in rows
    ]


def claim_key(
    conn: Connection, worker_id: str, dedupe_key: str, lease_seconds: float
) -> ClaimedJob | None:
    """Lease the live job with this dedupe key now, whatever its ``run_after`` (someone
    asked for the work this minute), if it is queued or its lease expired; None when
    another worker holds it. Locks like ``claim``: the row is taken by one UPDATE."""
    now = datetime.now(UTC)
    free = or_(Job.state == "queued", and_(Job.state == "running", Job.lease_expires_at < now))
    stmt = (
        update(Job)
        .where(Job.dedupe_key == dedupe_key, free)
        .values(
            state="running",
            attempts=Job.attempts + 1,
            leased_by=worker_id,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            updated_at=now,
        )
        .returning(Job.id, Job.kind, Job.payload, Job.attempts, Job.max_attempts)
    )
    row = conn.execute(stmt).first()
    if row is None:
        return None
    return ClaimedJob(row.id, row.kind, json.loads(row.payload), row.attempts, row.max_attempts)


def give_up_abandoned(conn: Connection, kinds: list[str]) -> list[ClaimedJob]:
    """Fail the jobs whose worker died on every attempt (a crash, an OOM kill), so they
    stop coming back; they are returned so their kinds can record why."""
    now = datetime.now(UTC)
    stmt = (
        update(Job)
        .where(
            Job.kind.in_(kinds),
            Job.state == "running",
            Job.lease_expires_at < now,
            Job.attempts >= Job.max_attempts,
        )
        .values(
            state="failed",
            dedupe_key=None,
            leased_by=None,
            lease_expires_at=None,
            last_error=ABANDONED,
            updated_at=now,
        )
        .returning(Job.id, Job.kind, Job.payload, Job.attempts, Job.max_attempts)
    )
    return [
        ClaimedJob(r.id, r.kind, json.loads(r.payload), r.attempts, r.max_attempts)
        for r in conn.execute(stmt)
    ]


def complete(conn: Connection, job_id: int, worker_id: str) -> bool:
    """Mark done; False if the lease was lost (it expired and another worker took it)."""
    now = datetime.now(UTC)
    result = conn.execute(
        update(Job)
        .where(Job.id == job_id, Job.state == "running", Job.leased_by == worker_id)
        .values(
            state="done", dedupe_key=None, lease_expires_at=None, last_error=None, updated_at=now
        )
    )
    return bool(result.rowcount)


def fail(
    conn: Connection,
    job_id: int,
    worker_id: str,
    error: str,
    backoff_seconds: float,
    delay: float | None = None,
) -> str | None:
    """Record a failed attempt: queued again after ``delay`` if the kind has its own
    schedule, else ``backoff_seconds * 2**(attempts-1)`` (capped at an hour), or
    ``failed`` for good once attempts reach the job's maximum. The new state, or None
    if the lease was lost."""
    now = datetime.now(UTC)
    row = conn.execute(
        select(Job.attempts, Job.max_attempts).where(
            Job.id == job_id, Job.state == "running", Job.leased_by == worker_id
        )
    ).first()
    if row is None:
        return None
    values: dict[str, Any] = {"last_error": error[:4000], "updated_at": now}
    if row.attempts >= row.max_attempts:
        values.update(state="failed", dedupe_key=None, lease_expires_at=None)
    else:
        if delay is None:
            delay = min(backoff_seconds * 2 ** (row.attempts - 1), MAX_BACKOFF_SECONDS)
        values.update(
            state="queued", run_after=now + timedelta(seconds=delay), lease_expires_at=None
        )
    conn.execute(update(Job).where(Job.id == job_id).values(**values))
    return values["state"]


def get(conn: Connection, job_id: int) -> JobRow | None:
    return _job_row(conn.execute(select(Job).where(Job.id == job_id)).first())


def live(conn: Connection, dedupe_key: str) -> JobRow | None:
    """The queued or running job holding the key, if any (finished jobs drop their key)."""
    return _job_row(conn.execute(select(Job).where(Job.dedupe_key == dedupe_key)).first())


def _job_row(row: Any) -> JobRow | None:  # noqa: ANN401 - a Row of Job
    if row is None:
        return None
    return JobRow(
        row.id,
        row.kind,
        json.loads(row.payload),
        row.state,
        row.attempts,
        row.run_after,
        row.leased_by,
        row.last_error,
        row.dedupe_key,
        row.progress_done,
        row.progress_total,
    )


def set_progress(conn: Connection, job_id: int, done: int, total: int) -> None:
    conn.execute(
        update(Job).where(Job.id == job_id).values(progress_done=done, progress_total=total)
    )


def counts(conn: Connection) -> dict[str, int]:
    """Jobs per state, for status output and tests."""
    stmt = select(Job.state, func.count()).group_by(Job.state)
    return {state: n for state, n in conn.execute(stmt)}


def purge_finished(conn: Connection, older_than: datetime) -> int:
    """Forget done jobs last touched before ``older_than`` (failed ones stay for review)."""
    result = conn.execute(
        Job.__table__.delete().where(Job.state == "done", Job.updated_at < older_than)
    )
    return result.rowcount or 0
