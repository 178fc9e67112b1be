"""Blobs and the links that make them visible in a repository."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dockyard.db.models import Blob, Repository, RepositoryBlob
from dockyard.db.queries._upsert import insert_for


def linked_size(session: Session, repository: str, digest: str) -> int | None:
    """Size of the blob if ``repository`` may serve it, else None."""
    stmt = (
        select(Blob.size)
        .join(RepositoryBlob, RepositoryBlob.digest == Blob.digest)
        .join(Repository, Repository.id == RepositoryBlob.repository_id)
        .where(Repository.name == repository, Blob.digest == digest)
    )
    return session.scalar(stmt)


def size(session: Session, digest: str) -> int | None:
    return session.scalar(select(Blob.size).where(Blob.digest == digest))


def record_and_link(session: Session, repository_id: int, digest: str, size: int) -> None:
    """Record a verified blob (once) and link it to the repository (once)."""
    now = datetime.now(UTC)
    session.execute(
        insert_for(session, Blob)
        .values(digest=digest, size=size, created_at=now)
        .on_conflict_do_nothing(index_elements=["digest"])
    )
    link(session, repository_id, digest)


def link(session: Session, repository_id: int, digest: str) -> None:
    session.execute(
        insert_for(session, RepositoryBlob)
        .values(repository_id=repository_id, digest=digest, created_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=["repository_id", "digest"])
    )


def linked_in(session: Session, repository_id: int, digests: list[str]) -> dict[str, int]:
    """Digest -> size for those of ``digests`` linked to the repository."""
    stmt = (
        select(Blob.digest, Blob.size)
        .join(RepositoryBlob, RepositoryBlob.digest == Blob.digest)
        .where(RepositoryBlob.repository_id == repository_id, Blob.digest.in_(digests))
    )
    return {digest: size for digest, size in session.execute(stmt)}


def repositories_holding(session: Session, digest: str, limit: int = 50) -> list[str]:
    """Names of repositories linked to the blob (candidates for an automatic mount)."""
    stmt = (
        select(Repository.name)
        .join(RepositoryBlob, RepositoryBlob.repository_id == Repository.id)
        .where(RepositoryBlob.digest == digest)
        .order_by(Repository.name)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def unlink(session: Session, repository_id: int, digest: str) -> bool:
    result = session.execute(
        delete(RepositoryBlob).where(
            RepositoryBlob.repository_id == repository_id, RepositoryBlob.digest == digest
        )
    )
    return bool(result.rowcount)
