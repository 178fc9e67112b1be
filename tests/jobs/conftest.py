"""A migrated database per backend for the queue tests; tests isolate by job kind."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dockyard.db.engine import Database


@pytest.fixture(scope="session")
def queue_db(
    backend: str, postgres_url: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if backend == "postgres":
        url = postgres_url()
    else:
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('jobs')) / 'jobs.db'}"
    db = Database(url)
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture
def kind() -> str:
    """A job kind no other test uses, so each test sees only its own jobs."""
    return f"test-{uuid.uuid4().hex[:10]}"
