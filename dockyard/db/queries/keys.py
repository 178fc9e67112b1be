"""Signing keys: create the first one once, rotate, list, drop the retired ones."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection

from dockyard.db.models import SigningKey
from dockyard.db.queries._upsert import insert_for
from dockyard.db.records import SigningKeyRecord


def keys_of(conn: Connection, purpose: str) -> list[SigningKeyRecord]:
    """Every kept key of ``purpose``, the current (highest generation) first."""
    rows = conn.execute(
        select(
            SigningKey.purpose,
            SigningKey.generation,
            SigningKey.kid,
            SigningKey.secret,
            SigningKey.created_at,
            SigningKey.retired_at,
        )
        .where(SigningKey.purpose == purpose)
        .order_by(SigningKey.generation.desc())
    )
    return [SigningKeyRecord(*row) for row in rows]


def add_first(conn: Connection, purpose: str, kid: str, secret: str) -> None:
    """Generation 1 unless a key of ``purpose`` exists: replicas starting together all
    try, one insert wins and the others change nothing."""
    statement = insert_for(conn, SigningKey.__table__).values(
        purpose=purpose, generation=1, kid=kid, secret=secret, created_at=datetime.now(UTC)
    )
    conn.execute(statement.on_conflict_do_nothing())


def add_next(conn: Connection, purpose: str, kid: str, secret: str) -> int | None:
    """Make ``secret`` the current key and retire the one before; the new generation, or
    None if a concurrent rotation took that generation first (nothing changed)."""
    now = datetime.now(UTC)
    latest = (
        conn.execute(
            select(func.max(SigningKey.generation)).where(SigningKey.purpose == purpose)
        ).scalar_one_or_none()
        or 0
    )
    statement = insert_for(conn, SigningKey.__table__).values(
        purpose=purpose, generation=latest + 1, kid=kid, secret=secret, created_at=now
    )
    added = statement.on_conflict_do_nothing().returning(SigningKey.__table__.c.id)
    if conn.execute(added).scalar_one_or_none() is None:
        return None
    conn.execute(
        update(SigningKey)
        .where(
            SigningKey.purpose == purpose,
            SigningKey.generation <= latest,
            SigningKey.retired_at.is_(None),
        )
        .values(retired_at=now)
    )
    return latest + 1


def drop_retired(conn: Connection, purpose: str, retired_before: datetime) -> int:
    """Forget keys retired before ``retired_before`` (nothing they signed is alive)."""
    return conn.execute(
        delete(SigningKey).where(
            SigningKey.purpose == purpose, SigningKey.retired_at < retired_before
        )
    ).rowcount
