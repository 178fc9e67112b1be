"""Scan results: per manifest digest, the inventory found and the advisories it matched.

Keyed by digest, not by repository: the same manifest pushed to two repositories is the
same content and is scanned once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.models.base import DIGEST, Base, UTCDateTime


class Scan(Base):
    __tablename__ = "scans"
    digest: Mapped[str] = mapped_column(DIGEST, primary_key=True)
    # queued | scanning | done | failed | unsupported
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(Text)
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    os_id: Mapped[str | None] = mapped_column(String(100))
    os_version: Mapped[str | None] = mapped_column(String(100))
    os_pretty_name: Mapped[str | None] = mapped_column(String(255))
    unsupported: Mapped[str | None] = mapped_column(Text)  # JSON list of what could not be read
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScanPackage(Base):
    __tablename__ = "scan_packages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(ForeignKey("scans.digest", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    version: Mapped[str] = mapped_column(String(255))
    ecosystem: Mapped[str] = mapped_column(String(100))
    purl_type: Mapped[str] = mapped_column(String(40))
    namespace: Mapped[str | None] = mapped_column(String(500))
    source_name: Mapped[str | None] = mapped_column(String(500))
    source_version: Mapped[str | None] = mapped_column(String(255))
    layer_digest: Mapped[str] = mapped_column(DIGEST)
    path: Mapped[str] = mapped_column(Text)
    arch: Mapped[str | None] = mapped_column(String(40))


class ScanFinding(Base):
    """A matched advisory, with the package's fields copied so a report is one query."""

    __tablename__ = "scan_findings"
    __table_args__ = (Index("ix_scan_findings_digest_severity", "digest", "severity"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(ForeignKey("scans.digest", ondelete="CASCADE"))
    advisory_id: Mapped[str] = mapped_column(String(200))
    aliases: Mapped[str] = mapped_column(Text)  # JSON list
    summary: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10))
    cvss_score: Mapped[float | None] = mapped_column(Float)
    fixed_version: Mapped[str | None] = mapped_column(String(255))
    package_name: Mapped[str] = mapped_column(String(500))
    package_version: Mapped[str] = mapped_column(String(255))
    ecosystem: Mapped[str] = mapped_column(String(100))
    purl_type: Mapped[str] = mapped_column(String(40))
    namespace: Mapped[str | None] = mapped_column(String(500))
    source_name: Mapped[str | None] = mapped_column(String(500))
    source_version: Mapped[str | None] = mapped_column(String(255))
    layer_digest: Mapped[str] = mapped_column(DIGEST)
    path: Mapped[str] = mapped_column(Text)
    arch: Mapped[str | None] = mapped_column(String(40))
    # When this advisory was first seen on this package of this manifest; kept across
    # rescans and rematches so only findings that are really new are reported as new.
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
