"""Secrets every replica shares: the registry token signing keys and the web session keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.models.base import Base, UTCDateTime


class SigningKey(Base):
    """One key of a purpose (``token`` or ``session``). The highest ``generation`` signs;
    older ones only verify, until ``retired_at`` plus the longest lifetime of what they
    signed has passed. ``(purpose, generation)`` is unique, so replicas that create the
    first key or rotate at the same moment agree on one winner."""

    __tablename__ = "signing_keys"
    __table_args__ = (UniqueConstraint("purpose", "generation"), UniqueConstraint("purpose", "kid"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    generation: Mapped[int] = mapped_column(Integer)
    kid: Mapped[str] = mapped_column(String(64))
    secret: Mapped[str] = mapped_column(Text)  # PEM (token) or the secret itself (session)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
