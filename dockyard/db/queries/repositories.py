"""Repositories: created on first push, listed for the catalog."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dockyard.db.models import Repository
from dockyard.db.queries._upsert import insert_for


def find_id(session: Session, name: str) -> int | None:
    return session.scalar(select(Repository.id).where(Repository.name == name))


def ensure(session: Session, name: str) -> int:
    """The repository's id, creating it if this is its first push (race-safe)."""
    found = find_id(session, name)
    if found is not None:
        return found
    stmt = insert_for(session, Repository).values(name=name, created_at=datetime.now(UTC))
    session.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
    return session.scalars(select(Repository.id).where(Repository.name == name)).one()


def page_names(session: Session, after: str | None, limit: int) -> list[str]:
    """Repository names in byte order, strictly after ``after``."""
    stmt = select(Repository.name).order_by(Repository.name).limit(limit)
    if after is not None:
        stmt = stmt.where(Repository.name > after)
    return list(session.scalars(stmt))
