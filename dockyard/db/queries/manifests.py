"""Manifests, what they reference, and who refers to them (subject)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dockyard.db.models import Manifest, ManifestReference, Repository, Tag
from dockyard.db.queries._upsert import insert_for
from dockyard.db.records import ManifestRecord, ReferrerRecord

_RECORD = (Manifest.id, Manifest.digest, Manifest.media_type, Manifest.size, Manifest.payload)


def by_digest(session: Session, repository: str, digest: str) -> ManifestRecord | None:
    stmt = (
        select(*_RECORD)
        .join(Repository, Repository.id == Manifest.repository_id)
        .where(Repository.name == repository, Manifest.digest == digest)
    )
    row = session.execute(stmt).first()
    return ManifestRecord(*row) if row else None


def by_tag(session: Session, repository: str, tag: str) -> ManifestRecord | None:
    stmt = (
        select(*_RECORD)
        .join(Tag, Tag.manifest_id == Manifest.id)
        .join(Repository, Repository.id == Tag.repository_id)
        .where(Repository.name == repository, Tag.name == tag)
    )
    row = session.execute(stmt).first()
    return ManifestRecord(*row) if row else None


def existing(session: Session, repository_id: int, digests: list[str]) -> set[str]:
    stmt = select(Manifest.digest).where(
        Manifest.repository_id == repository_id, Manifest.digest.in_(digests)
    )
    return set(session.scalars(stmt))


def store(
    session: Session,
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
) -> int:
    """Insert the manifest (idempotent on repository+digest) and its references; its id."""
    stmt = insert_for(session, Manifest).values(
        repository_id=repository_id,
        digest=digest,
        media_type=media_type,
        artifact_type=artifact_type,
        subject_digest=subject_digest,
        config_digest=config_digest,
        annotations=annotations,
        size=len(payload),
        payload=payload,
        created_at=datetime.now(UTC),
    )
    session.execute(stmt.on_conflict_do_nothing(index_elements=["repository_id", "digest"]))
    manifest_id = session.scalars(
        select(Manifest.id).where(
            Manifest.repository_id == repository_id, Manifest.digest == digest
        )
    ).one()
    if references:
        rows = [{"manifest_id": manifest_id, "digest": d, "kind": k} for d, k in references.items()]
        session.execute(
            insert_for(session, ManifestReference)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["manifest_id", "digest"])
        )
    return manifest_id


def remove(session: Session, repository_id: int, digest: str) -> bool:
    result = session.execute(
        delete(Manifest).where(Manifest.repository_id == repository_id, Manifest.digest == digest)
    )
    return bool(result.rowcount)


def referrers(
    session: Session, repository: str, subject: str, artifact_type: str | None
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
        .order_by(Manifest.digest)
    )
    if artifact_type is not None:
        stmt = stmt.where(Manifest.artifact_type == artifact_type)
    return [ReferrerRecord(*row) for row in session.execute(stmt)]
