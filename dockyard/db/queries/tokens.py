"""Personal, deploy and job tokens (hashed), the audit log and failed-login counters."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from dockyard.db.models import AuditEvent, LoginFailure, Token
from dockyard.db.queries._upsert import insert_for
from dockyard.db.records import TokenRecord

_TOKEN = (
    Token.id,
    Token.kind,
    Token.name,
    Token.hint,
    Token.user_id,
    Token.project_id,
    Token.namespace_id,
    Token.username,
    Token.scopes,
    Token.expires_at,
    Token.revoked_at,
    Token.last_used_at,
    Token.created_at,
)


def create(conn: Connection, *, secret_hash: str, **values: object) -> int:
    return conn.execute(
        insert(Token)
        .values(secret_hash=secret_hash, created_at=datetime.now(UTC), **values)
        .returning(Token.id)
    ).scalar_one()


def by_hash(conn: Connection, secret_hash: str) -> TokenRecord | None:
    row = conn.execute(select(*_TOKEN).where(Token.secret_hash == secret_hash)).first()
    return TokenRecord(*row) if row else None


def by_id(conn: Connection, token_id: int) -> TokenRecord | None:
    row = conn.execute(select(*_TOKEN).where(Token.id == token_id)).first()
    return TokenRecord(*row) if row else None


def listing(
    conn: Connection, *, user_id: int | None = None, project_id: int | None = None
) -> list[TokenRecord]:
    stmt = select(*_TOKEN).order_by(Token.id)
    if user_id is not None:
        stmt = stmt.where(Token.user_id == user_id)
    if project_id is not None:
        stmt = stmt.where(Token.project_id == project_id)
    return [TokenRecord(*row) for row in conn.execute(stmt)]


def revoke(conn: Connection, token_id: int) -> bool:
    result = conn.execute(
        update(Token)
        .where(Token.id == token_id, Token.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return bool(result.rowcount)


def mark_used(conn: Connection, token_id: int) -> None:
    conn.execute(update(Token).where(Token.id == token_id).values(last_used_at=datetime.now(UTC)))


def audit(
    conn: Connection,
    actor: str,
    action: str,
    target: str,
    client: str | None,
    detail: str | None = None,
    *,
    credential_kind: str | None = None,
    credential_id: int | None = None,
) -> None:
    conn.execute(
        insert(AuditEvent).values(
            at=datetime.now(UTC),
            actor=actor[:255],
            action=action,
            target=target[:512],
            client=(client or "")[:64],
            detail=detail,
            credential_kind=credential_kind,
            credential_id=credential_id,
        )
    )


def audit_credentials(
    conn: Connection, limit: int = 100
) -> list[tuple[str, str, str | None, int | None]]:
    """(actor, action, credential kind, credential id), newest first."""
    stmt = (
        select(
            AuditEvent.actor,
            AuditEvent.action,
            AuditEvent.credential_kind,
            AuditEvent.credential_id,
        )
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return [tuple(row) for row in conn.execute(stmt)]


def deploy_username_taken(conn: Connection, username: str) -> bool:
    stmt = select(Token.id).where(
        Token.kind == "deploy", func.lower(Token.username) == username.lower()
    )
    return conn.execute(stmt.limit(1)).first() is not None


def audit_events(conn: Connection, limit: int = 100) -> list[tuple[str, str, str]]:
    stmt = (
        select(AuditEvent.actor, AuditEvent.action, AuditEvent.target)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return [tuple(row) for row in conn.execute(stmt)]


def failures(conn: Connection, key: str, since: datetime) -> int:
    row = conn.execute(
        select(LoginFailure.count, LoginFailure.window_started_at).where(LoginFailure.key == key)
    ).first()
    if row is None or row[1] < since:
        return 0
    return row[0]


def record_failure(conn: Connection, key: str, since: datetime) -> None:
    """Count a failure in the current window, starting a new window if the old one ended."""
    now = datetime.now(UTC)
    current = failures(conn, key, since)
    values = {"count": current + 1, "window_started_at": now if current == 0 else None}
    stmt = insert_for(conn, LoginFailure).values(key=key, count=1, window_started_at=now)
    update_values = {"count": values["count"]}
    if values["window_started_at"] is not None:
        update_values["window_started_at"] = now
    conn.execute(stmt.on_conflict_do_update(index_elements=["key"], set_=update_values))


def clear_failures(conn: Connection, key: str) -> None:
    conn.execute(delete(LoginFailure).where(LoginFailure.key == key))
