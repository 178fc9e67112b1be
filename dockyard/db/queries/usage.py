"""Storage usage per repository, project and namespace, kept exact in the writer's transaction.

A repository *holds* a digest once per blob link (``repository_blobs``) and once per
manifest row. A scope (the repository itself, the project that owns it, every namespace
above that project) counts each digest once, however many holdings it has:
``usage_refs`` keeps the number of holdings per (scope, digest) and ``storage_usage`` the
sum of the sizes of the digests a scope holds. Every function takes the caller's
connection, so the counters change in the transaction that changes what they count:

- ``on_link(conn, repository_id, digest, size)`` after a link or manifest row is inserted,
  ``on_unlink(conn, repository_id, digest)`` after one is deleted (``on_unlink_many`` for
  a batch). Code that inserts or deletes those rows MUST call them; ``blobs.link``/
  ``blobs.unlink`` and ``manifests.store``/``manifests.remove`` do.
- ``on_repository_removed`` before a repository row is deleted (its rows cascade away);
  ``attach_project``/``detach_project`` when a project is created or deleted (which
  repositories a project owns follows from their names).

Lock order on PostgreSQL: ``usage_refs`` rows first, ``storage_usage`` rows last and in
(kind, id) order, so two writers never wait on each other in a cycle, and the counter
row's lock makes the limit check at the end of a push exact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, literal, select, text, tuple_, union_all, update
from sqlalchemy.engine import Connection

from dockyard.db.models import Blob, Namespace, Project, Repository, StorageUsage, UsageRef
from dockyard.db.queries import accounts
from dockyard.db.queries._upsert import insert_for

REPOSITORY, PROJECT, NAMESPACE = "r", "p", "n"
Scope = tuple[str, int]
BATCH = 500


@dataclass(frozen=True, slots=True)
class Counter:
    scope: Scope
    used: int
    limit: int | None


@dataclass(frozen=True, slots=True)
class Room:
    """How much more a push may store: the scope with the least room left."""

    bytes: int
    kind: str  # "project" | "group" | "namespace"
    path: str
    used: int
    limit: int


class QuotaExceeded(Exception):
    """A write would take a scope past its limit; the caller's transaction rolls back."""

    def __init__(self, room: Room, needed: int) -> None:
        super().__init__(f"{room.kind} {room.path}: {room.used} of {room.limit} bytes used")
        self.room = room
        self.needed = needed


# The hot path of every push: statements built once and executed with bound parameters,
# so SQLAlchemy compiles each once, and one round trip per step (on PostgreSQL each costs
# more than the work): the scopes, the digest's holdings in all of them, their counters.
_NAME = select(Repository.name).where(Repository.id == bindparam("rid"))
_OWNERS = union_all(
    select(literal(PROJECT), Project.id, Project.path).where(
        Project.path.in_(bindparam("candidates", expanding=True))
    ),
    select(literal(NAMESPACE), Namespace.id, Namespace.path).where(
        Namespace.path.in_(bindparam("prefixes", expanding=True))
    ),
)
_SIZE = select(Blob.size).where(Blob.digest == bindparam("digest"))
_IN_SCOPE = (
    UsageRef.scope_kind == bindparam("kind"),
    UsageRef.scope_id == bindparam("sid"),
    UsageRef.digest.in_(bindparam("digests", expanding=True)),
)
_TAKE = (
    update(UsageRef)
    .where(*_IN_SCOPE)
    .values(refs=UsageRef.refs - bindparam("n"))
    .returning(UsageRef.size, UsageRef.refs)
)
_DROP = delete(UsageRef).where(*_IN_SCOPE, UsageRef.refs <= 0)
_UPSERTS: dict[tuple[str, int], Any] = {}


