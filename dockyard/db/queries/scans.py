"""Scan results per manifest digest: status, inventory (packages) and findings.

Rows go in and come out as plain dicts of column values; ``dockyard.scan.results``
turns them into the scan model's dataclasses (this package sits below ``scan``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from dockyard.db.models import (
    Manifest,
    ManifestReference,
    Repository,
    Scan,
    ScanFinding,
    ScanPackage,
    Tag,
)
from dockyard.db.queries import jobs
from dockyard.db.queries._upsert import built_once, insert_for

PACKAGE_FIELDS = (
    "name",
    "version",
    "ecosystem",
    "purl_type",
    "namespace",
    "source_name",
    "source_version",
    "layer_digest",
    "path",
    "arch",
)
FINDING_FIELDS = (
    "advisory_id",
    "aliases",
    "summary",
    "severity",
    "cvss_score",
    "fixed_version",
    "package_name",
    "package_version",
    "ecosystem",
    "purl_type",
    "namespace",
    "source_name",
    "source_version",
    "layer_digest",
    "path",
    "arch",
)
# What makes a finding "the same" across rescans and rematches.
FINDING_KEY = ("advisory_id", "package_name", "package_version", "ecosystem", "path")


@dataclass(frozen=True, slots=True)
class ScanRecord:
    digest: str
    status: str
    reason: str | None
    scanned_at: datetime | None
    os_id: str | None
    os_version: str | None
    os_pretty_name: str | None
    unsupported: list[str]


def _new_scan(conn: Connection) -> Any:
    """Insert a scan row unless the digest has one, returning it only when inserted: on
    PostgreSQL the row count of an INSERT ... ON CONFLICT DO NOTHING did not tell, so
    every push of a known digest queued it again. Built once per dialect."""
    return built_once(
        conn,
        "scans.new",
        lambda insert: insert.on_conflict_do_nothing(index_elements=["digest"]).returning(
            Scan.digest
        ),
        Scan,
    )


def request_scan(conn: Connection, repository: str, digest: str, force: bool = False) -> bool:
    """Queue a scan of ``digest`` in the caller's transaction and record it ``queued``.

    Without ``force`` a digest already known (scanned, failed or queued) is left alone:
    the same digest is the same content. True when a scan job was queued.
    """
    now = datetime.now(UTC)
    row = {"digest": digest, "status": "queued", "updated_at": now}
    if force:
        stmt = insert_for(conn, Scan).values(row)
        stmt = stmt.on_conflict_do_update(
            index_elements=["digest"], set_={"status": "queued", "reason": None, "updated_at": now}
        )
        conn.execute(stmt)
    elif conn.execute(_new_scan(conn), row).first() is None:  # known: the same content
        return False
    payload = {"repository": repository, "digest": digest}
    jobs.enqueue(conn, "scan", payload, dedupe_key=f"scan:{digest}")
    return True


def enqueue_rematch(conn: Connection) -> int | None:
    """Queue one rematch of every stored inventory, in the caller's transaction: an
    advisory import that changed something calls this. While one is queued, asking
    again queues nothing more."""
    return jobs.enqueue(conn, "rematch", {}, dedupe_key="rematch")


def set_status(conn: Connection, digest: str, status: str, reason: str | None = None) -> None:
    now = datetime.now(UTC)
    stmt = insert_for(conn, Scan).values(
        digest=digest, status=status, reason=reason, updated_at=now
    )
    values: dict[str, Any] = {"status": status, "reason": reason, "updated_at": now}
    if status in ("failed", "unsupported"):
        values["scanned_at"] = now
    conn.execute(stmt.on_conflict_do_update(index_elements=["digest"], set_=values))


def save_inventory(
    conn: Connection,
    digest: str,
    os: tuple[str, str, str] | None,
    unsupported: list[str],
    packages: list[dict[str, Any]],
) -> None:
    """Replace the digest's inventory and mark it ``done`` (findings are saved apart)."""
    now = datetime.now(UTC)
    os_id, os_version, pretty = os or (None, None, None)
    set_status(conn, digest, "done")
    conn.execute(
        update(Scan)
        .where(Scan.digest == digest)
        .values(
            scanned_at=now,
            os_id=os_id,
            os_version=os_version,
            os_pretty_name=pretty,
            unsupported=json.dumps(unsupported) if unsupported else None,
        )
    )
    conn.execute(delete(ScanPackage).where(ScanPackage.digest == digest))
    if packages:
        conn.execute(insert(ScanPackage), [{"digest": digest, **p} for p in packages])


