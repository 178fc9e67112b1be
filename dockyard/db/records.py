"""Frozen values the queries return, so no ORM row ever leaves this package."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ManifestRecord:
    id: int
    digest: str
    media_type: str
    size: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class ReferrerRecord:
    digest: str
    media_type: str
    size: int
    artifact_type: str | None
    annotations: str | None


@dataclass(frozen=True, slots=True)
class UploadRecord:
    id: str
    repository_id: int
    repository: str
    created_at: datetime
