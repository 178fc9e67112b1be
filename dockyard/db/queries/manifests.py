"""Manifests, what they reference, and who refers to them (subject)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection

from dockyard.db.models import Manifest, ManifestReference, Repository, Tag
from dockyard.db.queries import usage
from dockyard.db.queries._upsert import built_once
from dockyard.db.records import ManifestRecord, ReferrerRecord

_RECORD = (Manifest.id, Manifest.digest, Manifest.media_type, Manifest.size, Manifest.payload)

# Hot path of every pull: built once, executed with bound parameters.
_BY_DIGEST = (
    select(*_RECORD)
    .join(Repository, Repository.id == Manifest.repository_id)
    .where(Repository.name == bindparam("repository"), Manifest.digest == bindparam("digest"))
)
_BY_TAG = (
    select(*_RECORD)
    .join(Tag, Tag.manifest_id == Manifest.id)
    .join(Repository, Repository.id == Tag.repository_id)
    .where(Repository.name == bindparam("repository"), Tag.name == bindparam("tag"))
)


def by_digest(conn: Connection, repository: str, digest: str) -> ManifestRecord | None:
    row = conn.execute(_BY_DIGEST, {"repository": repository, "digest": digest}).first()
    return ManifestRecord(*row) if row else None


def by_tag(conn: Connection, repository: str, tag: str) -> ManifestRecord | None:
    row = conn.execute(_BY_TAG, {"repository": repository, "tag": tag}).first()
    return ManifestRecord(*row) if row else None


def existing(conn: Connection, repository_id: int, digests: list[str]) -> dict[str, int]:
    """Digest -> total size of those of ``digests`` stored in the repository (share-
    locked: an index being pushed keeps its children from garbage collection)."""
    stmt = (
        select(Manifest.digest, Manifest.total_size, Manifest.size)
        .where(Manifest.repository_id == repository_id, Manifest.digest.in_(digests))
        .with_for_update(read=True)
    )
    return {digest: total or size for digest, total, size in conn.execute(stmt)}


# Built once per dialect and run with parameters: with values inline, SQLAlchemy built
# and keyed a new statement on every push.
_ID = select(Manifest.id).where(
    Manifest.repository_id == bindparam("rid"), Manifest.digest == bindparam("digest")
)


def store(
    conn: Connection,
    repository_id: int,
    *,
    digest: str,
    media_type: str,
    artifact_type: str | None,
    subject_digest: str | None,
    config_digest: str | None,
    annotations: str | None,
    payload: bytes,
    references: dict[str, str],
    total_size: int,
    platforms: str | None,
    enforce: str | None = None,
    repository: str | None = None,
) -> int:
    """Insert the manifest (idempotent on repository+digest) and its references; its id.

    A new manifest counts in the usage (``enforce``: see ``usage.on_link``, which is
    spared a query when it is told the ``repository``'s name)."""
    stmt = built_once(
        conn,
        "manifests.store",
        lambda insert: insert.on_conflict_do_nothing(
            index_elements=["repository_id", "digest"]
        ).returning(Manifest.id),  # not rowcount: PostgreSQL reports -1 for an INSERT
        Manifest,
    )
    row = {
        "repository_id": repository_id,
        "digest": digest,
        "media_type": media_type,
        "artifact_type": artifact_type,
        "subject_digest": subject_digest,
        "config_digest": config_digest,
        "annotations": annotations,
        "size": len(payload),
        "total_size": total_size,
        "platforms": platforms,
        "payload": payload,
        "created_at": datetime.now(UTC),
    }
    inserted = conn.execute(stmt, row).first()
    if inserted is None:  # pushed before: its references went in with it
        return conn.execute(_ID, {"rid": repository_id, "digest": digest}).scalar_one()
    manifest_id = inserted[0]
    usage.on_link(conn, repository_id, digest, len(payload), enforce, repository)
    if references:
        # One compiled statement run for many rows (a multi-row VALUES would be compiled
        # anew on every push).
        rows = [{"manifest_id": manifest_id, "digest": d, "kind": k} for d, k in references.items()]
        conn.execute(insert(ManifestReference), rows)
    return manifest_id


def referrers(
    conn: Connection, repository: str, subject: str, artifact_type: str | None
) -> list[ReferrerRecord]:
    stmt = (
        select(
            Manifest.digest,
            Manifest.media_type,
            Manifest.size,
            Manifest.artifact_type,
            Manifest.annotations,
        )
        .join(Repository, Repository.id == Manifest.repository_id)
        .where(Repository.name == repository, Manifest.subject_digest == subject)
    )
    if artifact_type is not None:
        stmt = stmt.where(Manifest.artifact_type == artifact_type)
    # Sorted here: an ORDER BY digest in SQL leads SQLite to scan the repository's
    # manifests in digest order rather than use the subject index.
    return sorted((ReferrerRecord(*row) for row in conn.execute(stmt)), key=lambda r: r.digest)
