"""`dockyard user set-password`: from a prompt or stdin, under the same policy as REST."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dockyard.admin.accounts import find_user
from dockyard.auth.passwords import verify_password
from dockyard.cli.main import app
from dockyard.config import load_settings
from dockyard.db.engine import Database
from tests.cli.conftest import Invoke


def password_works(username: str, password: str) -> bool:
    db = Database(load_settings(environ=dict(os.environ)).effective_database_url)
    try:
        return verify_password(find_user(db, username).password_hash, password)
    finally:
        db.dispose()


def test_set_password_from_stdin_and_prompt(dockyard: Invoke) -> None:
    created = dockyard(
        "user", "create", "alice", "--email", "a@example.com", "--password", "correct-horse-battery"
    )
    assert created.exit_code == 0, created.output
    done = dockyard(
        "user", "set-password", "alice", "--password-stdin", input="staple-battery-horse\n"
    )
    assert done.exit_code == 0, done.output
    assert password_works("alice", "staple-battery-horse")
    assert not password_works("alice", "correct-horse-battery")

    prompted = dockyard(
        "user", "set-password", "alice", input="another-long-password\nanother-long-password\n"
    )
    assert prompted.exit_code == 0, prompted.output
    assert password_works("alice", "another-long-password")


def test_set_password_refuses_weak_passwords_and_unknown_users(dockyard: Invoke) -> None:
    dockyard("user", "create", "bob", "--email", "b@example.com", "--password", "correct-horse-99")
    weak = dockyard("user", "set-password", "bob", "--password-stdin", input="bob-1\n")
    assert weak.exit_code == 1
    assert "too short" in weak.output
    assert password_works("bob", "correct-horse-99")
    missing = dockyard(
        "user", "set-password", "nobody", "--password-stdin", input="correct-horse-battery\n"
    )
    assert missing.exit_code == 1
    assert "no user 'nobody'" in missing.output


def test_setup_refuses_a_weak_admin_password_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("DOCKYARD_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DOCKYARD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DOCKYARD_ADMIN_PASSWORD", "admin12345678")
    done = CliRunner().invoke(app, ["setup"])
    assert done.exit_code == 1
    assert "DOCKYARD_ADMIN_PASSWORD" in done.output
    assert "leans on the username" in done.output
    assert "Traceback" not in done.output
