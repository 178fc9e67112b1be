"""Garbage collection in SQL: the review queues, the re-checks under lock, the deletes.

Locking, so that a push and the collector never both win:
- the collector locks the row it is about to delete (``FOR UPDATE``); a push that needs
  the same row takes a share lock on it (``FOR SHARE``: blob links and child manifests
  in ``_check_references``, the blob row in a mount) or upserts it, so one of them
  waits for the other and then sees its result;
- bytes in storage are guarded by a per-digest transaction lock (``lock_digest``), taken
  by an upload's commit and by the collector before it deletes the bytes.
On SQLite all writers are serialised (BEGIN IMMEDIATE), which gives the same guarantees;
``FOR UPDATE``/``SKIP LOCKED`` are not rendered there.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import and_, bindparam, delete, func, select, text, tuple_, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from dockyard.db.models import (
    AuditEvent,
    Blob,
    GcBlobReview,
    GcLinkReview,
    GcManifestReview,
    GcStorageDelete,
    Manifest,
    ManifestReference,
    Repository,
    RepositoryBlob,
    Tag,
)
from dockyard.db.queries import usage
from dockyard.db.queries._upsert import built_once, insert_for

# --- queueing (called in the transactions of pushes and deletes) ----------------------


def _upsert(conn: Connection, table: type, rows: list[dict], keys: list[str]) -> None:
    """Queue (or re-time) reviews. One statement per table and engine, built once and run
    for all rows: a multi-row VALUES was compiled anew on every push and mount."""
    if not rows:
        return
    stmt = built_once(
        conn,
        f"gc.review.{table.__tablename__}",
        lambda insert: insert.on_conflict_do_update(
            index_elements=keys,
            set_={"review_after": insert.excluded.review_after, "event": insert.excluded.event},
        ),
        table,
    )
    conn.execute(stmt, rows)


def review_manifests(
    conn: Connection, repository_id: int, digests: Iterable[str], after: datetime, event: str
) -> None:
    rows = [
        {"repository_id": repository_id, "digest": d, "review_after": after, "event": event}
        for d in set(digests)
    ]
    _upsert(conn, GcManifestReview, rows, ["repository_id", "digest"])


def review_links(
    conn: Connection, repository_id: int, digests: Iterable[str], after: datetime, event: str
) -> None:
    rows = [
        {"repository_id": repository_id, "digest": d, "review_after": after, "event": event}
        for d in set(digests)
    ]
    _upsert(conn, GcLinkReview, rows, ["repository_id", "digest"])


def review_blobs(conn: Connection, digests: Iterable[str], after: datetime, event: str) -> None:
    rows = [{"digest": d, "review_after": after, "event": event} for d in set(digests)]
    _upsert(conn, GcBlobReview, rows, ["digest"])


# Built once, run for each digest in one executemany: an IN list is rewritten into the
# SQL text on every execution (a regex pass over the statement), on every manifest push.
_FORGET_LINK = delete(GcLinkReview).where(
    GcLinkReview.repository_id == bindparam("rid"), GcLinkReview.digest == bindparam("digest")
)
_FORGET_MANIFEST = delete(GcManifestReview).where(
    GcManifestReview.repository_id == bindparam("rid"),
    GcManifestReview.digest == bindparam("digest"),
)


def forget_links(conn: Connection, repository_id: int, digests: list[str]) -> None:
    """A manifest push referenced these blobs: they are not candidates any more."""
    if digests:
        conn.execute(_FORGET_LINK, [{"rid": repository_id, "digest": d} for d in set(digests)])


def forget_manifests(conn: Connection, repository_id: int, digests: list[str]) -> None:
    if digests:
        rows = [{"rid": repository_id, "digest": d} for d in set(digests)]
        conn.execute(_FORGET_MANIFEST, rows)


_FORGET_BLOB = delete(GcBlobReview).where(GcBlobReview.digest == bindparam("digest"))


def forget_blob(conn: Connection, digest: str) -> None:
    conn.execute(_FORGET_BLOB, {"digest": digest})


_TAGGED = (
    select(Manifest.digest)
    .join(Tag, Tag.manifest_id == Manifest.id)
    .where(Tag.repository_id == bindparam("rid"), Tag.name == bindparam("name"))
)


def tagged_digests(conn: Connection, repository_id: int, names: list[str]) -> list[str]:
    """The manifests these tags point at (before they are deleted or moved)."""
    if len(names) == 1:  # a push moving one tag: a prebuilt statement, no IN list
        found = conn.scalar(_TAGGED, {"rid": repository_id, "name": names[0]})
        return [found] if found is not None else []
    stmt = (
        select(Manifest.digest)
        .join(Tag, Tag.manifest_id == Manifest.id)
        .where(Tag.repository_id == repository_id, Tag.name.in_(names))
    )
    return list(conn.scalars(stmt))


def manifest_links(conn: Connection, repository_id: int) -> list[str]:
    """Every blob linked to the repository (its links go when it is deleted)."""
    stmt = select(RepositoryBlob.digest).where(RepositoryBlob.repository_id == repository_id)
    return list(conn.scalars(stmt))


# --- locks ----------------------------------------------------------------------------


def lock_digest(conn: Connection, digest: str) -> None:
    """Serialise everything that writes or deletes the bytes of ``digest`` (PostgreSQL:
    a transaction-scoped advisory lock; SQLite: writers are serialised already)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:d, 7))"), {"d": digest})


