"""Migration 0010 starts the counters from what the database already holds, exactly as
pushes would have kept them: a recount right after it finds nothing off."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import insert

from dockyard.admin import usage as admin_usage
from dockyard.db.engine import MIGRATIONS, Database
from dockyard.db.models import Blob, Manifest, Namespace, Project, Repository, RepositoryBlob

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def old_database(backend: str, postgres_url: Callable[[], str], tmp_path) -> Database:  # noqa: ANN001
    url = postgres_url() if backend == "postgres" else f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = db.engine
    command.upgrade(config, "0009")
    yield db
    db.dispose()


def test_the_migration_counts_what_exists(old_database: Database) -> None:
    db = old_database
    with db.session(write=True) as conn:
        conn.execute(
            insert(Namespace),
            [
                {"id": 1, "path": "acme", "kind": "group", "parent_id": None, "created_at": NOW},
                {"id": 2, "path": "acme/team", "kind": "group", "parent_id": 1, "created_at": NOW},
            ],
        )
        conn.execute(
            insert(Project),
            [
                {
                    "id": 1,
                    "namespace_id": 2,
                    "path": "acme/team/app",
                    "visibility": "private",
                    "created_at": NOW,
                },
                {
                    "id": 2,
                    "namespace_id": 1,
                    "path": "acme/web",
                    "visibility": "private",
                    "created_at": NOW,
                },
            ],
        )
        names = ["acme/team/app/api", "acme/team/app/db", "acme/web", "nobody/owns/this/one"]
        conn.execute(
            insert(Repository),
            [
                {"id": i + 1, "name": n, "created_at": NOW, "delete_attempts": 0}
                for i, n in enumerate(names)
            ],
        )
        blob_sizes = {
            "sha256:" + c * 64: s for c, s in zip("abcd", (1000, 200, 30, 4), strict=True)
        }
        conn.execute(
            insert(Blob),
            [{"digest": d, "size": s, "created_at": NOW} for d, s in blob_sizes.items()],
        )
        a, b, c, d = blob_sizes
        links = [(1, a), (1, b), (2, a), (3, a), (3, c), (4, d)]
        conn.execute(
            insert(RepositoryBlob),
            [{"repository_id": r, "digest": x, "created_at": NOW} for r, x in links],
        )
        conn.execute(
            insert(Manifest),
            [
                {
                    "repository_id": r,
                    "digest": "sha256:" + "e" * 64,
                    "media_type": "application/vnd.oci.image.manifest.v1+json",
                    "size": 50,
                    "payload": b"m" * 50,
                    "created_at": NOW,
                }
                for r in (1, 2)
            ],
        )
    db.migrate()
    assert admin_usage.project_usage(db, "acme/team/app").used_bytes == 1000 + 200 + 50
    assert admin_usage.project_usage(db, "acme/web").used_bytes == 1000 + 30
    assert admin_usage.group_usage(db, "acme/team").used_bytes == 1250
    assert admin_usage.group_usage(db, "acme").used_bytes == 1000 + 200 + 50 + 30
    assert admin_usage.repository_usage(db, 4, "nobody/owns/this/one").used_bytes == 4
    report = admin_usage.recount(db, dry_run=True)
    assert report.ok, report.findings
    assert report.repositories == 4