def _upsert(what: str, rows: int) -> Any:
    """A multi-row upsert of ``rows`` scopes: ``hold`` adds ``n`` holdings of a digest
    (returning each scope's count), ``add`` adds ``delta{j}`` bytes (returning each
    scope's usage and limit). Rows are locked in the order given.

    Plain SQL, the same on SQLite and PostgreSQL: SQLAlchemy compiles a multi-row VALUES
    anew on every call, which cost more than the whole statement."""
    found = _UPSERTS.get((what, rows))
    if found is not None:
        return found
    if what == "hold":
        values = ", ".join(f"(:kind{j}, :sid{j}, :digest, :size, :n)" for j in range(rows))
        sql = (
            "INSERT INTO usage_refs (scope_kind, scope_id, digest, size, refs) "
            f"VALUES {values} ON CONFLICT (scope_kind, scope_id, digest) "
            "DO UPDATE SET refs = usage_refs.refs + excluded.refs "
            "RETURNING scope_kind, scope_id, refs"
        )
    else:
        values = ", ".join(f"(:kind{j}, :sid{j}, :delta{j})" for j in range(rows))
        sql = (
            "INSERT INTO storage_usage (scope_kind, scope_id, used_bytes) "
            f"VALUES {values} ON CONFLICT (scope_kind, scope_id) "
            "DO UPDATE SET used_bytes = storage_usage.used_bytes + excluded.used_bytes "
            "RETURNING scope_kind, scope_id, used_bytes, limit_bytes"
        )
    found = _UPSERTS[(what, rows)] = text(sql)
    return found


def owner_scopes(conn: Connection, repository: str) -> list[Scope]:
    """The project that owns a repository name and the namespaces above it (none
    without a project), in one query."""
    candidates = accounts.project_candidates(repository)
    prefixes = accounts.ancestor_paths(repository)
    found = conn.execute(_OWNERS, {"candidates": candidates, "prefixes": prefixes}).all()
    projects = [(path, i) for kind, i, path in found if kind == PROJECT]
    if not projects:
        return []
    path, project_id = max(projects, key=lambda p: len(p[0]))
    above = set(accounts.ancestor_paths(path))
    namespaces = [i for kind, i, p in found if kind == NAMESPACE and p in above]
    return [(PROJECT, project_id), *((NAMESPACE, i) for i in sorted(namespaces))]


def _scopes(conn: Connection, repository_id: int, name: str | None = None) -> list[Scope]:
    """The repository's own scope and its owners'; ``name``, when the caller knows it,
    saves reading it."""
    if name is None:
        name = conn.scalar(_NAME, {"rid": repository_id})
    if name is None:
        return []
    return sorted([(REPOSITORY, repository_id), *owner_scopes(conn, name)])


def _in(scopes: list[Scope]):  # noqa: ANN202 - a SQL clause
    return tuple_(UsageRef.scope_kind, UsageRef.scope_id).in_(scopes)


def _add(conn: Connection, deltas: dict[Scope, int]) -> list[Counter]:
    """Add each delta to its scope's counter (created at 0), in scope order; the
    counters after."""
    changed = sorted((scope, d) for scope, d in deltas.items() if d)
    if not changed:
        return []
    values = {}
    for j, ((kind, scope_id), delta) in enumerate(changed):
        values.update({f"kind{j}": kind, f"sid{j}": scope_id, f"delta{j}": delta})
    rows = conn.execute(_upsert("add", len(changed)), values)
    return [Counter((k, i), used, limit) for k, i, used, limit in rows]


