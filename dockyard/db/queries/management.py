"""Queries behind the management API and UI: listings with counts, sizes and dates,
server-side filtering, sorting and paging, repository deletion."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, tuple_, update
from sqlalchemy.engine import Connection

from dockyard.db.models import Manifest, Repository, RepositoryBlob, StorageUsage, Tag
from dockyard.db.queries import gc
from dockyard.db.queries import usage as usage_rows
from dockyard.db.records_management import RepositoryRow, TagRow

TAG_SORTS = {"name": (Tag.name,), "pushed_at": (Tag.updated_at, Tag.name)}


def _under(prefix: str):  # noqa: ANN202 - a SQL expression
    """Repositories at or below a path."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(Repository.name == prefix, Repository.name.like(escaped + "/%", escape="\\"))


def _repository_stats():  # noqa: ANN202 - a select
    tag_count = select(func.count()).where(Tag.repository_id == Repository.id).scalar_subquery()
    last_pushed = (
        select(func.max(Tag.updated_at)).where(Tag.repository_id == Repository.id).scalar_subquery()
    )
    size = func.coalesce(  # the maintained counter: blobs and manifests, each digest once
        select(StorageUsage.used_bytes)
        .where(
            StorageUsage.scope_kind == usage_rows.REPOSITORY,
            StorageUsage.scope_id == Repository.id,
        )
        .scalar_subquery(),
        0,
    )
    return select(
        Repository.id,
        Repository.name,
        Repository.created_at,
        Repository.status,
        tag_count,
        size,
        last_pushed,
    )


def repositories(
    conn: Connection, prefixes: list[str], name_filter: str = "", limit: int | None = None
) -> list[RepositoryRow]:
    """Repositories under any of ``prefixes`` whose name contains ``name_filter`` (the
    first ``limit`` by name)."""
    if not prefixes:
        return []
    stmt = _repository_stats()
    if name_filter:  # first: one LIKE per row rules out most before the prefix tests
        stmt = stmt.where(Repository.name.contains(name_filter, autoescape=True))
    stmt = stmt.where(or_(*(_under(p) for p in prefixes))).order_by(Repository.name).limit(limit)
    return [RepositoryRow(*row) for row in conn.execute(stmt)]


def repository(conn: Connection, repository_id: int) -> RepositoryRow | None:
    row = conn.execute(_repository_stats().where(Repository.id == repository_id)).first()
    return RepositoryRow(*row) if row else None


def repository_name(conn: Connection, repository_id: int) -> str | None:
    return conn.scalar(select(Repository.name).where(Repository.id == repository_id))


def repository_id(conn: Connection, name: str) -> int | None:
    return conn.scalar(select(Repository.id).where(Repository.name == name))


def _tags(repository_id: int, name_filter: str):  # noqa: ANN202 - a select
    subject = Manifest.__table__.alias("referrer")
    referrers = (
        select(func.count())
        .where(
            subject.c.repository_id == repository_id, subject.c.subject_digest == Manifest.digest
        )
        .scalar_subquery()
    )
    stmt = (
        select(
            Tag.name,
            Manifest.digest,
            Manifest.media_type,
            func.coalesce(Manifest.total_size, Manifest.size),
            Manifest.platforms,
            Tag.created_at,
            Tag.updated_at,
            referrers,
        )
        .join(Manifest, Manifest.id == Tag.manifest_id)
        .where(Tag.repository_id == repository_id)
    )
    if name_filter:
        stmt = stmt.where(Tag.name.contains(name_filter, autoescape=True))
    return stmt


def count_tags(conn: Connection, repository_id: int, name_filter: str = "") -> int:
    stmt = select(func.count()).select_from(Tag).where(Tag.repository_id == repository_id)
    if name_filter:
        stmt = stmt.where(Tag.name.contains(name_filter, autoescape=True))
    return conn.scalar(stmt) or 0


def tag_page(
    conn: Connection,
    repository_id: int,
    *,
    name_filter: str = "",
    sort: str = "name",
    descending: bool = False,
    offset: int = 0,
    limit: int = 20,
    after: tuple[object, ...] | None = None,
) -> list[TagRow]:
    """One page of tags. ``after`` is a keyset cursor (the sort key of the last row seen)."""
    columns = TAG_SORTS[sort]
    stmt = _tags(repository_id, name_filter)
    if after is not None:
        key = tuple_(*columns)
        stmt = stmt.where(key < tuple_(*after) if descending else key > tuple_(*after))
    order = [c.desc() if descending else c.asc() for c in columns]
    stmt = stmt.order_by(*order).offset(offset).limit(limit)
    return [TagRow(*row) for row in conn.execute(stmt)]


