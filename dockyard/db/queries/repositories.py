"""Repositories: created on first push, listed for the catalog."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from dockyard.db.models import Repository
from dockyard.db.queries._upsert import insert_for

_ID = select(Repository.id).where(Repository.name == bindparam("name"))  # every push: built once


def find_id(conn: Connection, name: str) -> int | None:
    return conn.scalar(_ID, {"name": name})


def ensure(conn: Connection, name: str) -> int:
    """The repository's id, creating it if this is its first push (race-safe)."""
    found = find_id(conn, name)
    if found is not None:
        return found
    stmt = insert_for(conn, Repository).values(name=name, created_at=datetime.now(UTC))
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
    return conn.scalars(select(Repository.id).where(Repository.name == name)).one()


def page_names(conn: Connection, after: str | None, limit: int) -> list[str]:
    """Repository names in byte order, strictly after ``after``."""
    stmt = select(Repository.name).order_by(Repository.name).limit(limit)
    if after is not None:
        stmt = stmt.where(Repository.name > after)
    return list(conn.scalars(stmt))


def name_of(conn: Connection, repository_id: int) -> str | None:
    return conn.scalar(select(Repository.name).where(Repository.id == repository_id))
