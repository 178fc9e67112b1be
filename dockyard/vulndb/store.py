"""Read-side entry points over the advisory tables, for the CLI and the API."""

from __future__ import annotations

from dockyard.db.engine import Database
from dockyard.db.queries.vulndb import Status, status


def advisory_status(db: Database) -> Status:
    """Advisories per ecosystem, totals, and when the last import finished."""
    with db.session() as conn:
        return status(conn)
