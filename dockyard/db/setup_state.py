"""Whether a database still needs ``dockyard setup``.

Every ``dockyard serve`` runs setup first. On a registry already set up, Alembic and the
account code it would load cost most of a second of start-up for nothing; this check is
three small queries on the engine alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from dockyard.db.engine import Database, DatabaseUnavailable

# The newest migration's revision; tests/db/test_setup_state.py holds it to Alembic's head.
SCHEMA_HEAD = "0020"

_VERSION = text("SELECT version_num FROM alembic_version")
_KEY = text("SELECT 1 FROM signing_keys WHERE purpose = :purpose LIMIT 1")
_ANY_USER = text("SELECT 1 FROM users LIMIT 1")


def needs_setup(db: Database, key_purposes: Iterable[str], needs_a_user: bool) -> bool:
    """True unless the schema is at ``SCHEMA_HEAD``, each purpose has a key and (when
    ``needs_a_user``) a user exists. Any doubt (no tables yet, an unreachable database)
    says True: the full setup then does the work or reports the problem."""
    try:
        with db.session() as conn:
            if conn.scalar(_VERSION) != SCHEMA_HEAD:
                return True
            if any(conn.scalar(_KEY, {"purpose": p}) is None for p in key_purposes):
                return True
            return needs_a_user and conn.scalar(_ANY_USER) is None
    except (DBAPIError, DatabaseUnavailable):
        return True