def save_findings(
    conn: Connection, digest: str, findings: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Replace the digest's findings, keeping ``first_seen_at`` of those seen before;
    the findings that are new."""
    now = datetime.now(UTC)
    before = {
        tuple(r._mapping[k] for k in FINDING_KEY): r.first_seen_at
        for r in conn.execute(
            select(
                *(getattr(ScanFinding, k) for k in FINDING_KEY), ScanFinding.first_seen_at
            ).where(ScanFinding.digest == digest)
        )
    }
    conn.execute(delete(ScanFinding).where(ScanFinding.digest == digest))
    rows, new = [], []
    for finding in findings:
        key = tuple(finding[k] for k in FINDING_KEY)
        if key not in before:
            new.append(finding)
        row = {**finding, "aliases": json.dumps(list(finding["aliases"]))}
        rows.append({"digest": digest, **row, "first_seen_at": before.get(key, now)})
    if rows:
        conn.execute(insert(ScanFinding), rows)
    return new


def scan(conn: Connection, digest: str) -> ScanRecord | None:
    row = conn.execute(select(Scan).where(Scan.digest == digest)).first()
    if row is None:
        return None
    unsupported = json.loads(row.unsupported) if row.unsupported else []
    return ScanRecord(
        row.digest,
        row.status,
        row.reason,
        row.scanned_at,
        row.os_id,
        row.os_version,
        row.os_pretty_name,
        unsupported,
    )


def statuses(conn: Connection, digests: list[str]) -> dict[str, str]:
    stmt = select(Scan.digest, Scan.status).where(Scan.digest.in_(digests))
    return {digest: status for digest, status in conn.execute(stmt)}


def packages(conn: Connection, digest: str) -> list[dict[str, Any]]:
    cols = [getattr(ScanPackage, k) for k in PACKAGE_FIELDS]
    stmt = select(*cols).where(ScanPackage.digest == digest).order_by(ScanPackage.id)
    return [dict(r._mapping) for r in conn.execute(stmt)]


def findings(conn: Connection, digest: str) -> list[dict[str, Any]]:
    cols = [getattr(ScanFinding, k) for k in FINDING_FIELDS]
    stmt = (
        select(*cols, ScanFinding.first_seen_at)
        .where(ScanFinding.digest == digest)
        .order_by(ScanFinding.id)
    )
    found = []
    for r in conn.execute(stmt):
        row = dict(r._mapping)
        row["aliases"] = json.loads(row["aliases"])
        found.append(row)
    return found


def summaries(conn: Connection, digests: list[str]) -> dict[str, dict[str, int]]:
    """Digest -> {severity: count of findings}."""
    stmt = (
        select(ScanFinding.digest, ScanFinding.severity, func.count())
        .where(ScanFinding.digest.in_(digests))
        .group_by(ScanFinding.digest, ScanFinding.severity)
    )
    out: dict[str, dict[str, int]] = {}
    for digest, severity, n in conn.execute(stmt):
        out.setdefault(digest, {})[severity] = n
    return out


def overview(
    conn: Connection, digests: list[str]
) -> dict[str, tuple[str, str | None, dict[str, int]]]:
    """Digest -> (status, reason, {severity: count of findings}) in one query, for pages
    that show many manifests at once (a tag list). Digests never scanned are absent."""
    stmt = (
        select(
            Scan.digest, Scan.status, Scan.reason, ScanFinding.severity, func.count(ScanFinding.id)
        )
        .outerjoin(ScanFinding, ScanFinding.digest == Scan.digest)
        .where(Scan.digest.in_(digests))
        .group_by(Scan.digest, Scan.status, Scan.reason, ScanFinding.severity)
    )
    out: dict[str, tuple[str, str | None, dict[str, int]]] = {}
    for digest, status, reason, severity, n in conn.execute(stmt):
        counts = out.setdefault(digest, (status, reason, {}))[2]
        if severity is not None:
            counts[severity] = n
    return out


def inventoried(conn: Connection, after: str | None, limit: int) -> list[str]:
    """Digests with a stored inventory, in digest order from ``after`` (for rematching)."""
    stmt = select(Scan.digest).where(Scan.status == "done").order_by(Scan.digest).limit(limit)
    if after is not None:
        stmt = stmt.where(Scan.digest > after)
    return list(conn.scalars(stmt))


def manifest_payload(conn: Connection, digest: str) -> tuple[str, bytes] | None:
    """Media type and bytes of the manifest with this digest, from any repository."""
    stmt = select(Manifest.media_type, Manifest.payload).where(Manifest.digest == digest).limit(1)
    row = conn.execute(stmt).first()
    return (row.media_type, row.payload) if row else None


def tagged_manifests(
    conn: Connection, repository_ids: list[int]
) -> list[tuple[int, str, str, str]]:
    """(repository id, tag, digest, media type) of every tag in the repositories."""
    stmt = (
        select(Tag.repository_id, Tag.name, Manifest.digest, Manifest.media_type)
        .join(Manifest, Manifest.id == Tag.manifest_id)
        .where(Tag.repository_id.in_(repository_ids))
        .order_by(Tag.repository_id, Tag.name)
    )
    return [tuple(row) for row in conn.execute(stmt)]  # type: ignore[misc]


def children(conn: Connection, repository_id: int, digests: list[str]) -> dict[str, list[str]]:
    """Index digest -> the digests of the manifests it lists."""
    stmt = (
        select(Manifest.digest, ManifestReference.digest)
        .join(ManifestReference, ManifestReference.manifest_id == Manifest.id)
        .where(
            Manifest.repository_id == repository_id,
            Manifest.digest.in_(digests),
            ManifestReference.kind == "manifest",
        )
    )
    out: dict[str, list[str]] = {}
    for parent, child in conn.execute(stmt):
        out.setdefault(parent, []).append(child)
    return out


def repositories_with(conn: Connection, digest: str) -> list[str]:
    """Names of the repositories that hold the manifest ``digest``."""
    stmt = (
        select(Repository.name)
        .join(Manifest, Manifest.repository_id == Repository.id)
        .where(Manifest.digest == digest)
        .order_by(Repository.name)
    )
    return list(conn.scalars(stmt))


def forget_unused_many(conn: Connection, digests: list[str]) -> None:
    """Drop the scans of manifests no repository holds any more (their packages and
    findings go with them)."""
    if not digests:
        return
    held = set(conn.scalars(select(Manifest.digest).where(Manifest.digest.in_(digests))))
    gone = [d for d in digests if d not in held]
    if gone:
        conn.execute(delete(Scan).where(Scan.digest.in_(gone)))
