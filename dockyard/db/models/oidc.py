"""Keyless CI login: which OIDC issuers' ID tokens a project accepts, and for what role."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.models.base import Base, UTCDateTime


class OidcTrust(Base):
    """A project trusts ID tokens from ``issuer`` for ``audience`` whose claims match every
    pattern in ``claims`` (a JSON object of claim name to exact value or glob), and grants
    their bearer ``role`` (reporter or developer) in the project. The tokens themselves are
    never stored."""

    __tablename__ = "oidc_trusts"
    # Ids are never reused (SQLite would reuse the highest after a delete): tokens we
    # signed name trusts by id, and a deleted trust's id must never come back.
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    issuer: Mapped[str] = mapped_column(String(255), index=True)
    audience: Mapped[str] = mapped_column(String(255))
    claims: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
