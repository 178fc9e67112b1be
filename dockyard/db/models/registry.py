"""Registry tables: repositories, blobs, manifests, tags, upload sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.models.base import DIGEST, NAME, Base, UTCDateTime


class Repository(Base):
    __tablename__ = "repositories"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # None while healthy; "delete_scheduled" | "delete_ongoing" | "delete_failed" once asked
    status: Mapped[str | None] = mapped_column(String(20), index=True)
    delete_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Blob(Base):
    """A verified blob in the store, shared by every repository that links it."""

    __tablename__ = "blobs"
    digest: Mapped[str] = mapped_column(DIGEST, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # None while servable; "corrupt" | "missing" once `dockyard check --repair` found the
    # bytes bad. Such a blob is not served nor counted as present; a re-push clears it.
    unavailable: Mapped[str | None] = mapped_column(String(16))


class RepositoryBlob(Base):
    """The link that lets a repository serve a blob (pushed or mounted there)."""

    __tablename__ = "repository_blobs"
    # Who else links this blob? (garbage collection, automatic mounts)
    __table_args__ = (Index("ix_repository_blobs_digest", "digest"),)
    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    digest: Mapped[str] = mapped_column(
        ForeignKey("blobs.digest", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Manifest(Base):
    __tablename__ = "manifests"
    __table_args__ = (
        UniqueConstraint("repository_id", "digest"),
        Index("ix_manifests_subject", "repository_id", "subject_digest"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(DIGEST)
    media_type: Mapped[str] = mapped_column(String(255))
    artifact_type: Mapped[str | None] = mapped_column(String(255))
    subject_digest: Mapped[str | None] = mapped_column(DIGEST)
    config_digest: Mapped[str | None] = mapped_column(DIGEST)
    annotations: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    # The manifest plus everything it references, children included (what a pull moves).
    total_size: Mapped[int | None] = mapped_column(BigInteger)
    platforms: Mapped[str | None] = mapped_column(Text)  # JSON list of "os/arch" (indexes)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ManifestReference(Base):
    """What a manifest points at: blobs (config, layers) or child manifests (index)."""

    __tablename__ = "manifest_references"
    manifest_id: Mapped[int] = mapped_column(
        ForeignKey("manifests.id", ondelete="CASCADE"), primary_key=True
    )
    digest: Mapped[str] = mapped_column(DIGEST, primary_key=True, index=True)
    kind: Mapped[str] = mapped_column(String(8))  # "blob" | "manifest"


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (Index("ix_tags_pushed", "repository_id", "updated_at", "name"),)
    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(NAME, primary_key=True)
    manifest_id: Mapped[int] = mapped_column(
        ForeignKey("manifests.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Upload(Base):
    """An open upload session; its bytes live in the blob store under the same id."""

    __tablename__ = "uploads"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), index=True
    )
    owner: Mapped[str | None] = mapped_column(String(255))  # who opened it (None: auth off)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # Who writes the session now, and until when (a remote store cannot lock it itself).
    lease_holder: Mapped[str | None] = mapped_column(String(36))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
