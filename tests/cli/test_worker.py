"""`dockyard worker --once` runs the queued jobs (a pushed image's scan, a rematch) and exits."""

from __future__ import annotations

import dataclasses

from starlette.testclient import TestClient

from dockyard.config import load_settings
from dockyard.db.engine import Database
from dockyard.db.queries import jobs, scans
from dockyard.http.app import create_app
from tests.cli.conftest import Invoke
from tests.jobs.scanning import push_plain


def test_worker_once_drains_the_queue(dockyard: Invoke) -> None:
    settings = dataclasses.replace(load_settings(), auth="none")
    with TestClient(create_app(settings)) as client:  # no background loops: jobs wait
        digest = push_plain(client, "acme/app")
    db = Database(settings.effective_database_url)
    try:
        with db.session(write=True) as conn:
            assert scans.scan(conn, digest).status == "queued"  # type: ignore[union-attr]
            scans.enqueue_rematch(conn)
        result = dockyard("worker", "--once")
        assert result.exit_code == 0, result.output
        assert "ran 2 job(s)" in result.output
        with db.session() as conn:
            record = scans.scan(conn, digest)
            assert record is not None and record.status in ("done", "failed")
            assert jobs.counts(conn) == {"done": 2}
        again = dockyard("worker", "--once")
        assert again.exit_code == 0 and "ran 0 job(s)" in again.output
    finally:
        db.dispose()
