"""Per-project tag protection rules: who may push or delete the tags a pattern matches,
and which tags may never move or go."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.models.base import Base, UTCDateTime

PATTERN = String(100).with_variant(String(100, collation="C"), "postgresql")


class TagProtectionRule(Base):
    """One rule of a project. A mutable rule names the least access level that may push
    and delete matching tags; an immutable rule names none (no one may move or delete)."""

    __tablename__ = "tag_protection_rules"
    __table_args__ = (UniqueConstraint("project_id", "immutable", "tag_name_pattern"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    tag_name_pattern: Mapped[str] = mapped_column(PATTERN)  # RE2, matched against whole names
    minimum_access_level_for_push: Mapped[str | None] = mapped_column(String(20))
    minimum_access_level_for_delete: Mapped[str | None] = mapped_column(String(20))
    immutable: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
