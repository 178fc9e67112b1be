"""A registry already set up starts without Alembic: the check is exact and cheap."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text

from dockyard.db.engine import MIGRATIONS, Database
from dockyard.db.setup_state import SCHEMA_HEAD, needs_setup

PURPOSES = ["token", "session"]


def test_the_schema_head_is_the_newest_migration() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_HEAD


def test_needs_setup_until_schema_keys_and_a_user_are_there(
    backend: str, migrated_database: Callable[[str], Database], postgres_url, tmp_path: Path
) -> None:
    missing = postgres_url() if backend == "postgres" else f"sqlite:///{tmp_path / 'e.db'}"
    assert needs_setup(missing, PURPOSES, needs_a_user=False)  # empty, or no file at all
    assert not (tmp_path / "e.db").exists()  # the check never creates a database
    db = migrated_database(backend)  # schema at head, no keys, no users
    url = db.url
    assert needs_setup(url, PURPOSES, needs_a_user=False)
    assert not needs_setup(url, [], needs_a_user=False)
    with db.session(write=True) as conn:
        for purpose in PURPOSES:
            conn.execute(
                text(
                    "INSERT INTO signing_keys (purpose, generation, kid, secret, created_at) "
                    "VALUES (:p, 1, :p, 's', CURRENT_TIMESTAMP)"
                ),
                {"p": purpose},
            )
    assert not needs_setup(url, PURPOSES, needs_a_user=False)
    assert needs_setup(url, PURPOSES, needs_a_user=True)  # auth on: an admin is wanted
    with db.session(write=True) as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    assert needs_setup(url, PURPOSES, needs_a_user=False)  # an older schema: migrate


def test_urls_the_check_cannot_read_send_it_to_the_full_setup() -> None:
    for url in ["sqlite://", "sqlite:///:memory:", "mysql://x/y", "postgresql://127.0.0.1:9/x"]:
        assert needs_setup(url, PURPOSES, needs_a_user=False)


def test_a_second_setup_loads_neither_sqlalchemy_nor_alembic(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKYARD_")}
    env.update(DOCKYARD_DATA_DIR=str(tmp_path / "data"), DOCKYARD_METRICS_LISTEN="")
    first = subprocess.run(
        [sys.executable, "-m", "dockyard", "setup"], env=env, capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr
    assert "Created user 'admin'" in first.stdout
    probe = (  # the check serve runs before it would start the setup child
        "import sys\n"
        "from dockyard.cli.main import app\n"
        "try:\n"
        "    app(['setup'])\n"
        "except SystemExit as done:\n"
        "    assert not done.code, done.code\n"
        "heavy = ('alembic', 'sqlalchemy', 'dockyard.admin.accounts')\n"
        "loaded = [m for m in heavy if m in sys.modules]\n"
        "print('LOADED', loaded)\n"
    )
    second = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert "The first admin password is in" in second.stdout
    assert "LOADED []" in second.stdout


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param
