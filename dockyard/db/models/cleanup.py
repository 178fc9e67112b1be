"""Per-project cleanup policies (which tags go, how often) and the record of each run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.models.base import Base, UTCDateTime


class CleanupPolicy(Base):
    """A project's policy; no row means the project has none (nothing is ever deleted).

    ``next_run_at`` is when the scheduler next queues a run (null while disabled); the
    scheduler moves it forward in the same transaction that queues the run.
    """

    __tablename__ = "cleanup_policies"
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    cadence: Mapped[str] = mapped_column(String(10))  # 1d | 7d | 14d | 1month | 3month
    keep_n: Mapped[int | None] = mapped_column(Integer)
    older_than: Mapped[str | None] = mapped_column(String(10))  # 7d | 14d | 30d | 90d
    name_regex: Mapped[str | None] = mapped_column(String(255))
    name_regex_keep: Mapped[str | None] = mapped_column(String(255))
    repository_regex: Mapped[str | None] = mapped_column(String(255))
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(255))


class CleanupRun(Base):
    """One run of a policy: what it deleted, skipped and failed on."""

    __tablename__ = "cleanup_runs"
    __table_args__ = (Index("ix_cleanup_runs_project", "project_id", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(10))  # schedule | manual
    actor: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(10))  # running | done | partial | failed
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tags_deleted: Mapped[int] = mapped_column(Integer, default=0)
    tags_skipped: Mapped[int] = mapped_column(Integer, default=0)
    bytes_freed: Mapped[int] = mapped_column(BigInteger, default=0)  # an estimate, see docs
    errors: Mapped[str] = mapped_column(Text)  # JSON list of messages
    report: Mapped[str | None] = mapped_column(Text)  # JSON: per repository, deleted/skipped