# --- claiming due reviews -------------------------------------------------------------


def claim(
    conn: Connection, table: type, now: datetime | None, limit: int, lease_until: datetime
) -> list[tuple]:
    """Up to ``limit`` review rows due at ``now`` (None: all), leased until
    ``lease_until``: taken with ``FOR UPDATE SKIP LOCKED`` in a short transaction of their
    own, so other collectors skip them and no lock on a review row is held while the
    collector locks the objects themselves (pushes lock in the other order). A crashed
    collector's rows come due again when the lease ends."""
    keys = [c for c in (getattr(table, "repository_id", None), table.digest) if c is not None]
    stmt = select(*keys).order_by(table.review_after).limit(limit)
    if now is not None:
        stmt = stmt.where(table.review_after <= now)
    found = [tuple(r) for r in conn.execute(stmt.with_for_update(skip_locked=True))]
    if found:
        conn.execute(update(table).where(_keys_in(table, found)).values(review_after=lease_until))
    return found


def _keys_in(table: type, keys: list[tuple]) -> object:
    """The rows of a review table with these keys (repository id and digest, or digest)."""
    if len(keys[0]) == 2:
        return tuple_(table.repository_id, table.digest).in_(keys)
    return table.digest.in_([k[0] for k in keys])


# --- manifests ------------------------------------------------------------------------

_Parent = aliased(Manifest)
_Subject = aliased(Manifest)


def lock_manifest(conn: Connection, repository_id: int, digest: str) -> tuple | None:
    """(id, size, subject digest) of the manifest, locked; None if it is gone."""
    where = (Manifest.repository_id == repository_id, Manifest.digest == digest)
    stmt = select(Manifest.id, Manifest.size, Manifest.subject_digest).where(*where)
    row = conn.execute(stmt.with_for_update()).first()
    return tuple(row) if row else None


def manifest_references(conn: Connection, manifest_id: int) -> tuple[list[str], list[str]]:
    """(blob digests, child manifest digests) the manifest references."""
    rows = conn.execute(
        select(ManifestReference.digest, ManifestReference.kind).where(
            ManifestReference.manifest_id == manifest_id
        )
    )
    blobs, children = [], []
    for digest, kind in rows:
        (children if kind == "manifest" else blobs).append(digest)
    return blobs, children


def referrers_of(conn: Connection, repository_id: int, digest: str) -> list[str]:
    stmt = select(Manifest.digest).where(
        Manifest.repository_id == repository_id, Manifest.subject_digest == digest
    )
    return list(conn.scalars(stmt))


def delete_manifest(conn: Connection, manifest_id: int) -> None:
    """Delete the manifest (its tags and references cascade) and its share of the usage."""
    found = conn.execute(
        select(Manifest.repository_id, Manifest.digest).where(Manifest.id == manifest_id)
    ).first()
    conn.execute(delete(Manifest).where(Manifest.id == manifest_id))
    if found is not None:
        usage.on_unlink(conn, found[0], found[1])


# --- blob links -----------------------------------------------------------------------


# --- blobs and their bytes ------------------------------------------------------------


