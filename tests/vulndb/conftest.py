"""A migrated database per backend (SQLite, PostgreSQL), emptied before each test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import delete

from dockyard.db.engine import Database
from dockyard.db.models import Advisory, AdvisoryImport, AffectedRange


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def migrated(
    request: pytest.FixtureRequest, migrated_database: Callable[[str], Database]
) -> Database:
    return migrated_database(request.param)


@pytest.fixture
def db(migrated: Database, tmp_path: Path) -> Database:
    with migrated.session(write=True) as conn:
        for table in (AffectedRange, Advisory, AdvisoryImport):
            conn.execute(delete(table))
    return migrated
