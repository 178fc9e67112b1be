"""Storage usage and limits per scope (repository, project, namespace), kept exact.

A scope is ``(scope_kind, scope_id)``: ``r`` a repository, ``p`` a project, ``n`` a
namespace (a group or a user's namespace). ``usage_refs`` says how many holdings (a
repository's blob link or manifest) of each digest a scope has, so a digest counts once
per scope however many repositories hold it; ``storage_usage`` keeps the sum of those
digests' sizes and the scope's limit. No foreign keys: the scope is polymorphic, and the
code that deletes a repository or a project removes its rows (dockyard/db/queries/usage.py).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.models.base import DIGEST, Base


class StorageUsage(Base):
    __tablename__ = "storage_usage"
    __table_args__ = (Index("ix_storage_usage_limited", "limit_bytes"),)
    scope_kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    scope_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    used_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    limit_bytes: Mapped[int | None] = mapped_column(BigInteger)  # None: no limit


class UsageRef(Base):
    __tablename__ = "usage_refs"
    scope_kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    scope_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(DIGEST, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    refs: Mapped[int] = mapped_column(Integer)