def tombstones(conn: Connection, limit: int) -> list[tuple[str, int]]:
    stmt = (
        select(GcStorageDelete.digest, GcStorageDelete.size)
        .order_by(GcStorageDelete.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [tuple(r) for r in conn.execute(stmt)]  # type: ignore[misc]


def drop_tombstones(conn: Connection, digests: list[str]) -> None:
    if digests:
        conn.execute(delete(GcStorageDelete).where(GcStorageDelete.digest.in_(digests)))


def existing_blobs(conn: Connection, digests: list[str]) -> set[str]:
    if not digests:
        return set()
    return set(conn.scalars(select(Blob.digest).where(Blob.digest.in_(digests))))


# --- finding what no review row names (a full pass) -----------------------------------


def unreferenced_manifests(conn: Connection, after: tuple[int, str], limit: int) -> list[tuple]:
    """(repository id, digest) of manifests nothing keeps: untagged, in no index of their
    repository, not a referrer of a manifest that is there; keyset-paged."""
    listed = (
        select(ManifestReference.digest)
        .join(_Parent, _Parent.id == ManifestReference.manifest_id)
        .where(
            ManifestReference.kind == "manifest",
            ManifestReference.digest == Manifest.digest,
            _Parent.repository_id == Manifest.repository_id,
            _Parent.id != Manifest.id,
        )
        .exists()
    )
    subject_there = (
        select(_Subject.id)
        .where(
            _Subject.repository_id == Manifest.repository_id,
            _Subject.digest == Manifest.subject_digest,
        )
        .exists()
    )
    stmt = (
        select(Manifest.repository_id, Manifest.digest)
        .where(~select(Tag.name).where(Tag.manifest_id == Manifest.id).exists())
        .where(~listed)
        .where(~subject_there)
        .where(
            (Manifest.repository_id > after[0])
            | and_(Manifest.repository_id == after[0], Manifest.digest > after[1])
        )
        .order_by(Manifest.repository_id, Manifest.digest)
        .limit(limit)
    )
    return [tuple(r) for r in conn.execute(stmt)]


def unreferenced_links(conn: Connection, after: tuple[int, str], limit: int) -> list[tuple]:
    used = (
        select(ManifestReference.digest)
        .join(Manifest, Manifest.id == ManifestReference.manifest_id)
        .where(
            ManifestReference.digest == RepositoryBlob.digest,
            ManifestReference.kind == "blob",
            Manifest.repository_id == RepositoryBlob.repository_id,
        )
        .exists()
    )
    stmt = (
        select(RepositoryBlob.repository_id, RepositoryBlob.digest)
        .where(~used)
        .where(
            (RepositoryBlob.repository_id > after[0])
            | and_(RepositoryBlob.repository_id == after[0], RepositoryBlob.digest > after[1])
        )
        .order_by(RepositoryBlob.repository_id, RepositoryBlob.digest)
        .limit(limit)
    )
    return [tuple(r) for r in conn.execute(stmt)]


def unlinked_blobs(conn: Connection, after: str, limit: int) -> list[str]:
    stmt = (
        select(Blob.digest)
        .where(~select(RepositoryBlob.digest).where(RepositoryBlob.digest == Blob.digest).exists())
        .where(Blob.digest > after)
        .order_by(Blob.digest)
        .limit(limit)
    )
    return list(conn.scalars(stmt))


def known_blobs(conn: Connection, digests: list[str]) -> set[str]:
    """Which of ``digests`` have a blob row or a pending tombstone (not orphans)."""
    rows = set(conn.scalars(select(Blob.digest).where(Blob.digest.in_(digests))))
    rows |= set(
        conn.scalars(select(GcStorageDelete.digest).where(GcStorageDelete.digest.in_(digests)))
    )
    return rows


def queue_sizes(conn: Connection) -> dict[str, int]:
    return {
        name: int(conn.scalar(select(func.count()).select_from(table)) or 0)
        for name, table in (
            ("manifests", GcManifestReview),
            ("links", GcLinkReview),
            ("blobs", GcBlobReview),
            ("storage", GcStorageDelete),
        )
    }


def _insert_new(conn: Connection, table: type, rows: list[dict], keys: list[str]) -> None:
    if rows:
        stmt = insert_for(conn, table).values(rows)
        conn.execute(stmt.on_conflict_do_nothing(index_elements=keys))


def queue_manifest_if_new(
    conn: Connection, repository_id: int, digest: str, after: datetime
) -> None:
    row = {"repository_id": repository_id, "digest": digest, "review_after": after}
    _insert_new(conn, GcManifestReview, [{**row, "event": "sweep"}], ["repository_id", "digest"])


def queue_link_if_new(conn: Connection, repository_id: int, digest: str, after: datetime) -> None:
    row = {"repository_id": repository_id, "digest": digest, "review_after": after}
    _insert_new(conn, GcLinkReview, [{**row, "event": "sweep"}], ["repository_id", "digest"])


def queue_blob_if_new(conn: Connection, digest: str, after: datetime) -> None:
    row = {"digest": digest, "review_after": after, "event": "sweep"}
    _insert_new(conn, GcBlobReview, [row], ["digest"])


# --- batches (a pass handles hundreds of objects per statement) -----------------------


def review_keys(conn: Connection, table: type, keys: Iterable[tuple], after: datetime,
                event: str) -> None:  # fmt: skip
    """Queue (repository id, digest) keys in a per-repository review table."""
    rows = [
        {"repository_id": r, "digest": d, "review_after": after, "event": event}
        for r, d in sorted(set(keys))
    ]
    _upsert(conn, table, rows, ["repository_id", "digest"])


def drop_reviews(conn: Connection, table: type, keys: list[tuple], leased: datetime) -> None:
    """Remove finished reviews, except those a push queued again since they were claimed."""
    if keys:
        conn.execute(delete(table).where(_keys_in(table, keys), table.review_after == leased))


def lock_manifests(conn: Connection, keys: list[tuple]) -> tuple[dict, set]:
    """({(repository id, digest): (id, size, subject)} locked, keys a push holds)."""
    match = tuple_(Manifest.repository_id, Manifest.digest).in_(keys)
    stmt = select(
        Manifest.repository_id, Manifest.digest, Manifest.id, Manifest.size,
        Manifest.subject_digest,
    ).where(match)  # fmt: skip
    locked = {(r, d): (i, s, sub) for r, d, i, s, sub in
              conn.execute(stmt.with_for_update(skip_locked=True))}  # fmt: skip
    rest = [k for k in keys if k not in locked]
    busy = set()
    if rest:
        there = select(Manifest.repository_id, Manifest.digest).where(
            tuple_(Manifest.repository_id, Manifest.digest).in_(rest)
        )
        busy = {tuple(r) for r in conn.execute(there)}
    return locked, busy


def manifests_in_use(conn: Connection, found: dict) -> set:
    """Which of ``found`` (as from lock_manifests) something keeps: a tag, an index of
    their repository that lists them, or their subject being there."""
    ids = {v[0]: k for k, v in found.items()}
    kept = {ids[i] for i in conn.scalars(select(Tag.manifest_id).where(Tag.manifest_id.in_(ids)))}
    listed = (
        select(_Parent.repository_id, ManifestReference.digest)
        .join(_Parent, _Parent.id == ManifestReference.manifest_id)
        .where(ManifestReference.kind == "manifest")
        .where(tuple_(_Parent.repository_id, ManifestReference.digest).in_(list(found)))
    )
    kept |= {tuple(r) for r in conn.execute(listed)}
    subjects = {(k[0], v[2]): k for k, v in found.items() if v[2] is not None}
    if subjects:
        there = select(Manifest.repository_id, Manifest.digest).where(
            tuple_(Manifest.repository_id, Manifest.digest).in_(list(subjects))
        )
        kept |= {subjects[tuple(r)] for r in conn.execute(there)}
    return kept


def delete_manifests(conn: Connection, doomed: dict) -> tuple[list, list]:
    """Delete ``doomed`` ({key: (id, ...)}); (blob link keys, manifest keys) they held:
    their blobs and children, and the referrers of each."""
    ids = {v[0]: k for k, v in doomed.items()}
    refs = conn.execute(
        select(ManifestReference.manifest_id, ManifestReference.digest, ManifestReference.kind)
        .where(ManifestReference.manifest_id.in_(ids))
    )  # fmt: skip
    links, manifests = [], []
    for manifest_id, digest, kind in refs:
        key = (ids[manifest_id][0], digest)
        (manifests if kind == "manifest" else links).append(key)
    referrers = select(Manifest.repository_id, Manifest.digest).where(
        tuple_(Manifest.repository_id, Manifest.subject_digest).in_(list(doomed))
    )
    manifests += [tuple(r) for r in conn.execute(referrers)]
    conn.execute(delete(Manifest).where(Manifest.id.in_(ids)))
    usage.on_unlink_many(conn, list(doomed))
    return links, [k for k in manifests if k not in doomed]


def lock_links(conn: Connection, keys: list[tuple]) -> tuple[set, set]:
    """(keys locked, keys a push holds); the rest are gone."""
    match = tuple_(RepositoryBlob.repository_id, RepositoryBlob.digest).in_(keys)
    stmt = select(RepositoryBlob.repository_id, RepositoryBlob.digest).where(match)
    locked = {tuple(r) for r in conn.execute(stmt.with_for_update(skip_locked=True))}
    rest = [k for k in keys if k not in locked]
    busy = set()
    if rest:
        there = select(RepositoryBlob.repository_id, RepositoryBlob.digest).where(
            tuple_(RepositoryBlob.repository_id, RepositoryBlob.digest).in_(rest)
        )
        busy = {tuple(r) for r in conn.execute(there)}
    return locked, busy


def links_in_use(conn: Connection, keys: set) -> set:
    stmt = (
        select(Manifest.repository_id, ManifestReference.digest)
        .join(Manifest, Manifest.id == ManifestReference.manifest_id)
        .where(ManifestReference.kind == "blob")
        .where(tuple_(Manifest.repository_id, ManifestReference.digest).in_(list(keys)))
    )
    return {tuple(r) for r in conn.execute(stmt)}


def delete_links(conn: Connection, keys: set) -> None:
    """Delete the links, and their share of the storage usage."""
    conn.execute(
        delete(RepositoryBlob).where(
            tuple_(RepositoryBlob.repository_id, RepositoryBlob.digest).in_(list(keys))
        )
    )
    usage.on_unlink_many(conn, sorted(keys))


def lock_blobs(conn: Connection, digests: list[str]) -> tuple[dict, set]:
    """({digest: size} locked, digests a push or mount holds)."""
    stmt = select(Blob.digest, Blob.size).where(Blob.digest.in_(digests))
    locked = dict(conn.execute(stmt.with_for_update(skip_locked=True)).all())
    rest = [d for d in digests if d not in locked]
    busy = set(conn.scalars(select(Blob.digest).where(Blob.digest.in_(rest)))) if rest else set()
    return locked, busy


def blobs_in_use(conn: Connection, digests: list[str]) -> set:
    stmt = select(RepositoryBlob.digest).where(RepositoryBlob.digest.in_(digests)).distinct()
    return set(conn.scalars(stmt))


def delete_blobs(conn: Connection, sizes: dict) -> None:
    """Delete the rows and leave tombstones: the bytes go after this commits."""
    conn.execute(delete(Blob).where(Blob.digest.in_(list(sizes))))
    now = datetime.now(UTC)
    rows = [{"digest": d, "size": s, "created_at": now} for d, s in sorted(sizes.items())]
    stmt = insert_for(conn, GcStorageDelete).values(rows)
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["digest"]))


def names_of(conn: Connection, repository_ids: set) -> dict[int, str]:
    stmt = select(Repository.id, Repository.name).where(Repository.id.in_(repository_ids))
    return dict(conn.execute(stmt).all())


def due_counts(conn: Connection, now: datetime) -> dict[str, int]:
    """Reviews whose time has come (the next pass takes them), per queue."""
    return {
        name: int(
            conn.scalar(select(func.count()).select_from(table).where(table.review_after <= now))
            or 0
        )
        for name, table in (
            ("manifests", GcManifestReview),
            ("links", GcLinkReview),
            ("blobs", GcBlobReview),
        )
    }


def recent_passes(conn: Connection, limit: int = 10) -> list[tuple[datetime, str, str]]:
    """(when, who, summary JSON) of the latest passes that removed something."""
    stmt = (
        select(AuditEvent.at, AuditEvent.actor, AuditEvent.detail)
        .where(AuditEvent.action == "gc")
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return [(at, actor, detail or "{}") for at, actor, detail in conn.execute(stmt)]
