"""Frozen rows for the management API and UI: repositories and tags with their numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RepositoryRow:
    id: int
    name: str
    created_at: datetime
    status: str | None
    tag_count: int
    size: int
    last_pushed_at: datetime | None


@dataclass(frozen=True, slots=True)
class TagRow:
    name: str
    digest: str
    media_type: str
    size: int
    platforms: str | None
    created_at: datetime
    pushed_at: datetime
    referrers: int
