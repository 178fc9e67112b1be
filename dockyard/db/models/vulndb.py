"""Advisory tables: OSV records and the package ranges they affect.

A record's affected ranges live in their own rows keyed by (ecosystem, package), so the
matcher asks one indexed query per ecosystem for every package name of an inventory.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.models.base import NAME, Base, UTCDateTime

ADVISORY_ID = String(128).with_variant(String(128, collation="C"), "postgresql")


class Advisory(Base):
    """One OSV record as last imported; ``withdrawn`` ones are kept but never match."""

    __tablename__ = "advisories"
    id: Mapped[str] = mapped_column(ADVISORY_ID, primary_key=True)
    modified: Mapped[datetime] = mapped_column(UTCDateTime)
    published: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn: Mapped[datetime | None] = mapped_column(UTCDateTime)
    summary: Mapped[str] = mapped_column(Text, default="")
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    severity: Mapped[str] = mapped_column(String(10))  # critical|high|medium|low|unknown
    cvss_score: Mapped[float | None] = mapped_column(Float)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AffectedRange(Base):
    """What one advisory says about one package of one ecosystem.

    ``events`` is the OSV event list as ``[[kind, version], ...]`` (kind: introduced,
    fixed, last_affected, limit); ``range_type`` is ECOSYSTEM or SEMVER, or "" when
    the record only lists explicit ``versions``. GIT ranges are not stored.
    """

    __tablename__ = "advisory_ranges"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    advisory_id: Mapped[str] = mapped_column(
        ADVISORY_ID, ForeignKey("advisories.id", ondelete="CASCADE"), index=True
    )
    ecosystem: Mapped[str] = mapped_column(String(64))
    package: Mapped[str] = mapped_column(NAME)
    range_type: Mapped[str] = mapped_column(String(16))
    events: Mapped[list[Any]] = mapped_column(JSON, default=list)
    versions: Mapped[list[str]] = mapped_column(JSON, default=list)

    __table_args__ = (Index("ix_advisory_ranges_ecosystem_package", "ecosystem", "package"),)


class AdvisoryImport(Base):
    """One run of ``dockyard vulndb import``: when, and what it changed."""

    __tablename__ = "advisory_imports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    added: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    withdrawn: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[int] = mapped_column(Integer)
