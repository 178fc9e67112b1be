"""`dockyard project|group set-limit` and `dockyard usage recount`, on SQLite and
PostgreSQL: the counters a push keeps are found exact; a counter broken on purpose is
found, reported (old and new bytes) and repaired."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import delete, update
from typer.testing import CliRunner, Result

from dockyard.cli.main import app
from dockyard.config import load_settings
from dockyard.db.engine import Database
from dockyard.db.models import StorageUsage, UsageRef
from dockyard.db.queries import blobs, repositories, usage

Invoke = Callable[..., Result]


@pytest.fixture
def cli(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    postgres_url: Callable[[], str],
) -> Invoke:
    for name in list(os.environ):
        if name.startswith("DOCKYARD_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DOCKYARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DOCKYARD_ADMIN_PASSWORD", "cli-admin-password")
    if backend == "postgres":
        monkeypatch.setenv("DOCKYARD_DATABASE_URL", postgres_url())
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args))

    assert invoke("setup").exit_code == 0
    return invoke


@pytest.fixture
def db(cli: Invoke) -> Database:
    database = Database(load_settings().effective_database_url)
    yield database
    database.dispose()


def push(db: Database, repository: str, size: int) -> str:
    digest = "sha256:" + uuid.uuid4().hex * 2
    with db.session(write=True) as conn:
        blobs.record_and_link(conn, repositories.ensure(conn, repository), digest, size)
    return digest


def test_set_limit(cli: Invoke, db: Database) -> None:
    assert cli("group", "create", "acme").exit_code == 0
    assert cli("project", "create", "acme/app").exit_code == 0
    push(db, "acme/app/api", 3 * 1024 * 1024)
    result = cli("project", "set-limit", "acme/app", "1GiB")
    assert result.exit_code == 0, result.output
    assert result.output == (
        "storage limit of project acme/app: 1 GiB (1073741824 bytes); 3 MiB used\n"
    )
    result = cli("group", "set-limit", "acme", "500MB", "-o", "json")
    assert json.loads(result.output) == {
        "path": "acme",
        "storage_limit_bytes": 500_000_000,
        "storage_used_bytes": 3 * 1024 * 1024,
    }
    result = cli("project", "set-limit", "acme/app", "none")
    assert result.output == "storage limit of project acme/app: no limit; 3 MiB used\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("project", "set-limit", "acme/app", "1G"), "unknown unit 'g'"),
        (("project", "set-limit", "acme/app", "lots"), "use a number and a unit"),
        (("project", "set-limit", "acme/none", "1GiB"), "no project 'acme/none'"),
        (("group", "set-limit", "nope", "1GiB"), "no group 'nope'"),
        (("group", "set-limit", "admin", "1GiB"), "a user's namespace"),
    ],
)
def test_set_limit_refusals(cli: Invoke, args: tuple[str, ...], message: str) -> None:
    cli("group", "create", "acme")
    cli("project", "create", "acme/app")
    result = cli(*args)
    assert result.exit_code == 1, result.output
    assert message in result.output


def test_recount_finds_and_repairs_a_broken_counter(cli: Invoke, db: Database) -> None:
    cli("group", "create", "acme")
    cli("group", "create", "acme/team")
    cli("project", "create", "acme/team/app")
    shared = push(db, "acme/team/app/api", 1000)
    with db.session(write=True) as conn:
        blobs.link(conn, repositories.ensure(conn, "acme/team/app/web"), shared)
    push(db, "acme/team/app/web", 24)
    push(db, "loose/repo", 7)  # no project owns it: only its own counter
    exact = cli("usage", "recount")
    assert exact.exit_code == 0, exact.output
    assert exact.output == "counted 3 repositories: every counter was exact\n"

    with db.session(write=True) as conn:
        project = usage.owner_scopes(conn, "acme/team/app")[0]
        conn.execute(
            update(StorageUsage)
            .where(StorageUsage.scope_kind == "p", StorageUsage.scope_id == project[1])
            .values(used_bytes=5)
        )
        group = usage.owner_scopes(conn, "acme/team/app")[-1]
        conn.execute(
            delete(UsageRef).where(
                UsageRef.scope_kind == "n", UsageRef.scope_id == group[1], UsageRef.digest == shared
            )
        )
    dry = cli("usage", "recount", "--dry-run", "-o", "json")
    assert dry.exit_code == 1
    report = json.loads(dry.output)
    assert report["ok"] is False and report["dry_run"] is True
    off = {(f["kind"], f["path"]): f for f in report["findings"]}
    assert off[("project", "acme/team/app")] == {
        "kind": "project",
        "path": "acme/team/app",
        "old_bytes": 5,
        "new_bytes": 1024,
        "refs_fixed": 0,
    }
    changed = [f for f in report["findings"] if f["refs_fixed"]]
    assert [(f["path"], f["old_bytes"], f["new_bytes"]) for f in changed] == [
        (changed[0]["path"], 1024, 1024)
    ]
    assert changed[0]["path"] in ("acme", "acme/team")

    repaired = cli("usage", "recount")
    assert repaired.exit_code == 1
    assert "project    acme/team/app  5 B (5) -> 1 KiB (1024), 0 digests fixed" in repaired.output
    assert repaired.output.endswith("counted 3 repositories: 2 counters were off (repaired)\n")
    again = cli("usage", "recount", "-o", "json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["findings"] == []


def test_recount_removes_counters_of_what_is_gone(cli: Invoke, db: Database) -> None:
    push(db, "some/repo", 10)
    with db.session(write=True) as conn:
        conn.execute(
            StorageUsage.__table__.insert().values(scope_kind="p", scope_id=999999, used_bytes=77)
        )
    result = cli("usage", "recount", "-o", "json")
    assert result.exit_code == 1
    assert json.loads(result.output)["findings"] == [
        {
            "kind": "project",
            "path": "#999999 (gone)",
            "old_bytes": 77,
            "new_bytes": 0,
            "refs_fixed": 0,
        }
    ]
    assert cli("usage", "recount").exit_code == 0