def tag(conn: Connection, repository_id: int, name: str) -> TagRow | None:
    row = conn.execute(_tags(repository_id, "").where(Tag.name == name)).first()
    return TagRow(*row) if row else None


def tag_ages(
    conn: Connection, repository_id: int, name_filter: str = ""
) -> list[tuple[str, datetime]]:
    """Every tag (whose name contains ``name_filter``) with its push time: for cleanup
    rules and for deletes of every tag a filter matches."""
    stmt = select(Tag.name, Tag.updated_at).where(Tag.repository_id == repository_id)
    if name_filter:
        stmt = stmt.where(Tag.name.contains(name_filter, autoescape=True))
    return [(name, at) for name, at in conn.execute(stmt)]


def delete_tags(
    conn: Connection,
    repository_id: int,
    names: list[str],
    review_after: datetime,
    pushed: Mapping[str, datetime] | None = None,
) -> dict[str, str]:
    """Delete the named tags; with ``pushed`` (name -> push time when chosen), only those
    not pushed again since, so a cleanup never deletes a tag a client just pushed. The
    manifests they pointed at are queued for garbage collection (kept if another tag, an
    index or a subject still holds them). The tags deleted, each with its digest."""
    deleted: dict[str, str] = {}
    for start in range(0, len(names), 500):
        batch = names[start : start + 500]
        where = [Tag.repository_id == repository_id, Tag.name.in_(batch)]
        if pushed is not None:
            where.append(or_(*(and_(Tag.name == n, Tag.updated_at == pushed[n]) for n in batch)))
        untagged = gc.tagged_digests(conn, repository_id, batch)
        gc.review_manifests(conn, repository_id, untagged, review_after, "tags_deleted")
        gone = select(Tag.name, Manifest.digest).join(Manifest, Manifest.id == Tag.manifest_id)
        deleted.update({n: d for n, d in conn.execute(gone.where(*where))})
        conn.execute(delete(Tag).where(*where))
    return deleted


def referrers_of(conn: Connection, repository_id: int, digest: str) -> list[tuple[str, str | None]]:
    # Sorted here, not in SQL: an ORDER BY digest made SQLite walk the repository's
    # (repository_id, digest) index, every manifest of it, instead of the subject index
    # (110 ms at 100,000 manifests, against well under 1 ms).
    stmt = select(Manifest.digest, Manifest.artifact_type).where(
        Manifest.repository_id == repository_id, Manifest.subject_digest == digest
    )
    return sorted(tuple(row) for row in conn.execute(stmt))


def tags_named(conn: Connection, text: str, limit: int) -> list[tuple[str, str, str]]:
    """(repository, tag, digest) of tags whose name contains ``text``, by repository."""
    stmt = (
        select(Repository.name, Tag.name, Manifest.digest)
        .join(Tag, Tag.repository_id == Repository.id)
        .join(Manifest, Manifest.id == Tag.manifest_id)
        .where(Tag.name.contains(text, autoescape=True))
        .order_by(Repository.name, Tag.name)
        .limit(limit)
    )
    return [tuple(row) for row in conn.execute(stmt)]


def where_digest(conn: Connection, prefix: str, limit: int) -> list[tuple[str, str, str]]:
    """(repository, digest, 'manifest' | 'blob') for every manifest and blob link whose
    digest starts with ``prefix``: where a pasted digest lives."""
    manifests = (
        select(Repository.name, Manifest.digest)
        .join(Manifest, Manifest.repository_id == Repository.id)
        .where(Manifest.digest.startswith(prefix, autoescape=True))
        .order_by(Repository.name)
        .limit(limit)
    )
    blobs = (
        select(Repository.name, RepositoryBlob.digest)
        .join(RepositoryBlob, RepositoryBlob.repository_id == Repository.id)
        .where(RepositoryBlob.digest.startswith(prefix, autoescape=True))
        .order_by(Repository.name)
        .limit(limit)
    )
    found = [(r, d, "manifest") for r, d in conn.execute(manifests)]
    return found + [(r, d, "blob") for r, d in conn.execute(blobs)]


def manifest_sizes(conn: Connection, repository_id: int, digests: list[str]) -> dict[str, int]:
    """Digest -> compressed size (the manifest, its config and layers) of those stored."""
    if not digests:
        return {}
    stmt = select(Manifest.digest, func.coalesce(Manifest.total_size, Manifest.size)).where(
        Manifest.repository_id == repository_id, Manifest.digest.in_(digests)
    )
    return {digest: size for digest, size in conn.execute(stmt)}


