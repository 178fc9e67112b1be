"""Storage usage and limits of repositories, projects and groups: read by the REST API,
the UI and the CLI, set by administrators (``storage_limit_bytes``; None removes it).

The numbers are the counters the registry keeps exact as it pushes and deletes
(dockyard/db/queries/usage.py); nothing here recounts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dockyard.admin import NotFound
from dockyard.db.engine import Database
from dockyard.db.queries import accounts, tokens, usage, usage_limits, usage_recount
from dockyard.db.records import ProjectRecord
from dockyard.sizes import MAX_BYTES, format_size
from dockyard.validation import InvalidInput


@dataclass(frozen=True)
class Usage:
    kind: str  # "repository" | "project" | "group" | "namespace" (a user's)
    path: str
    used_bytes: int
    limit_bytes: int | None


def _project_scope(conn: object, path: str) -> usage.Scope:
    project = accounts.project_by_path(conn, path)
    if project is None:
        raise NotFound(f"no project {path!r}")
    return (usage.PROJECT, project.id)


def _group_scope(conn: object, path: str) -> tuple[usage.Scope, str]:
    namespace = accounts.namespace_by_path(conn, path)
    if namespace is None:
        raise NotFound(f"no group {path!r}")
    return (usage.NAMESPACE, namespace.id), namespace.kind


def _usage(conn: object, kind: str, path: str, scope: usage.Scope) -> Usage:
    counter = usage_limits.counters(conn, [scope])[scope]
    return Usage(kind, path, counter.used, counter.limit)


def project_usage(db: Database, path: str) -> Usage:
    with db.session() as conn:
        return _usage(conn, "project", path, _project_scope(conn, path))


def group_usage(db: Database, path: str) -> Usage:
    """A group's usage (or a user's namespace's): everything its projects and subgroups
    hold, each digest once."""
    with db.session() as conn:
        scope, kind = _group_scope(conn, path)
        return _usage(conn, "group" if kind == "group" else "namespace", path, scope)


def repository_usage(db: Database, repository_id: int, name: str) -> Usage:
    """A repository's usage; repositories have no limit of their own."""
    with db.session() as conn:
        return _usage(conn, "repository", name, (usage.REPOSITORY, repository_id))


def projects_usage(db: Database, projects: list[ProjectRecord]) -> dict[int, Usage]:
    """Project id -> usage, in one query (listings)."""
    with db.session() as conn:
        found = usage_limits.counters(conn, [(usage.PROJECT, p.id) for p in projects])
    counted = {p.id: found[(usage.PROJECT, p.id)] for p in projects}
    return {
        p.id: Usage("project", p.path, counted[p.id].used, counted[p.id].limit) for p in projects
    }


def groups_usage(db: Database, paths: list[str]) -> dict[str, Usage]:
    """Group path -> usage, in two queries (listings)."""
    with db.session() as conn:
        scopes = usage_limits.namespace_scopes(conn, paths)
        found = usage_limits.counters(conn, list(scopes.values()))
    return {p: Usage("group", p, found[s].used, found[s].limit) for p, s in scopes.items()}


def applicable(db: Database, path: str, kind: str = "project") -> list[Usage]:
    """A project's (or group's) usage, then every group above it that has a limit: what a
    push there must fit, nearest first."""
    with db.session() as conn:
        if kind == "project":
            found = [_usage(conn, "project", path, _project_scope(conn, path))]
        else:
            scope, ns_kind = _group_scope(conn, path)
            found = [_usage(conn, "group" if ns_kind == "group" else "namespace", path, scope)]
        above = accounts.ancestor_paths(path)
        scopes = usage_limits.namespace_scopes(conn, above)
        counters = usage_limits.counters(conn, list(scopes.values()))
    for ancestor in reversed(above):
        scope = scopes.get(ancestor)
        counter = counters.get(scope) if scope else None
        if counter is not None and counter.limit is not None:
            found.append(Usage("group", ancestor, counter.used, counter.limit))
    return found


def _check_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not 0 <= limit <= MAX_BYTES):
        raise InvalidInput(f"storage_limit_bytes must be a whole number from 0 to {MAX_BYTES}")


def set_project_limit(db: Database, path: str, limit: int | None, actor: str) -> Usage:
    """Set (None: remove) a project's limit; audited."""
    _check_limit(limit)
    with db.session(write=True) as conn:
        scope = _project_scope(conn, path)
        usage_limits.set_limit(conn, scope, limit)
        tokens.audit(conn, actor, "storage_limit", f"project {path}", None, _shown(limit))
        return _usage(conn, "project", path, scope)


def set_group_limit(db: Database, path: str, limit: int | None, actor: str) -> Usage:
    """Set (None: remove) a group's limit; audited. Users' namespaces take none."""
    _check_limit(limit)
    with db.session(write=True) as conn:
        scope, kind = _group_scope(conn, path)
        if kind != "group":
            raise NotFound(f"no group {path!r} ({path} is a user's namespace)")
        usage_limits.set_limit(conn, scope, limit)
        tokens.audit(conn, actor, "storage_limit", f"group {path}", None, _shown(limit))
        return _usage(conn, "group", path, scope)


def _shown(limit: int | None) -> str:
    return "no limit" if limit is None else f"{limit} bytes ({format_size(limit)})"


@dataclass(frozen=True)
class RecountReport:
    repositories: int
    findings: list[usage_recount.Finding]
    dry_run: bool

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass(frozen=True)
class Progress:
    start: Callable[[int], None]  # the number of repositories to count
    advance: Callable[[int], None]  # how many more are done


def recount(db: Database, progress: Progress | None = None, dry_run: bool = False) -> RecountReport:
    """Recount every counter from the links and manifests, one top-level namespace (or
    batch of repositories without a project) per transaction; repair what was off
    unless ``dry_run``. Safe while the server runs."""
    with db.session() as conn:
        plan = usage_recount.plan(conn)
    if progress:
        progress.start(plan.repositories)
    findings: list[usage_recount.Finding] = []
    units = [(usage_recount.tree_unit, top, plan.weights.get(top, 0)) for top in plan.trees]
    units += [(usage_recount.loose_unit, ids, len(ids)) for ids in plan.loose]
    for load, key, weight in units:
        with db.session(write=True) as conn:
            usage_recount.lock(conn)
            findings += usage_recount.check(conn, load(conn, key), dry_run)
        if progress:
            progress.advance(weight)
    with db.session(write=True) as conn:
        usage_recount.lock(conn)
        findings += usage_recount.drop_stale(conn, dry_run)
    return RecountReport(plan.repositories, findings, dry_run)
