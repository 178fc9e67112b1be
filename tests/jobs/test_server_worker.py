"""The server runs the job loop beside HTTP: a pushed image leaves `queued` by itself."""

from __future__ import annotations

import time
from pathlib import Path

from starlette.testclient import TestClient

from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.db.queries import scans
from dockyard.http.app import create_app
from dockyard.workers.runner import loops
from tests.jobs.scanning import push_plain


def test_the_server_scans_what_is_pushed(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, auth="none")
    app = create_app(settings, background=lambda db, registry: loops(settings, db, registry))
    db = Database(settings.effective_database_url)
    try:
        with TestClient(app) as client:
            digest = push_plain(client, "acme/app")
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                with db.session() as conn:
                    record = scans.scan(conn, digest)
                if record is not None and record.status not in ("queued", "scanning"):
                    break
                time.sleep(0.1)
            assert record is not None and record.status in ("done", "failed"), record
            assert client.get("/v2/acme/app/tags/list").status_code == 200  # still serving
    finally:
        db.dispose()
