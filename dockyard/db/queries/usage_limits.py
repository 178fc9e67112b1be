"""Reading storage usage and setting limits (the counting is in usage.py).

A limit lives beside its scope's counter in ``storage_usage``; ``room`` says how much a
push into a repository may still store, and which scope is the tightest.
"""

from __future__ import annotations

from sqlalchemy import select, tuple_, union_all
from sqlalchemy.engine import Connection

from dockyard.db.models import Namespace, Project, StorageUsage, UsageRef
from dockyard.db.queries._upsert import insert_for
from dockyard.db.queries.usage import (
    NAMESPACE,
    PROJECT,
    Counter,
    Room,
    Scope,
    describe,
    owner_scopes,
)


def counters(conn: Connection, scopes: list[Scope]) -> dict[Scope, Counter]:
    """The counters of ``scopes``; a scope that never held anything counts 0, no limit."""
    if not scopes:
        return {}
    stmt = select(
        StorageUsage.scope_kind,
        StorageUsage.scope_id,
        StorageUsage.used_bytes,
        StorageUsage.limit_bytes,
    ).where(tuple_(StorageUsage.scope_kind, StorageUsage.scope_id).in_(scopes))
    found = {(k, i): Counter((k, i), used, limit) for k, i, used, limit in conn.execute(stmt)}
    return {s: found.get(s, Counter(s, 0, None)) for s in scopes}


def set_limit(conn: Connection, scope: Scope, limit: int | None) -> None:
    """Set (or with None remove) a project's or namespace's limit."""
    kind, scope_id = scope
    stmt = insert_for(conn, StorageUsage).values(
        scope_kind=kind, scope_id=scope_id, used_bytes=0, limit_bytes=limit
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["scope_kind", "scope_id"], set_={"limit_bytes": limit}
        )
    )


def limited_paths(conn: Connection) -> frozenset[str]:
    """Paths of every project and namespace that has a limit (a short list), in one query."""
    limited = StorageUsage.limit_bytes.is_not(None)
    projects = select(Project.path).join(
        StorageUsage,
        (StorageUsage.scope_kind == PROJECT) & (StorageUsage.scope_id == Project.id) & limited,
    )
    namespaces = select(Namespace.path).join(
        StorageUsage,
        (StorageUsage.scope_kind == NAMESPACE) & (StorageUsage.scope_id == Namespace.id) & limited,
    )
    return frozenset(conn.scalars(union_all(projects, namespaces)))


def room(conn: Connection, repository: str, digest: str | None = None) -> Room | None:
    """What a push into ``repository`` may still store (None: no limit applies). A
    scope that already holds ``digest`` does not count: the blob costs it nothing."""
    scopes = owner_scopes(conn, repository)
    limited = [c for c in counters(conn, scopes).values() if c.limit is not None]
    if digest is not None and limited:
        held = conn.execute(
            select(UsageRef.scope_kind, UsageRef.scope_id).where(
                tuple_(UsageRef.scope_kind, UsageRef.scope_id).in_([c.scope for c in limited]),
                UsageRef.digest == digest,
            )
        )
        holders = {(k, i) for k, i in held}
        limited = [c for c in limited if c.scope not in holders]
    if not limited:
        return None
    return describe(conn, min(limited, key=lambda c: (c.limit or 0) - c.used))


def namespace_scopes(conn: Connection, paths: list[str]) -> dict[str, Scope]:
    """Path -> scope of those of ``paths`` that are namespaces."""
    stmt = select(Namespace.path, Namespace.id).where(Namespace.path.in_(paths))
    return {path: (NAMESPACE, i) for path, i in conn.execute(stmt)}
