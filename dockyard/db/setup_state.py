"""Whether a database still needs ``dockyard setup``.

Every ``dockyard serve`` would run setup first; on a registry already set up, that child
process (Alembic, the account code, SQLAlchemy) cost about 0.4 s of each restart for
nothing. This check is three small queries on the bare driver (the stdlib's sqlite3, or
psycopg), so the serving supervisor can ask it without loading SQLAlchemy.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from typing import Any
from urllib.parse import quote

# The newest migration's revision; tests/db/test_setup_state.py holds it to Alembic's head.
SCHEMA_HEAD = "0020"

_SQLITE = "sqlite:///"
_POSTGRES = ("postgresql://", "postgresql+psycopg://", "postgres://")


def needs_setup(url: str, key_purposes: Iterable[str], needs_a_user: bool) -> bool:
    """True unless the schema is at ``SCHEMA_HEAD``, each purpose has a key and (when
    ``needs_a_user``) a user exists. Any doubt (no database or tables yet, a URL this
    check does not read, an unreachable server) says True: the full setup then does the
    work or reports the problem."""
    try:
        connection = _connect(url)
        if connection is None:
            return True
        with closing(connection):
            return _missing(connection.cursor(), list(key_purposes), needs_a_user)
    except Exception:  # noqa: BLE001 - any failure means: let the full setup decide
        return True


def _connect(url: str) -> Any:
    if url.startswith(_SQLITE) and "?" not in url:
        path = url[len(_SQLITE) :]
        if not path or path == ":memory:":
            return None
        return sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=5)
    for scheme in _POSTGRES:
        if url.startswith(scheme):
            import psycopg

            return psycopg.connect(
                "postgresql://" + url[len(scheme) :], connect_timeout=5, autocommit=True
            )
    return None


def _missing(cursor: Any, purposes: list[str], needs_a_user: bool) -> bool:
    placeholder = "?" if isinstance(cursor, sqlite3.Cursor) else "%s"
    cursor.execute("SELECT version_num FROM alembic_version")
    if cursor.fetchone() != (SCHEMA_HEAD,):
        return True
    for purpose in purposes:
        cursor.execute(f"SELECT 1 FROM signing_keys WHERE purpose = {placeholder}", (purpose,))
        if cursor.fetchone() is None:
            return True
    if needs_a_user:
        cursor.execute("SELECT 1 FROM users LIMIT 1")
        return cursor.fetchone() is None
    return False