def on_link(
    conn: Connection,
    repository_id: int,
    digest: str,
    size: int | None = None,
    enforce: str | None = None,
    repository: str | None = None,
) -> None:
    """Count a new holding of ``digest`` by the repository (``size`` None: the blob's;
    ``repository``: its name, if known).

    ``enforce`` refuses with QuotaExceeded, after the counters moved (so the check sees
    every committed push): ``"fit"`` when a scope would end above its limit (blobs),
    ``"under"`` when a scope already was above it (manifests: an image whose blobs fit
    can always be finished). A digest the scope already holds costs nothing.
    """
    scopes = _scopes(conn, repository_id, repository)
    if not scopes:
        return
    if size is None:
        size = conn.scalar(_SIZE, {"digest": digest}) or 0
    values: dict[str, object] = {"digest": digest, "size": size, "n": 1}
    for j, (kind, scope_id) in enumerate(scopes):
        values.update({f"kind{j}": kind, f"sid{j}": scope_id})
    held = conn.execute(_upsert("hold", len(scopes)), values)
    grown = {(k, i): size for k, i, refs in held if refs == 1}  # new in these scopes
    counters = _add(conn, grown)
    if enforce is not None and size:
        _enforce(conn, counters, size, enforce)


def _enforce(conn: Connection, counters: list[Counter], size: int, rule: str) -> None:
    refused = []
    for counter in counters:
        before = counter.used - size
        if counter.limit is None or counter.scope[0] == REPOSITORY:
            continue
        if (counter.used if rule == "fit" else before) > counter.limit:
            refused.append(Counter(counter.scope, before, counter.limit))
    if refused:
        tightest = min(refused, key=lambda c: (c.limit or 0) - c.used)
        raise QuotaExceeded(describe(conn, tightest), size)


def on_unlink(conn: Connection, repository_id: int, digest: str) -> None:
    """Count a removed holding of ``digest`` by the repository."""
    scopes = _scopes(conn, repository_id)
    if scopes:
        _add(conn, _release(conn, scopes, {digest: 1}))


def on_unlink_many(conn: Connection, removed: Iterable[tuple[int, str]]) -> None:
    """``on_unlink`` for many (repository id, digest) holdings at once (a garbage
    collection pass deleting links or manifests in bulk); one holding per pair."""
    by_repository: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for repository_id, digest in removed:
        by_repository[repository_id][digest] += 1
    freed: dict[Scope, int] = defaultdict(int)
    for repository_id in sorted(by_repository):
        scopes = _scopes(conn, repository_id)
        if scopes:
            _merge(freed, _release(conn, scopes, by_repository[repository_id]))
    _add(conn, freed)  # the counters last, once: the lock order of the module docstring


def _merge(total: dict[Scope, int], more: dict[Scope, int]) -> None:
    for scope, delta in more.items():
        total[scope] += delta


def _release(conn: Connection, scopes: list[Scope], holdings: dict[str, int]) -> dict[Scope, int]:
    """Take ``holdings`` (digest -> how many) away from each scope and drop what reaches
    0; the bytes each scope frees (for ``_add``, which the caller runs last)."""
    freed: dict[Scope, int] = defaultdict(int)
    by_count: dict[int, list[str]] = defaultdict(list)
    for digest, count in sorted(holdings.items()):
        by_count[count].append(digest)
    for kind, scope_id in sorted(scopes):
        for count, digests in by_count.items():
            for start in range(0, len(digests), BATCH):
                values = {"kind": kind, "sid": scope_id, "digests": digests[start : start + BATCH]}
                for size, refs in conn.execute(_TAKE, {**values, "n": count}):
                    if refs <= 0:
                        freed[(kind, scope_id)] -= size
                conn.execute(_DROP, values)
    return freed


def _hold(
    conn: Connection, scopes: list[Scope], holdings: dict[str, tuple[int, int]]
) -> dict[Scope, int]:
    """Add ``holdings`` (digest -> (size, how many)) to each scope; the bytes each gains
    (for ``_add``, which the caller runs last)."""
    grown: dict[Scope, int] = defaultdict(int)
    items = sorted(holdings.items())
    for kind, scope_id in sorted(scopes):
        for start in range(0, len(items), BATCH):
            rows = [
                {"scope_kind": kind, "scope_id": scope_id, "digest": d, "size": s, "refs": n}
                for d, (s, n) in items[start : start + BATCH]
            ]
            stmt = insert_for(conn, UsageRef).values(rows)
            stmt = stmt.on_conflict_do_update(
                index_elements=["scope_kind", "scope_id", "digest"],
                set_={"refs": UsageRef.refs + stmt.excluded.refs},
            ).returning(UsageRef.digest, UsageRef.refs)
            for digest, refs in conn.execute(stmt):
                size, count = holdings[digest]
                if refs == count:  # nothing was there before
                    grown[(kind, scope_id)] += size
    return grown


