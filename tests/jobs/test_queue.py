"""The job queue on SQLite and PostgreSQL: one claimer per job, leases, backoff, dedupe."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from dockyard.db.engine import Database, DatabaseUnavailable
from dockyard.db.queries import jobs
from dockyard.storage import StorageUnavailable


def enqueue(db: Database, kind: str, **options: object) -> int | None:
    with db.session(write=True) as conn:
        return jobs.enqueue(conn, kind, {"n": 1}, **options)  # type: ignore[arg-type]


def claim(
    db: Database, kind: str, worker: str = "w1", lease: float = 60.0
) -> jobs.ClaimedJob | None:
    with db.session(write=True) as conn:
        return jobs.claim(conn, worker, [kind], lease)


def state(db: Database, job_id: int) -> jobs.JobRow:
    with db.session() as conn:
        row = jobs.get(conn, job_id)
    assert row is not None
    return row


def test_a_job_is_claimed_run_and_completed(queue_db: Database, kind: str) -> None:
    job_id = enqueue(queue_db, kind)
    claimed = claim(queue_db, kind)
    assert claimed is not None and claimed.id == job_id
    assert claimed.payload == {"n": 1} and claimed.attempts == 1
    assert state(queue_db, job_id).state == "running"
    assert claim(queue_db, kind) is None  # leased: nobody else gets it
    with queue_db.session(write=True) as conn:
        assert jobs.complete(conn, job_id, "w1")
    assert state(queue_db, job_id).state == "done"
    assert claim(queue_db, kind) is None


def test_only_the_named_kinds_are_claimed(queue_db: Database, kind: str) -> None:
    enqueue(queue_db, kind)
    assert claim(queue_db, kind + "-other") is None
    assert claim(queue_db, kind) is not None


def test_concurrent_claimers_never_get_the_same_job(queue_db: Database, kind: str) -> None:
    wanted = {enqueue(queue_db, kind) for _ in range(40)}
    taken: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def claimer(name: str) -> None:
        start.wait()
        while (job := claim(queue_db, kind, worker=name)) is not None:
            with lock:
                taken.append(job.id)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == sorted(wanted)  # each job exactly once, none missed


def test_an_expired_lease_is_claimed_again(queue_db: Database, kind: str) -> None:
    job_id = enqueue(queue_db, kind)
    first = claim(queue_db, kind, worker="dead", lease=0.05)
    assert first is not None
    time.sleep(0.1)  # the worker "died": its lease runs out
    second = claim(queue_db, kind, worker="alive")
    assert second is not None and second.id == job_id and second.attempts == 2
    with queue_db.session(write=True) as conn:
        assert not jobs.complete(conn, job_id, "dead")  # the lease is no longer its own
        assert jobs.complete(conn, job_id, "alive")
    assert state(queue_db, job_id).state == "done"


def test_a_job_abandoned_on_every_attempt_fails_for_good(queue_db: Database, kind: str) -> None:
    job_id = enqueue(queue_db, kind, max_attempts=2)
    for _ in range(2):
        assert claim(queue_db, kind, lease=0.01) is not None
        time.sleep(0.05)
    assert claim(queue_db, kind) is None  # out of attempts: not claimed a third time
    with queue_db.session(write=True) as conn:
        [dead] = jobs.give_up_abandoned(conn, [kind])
    assert dead.id == job_id and dead.payload == {"n": 1}
    row = state(queue_db, job_id)
    assert row.state == "failed" and "stopped before finishing" in (row.last_error or "")


def test_failures_back_off_exponentially_then_give_up(queue_db: Database, kind: str) -> None:
    job_id = enqueue(queue_db, kind, max_attempts=3, dedupe_key=f"k:{uuid.uuid4()}")
    delays = []
    for attempt in (1, 2):
        claimed = claim(queue_db, kind)
        assert claimed is not None and claimed.attempts == attempt
        before = datetime.now(UTC)
        with queue_db.session(write=True) as conn:
            assert jobs.fail(conn, job_id, "w1", "boom", backoff_seconds=10) == "queued"
        row = state(queue_db, job_id)
        assert row.last_error == "boom"
        delays.append((row.run_after - before).total_seconds())
        assert claim(queue_db, kind) is None  # not due yet
        _make_due(queue_db, job_id)
    assert 9 < delays[0] <= 10.5 and 19 < delays[1] <= 20.5
    assert claim(queue_db, kind) is not None
    with queue_db.session(write=True) as conn:
        assert jobs.fail(conn, job_id, "w1", "boom again", backoff_seconds=10) == "failed"
    row = state(queue_db, job_id)
    assert row.state == "failed" and row.dedupe_key is None
    assert claim(queue_db, kind) is None


def _make_due(db: Database, job_id: int) -> None:
    from sqlalchemy import update

    from dockyard.db.models import Job

    with db.session(write=True) as conn:
        conn.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(run_after=datetime.now(UTC) - timedelta(seconds=1))
        )


def test_the_same_work_is_queued_once_while_live(queue_db: Database, kind: str) -> None:
    key = f"scan:sha256:{uuid.uuid4().hex}"
    first = enqueue(queue_db, kind, dedupe_key=key)
    assert first is not None
    assert enqueue(queue_db, kind, dedupe_key=key) is None
    claimed = claim(queue_db, kind)
    assert claimed is not None
    assert enqueue(queue_db, kind, dedupe_key=key) is None  # running counts as live
    with queue_db.session(write=True) as conn:
        jobs.complete(conn, first, "w1")
    again = enqueue(queue_db, kind, dedupe_key=key)  # finished: it may be queued anew
    assert again is not None and again != first


def test_a_job_queued_in_a_rolled_back_transaction_does_not_exist(
    queue_db: Database, kind: str
) -> None:
    with pytest.raises(RuntimeError), queue_db.session(write=True) as conn:
        jobs.enqueue(conn, kind, {"n": 1})
        raise RuntimeError("the change that caused the work failed")
    assert claim(queue_db, kind) is None


def test_run_after_delays_a_job(queue_db: Database, kind: str) -> None:
    enqueue(queue_db, kind, run_after=datetime.now(UTC) + timedelta(hours=1))
    assert claim(queue_db, kind) is None


def test_a_batching_kind_is_leased_in_one_claim_and_run_by_its_worker(
    queue_db: Database, kind: str
) -> None:
    """Quick kinds (webhook deliveries) lease several jobs per claim: the worker runs
    them from its own list; another worker never gets them, only what is left."""
    from dockyard.workers.jobs import JobKind, JobWorker

    ids = [enqueue(queue_db, kind) for _ in range(6)]
    ran: list[tuple[str, int]] = []

    def worker(name: str) -> JobWorker:
        run = lambda payload, who=name: ran.append((who, payload["n"]))  # noqa: E731
        return JobWorker(queue_db, {kind: JobKind(kind, run, batch=4)})

    first, second = worker("first"), worker("second")
    assert first.run_one()  # one run, three more leased with it
    leased = [state(queue_db, job_id) for job_id in ids]
    assert [row.state for row in leased] == ["done"] + ["running"] * 3 + ["queued"] * 2
    assert {row.leased_by for row in leased[1:4]} == {first.id}
    assert second.drain() == 2  # only the two nobody leased
    assert first.drain() == 3
    assert [who for who, _ in ran] == ["first", "second", "second", "first", "first", "first"]
    assert all(state(queue_db, job_id).state == "done" for job_id in ids)


@pytest.mark.parametrize(
    "outage",
    [StorageUnavailable("S3 at http://127.0.0.1:9 is unreachable"), DatabaseUnavailable("gone")],
)
def test_an_outage_is_logged_in_one_line_and_the_job_retried(
    queue_db: Database, kind: str, outage: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    """A store or database that is down is a state, not a bug: no traceback in the log."""
    from dockyard.workers.jobs import JobKind, JobWorker

    def fail(_payload: object) -> None:
        raise outage

    job_id = enqueue(queue_db, kind)
    worker = JobWorker(queue_db, {kind: JobKind(kind, fail)})
    with caplog.at_level(logging.WARNING, logger="dockyard.workers.jobs"):
        assert worker.run_one()
    (record,) = [r for r in caplog.records if r.name == "dockyard.workers.jobs"]
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert type(outage).__name__ in record.getMessage()
    assert state(queue_db, job_id).state == "queued"  # to be tried again after a backoff
