"""Blobs and the links that make them visible in a repository."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.engine import Connection

from dockyard.db.models import Blob, Repository, RepositoryBlob
from dockyard.db.queries import usage
from dockyard.db.queries._upsert import insert_for
from dockyard.db.records import BlobRow

# Hot path of every blob pull and HEAD: built once, executed with bound parameters.
_LINKED_SIZE = (
    select(Blob.size)
    .join(RepositoryBlob, RepositoryBlob.digest == Blob.digest)
    .join(Repository, Repository.id == RepositoryBlob.repository_id)
    .where(
        Repository.name == bindparam("repository"),
        Blob.digest == bindparam("digest"),
        Blob.unavailable.is_(None),
    )
)


def linked_size(conn: Connection, repository: str, digest: str) -> int | None:
    """Size of the blob if ``repository`` may serve it, else None."""
    return conn.scalar(_LINKED_SIZE, {"repository": repository, "digest": digest})


def record_and_link(
    conn: Connection,
    repository_id: int,
    digest: str,
    size: int,
    enforce: str | None = None,
    repository: str | None = None,
) -> None:
    """Record a verified blob (once) and link it to the repository (once).

    The bytes were just committed afresh, so a blob marked unavailable is healed.
    ``enforce`` and ``repository`` (the name): see ``usage.on_link``.
    """
    now = datetime.now(UTC)
    insert = insert_for(conn, Blob).values(digest=digest, size=size, created_at=now)
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=["digest"],
            set_={"unavailable": None, "size": size},
            where=Blob.unavailable.is_not(None),
        )
    )
    link(conn, repository_id, digest, size, enforce, repository)


def link(
    conn: Connection,
    repository_id: int,
    digest: str,
    size: int | None = None,
    enforce: str | None = None,
    repository: str | None = None,
) -> bool:
    """Link the blob to the repository (once) and count it in the usage; False if it was.
    ``repository``: the name, if known (spares ``usage.on_link`` a query)."""
    # RETURNING, not rowcount: on PostgreSQL an INSERT reports rowcount -1 (unknown).
    inserted = conn.execute(
        insert_for(conn, RepositoryBlob)
        .values(repository_id=repository_id, digest=digest, created_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=["repository_id", "digest"])
        .returning(RepositoryBlob.digest)
    ).first()
    if inserted is None:
        return False
    usage.on_link(conn, repository_id, digest, size, enforce, repository)
    return True


_LINKED_IN = (
    select(Blob.digest, Blob.size)
    .join(RepositoryBlob, RepositoryBlob.digest == Blob.digest)
    .where(
        RepositoryBlob.repository_id == bindparam("rid"),
        Blob.digest.in_(bindparam("digests", expanding=True)),
        Blob.unavailable.is_(None),
    )
    .with_for_update(read=True, of=RepositoryBlob)
)


def linked_in(conn: Connection, repository_id: int, digests: list[str]) -> dict[str, int]:
    """Digest -> size for those of ``digests`` linked to the repository; the links are
    share-locked until the transaction ends, so garbage collection cannot take them
    from under a manifest being pushed."""
    rows = conn.execute(_LINKED_IN, {"rid": repository_id, "digests": digests})
    return {digest: size for digest, size in rows}


def hold(conn: Connection, digest: str) -> int | None:
    """The blob's size if it is there and servable, share-locked for this transaction (a
    mount links it only if garbage collection has not taken it)."""
    stmt = (
        select(Blob.size)
        .where(Blob.digest == digest, Blob.unavailable.is_(None))
        .with_for_update(read=True)
    )
    return conn.scalar(stmt)


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
    """Remove the link (and its share of the usage); False if there was none."""
    result = conn.execute(
        delete(RepositoryBlob).where(
            RepositoryBlob.repository_id == repository_id, RepositoryBlob.digest == digest
        )
    )
    if not result.rowcount:
        return False
    usage.on_unlink(conn, repository_id, digest)
    return True


def page(conn: Connection, after: str, limit: int) -> list[BlobRow]:
    """Up to ``limit`` blob rows with a digest past ``after``, in digest (byte) order."""
    stmt = (
        select(Blob.digest, Blob.size, Blob.unavailable)
        .where(Blob.digest > after)
        .order_by(Blob.digest)
        .limit(limit)
    )
    return [BlobRow(*row) for row in conn.execute(stmt)]


def find(conn: Connection, digest: str) -> BlobRow | None:
    stmt = select(Blob.digest, Blob.size, Blob.unavailable).where(Blob.digest == digest)
    row = conn.execute(stmt).first()
    return BlobRow(*row) if row else None


def mark_unavailable(conn: Connection, digest: str, reason: str | None) -> None:
    """Set (``reason``) or clear (None) the unavailable mark of a blob row."""
    conn.execute(update(Blob).where(Blob.digest == digest).values(unavailable=reason))


def count(conn: Connection) -> int:
    return int(conn.scalar(select(func.count()).select_from(Blob)) or 0)


def total_size(conn: Connection) -> int:
    """Bytes of every recorded blob (what a full check reads)."""
    return int(conn.scalar(select(func.coalesce(func.sum(Blob.size), 0))) or 0)