def holdings(conn: Connection, repository_id: int) -> dict[str, tuple[int, int]]:
    """Digest -> (size, holdings) of one repository, as its own scope counts them."""
    stmt = select(UsageRef.digest, UsageRef.size, UsageRef.refs).where(
        UsageRef.scope_kind == REPOSITORY, UsageRef.scope_id == repository_id
    )
    return {digest: (size, refs) for digest, size, refs in conn.execute(stmt)}


def on_repository_removed(conn: Connection, repository_id: int) -> None:
    """Before a repository row is deleted: its holdings leave every scope, its rows go."""
    held = holdings(conn, repository_id)
    name = conn.scalar(select(Repository.name).where(Repository.id == repository_id))
    owners = owner_scopes(conn, name) if name is not None else []
    if held and owners:
        _add(conn, _release(conn, owners, {d: n for d, (_s, n) in held.items()}))
    _forget(conn, (REPOSITORY, repository_id))


def _forget(conn: Connection, scope: Scope) -> None:
    kind, scope_id = scope
    conn.execute(delete(UsageRef).where(UsageRef.scope_kind == kind, UsageRef.scope_id == scope_id))
    conn.execute(
        delete(StorageUsage).where(
            StorageUsage.scope_kind == kind, StorageUsage.scope_id == scope_id
        )
    )


def project_repositories(conn: Connection, path: str) -> list[int]:
    """Ids of the repositories a project at ``path`` owns (whether or not it exists yet)."""
    escaped = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    stmt = select(Repository.id, Repository.name).where(
        (Repository.name == path) | Repository.name.like(escaped + "/%", escape="\\")
    )
    return [rid for rid, name in conn.execute(stmt) if path in accounts.project_candidates(name)]


def attach_project(conn: Connection, project_id: int) -> None:
    """A new project now owns the repositories its path names: count them in it and in
    the namespaces above it (they exist already when auth is off)."""
    path = conn.scalar(select(Project.path).where(Project.id == project_id))
    repositories = project_repositories(conn, path) if path else []
    if repositories:
        scopes = owner_scopes(conn, path)
        grown: dict[Scope, int] = defaultdict(int)
        for repository_id in repositories:
            _merge(grown, _hold(conn, scopes, holdings(conn, repository_id)))
        _add(conn, grown)


def detach_project(conn: Connection, project_id: int) -> None:
    """Before a project is deleted: its repositories stop counting in the namespaces
    above it; its own counter and limit go."""
    path = conn.scalar(select(Project.path).where(Project.id == project_id))
    if path is not None:
        above = [s for s in owner_scopes(conn, path) if s[0] == NAMESPACE]
        freed: dict[Scope, int] = defaultdict(int)
        for repository_id in project_repositories(conn, path):
            held = holdings(conn, repository_id)
            if held and above:
                _merge(freed, _release(conn, above, {d: n for d, (_s, n) in held.items()}))
        _add(conn, freed)
    _forget(conn, (PROJECT, project_id))


def describe(conn: Connection, counter: Counter) -> Room:
    """The counter as a refusal shows it: the scope's kind and path, its room left."""
    kind, scope_id = counter.scope
    if kind == PROJECT:
        path = conn.scalar(select(Project.path).where(Project.id == scope_id))
        label = "project"
    else:
        path, ns_kind = conn.execute(
            select(Namespace.path, Namespace.kind).where(Namespace.id == scope_id)
        ).one()
        label = "group" if ns_kind == "group" else "namespace"
    limit = counter.limit or 0
    return Room(max(limit - counter.used, 0), label, path or "?", counter.used, limit)
