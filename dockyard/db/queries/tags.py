"""Tags: atomic moves, deletes and ordered pages."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, delete, select
from sqlalchemy.engine import Connection

from dockyard.db.models import Tag
from dockyard.db.queries._upsert import built_once


def point(conn: Connection, repository_id: int, name: str, manifest_id: int) -> None:
    """Create the tag or move it to ``manifest_id`` in one statement."""
    stmt = built_once(
        conn,
        "tags.point",
        lambda insert: insert.on_conflict_do_update(
            index_elements=["repository_id", "name"],
            set_={
                "manifest_id": insert.excluded.manifest_id,
                "updated_at": insert.excluded.updated_at,
            },
        ),
        Tag,
    )
    now = datetime.now(UTC)
    row = {"repository_id": repository_id, "name": name, "manifest_id": manifest_id}
    conn.execute(stmt, {**row, "created_at": now, "updated_at": now})


def remove(conn: Connection, repository_id: int, name: str) -> bool:
    result = conn.execute(delete(Tag).where(Tag.repository_id == repository_id, Tag.name == name))
    return bool(result.rowcount)


_FIRST_PAGE = (
    select(Tag.name)
    .where(Tag.repository_id == bindparam("rid"))
    .order_by(Tag.name)
    .limit(bindparam("limit"))
)
_NEXT_PAGE = _FIRST_PAGE.where(Tag.name > bindparam("after"))


def page(conn: Connection, repository_id: int, after: str | None, limit: int) -> list[str]:
    """Tag names in byte order, strictly after ``after`` (statements built once: a page
    is asked for on every tag listing)."""
    if after is None:
        return list(conn.execute(_FIRST_PAGE, {"rid": repository_id, "limit": limit}).scalars())
    params = {"rid": repository_id, "limit": limit, "after": after}
    return list(conn.execute(_NEXT_PAGE, params).scalars())