def manifest_row(conn: Connection, repository_id: int, digest: str) -> TagRow | None:
    """One stored manifest shaped as a tag row (its name is the digest), for the pages
    that show an index's platform manifests, which have no tag of their own."""
    referrer = Manifest.__table__.alias("referrer")
    referrers = (
        select(func.count())
        .where(referrer.c.repository_id == repository_id, referrer.c.subject_digest == digest)
        .scalar_subquery()
    )
    stmt = select(
        Manifest.digest,
        Manifest.digest,
        Manifest.media_type,
        func.coalesce(Manifest.total_size, Manifest.size),
        Manifest.platforms,
        Manifest.created_at,
        Manifest.created_at,
        referrers,
    ).where(Manifest.repository_id == repository_id, Manifest.digest == digest)
    row = conn.execute(stmt).first()
    return TagRow(*row) if row else None


def manifest_payload(conn: Connection, repository_id: int, digest: str) -> tuple[str, bytes] | None:
    row = conn.execute(
        select(Manifest.media_type, Manifest.payload).where(
            Manifest.repository_id == repository_id, Manifest.digest == digest
        )
    ).first()
    return (row[0], row[1]) if row else None


def schedule_deletion(conn: Connection, repository_id: int) -> bool:
    result = conn.execute(
        update(Repository)
        .where(
            Repository.id == repository_id,
            or_(Repository.status.is_(None), Repository.status == "delete_failed"),
        )
        .values(status="delete_scheduled", delete_attempts=0, next_attempt_at=datetime.now(UTC))
    )
    return bool(result.rowcount)


def due_deletions(conn: Connection, limit: int = 10) -> list[int]:
    """Scheduled deletions that are due, and 'ongoing' ones a crashed worker abandoned."""
    now = datetime.now(UTC)
    due = or_(Repository.next_attempt_at.is_(None), Repository.next_attempt_at <= now)
    stmt = (
        select(Repository.id)
        .where(Repository.status.in_(("delete_scheduled", "delete_ongoing")), due)
        .limit(limit)
    )
    return list(conn.scalars(stmt))


def claim_deletion(conn: Connection, repository_id: int) -> bool:
    """Take one due deletion (for ten minutes); False if another worker has it."""
    now = datetime.now(UTC)
    result = conn.execute(
        update(Repository)
        .where(
            Repository.id == repository_id,
            Repository.status.in_(("delete_scheduled", "delete_ongoing")),
            or_(Repository.next_attempt_at.is_(None), Repository.next_attempt_at <= now),
        )
        .values(status="delete_ongoing", next_attempt_at=now + timedelta(minutes=10))
    )
    return bool(result.rowcount)


def delete_repository(conn: Connection, repository_id: int, review_after: datetime) -> None:
    """Everything of the repository goes in one statement (cascades): all or nothing. Its
    usage leaves its project and groups in the same transaction, and the blobs it linked
    are queued for garbage collection (other repositories may hold them)."""
    gc.review_blobs(conn, gc.manifest_links(conn, repository_id), review_after, "repo_deleted")
    usage_rows.on_repository_removed(conn, repository_id)
    conn.execute(delete(Repository).where(Repository.id == repository_id))


def deletion_failed(conn: Connection, repository_id: int, give_up_after: int) -> None:
    attempts = (
        conn.scalar(select(Repository.delete_attempts).where(Repository.id == repository_id)) or 0
    )
    attempts += 1
    backoff = min(2**attempts, 3600)
    conn.execute(
        update(Repository)
        .where(Repository.id == repository_id)
        .values(
            delete_attempts=attempts,
            status="delete_failed" if attempts >= give_up_after else "delete_scheduled",
            next_attempt_at=datetime.now(UTC) + timedelta(seconds=backoff),
        )
    )


def referrer_types(
    conn: Connection, repository_id: int, digests: list[str]
) -> dict[str, list[str]]:
    """Subject digest -> artifact types of its referrers (signatures, SBOMs…), for badges."""
    if not digests:
        return {}
    stmt = select(Manifest.subject_digest, Manifest.artifact_type).where(
        Manifest.repository_id == repository_id, Manifest.subject_digest.in_(digests)
    )
    found: dict[str, list[str]] = {}
    for subject, artifact_type in conn.execute(stmt):
        found.setdefault(subject, []).append(artifact_type or "")
    return found
