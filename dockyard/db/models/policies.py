"""Per-project vulnerability policy: what findings block a pull, and the exceptions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.models.base import Base, UTCDateTime


class VulnerabilityPolicy(Base):
    """A project's scanning settings; no row means pulls are never blocked and no SBOM is
    attached."""

    __tablename__ = "vulnerability_policies"
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    block_severity: Mapped[str | None] = mapped_column(String(10))  # critical | high | ...
    block_unscanned: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_maintainers: Mapped[bool] = mapped_column(Boolean, default=False)
    attach_sbom: Mapped[bool] = mapped_column(Boolean, default=False)  # as an OCI referrer
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class VulnerabilityException(Base):
    """An accepted advisory: findings with this id (or alias) do not count toward a block."""

    __tablename__ = "vulnerability_exceptions"
    __table_args__ = (UniqueConstraint("project_id", "advisory_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    advisory_id: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
