"""INSERT ... ON CONFLICT for whichever engine the conn is bound to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def insert_for(conn: Connection, table: Any) -> Any:
    dialect = conn.dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


_BUILT: dict[tuple[str, str], Any] = {}


def built_once(conn: Connection, name: str, build: Callable[[Any], Any], table: Any) -> Any:
    """``build(insert_for(conn, table))``, built once per engine kind and kept: hot paths
    run it with parameters, where a statement with inline values was rebuilt and
    re-keyed by SQLAlchemy on every call."""
    key = (conn.dialect.name, name)
    found = _BUILT.get(key)
    if found is None:
        found = _BUILT[key] = build(insert_for(conn, table))
    return found
