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
class BlobRow:
    """A blob as the database records it; ``unavailable`` is None while servable."""

    digest: str
    size: int
    unavailable: str | None


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
    owner: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str
    email: str
    password_hash: str | None
    is_admin: bool
    is_blocked: bool
    created_at: datetime | None = None
    last_login_at: datetime | None = None  # last password sign-in (registry or web UI)


@dataclass(frozen=True, slots=True)
class ProjectRecord:
    id: int
    path: str
    visibility: str
    namespace_id: int


@dataclass(frozen=True, slots=True)
class NamespaceRecord:
    id: int
    path: str
    kind: str


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: int
    kind: str
    name: str
    hint: str
    user_id: int | None
    project_id: int | None
    namespace_id: int | None
    username: str | None
    scopes: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SigningKeyRecord:
    """A token signing key (PEM) or a web session key; ``retired_at`` None while current."""

    purpose: str
    generation: int
    kid: str
    secret: str
    created_at: datetime
    retired_at: datetime | None
