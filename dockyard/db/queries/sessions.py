"""Web sessions kept server-side, and the credentials epoch that voids cached logins."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from dockyard.db.engine import mark_changed
from dockyard.db.models import AuthState, WebSession

AUTH_EPOCH = "auth_epoch"  # the change name dockyard.shared publishes


def create_session(conn: Connection, id_hash: str, user_id: int, expires_at: datetime) -> None:
    conn.execute(
        insert(WebSession).values(
            id_hash=id_hash, user_id=user_id, created_at=datetime.now(UTC), expires_at=expires_at
        )
    )


def session_user(conn: Connection, id_hash: str) -> int | None:
    """The user a live session belongs to; None once it ended or expired."""
    return conn.execute(
        select(WebSession.user_id).where(
            WebSession.id_hash == id_hash, WebSession.expires_at > datetime.now(UTC)
        )
    ).scalar_one_or_none()


def end_session(conn: Connection, id_hash: str) -> None:
    conn.execute(delete(WebSession).where(WebSession.id_hash == id_hash))


def end_user_sessions(conn: Connection, user_id: int, keep: str | None = None) -> int:
    """End every session of a user (but ``keep``); also sweeps expired sessions."""
    query = delete(WebSession).where(WebSession.user_id == user_id)
    if keep is not None:
        query = query.where(WebSession.id_hash != keep)
    ended = conn.execute(query).rowcount
    end_expired(conn)
    return ended


def end_expired(conn: Connection) -> None:
    """Drop sessions past their time (they no longer work anyway), so the table stays small."""
    conn.execute(delete(WebSession).where(WebSession.expires_at <= datetime.now(UTC)))


def auth_epoch(conn: Connection) -> int:
    return conn.execute(select(AuthState.epoch).where(AuthState.id == 1)).scalar_one_or_none() or 0


def bump_auth_epoch(conn: Connection) -> None:
    """Cached logins are re-checked: at once in this process, within a quarter second in
    the others (``dockyard.auth.epoch``)."""
    epoch = conn.execute(
        update(AuthState)
        .where(AuthState.id == 1)
        .values(epoch=AuthState.epoch + 1)
        .returning(AuthState.epoch)
    ).scalar_one_or_none()
    mark_changed(conn, AUTH_EPOCH, epoch)
