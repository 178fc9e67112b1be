"""Blobs and the links that make them visible in a repository."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, delete, select
from sqlalchemy.engine import Connection

from dockyard.db.models import Blob, Repository, RepositoryBlob
from dockyard.db.queries._upsert import insert_for

# Hot path of every blob pull and HEAD: built once, executed with bound parameters.
_LINKED_SIZE = (
    select(Blob.size)
    .join(RepositoryBlob, RepositoryBlob.digest == Blob.digest)
    .join(Repository, Repository.id == RepositoryBlob.repository_id)
    .where(Repository.name == bindparam("repository"), Blob.digest == bindparam("digest"))
)


def linked_size(conn: Connection, repository: str, digest: str) -> int | None:
    """Size of the blob if ``repository`` may serve it, else None."""
    return conn.scalar(_LINKED_SIZE, {"repository": repository, "digest": digest})


def record_and_link(conn: Connection, repository_id: int, digest: str, size: int) -> None:
    """Record a verified blob (once) and link it to the repository (once)."""
    now = datetime.now(UTC)
    conn.execute(
        insert_for(conn, Blob)
        .values(digest=digest, size=size, created_at=now)
        .on_conflict_do_nothing(index_elements=["digest"])
    )
    link(conn, repository_id, digest)


def link(conn: Connection, repository_id: int, digest: str) -> None:
    conn.execute(
        insert_for(conn, RepositoryBlob)
        .values(repository_id=repository_id, digest=digest, created_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=["repository_id", "digest"])
    )


def linked_in(conn: Connection, repository_id: int, digests: list[str]) -> dict[str, int]:
    """Digest -> size for those of ``digests`` linked to the repository."""
    stmt = (
        select(Blob.digest, Blob.size)
        .join(RepositoryBlob, RepositoryBlob.digest == Blob.digest)
        .where(RepositoryBlob.repository_id == repository_id, Blob.digest.in_(digests))
    )
    return {digest: size for digest, size in conn.execute(stmt)}


def repositories_holding(conn: Connection, digest: str, limit: int = 50) -> list[str]:
    """Names of repositories linked to the blob (candidates for an automatic mount)."""
    stmt = (
        select(Repository.name)
        .join(RepositoryBlob, RepositoryBlob.repository_id == Repository.id)
        .where(RepositoryBlob.digest == digest)
        .order_by(Repository.name)
        .limit(limit)
    )
    return list(conn.scalars(stmt))


def unlink(conn: Connection, repository_id: int, digest: str) -> bool:
    result = conn.execute(
        delete(RepositoryBlob).where(
            RepositoryBlob.repository_id == repository_id, RepositoryBlob.digest == digest
        )
    )
    return bool(result.rowcount)
