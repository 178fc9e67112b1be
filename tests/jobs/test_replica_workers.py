"""Two replicas' complete worker sets (every loop a server process runs) over one
PostgreSQL database: each due cleanup policy is queued once and its job runs once."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from dockyard.admin.accounts import create_group, create_project
from dockyard.db.models import CleanupPolicy, CleanupRun, Job
from dockyard.storage import open_store
from dockyard.workers.cleanup_job import KIND
from dockyard.workers.kinds import cleanups
from dockyard.workers.runner import loops
from tests.support.cleanup import push_tag
from tests.support.replicas import Replicas

PROJECTS = 6


def test_two_worker_sets_run_each_due_cleanup_once(make_replicas, tmp_path) -> None:
    group: Replicas = make_replicas("postgres", count=0)
    setup = group.start(tmp_path / "setup", auth="none")
    namespace = f"g{uuid.uuid4().hex[:8]}"
    create_group(group.db, namespace)
    service = cleanups(setup.settings, group.db, open_store(setup.settings))
    ids = []
    for n in range(PROJECTS):
        project = create_project(group.db, f"{namespace}/p{n}", "private")
        for tag in ("dev-1", "dev-2", "v1"):
            push_tag(setup.client, f"{project.path}/app", tag)
        service.save(project, {"enabled": True, "keep_n": None, "older_than": None}, "t")
        service.save(project, {"name_regex": "dev-.*"}, "t")
        ids.append(project.id)
    with group.db.session(write=True) as conn:  # every policy is due now
        conn.execute(
            update(CleanupPolicy)
            .where(CleanupPolicy.project_id.in_(ids))
            .values(next_run_at=datetime.now(UTC) - timedelta(minutes=1))
        )

    # Both share the blob storage, as replicas do (S3 in production; one folder here).
    for _ in ("a", "b"):
        group.start(setup.settings.data_dir, background=loops, auth="none")

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with group.db.session() as conn:
            open_jobs = conn.scalar(
                select(func.count()).where(Job.kind == KIND, Job.state != "done")
            )
            runs = conn.scalar(
                select(func.count()).select_from(CleanupRun).where(CleanupRun.project_id.in_(ids))
            )
        if runs == PROJECTS and open_jobs == 0:
            break
        time.sleep(0.2)
    time.sleep(1.5)  # a second tick of both schedulers and job loops: still nothing doubled
    with group.db.session() as conn:
        jobs = conn.execute(select(Job.state, Job.payload).where(Job.kind == KIND)).all()
        runs = conn.execute(
            select(CleanupRun.project_id, CleanupRun.status, CleanupRun.tags_deleted).where(
                CleanupRun.project_id.in_(ids)
            )
        ).all()
    assert len(jobs) == PROJECTS and {state for state, _ in jobs} == {"done"}
    assert sorted(project_id for project_id, _, _ in runs) == sorted(ids)  # one run each
    assert {(status, deleted) for _, status, deleted in runs} == {("done", 2)}
