"""Webhooks of a project or a group, and each delivery of an event to one of them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.models.base import Base, UTCDateTime


class Webhook(Base):
    """A receiver URL for a project's events, or a group's (every project below it).

    ``scope_path`` is the project's or group's path: an event in repository ``a/b/c``
    finds its hooks by the path's prefixes alone (projects never nest). ``secret`` is
    kept as given, since signing needs it; the API never returns it. ``failing`` is set
    when a delivery used up its attempts; no new event is queued until an edit clears it.
    """

    __tablename__ = "webhooks"
    __table_args__ = (
        CheckConstraint("(project_id IS NULL) <> (namespace_id IS NULL)", name="one_scope"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope_path: Mapped[str] = mapped_column(String(255), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    namespace_id: Mapped[int | None] = mapped_column(
        ForeignKey("namespaces.id", ondelete="CASCADE")
    )
    url: Mapped[str] = mapped_column(String(2048))
    secret: Mapped[str] = mapped_column(String(255))
    events: Mapped[str] = mapped_column(String(255))  # comma-separated event names
    repository_regex: Mapped[str | None] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(12))  # dockyard | distribution
    enabled: Mapped[bool] = mapped_column(Boolean)
    failing: Mapped[bool] = mapped_column(Boolean)
    consecutive_failures: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(255))


class WebhookDelivery(Base):
    """One event for one hook. ``id`` is the X-Dockyard-Delivery header: the same on every
    retry, so receivers dedupe by it. The job that sends it names it by that id."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_hook_created", "hook_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    hook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)  # the JSON payload, fixed when queued
    state: Mapped[str] = mapped_column(String(10))  # queued | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)  # first 1 KiB
    error: Mapped[str | None] = mapped_column(Text)
    redelivery_of: Mapped[str | None] = mapped_column(String(36))
