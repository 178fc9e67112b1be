"""Rows of cleanup policies and runs, the scheduler's claim on due policies, and what a
policy reads: a project's repositories, a repository's tags, what untagging freed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, tuple_, update
from sqlalchemy.engine import Connection

from dockyard.db.models import (
    Blob,
    CleanupPolicy,
    CleanupRun,
    Manifest,
    ManifestReference,
    Project,
    Repository,
    Tag,
)
from dockyard.db.queries._upsert import insert_for

POLICY_FIELDS = (
    "enabled",
    "cadence",
    "keep_n",
    "older_than",
    "name_regex",
    "name_regex_keep",
    "repository_regex",
)
BATCH = 500


@dataclass(frozen=True, slots=True)
class PolicyRow:
    enabled: bool
    cadence: str
    keep_n: int | None
    older_than: str | None
    name_regex: str | None
    name_regex_keep: str | None
    repository_regex: str | None
    next_run_at: datetime | None
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True, slots=True)
class RunRow:
    id: int
    trigger: str
    actor: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    tags_deleted: int
    tags_skipped: int
    bytes_freed: int
    errors: list[str]
    report: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class TagInfo:
    name: str
    pushed_at: datetime
    digest: str
    manifest_id: int


_POLICY = tuple(getattr(CleanupPolicy, f) for f in POLICY_FIELDS) + (
    CleanupPolicy.next_run_at,
    CleanupPolicy.updated_at,
    CleanupPolicy.updated_by,
)


def policy(conn: Connection, project_id: int) -> PolicyRow | None:
    row = conn.execute(select(*_POLICY).where(CleanupPolicy.project_id == project_id)).first()
    return PolicyRow(*row) if row else None


def save_policy(
    conn: Connection,
    project_id: int,
    values: dict[str, Any],
    next_run_at: datetime | None,
    now: datetime,
    actor: str,
) -> None:
    """Create or replace the project's policy (``values``: every field of POLICY_FIELDS)."""
    row = {f: values[f] for f in POLICY_FIELDS}
    row.update(next_run_at=next_run_at, updated_at=now, updated_by=actor[:255])
    stmt = insert_for(conn, CleanupPolicy).values(project_id=project_id, **row)
    conn.execute(stmt.on_conflict_do_update(index_elements=["project_id"], set_=row))


def due(conn: Connection, now: datetime) -> list[tuple[int, datetime, str]]:
    """(project id, next_run_at, cadence) of enabled policies whose time has come."""
    stmt = select(CleanupPolicy.project_id, CleanupPolicy.next_run_at, CleanupPolicy.cadence).where(
        CleanupPolicy.enabled.is_(True), CleanupPolicy.next_run_at <= now
    )
    return [tuple(row) for row in conn.execute(stmt)]  # type: ignore[misc]


def advance(conn: Connection, project_id: int, seen: datetime, next_run_at: datetime) -> bool:
    """Move a due policy's next run on, only if nobody did since ``seen`` was read: the
    one scheduler that wins this queues the run (PostgreSQL re-checks the WHERE after
    waiting on a concurrent update; SQLite has one writer at a time)."""
    result = conn.execute(
        update(CleanupPolicy)
        .where(
            CleanupPolicy.project_id == project_id,
            CleanupPolicy.enabled.is_(True),
            CleanupPolicy.next_run_at == seen,
        )
        .values(next_run_at=next_run_at)
    )
    return bool(result.rowcount)


# --- runs -----------------------------------------------------------------------------

_RUN = (
    CleanupRun.id,
    CleanupRun.trigger,
    CleanupRun.actor,
    CleanupRun.status,
    CleanupRun.started_at,
    CleanupRun.finished_at,
    CleanupRun.tags_deleted,
    CleanupRun.tags_skipped,
    CleanupRun.bytes_freed,
    CleanupRun.errors,
)


def _run_row(row: Any, report: str | None = None) -> RunRow:
    *head, errors = row
    return RunRow(*head, json.loads(errors), json.loads(report) if report else None)


