"""Turns of periodic work: which process runs the next pass of a loop every replica has."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.models.base import Base, UTCDateTime


class PeriodicTask(Base):
    """One periodic loop (``name``) and when its next pass is due. A process runs a pass
    only after moving ``due_at`` forward with a compare-and-set, so however many
    replicas tick, each period's pass runs once."""

    __tablename__ = "periodic_tasks"
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    taken_by: Mapped[str | None] = mapped_column(String(100))
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
