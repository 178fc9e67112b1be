"""The migrations build exactly the tables the models describe, on both engines: a model
change without its migration (or the reverse) fails here, not in production."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from dockyard.db.engine import Database
from dockyard.db.models import Base


def _drift(db: Database) -> list:
    db.migrate()
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_sqlite_migrations_match_the_models(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'drift.db'}")
    try:
        assert _drift(db) == []
    finally:
        db.dispose()


def test_postgres_migrations_match_the_models(postgres_url: Callable[[], str]) -> None:
    db = Database(postgres_url())
    try:
        assert _drift(db) == []
    finally:
        db.dispose()
