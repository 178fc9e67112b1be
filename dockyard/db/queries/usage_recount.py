"""Recount storage usage from what the counters count: blob links and manifests.

The counters in ``storage_usage`` and ``usage_refs`` are kept in the pushes' own
transactions (usage.py), so a recount should find nothing. When it does (a bug, a row
changed by hand, a restore of a partial backup), it writes the true values and says what
was off. The work goes in units: one top-level namespace with everything below it (a
namespace counts over all its projects, so they must be counted together), or a batch of
repositories no project owns. Each unit is one write transaction that first takes
``lock``: on PostgreSQL a lock on ``usage_refs`` against writers (SQLite has one writer
anyway), so a push waits the few milliseconds the unit takes and then counts on top of
the corrected values, never in between.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import delete, select, text, tuple_
from sqlalchemy.engine import Connection

from dockyard.db.models import (
    Blob,
    Manifest,
    Namespace,
    Project,
    Repository,
    RepositoryBlob,
    StorageUsage,
    UsageRef,
)
from dockyard.db.queries._upsert import insert_for
from dockyard.db.queries.accounts import ancestor_paths, project_candidates
from dockyard.db.queries.usage import NAMESPACE, PROJECT, REPOSITORY, Scope

BATCH = 500
LABELS = {REPOSITORY: "repository", PROJECT: "project", NAMESPACE: "group"}


@dataclass
class Unit:
    """Repositories counted together, and every scope they (or nothing) count in."""

    repositories: dict[int, list[Scope]] = field(default_factory=dict)  # id -> its scopes
    scopes: dict[Scope, str] = field(default_factory=dict)  # scope -> path, for reports


@dataclass(frozen=True)
class Plan:
    """What to recount, read before any write: top-level namespaces (each with all below
    it) and batches of repositories no project owned then (their own counters only)."""

    trees: list[str]
    loose: list[list[int]]
    repositories: int  # how many in all, for a progress bar
    weights: dict[str, int]  # top-level namespace -> its repositories


@dataclass(frozen=True)
class Finding:
    kind: str  # "repository" | "project" | "group"
    path: str
    old_bytes: int
    new_bytes: int
    refs_fixed: int  # (scope, digest) rows added, changed or removed


def plan(conn: Connection) -> Plan:
    projects = set(conn.scalars(select(Project.path)))
    trees = {path.split("/")[0] for path in conn.scalars(select(Namespace.path))}
    weights: dict[str, int] = defaultdict(int)
    loose: list[list[int]] = [[]]
    total = 0
    for repository_id, name in conn.execute(select(Repository.id, Repository.name)):
        total += 1
        owner = next((c for c in project_candidates(name) if c in projects), None)
        if owner is not None:
            weights[owner.split("/")[0]] += 1
            continue
        if len(loose[-1]) >= BATCH:
            loose.append([])
        loose[-1].append(repository_id)
    return Plan(sorted(trees), [b for b in loose if b], total, dict(weights))


def _under(column, path: str):  # noqa: ANN001, ANN202 - a SQL clause
    escaped = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return (column == path) | column.like(escaped + "/%", escape="\\")


def tree_unit(conn: Connection, top: str) -> Unit:
    """A top-level namespace, everything below it, and the repositories its projects own
    now (read inside the recount's transaction, after the lock)."""
    unit = Unit()
    namespaces = dict(
        conn.execute(select(Namespace.path, Namespace.id).where(_under(Namespace.path, top))).all()
    )
    projects = dict(
        conn.execute(select(Project.path, Project.id).where(_under(Project.path, top))).all()
    )
    for path, namespace_id in namespaces.items():
        unit.scopes[(NAMESPACE, namespace_id)] = path
    for path, project_id in projects.items():
        unit.scopes[(PROJECT, project_id)] = path
    stmt = select(Repository.id, Repository.name).where(_under(Repository.name, top))
    for repository_id, name in conn.execute(stmt):
        owner = next((c for c in project_candidates(name) if c in projects), None)
        if owner is None:
            continue
        above = [(NAMESPACE, namespaces[p]) for p in ancestor_paths(owner) if p in namespaces]
        unit.repositories[repository_id] = [
            (REPOSITORY, repository_id),
            (PROJECT, projects[owner]),
            *above,
        ]
        unit.scopes[(REPOSITORY, repository_id)] = name
    return unit


def loose_unit(conn: Connection, ids: list[int]) -> Unit:
    """Repositories no project owned at planning: their own counters only."""
    unit = Unit()
    for repository_id, name in conn.execute(
        select(Repository.id, Repository.name).where(Repository.id.in_(ids))
    ):
        unit.repositories[repository_id] = [(REPOSITORY, repository_id)]
        unit.scopes[(REPOSITORY, repository_id)] = name
    return unit


def _holdings(conn: Connection, ids: list[int]) -> dict[int, dict[str, list[int]]]:
    """Repository id -> digest -> [size, holdings], from the links and manifests."""
    found: dict[int, dict[str, list[int]]] = defaultdict(dict)
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        links = (
            select(RepositoryBlob.repository_id, Blob.digest, Blob.size)
            .join(Blob, Blob.digest == RepositoryBlob.digest)
            .where(RepositoryBlob.repository_id.in_(batch))
        )
        manifests = select(Manifest.repository_id, Manifest.digest, Manifest.size).where(
            Manifest.repository_id.in_(batch)
        )
        for stmt in (links, manifests):
            for repository_id, digest, size in conn.execute(stmt):
                found[repository_id].setdefault(digest, [size, 0])[1] += 1
    return found


def _expected(conn: Connection, unit: Unit) -> dict[Scope, dict[str, list[int]]]:
    truth: dict[Scope, dict[str, list[int]]] = {scope: {} for scope in unit.scopes}
    held = _holdings(conn, list(unit.repositories))
    for repository_id, scopes in unit.repositories.items():
        for digest, (size, count) in held.get(repository_id, {}).items():
            for scope in scopes:
                truth.setdefault(scope, {}).setdefault(digest, [size, 0])[1] += count
    return truth


def _stored(conn: Connection, scope: Scope) -> dict[str, tuple[int, int]]:
    stmt = select(UsageRef.digest, UsageRef.size, UsageRef.refs).where(
        UsageRef.scope_kind == scope[0], UsageRef.scope_id == scope[1]
    )
    return {digest: (size, refs) for digest, size, refs in conn.execute(stmt)}


def _used(conn: Connection, scopes: list[Scope]) -> dict[Scope, int]:
    found: dict[Scope, int] = {}
    for start in range(0, len(scopes), BATCH):
        stmt = select(StorageUsage.scope_kind, StorageUsage.scope_id, StorageUsage.used_bytes)
        stmt = stmt.where(
            tuple_(StorageUsage.scope_kind, StorageUsage.scope_id).in_(
                scopes[start : start + BATCH]
            )
        )
        found.update({(k, i): used for k, i, used in conn.execute(stmt)})
    return found


def lock(conn: Connection) -> None:
    """Hold off writers of usage_refs for this transaction (SQLite's writer lock does)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE usage_refs IN SHARE ROW EXCLUSIVE MODE"))


def check(conn: Connection, unit: Unit, dry_run: bool = False) -> list[Finding]:
    """Compare the unit's counters with the truth; fix them unless ``dry_run``. Call it
    after ``lock`` in the transaction that loaded the unit."""
    truth = _expected(conn, unit)
    used = _used(conn, list(truth))
    findings = []
    for scope, expected in truth.items():
        stored = _stored(conn, scope)
        wrong = {d for d in expected.keys() | stored.keys() if stored.get(d) != _row(expected, d)}
        new_bytes = sum(size for size, _count in expected.values())
        old_bytes = used.get(scope, 0)
        if wrong or old_bytes != new_bytes:
            label = LABELS[scope[0]]
            findings.append(
                Finding(label, unit.scopes.get(scope, "?"), old_bytes, new_bytes, len(wrong))
            )
            if not dry_run:
                _repair(conn, scope, expected, wrong, new_bytes)
    return findings


def _row(expected: dict[str, list[int]], digest: str) -> tuple[int, int] | None:
    row = expected.get(digest)
    return (row[0], row[1]) if row else None


def _repair(
    conn: Connection,
    scope: Scope,
    expected: dict[str, list[int]],
    wrong: set[str],
    new_bytes: int,
) -> None:
    kind, scope_id = scope
    mine = (UsageRef.scope_kind == kind, UsageRef.scope_id == scope_id)
    wrong_list = sorted(wrong)
    for start in range(0, len(wrong_list), BATCH):
        batch = wrong_list[start : start + BATCH]
        conn.execute(delete(UsageRef).where(*mine, UsageRef.digest.in_(batch)))
        rows = [
            {"scope_kind": kind, "scope_id": scope_id, "digest": d, "size": s, "refs": n}
            for d in batch
            if d in expected
            for s, n in [expected[d]]
        ]
        if rows:
            conn.execute(insert_for(conn, UsageRef).values(rows))
    stmt = insert_for(conn, StorageUsage).values(
        scope_kind=kind, scope_id=scope_id, used_bytes=new_bytes
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["scope_kind", "scope_id"], set_={"used_bytes": new_bytes}
        )
    )


def drop_stale(conn: Connection, dry_run: bool = False) -> list[Finding]:
    """Counters of scopes that no longer exist (a repository, project or namespace gone
    without its rows): reported and removed (after ``lock``)."""
    alive = {
        REPOSITORY: set(conn.scalars(select(Repository.id))),
        PROJECT: set(conn.scalars(select(Project.id))),
        NAMESPACE: set(conn.scalars(select(Namespace.id))),
    }
    counted = set(conn.execute(select(StorageUsage.scope_kind, StorageUsage.scope_id)).all())
    counted |= set(conn.execute(select(UsageRef.scope_kind, UsageRef.scope_id).distinct()).all())
    stale = sorted((k, i) for k, i in counted if i not in alive.get(k, set()))
    used = _used(conn, stale)
    findings = [
        Finding(LABELS.get(k, k), f"#{i} (gone)", used.get((k, i), 0), 0, 0) for k, i in stale
    ]
    if not dry_run:
        for kind, scope_id in stale:
            conn.execute(
                delete(UsageRef).where(UsageRef.scope_kind == kind, UsageRef.scope_id == scope_id)
            )
            conn.execute(
                delete(StorageUsage).where(
                    StorageUsage.scope_kind == kind, StorageUsage.scope_id == scope_id
                )
            )
    return findings