def start_run(conn: Connection, project_id: int, trigger: str, actor: str, now: datetime) -> int:
    stmt = insert_for(conn, CleanupRun).values(
        project_id=project_id,
        trigger=trigger,
        actor=actor[:255],
        status="running",
        started_at=now,
        tags_deleted=0,
        tags_skipped=0,
        bytes_freed=0,
        errors="[]",
    )
    return conn.execute(stmt.returning(CleanupRun.id)).scalar_one()


def interrupt_runs(conn: Connection, project_id: int, now: datetime, reason: str) -> int:
    """Close runs left 'running' by a worker that died: only one run of a project runs at
    a time, so the caller (about to start one) knows they are not running any more."""
    result = conn.execute(
        update(CleanupRun)
        .where(CleanupRun.project_id == project_id, CleanupRun.status == "running")
        .values(status="failed", finished_at=now, errors=json.dumps([reason]))
    )
    return result.rowcount or 0


def finish_run(
    conn: Connection,
    run_id: int,
    *,
    status: str,
    now: datetime,
    tags_deleted: int,
    tags_skipped: int,
    bytes_freed: int,
    errors: list[str],
    report: dict[str, Any],
) -> None:
    conn.execute(
        update(CleanupRun)
        .where(CleanupRun.id == run_id)
        .values(
            status=status,
            finished_at=now,
            tags_deleted=tags_deleted,
            tags_skipped=tags_skipped,
            bytes_freed=bytes_freed,
            errors=json.dumps(errors),
            report=json.dumps(report, separators=(",", ":")),
        )
    )


