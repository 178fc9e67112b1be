"""The cleanup scheduler: a due policy is queued once and run once, however many
schedulers and workers race for it, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from dockyard.admin import Conflict
from dockyard.admin.accounts import find_project
from dockyard.db.engine import Database
from dockyard.db.models import CleanupPolicy, Job
from dockyard.db.queries import cleanup as cleanup_rows
from dockyard.db.queries import jobs
from dockyard.workers.cleanup_job import KIND, CleanupJobs, dedupe_key, run_now, schedule_due
from dockyard.workers.jobs import JobKind, JobWorker
from tests.api.helpers import push_image
from tests.support.auth_registry import AuthRegistry
from tests.support.cleanup import cleanups

DAY = timedelta(days=1)


@pytest.fixture
def second_db(registry: AuthRegistry) -> Iterator[Database]:
    """Another engine on the same database: what a second process or replica has."""
    other = Database(registry.settings.effective_database_url)
    yield other
    other.dispose()


@pytest.fixture
def project(registry: AuthRegistry) -> str:
    project = registry.new_project("private")
    for tag in ("dev-1", "dev-2", "v1"):
        push_image(registry, f"{project}/app", tag, layers=[tag.encode()])
    service = cleanups(registry)
    record = find_project(registry.db, project)
    service.save(record, {"enabled": True, "keep_n": None, "older_than": None}, "tester")
    service.save(record, {"name_regex": "dev-.*"}, "tester")
    return project


def make_due(registry: AuthRegistry, project: str) -> datetime:
    record = find_project(registry.db, project)
    past = datetime.now(UTC) - timedelta(minutes=5)
    with registry.db.session(write=True) as conn:
        conn.execute(
            update(CleanupPolicy)
            .where(CleanupPolicy.project_id == record.id)
            .values(next_run_at=past)
        )
    return past


def jobs_of(registry: AuthRegistry, project: str) -> list[tuple[str, str]]:
    """(state, payload) of every cleanup job of the project."""
    record = find_project(registry.db, project)
    with registry.db.session() as conn:
        rows = conn.execute(select(Job.state, Job.payload).where(Job.kind == KIND))
        return [(s, p) for s, p in rows if f'"project_id": {record.id}' in p]


def worker(registry: AuthRegistry, db: Database) -> JobWorker:
    job = CleanupJobs(db, cleanups(registry)).run
    return JobWorker(db, {KIND: JobKind(KIND, job)}, lease_seconds=60.0)


def race(*calls: Callable[[], object]) -> list[object]:
    """Run the calls at the same moment, each in its own thread; their results."""
    start = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def go(i: int) -> None:
        start.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def runs_of(registry: AuthRegistry, project: str) -> list[cleanup_rows.RunRow]:
    record = find_project(registry.db, project)
    with registry.db.session() as conn:
        return cleanup_rows.runs(conn, record.id, 0, 100)


def test_a_due_policy_runs_once_across_schedulers_and_workers(
    registry: AuthRegistry, project: str, second_db: Database
) -> None:
    make_due(registry, project)
    for _ in range(3):  # schedulers in two "processes" tick together, again and again
        race(lambda: schedule_due(registry.db), lambda: schedule_due(second_db))
    assert [state for state, _ in jobs_of(registry, project)] == ["queued"]
    record = find_project(registry.db, project)
    with registry.db.session() as conn:
        policy = cleanup_rows.policy(conn, record.id)
    assert policy is not None and policy.next_run_at is not None
    assert policy.next_run_at - datetime.now(UTC) > DAY - timedelta(minutes=1)  # one cadence on

    race(worker(registry, registry.db).drain, worker(registry, second_db).drain)
    assert [state for state, _ in jobs_of(registry, project)] == ["done"]
    (done,) = runs_of(registry, project)
    assert done.status == "done" and done.trigger == "schedule" and done.actor == "cleanup-policy"
    assert done.tags_deleted == 2
    schedule_due(registry.db)  # not due any more: nothing new is queued
    assert [state for state, _ in jobs_of(registry, project)] == ["done"]


def test_a_policy_switched_off_after_queueing_does_not_run(
    registry: AuthRegistry, project: str
) -> None:
    make_due(registry, project)
    schedule_due(registry.db)
    cleanups(registry).save(find_project(registry.db, project), {"enabled": False}, "tester")
    worker(registry, registry.db).drain()
    assert [state for state, _ in jobs_of(registry, project)] == ["done"]
    assert runs_of(registry, project) == []


def test_a_run_by_hand_waits_for_no_one_and_overlaps_no_one(
    registry: AuthRegistry, project: str
) -> None:
    record = find_project(registry.db, project)
    service = cleanups(registry)
    make_due(registry, project)
    schedule_due(registry.db)  # queued, not yet taken: the manual run takes it over
    done = run_now(registry.db, service, record, "tester")
    assert done.trigger == "manual" and done.tags_deleted == 2
    assert [state for state, _ in jobs_of(registry, project)] == ["done"]
    worker(registry, registry.db).drain()
    assert len(runs_of(registry, project)) == 1  # the scheduled job was taken over, not rerun

    with registry.db.session(write=True) as conn:  # another worker is running it now
        jobs.enqueue(conn, KIND, {"project_id": record.id}, dedupe_key(record.id))
        held = jobs.claim_key(conn, "elsewhere", dedupe_key(record.id), 60.0)
    assert held is not None
    with pytest.raises(Conflict, match="is running now"):
        run_now(registry.db, service, record, "tester")
    with registry.db.session(write=True) as conn:
        jobs.complete(conn, held.id, "elsewhere")
    assert run_now(registry.db, service, record, "tester").status == "done"


def test_a_run_left_running_by_a_dead_worker_is_closed(
    registry: AuthRegistry, project: str
) -> None:
    record = find_project(registry.db, project)
    with registry.db.session(write=True) as conn:
        stale = cleanup_rows.start_run(conn, record.id, "schedule", "x", datetime.now(UTC))
    run_now(registry.db, cleanups(registry), record, "tester")
    runs = {r.id: r for r in runs_of(registry, project)}
    assert runs[stale].status == "failed" and runs[stale].finished_at is not None
    assert runs[stale].errors == ["interrupted: the process running it stopped before it finished"]
