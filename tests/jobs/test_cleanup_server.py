"""A server runs a due cleanup policy by itself: its scheduler tick queues the run and
its job loop carries it out."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update
from starlette.testclient import TestClient

from dockyard.admin.accounts import create_group, create_project, find_project
from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.db.models import CleanupPolicy, Tag
from dockyard.db.queries import cleanup as cleanup_rows
from dockyard.http.app import create_app
from dockyard.storage import open_store
from dockyard.workers.kinds import cleanups
from dockyard.workers.runner import loops
from tests.support.cleanup import push_tag as push


def test_the_server_runs_a_due_policy(
    tmp_path: Path, backend: str, postgres_url: Callable[[], str]
) -> None:
    url = postgres_url() if backend == "postgres" else ""
    settings = Settings(data_dir=tmp_path, database_url=url, auth="none")
    with TestClient(create_app(settings)) as client:  # no background loops yet
        for tag in ("old-1", "old-2", "new"):
            push(client, "acme/app/web", tag)
    db = Database(settings.effective_database_url)
    try:
        create_group(db, "acme")
        project = create_project(db, "acme/app")
        service = cleanups(settings, db, open_store(settings))
        service.save(project, {"enabled": True, "name_regex": "old-.*", "older_than": None}, "t")
        service.save(find_project(db, "acme/app"), {"keep_n": None}, "t")
        past = datetime.now(UTC) - timedelta(minutes=1)
        with db.session(write=True) as conn:
            conn.execute(update(CleanupPolicy).values(next_run_at=past))
        app = create_app(settings, background=lambda d, r: loops(settings, d, r))
        with TestClient(app):
            deadline = time.monotonic() + 20
            runs: list = []
            while time.monotonic() < deadline and not (runs and runs[0].status != "running"):
                time.sleep(0.2)
                with db.session() as conn:
                    runs = cleanup_rows.runs(conn, project.id, 0, 10)
        assert len(runs) == 1 and runs[0].status == "done" and runs[0].tags_deleted == 2
        with db.session() as conn:
            left = sorted(conn.scalars(Tag.__table__.select().with_only_columns(Tag.name)))
            policy = cleanup_rows.policy(conn, project.id)
        assert left == ["new"]
        assert policy is not None and policy.next_run_at > datetime.now(UTC) + timedelta(hours=23)
    finally:
        db.dispose()
