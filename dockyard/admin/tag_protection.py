"""Protected and immutable tags: find the rules a push or delete meets, with the caller's
access level, and the seam cleanup policies ask before deleting a tag.

Pushes are the hot path, so each repository's rules are cached for ``CACHE_SECONDS`` per
process: a project without rules costs one dictionary lookup, and each pattern is
compiled once. Changes made through this process are seen at once; other processes
(server workers, replicas, the CLI) see them within that window (docs/permissions.md),
or at once with ``redis_url`` set: every change grows a generation in Redis that each
cached entry is checked against.
The rules themselves are ``dockyard.registry.protection``; managing them is
``dockyard.admin.tag_rules``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from dockyard.auth import policy as roles
from dockyard.auth.principal import Principal
from dockyard.auth.service import project_candidates
from dockyard.db.engine import Database
from dockyard.db.queries import accounts
from dockyard.db.queries import protection as rows
from dockyard.registry.protection import Protection, RuleSet, TagGuard
from dockyard.shared import SharedState
from dockyard.shared.local import LocalState

CACHE_SECONDS = 5.0
DELETES_OFF = "deletes are turned off on this registry (delete_enabled: false)"


class TagProtection:
    """One per process (built in create_app, or by a worker or the CLI)."""

    def __init__(
        self, db: Database, auth_on: bool = True, shared: SharedState | None = None
    ) -> None:
        self._db = db
        self._auth_on = auth_on  # with auth off everyone acts as an admin
        self._shared = shared or LocalState()
        self._cache: dict[str, tuple[float, int | None, RuleSet | None]] = {}
        self._lock = threading.Lock()

    # --- what applies ---------------------------------------------------------------

    def rules(self, repository: str) -> RuleSet | None:
        """The rules of the project owning ``repository`` (or named by it), None when it
        has none: the common case, answered from the cache."""
        now = time.monotonic()
        generation = self._shared.generation(rows.PROTECTION)  # read before the rules
        cached = self._cache.get(repository)
        if cached is not None and cached[0] > now and cached[1] == generation:
            return cached[2]
        with self._db.session() as conn:
            project = accounts.longest_project(conn, project_candidates(repository))
            found = RuleSet.of(project.path, rows.rules_of(conn, project.id)) if project else None
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[repository] = (now + CACHE_SECONDS, generation, found)
        return found

    def forget(self) -> None:
        """Drop the cache (after a rule changed)."""
        with self._lock:
            self._cache.clear()

    def level(self, principal: Principal, repository: str) -> int:
        """The caller's access level in the project owning ``repository``."""
        if not self._auth_on:
            return roles.ADMIN
        if principal.kind == "oidc":  # a CI job signed in by ID token: its trust's role
            with self._db.session() as conn:
                project = accounts.longest_project(conn, project_candidates(repository))
            return roles.trust_level(principal, project.id) if project else 0
        if principal.kind not in ("user", "job") or principal.user_id is None:
            return 0
        if principal.is_admin:
            return roles.ADMIN
        with self._db.session() as conn:
            project = accounts.longest_project(conn, project_candidates(repository))
            role = accounts.best_role(conn, principal.user_id, project) if project else 0
        return roles.tag_access_level(principal, role)

    def guard(
        self, principal: Principal, repository: str, reference: str, delete: bool = False
    ) -> TagGuard | None:
        """What a /v2 push (or ``delete``) of ``reference`` must pass, or None when no rule
        can apply: then the caller's level is never looked up. A push by digest creates no
        tag; a delete by digest takes the manifest's tags along."""
        found = self.rules(repository)
        if found is None or not found.may_apply(reference, delete):
            return None
        return TagGuard(found, self.level(principal, repository))

    def delete_refusal(
        self, principal: Principal, repository: str, tags: Iterable[str]
    ) -> str | None:
        """Why the caller may not delete one of ``tags`` (REST and UI deletes), or None."""
        found = self.rules(repository)
        if found is None:
            return None
        tags = list(tags)
        if not any(found.matching(t) for t in tags):
            return None
        return found.first_delete_refusal(tags, self.level(principal, repository))

    def repository_delete_refusal(
        self, principal: Principal, repository: str, repository_id: int
    ) -> str | None:
        """Why the caller may not delete the repository (it holds a tag they may not
        delete, or an immutable one), or None."""
        found = self.rules(repository)
        if found is None:
            return None
        with self._db.session() as conn:
            tags = rows.tag_names(conn, repository_id)
        refusal = self.delete_refusal(principal, repository, tags)
        return f"repository {repository} cannot be deleted: {refusal}" if refusal else None

    def protections(self, repository: str, tags: Iterable[str]) -> dict[str, Protection]:
        """Tag name -> what protects it, for the tags that rules match (listings, badges)."""
        found = self.rules(repository)
        if found is None:
            return {}
        shown = {tag: found.protection(tag) for tag in tags}
        return {tag: p for tag, p in shown.items() if p is not None}

    # --- the cleanup policies' seam -------------------------------------------------

    def cleanup_refusal_when(self, deletes_enabled: bool):  # noqa: ANN201 - may_delete's shape
        """``cleanup_refusal``, or, with ``delete_enabled`` off, a refusal of every tag:
        a registry that turned deletes off keeps everything, its policies' runs say why."""
        if deletes_enabled:
            return self.cleanup_refusal
        return lambda _project, _repository, _tag: DELETES_OFF

    def cleanup_refusal(self, project_path: str, repository: str, tag_name: str) -> str | None:
        """Why a cleanup policy keeps ``tag_name``, or None to delete it: the shape of
        ``may_delete`` in dockyard/admin/cleanup_service.py. Rules are per project, so
        ``repository`` changes nothing."""
        found = self.rules(project_path)
        return found.cleanup_refusal(tag_name) if found is not None else None

    def deletable_by_cleanup(self, project_path: str, tag_name: str) -> bool:
        """Whether a cleanup policy may delete ``tag_name`` in the project: never when a
        rule matches it, protected or immutable, as in GitLab."""
        return self.cleanup_filter(project_path)(tag_name)

    def cleanup_filter(self, project_path: str) -> Callable[[str], bool]:
        """``deletable_by_cleanup`` for many tags of one project, rules read once."""
        found = self.rules(project_path)
        if found is None:
            return lambda _tag: True
        return found.deletable_by_cleanup
