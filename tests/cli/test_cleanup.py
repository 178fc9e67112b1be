"""`dockyard cleanup run|show`: a dry run lists, a run deletes and is recorded, on SQLite
and PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient
from typer.testing import CliRunner

from dockyard.admin.accounts import find_project
from dockyard.cli.main import app
from dockyard.config import load_settings
from dockyard.db.engine import Database
from dockyard.db.models import Tag
from dockyard.http.app import create_app
from dockyard.storage import open_store
from dockyard.workers.kinds import cleanups
from tests.cli.conftest import Invoke
from tests.support.cleanup import push_tag as push


@pytest.fixture
def dockyard(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    postgres_url: Callable[[], str],
) -> Invoke:
    """`dockyard ARGS` on a fresh data dir, on a fresh database of the backend."""
    for name in list(os.environ):
        if name.startswith("DOCKYARD_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DOCKYARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DOCKYARD_ADMIN_PASSWORD", "cli-admin-password")
    monkeypatch.setenv("DOCKYARD_AUTH", "none")
    if backend == "postgres":
        monkeypatch.setenv("DOCKYARD_DATABASE_URL", postgres_url())
    runner = CliRunner()

    def invoke(*args: str) -> object:
        return runner.invoke(app, list(args))

    assert invoke("setup").exit_code == 0  # type: ignore[attr-defined]
    return invoke  # type: ignore[return-value]


@pytest.fixture
def db(dockyard: Invoke) -> Iterator[Database]:
    settings = load_settings()
    database = Database(settings.effective_database_url)
    yield database
    database.dispose()


@pytest.fixture
def project(dockyard: Invoke, db: Database) -> dict[str, str]:
    """acme/app with tags v1 (100 days old), v2 (50), v3 (1) and latest (100); its policy
    deletes tags older than 30 days but keeps the newest."""
    for args in (("group", "create", "acme"), ("project", "create", "acme/app")):
        assert dockyard(*args).exit_code == 0  # type: ignore[attr-defined]
    settings = dataclasses.replace(load_settings(), auth="none")
    with TestClient(create_app(settings)) as client:
        digests = {tag: push(client, "acme/app/web", tag) for tag in ("v1", "v2", "v3", "latest")}
    now = datetime.now(UTC)
    with db.session(write=True) as conn:
        for tag, days in (("v1", 100), ("v2", 50), ("v3", 1), ("latest", 100)):
            ago = now - timedelta(days=days)
            conn.execute(update(Tag).where(Tag.name == tag).values(updated_at=ago))
    service = cleanups(settings, db, open_store(settings))
    service.save(find_project(db, "acme/app"), {"keep_n": 1, "older_than": "30d"}, "tester")
    return digests


def tags(db: Database) -> list[str]:
    with db.session() as conn:
        return sorted(conn.scalars(Tag.__table__.select().with_only_columns(Tag.name)))


def test_dry_run_lists_and_deletes_nothing(
    dockyard: Invoke, db: Database, project: dict[str, str]
) -> None:
    result = dockyard("cleanup", "run", "acme/app", "--dry-run")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "DIGEST", "PUSHED_AT", "ACTION"]
    assert [line.split()[1] for line in lines[1:3]] == ["v2", "v1"]
    assert all(line.endswith("would delete") for line in lines[1:3])
    assert lines[-1] == "would delete 2 tag(s) in 1 repositories, skip 0"
    assert tags(db) == ["latest", "v1", "v2", "v3"]
    as_json = json.loads(dockyard("cleanup", "run", "acme/app", "--dry-run", "-o", "json").stdout)
    assert as_json["dry_run"] is True and as_json["run"] is None
    assert [(t["tag"], t["digest"]) for t in as_json["tags"]] == [
        ("v2", project["v2"]),
        ("v1", project["v1"]),
    ]
    shown = json.loads(dockyard("cleanup", "show", "acme/app", "-o", "json").stdout)
    assert shown["runs"] == []  # a dry run records nothing


def test_run_deletes_prints_and_is_recorded(
    dockyard: Invoke, db: Database, project: dict[str, str]
) -> None:
    result = dockyard("cleanup", "run", "acme/app", "-o", "json")
    assert result.exit_code == 0, result.output
    done = json.loads(result.stdout)
    assert done["run"]["status"] == "done" and done["run"]["tags_deleted"] == 2
    assert done["run"]["trigger"] == "manual" and done["run"]["actor"] == "cli"
    assert done["run"]["bytes_freed"] > 0
    assert {(t["tag"], t["action"]) for t in done["tags"]} == {
        ("v1", "deleted"),
        ("v2", "deleted"),
    }
    assert tags(db) == ["latest", "v3"]
    again = dockyard("cleanup", "run", "acme/app")
    assert again.exit_code == 0
    assert "deleted 0 tag(s), skipped 0" in again.stdout
    shown = dockyard("cleanup", "show", "acme/app")
    assert shown.exit_code == 0
    assert "older_than" in shown.stdout and "30d" in shown.stdout and "runs: 2" in shown.stdout
    as_json = json.loads(dockyard("cleanup", "show", "acme/app", "-o", "json").stdout)
    assert as_json["saved"] is True and as_json["keep_n"] == 1
    assert [r["tags_deleted"] for r in as_json["runs"]] == [0, 2]  # newest first


def test_what_cannot_run(dockyard: Invoke, project: dict[str, str]) -> None:
    assert dockyard("project", "create", "acme/empty").exit_code == 0  # type: ignore[attr-defined]
    none = dockyard("cleanup", "run", "acme/empty")
    assert none.exit_code == 1 and "project acme/empty has no cleanup policy" in none.output
    missing = dockyard("cleanup", "run", "acme/nothing")
    assert missing.exit_code == 1 and "error:" in missing.output
    shown = dockyard("cleanup", "show", "acme/empty")
    assert shown.exit_code == 0 and "has no cleanup policy (these are the defaults)" in shown.stdout