def runs(conn: Connection, project_id: int, offset: int, limit: int) -> list[RunRow]:
    """A page of the project's runs, newest first."""
    stmt = (
        select(*_RUN)
        .where(CleanupRun.project_id == project_id)
        .order_by(CleanupRun.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [_run_row(row) for row in conn.execute(stmt)]


def count_runs(conn: Connection, project_id: int) -> int:
    stmt = select(func.count()).select_from(CleanupRun).where(CleanupRun.project_id == project_id)
    return conn.scalar(stmt) or 0


def run(conn: Connection, project_id: int, run_id: int) -> RunRow | None:
    """One run with its report (what it deleted and skipped)."""
    row = conn.execute(
        select(*_RUN, CleanupRun.report).where(
            CleanupRun.project_id == project_id, CleanupRun.id == run_id
        )
    ).first()
    return _run_row(row[:-1], row[-1]) if row else None


# --- what a policy reads --------------------------------------------------------------


def _escaped(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"


def repositories_under(conn: Connection, project_path: str) -> list[tuple[int, str]]:
    """(id, name) of every repository at or below ``project_path``, by name; a live one
    (not being deleted)."""
    stmt = (
        select(Repository.id, Repository.name)
        .where(
            or_(
                Repository.name == project_path,
                Repository.name.like(_escaped(project_path), escape="\\"),
            ),
            Repository.status.is_(None),
        )
        .order_by(Repository.name)
    )
    return [(rid, name) for rid, name in conn.execute(stmt)]


def projects_under(conn: Connection, project_path: str) -> set[str]:
    """Paths of the project and of the projects nested below it (they own their own
    repositories)."""
    stmt = select(Project.path).where(
        or_(Project.path == project_path, Project.path.like(_escaped(project_path), escape="\\"))
    )
    return set(conn.scalars(stmt))


def tags_of(conn: Connection, repository_id: int) -> list[TagInfo]:
    stmt = (
        select(Tag.name, Tag.updated_at, Manifest.digest, Tag.manifest_id)
        .join(Manifest, Manifest.id == Tag.manifest_id)
        .where(Tag.repository_id == repository_id)
    )
    return [TagInfo(*row) for row in conn.execute(stmt)]


def tag_pushed_at(conn: Connection, repository_id: int, name: str) -> datetime | None:
    stmt = select(Tag.updated_at).where(Tag.repository_id == repository_id, Tag.name == name)
    return conn.scalar(stmt)


def newer_tag_names(
    conn: Connection, repository_id: int, pushed: datetime, name: str
) -> Iterator[str]:
    """Names of the tags ranked after (``pushed``, ``name``) in cleanup's order (push
    time, then name), the nearest first, read lazily: a caller that stops early never
    fetches the rest. Names only: decoding 100,000 timestamps would cost more than the
    walk itself."""
    later = tuple_(Tag.updated_at, Tag.name) > tuple_(pushed, name)  # walks ix_tags_pushed
    stmt = (
        select(Tag.name)
        .where(Tag.repository_id == repository_id, later)
        .order_by(Tag.updated_at.asc(), Tag.name.asc())
    )
    return iter(conn.execute(stmt).scalars())


def present_tags(conn: Connection, repository_id: int, names: list[str]) -> set[str]:
    """Which of ``names`` are tags of the repository now."""
    found: set[str] = set()
    for start in range(0, len(names), BATCH):
        batch = names[start : start + BATCH]
        found.update(
            conn.scalars(
                select(Tag.name).where(Tag.repository_id == repository_id, Tag.name.in_(batch))
            )
        )
    return found


def _children(conn: Connection, manifest_ids: set[int], repository_id: int) -> set[int]:
    """Ids of the manifests (in the repository) that the given indexes list."""
    found: set[int] = set()
    ids = sorted(manifest_ids)
    for start in range(0, len(ids), BATCH):
        listed = select(ManifestReference.digest).where(
            ManifestReference.manifest_id.in_(ids[start : start + BATCH]),
            ManifestReference.kind == "manifest",
        )
        found.update(
            conn.scalars(
                select(Manifest.id).where(
                    Manifest.repository_id == repository_id, Manifest.digest.in_(listed)
                )
            )
        )
    return found


def _reachable(conn: Connection, roots: set[int], repository_id: int) -> set[int]:
    """``roots`` and every manifest their indexes list, to any depth."""
    seen, frontier = set(roots), set(roots)
    while frontier:
        frontier = _children(conn, frontier, repository_id) - seen
        seen |= frontier
    return seen


def freed_bytes(conn: Connection, repository_id: int, untagged: set[int]) -> int:
    """An estimate of what garbage collection frees once ``untagged`` (manifests whose
    tags were just deleted) go: the manifests no tag of the repository still reaches
    (directly or through an index), their own bytes, and the blobs they reference that
    no manifest still reached in the repository, nor any manifest of another repository,
    references. Each blob counts once."""
    tagged = set(conn.scalars(select(Tag.manifest_id).where(Tag.repository_id == repository_id)))
    kept = _reachable(conn, tagged, repository_id)
    gone = _reachable(conn, untagged - kept, repository_id) - kept
    if not gone:
        return 0
    ids = sorted(gone)
    total, digests = 0, set()
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        size = select(func.coalesce(func.sum(Manifest.size), 0)).where(Manifest.id.in_(batch))
        total += conn.scalar(size) or 0
        digests.update(
            conn.scalars(
                select(ManifestReference.digest).where(
                    ManifestReference.manifest_id.in_(batch), ManifestReference.kind == "blob"
                )
            )
        )
    return total + _unshared_size(conn, repository_id, digests, kept)


def _unshared_size(conn: Connection, repository_id: int, digests: set[str], kept: set[int]) -> int:
    """Bytes of the blobs among ``digests`` that no kept manifest of the repository and no
    manifest of another repository references."""
    wanted = sorted(digests)
    total = 0
    for start in range(0, len(wanted), BATCH):
        batch = wanted[start : start + BATCH]
        users = select(ManifestReference.digest).join(
            Manifest, Manifest.id == ManifestReference.manifest_id
        )
        elsewhere = users.where(
            ManifestReference.digest.in_(batch), Manifest.repository_id != repository_id
        ).distinct()
        still = set(conn.scalars(elsewhere))
        here = select(ManifestReference.manifest_id, ManifestReference.digest).join(
            Manifest, Manifest.id == ManifestReference.manifest_id
        )
        here = here.where(
            ManifestReference.digest.in_(batch), Manifest.repository_id == repository_id
        )
        still.update(digest for manifest_id, digest in conn.execute(here) if manifest_id in kept)
        free = [d for d in batch if d not in still]
        if free:
            size = select(func.coalesce(func.sum(Blob.size), 0)).where(Blob.digest.in_(free))
            total += conn.scalar(size) or 0
    return total
