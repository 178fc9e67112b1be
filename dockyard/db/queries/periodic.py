"""Turns of periodic work across processes: a compare-and-set on the task's due time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.engine import Connection

from dockyard.db.models import PeriodicTask
from dockyard.db.queries._upsert import insert_for


def take_turn(conn: Connection, name: str, holder: str, now: datetime, next_due: datetime) -> bool:
    """True when ``holder`` runs this pass of ``name``: its due time had come and this
    call moved it to ``next_due`` before any other process did."""
    conn.execute(
        insert_for(conn, PeriodicTask)
        .values(name=name, due_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    stmt = (
        update(PeriodicTask)
        .where(PeriodicTask.name == name, PeriodicTask.due_at <= now)
        .values(due_at=next_due, taken_by=holder, taken_at=now)
    )
    return bool(conn.execute(stmt).rowcount)
