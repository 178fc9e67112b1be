"""Upload sessions: their rows outlive restarts; their bytes live in the blob store."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from dockyard.db.models import Repository, Upload
from dockyard.db.records import UploadRecord

# Statements of every push, built once: building one per call (and its cache key) cost
# more than running it.
_CREATE = insert(Upload)
_FIND = (
    select(Upload.id, Upload.repository_id, Repository.name, Upload.owner, Upload.created_at)
    .join(Repository, Repository.id == Upload.repository_id)
    .where(Upload.id == bindparam("upload_id"))
)
_REMOVE = delete(Upload).where(Upload.id == bindparam("upload_id"))


def create(conn: Connection, upload_id: str, repository_id: int, owner: str | None) -> None:
    now = datetime.now(UTC)
    row = {"id": upload_id, "repository_id": repository_id, "owner": owner}
    conn.execute(_CREATE, {**row, "created_at": now, "updated_at": now})


def find(conn: Connection, upload_id: str) -> UploadRecord | None:
    row = conn.execute(_FIND, {"upload_id": upload_id}).first()
    return UploadRecord(*row) if row else None


def touch(conn: Connection, upload_id: str) -> None:
    conn.execute(update(Upload).where(Upload.id == upload_id).values(updated_at=datetime.now(UTC)))


def take_lease(
    conn: Connection, upload_id: str, holder: str, now: datetime, until: datetime
) -> bool:
    """Compare-and-set: lease the session to ``holder`` unless someone else holds an
    unexpired lease. True when ``holder`` has it now (taking or renewing)."""
    free = or_(
        Upload.lease_until.is_(None), Upload.lease_until < now, Upload.lease_holder == holder
    )
    stmt = (
        update(Upload)
        .where(Upload.id == upload_id, free)
        .values(lease_holder=holder, lease_until=until)
    )
    return bool(conn.execute(stmt).rowcount)


def release_lease(conn: Connection, upload_id: str, holder: str) -> None:
    stmt = (
        update(Upload)
        .where(Upload.id == upload_id, Upload.lease_holder == holder)
        .values(lease_holder=None, lease_until=None)
    )
    conn.execute(stmt)


def remove_if_idle(conn: Connection, upload_id: str, before: datetime, now: datetime) -> bool:
    """End the session only if it is still idle and unleased: between the purge's read
    and this delete, another replica may have taken it up."""
    unleased = or_(Upload.lease_until.is_(None), Upload.lease_until < now)
    stmt = delete(Upload).where(Upload.id == upload_id, Upload.updated_at < before, unleased)
    return bool(conn.execute(stmt).rowcount)


def remove(conn: Connection, upload_id: str) -> bool:
    return bool(conn.execute(_REMOVE, {"upload_id": upload_id}).rowcount)


def idle_since(conn: Connection, before: datetime, limit: int = 500) -> list[str]:
    stmt = select(Upload.id).where(Upload.updated_at < before).limit(limit)
    return list(conn.scalars(stmt))


def existing(conn: Connection, upload_ids: list[str]) -> set[str]:
    """Those of ``upload_ids`` that have a session row."""
    if not upload_ids:
        return set()
    return set(conn.scalars(select(Upload.id).where(Upload.id.in_(upload_ids))))


def all_ids(conn: Connection) -> list[str]:
    """Every open session's id (for the integrity check; sessions are few)."""
    return list(conn.scalars(select(Upload.id)))


def remove_all(conn: Connection) -> int:
    """End every session (after a restore their bytes are not there)."""
    return int(conn.execute(delete(Upload)).rowcount or 0)
