"""A migrated, empty database per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dockyard.db.engine import Database


@pytest.fixture(params=["sqlite", "postgres"])
def db(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_url: Callable[[], str]
) -> Iterator[Database]:
    url = postgres_url() if request.param == "postgres" else f"sqlite:///{tmp_path / 'db.sqlite'}"
    database = Database(url)
    database.migrate()
    yield database
    database.dispose()
