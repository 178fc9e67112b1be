"""A migrated database per backend for the queue tests; tests isolate by job kind."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from dockyard.db.engine import Database


@pytest.fixture(scope="session")
def queue_db(backend: str, migrated_database: Callable[[str], Database]) -> Database:
    return migrated_database(backend)


@pytest.fixture
def kind() -> str:
    """A job kind no other test uses, so each test sees only its own jobs."""
    return f"test-{uuid.uuid4().hex[:10]}"
