"""Project vulnerability policies: change them, list and grant exceptions, and decide
whether a pull may go ahead.

The decision itself is ``dockyard.scan.policy``; this module loads what it needs. Pulls
are the hot path, so each repository's policy and exceptions are cached for
``CACHE_SECONDS`` per process (a project without a policy costs one dictionary lookup);
changes made through this process are seen at once, other processes see them within
that window (written down in docs/scanning.md), or at once with ``redis_url`` set (a
generation in Redis that every change grows and each cached entry is checked against).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from dockyard.admin import AdminError, NotFound
from dockyard.auth import policy as roles
from dockyard.auth.principal import Principal
from dockyard.auth.service import project_candidates
from dockyard.db.engine import Database
from dockyard.db.queries import accounts, scans
from dockyard.db.queries import policies as rows
from dockyard.db.queries import tokens as audit_rows
from dockyard.db.records import ProjectRecord
from dockyard.scan import policy
from dockyard.scan.policy import BLOCKABLE, Exemption, Finding, Policy
from dockyard.shared import SharedState
from dockyard.shared.local import LocalState

CACHE_SECONDS = 5.0


class Unknown:
    """Not known without I/O (see ``PullPolicies.cached_guard``)."""


UNKNOWN = Unknown()
FIELDS = ("block_severity", "block_unscanned", "allow_maintainers", "attach_sbom")
NO_POLICY = rows.PolicyRow(None, False, False, False)
ADVISORY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+-]{0,99}")
MAX_REASON = 2000


@dataclass(frozen=True, slots=True)
class Guard:
    """What a pull check needs to know about one repository's project."""

    project: ProjectRecord
    policy: Policy
    exemptions: tuple[Exemption, ...]


def validate_severity(value: object) -> str | None:
    if value is None or value in BLOCKABLE:
        return value  # type: ignore[return-value]
    raise AdminError(f"block_severity must be one of {', '.join(BLOCKABLE)} or null")


def validate_advisory_id(value: str) -> str:
    if not ADVISORY_ID.fullmatch(value):
        raise AdminError(
            "the exception id must name an advisory such as CVE-2024-3094 or GHSA-xxxx-xxxx-"
            "xxxx (letters, digits, and . _ : + -, at most 100 characters)"
        )
    return value


class PullPolicies:
    def __init__(self, db: Database, shared: SharedState | None = None) -> None:
        self._db = db
        self._shared = shared or LocalState()
        self._local = isinstance(self._shared, LocalState)  # generations need no I/O
        self._cache: dict[str, tuple[float, int | None, Guard | None]] = {}
        self._lock = threading.Lock()

    # --- management ---------------------------------------------------------------

    def settings(self, project: ProjectRecord) -> rows.PolicyRow:
        """The project's pull policy and whether it attaches SBOMs (defaults if unset)."""
        with self._db.session() as conn:
            return rows.policy(conn, project.id) or NO_POLICY

    def policy(self, project: ProjectRecord) -> Policy:
        return _policy(self.settings(project))

    def policies(self, projects: list[ProjectRecord]) -> dict[int, rows.PolicyRow]:
        """Each project's settings by id, in one query (for listings)."""
        with self._db.session() as conn:
            found = rows.policies_of(conn, [p.id for p in projects])
        return {p.id: found.get(p.id, NO_POLICY) for p in projects}

    def update(self, project: ProjectRecord, changes: dict[str, object], actor: str) -> Policy:
        """Apply a partial change (only the keys given) and record it in the audit log;
        ``attach_sbom`` rides along with the pull policy's fields."""
        unknown = set(changes) - set(FIELDS)
        if unknown:
            raise AdminError(f"unknown vulnerability_policy fields: {', '.join(sorted(unknown))}")
        if "block_severity" in changes:
            validate_severity(changes["block_severity"])
        for flag in FIELDS[1:]:
            if flag in changes and not isinstance(changes[flag], bool):
                raise AdminError(f"{flag} must be true or false")
        current = replace(self.settings(project), **changes)  # type: ignore[arg-type]
        with self._db.session(write=True) as conn:
            rows.set_policy(conn, project.id, current)
            said = _policy(current).describe() + (", attaches SBOMs" if current.attach_sbom else "")
            audit_rows.audit(conn, actor, "vulnerability_policy", project.path, None, said)
        self.forget()
        return _policy(current)

    def exceptions(self, project: ProjectRecord) -> list[rows.ExceptionRow]:
        with self._db.session() as conn:
            return rows.exceptions(conn, project.id)

    def grant(
        self,
        project: ProjectRecord,
        advisory_id: str,
        reason: str,
        expires_at: datetime | None,
        actor: str,
        by: str,
    ) -> tuple[rows.ExceptionRow, bool]:
        """Create or replace the exception for ``advisory_id``; True when it is new.
        ``actor`` is the audit log's name of the caller, ``by`` the user shown."""
        validate_advisory_id(advisory_id)
        reason = reason.strip()
        if not reason or len(reason) > MAX_REASON:
            raise AdminError(f"give a reason (1 to {MAX_REASON} characters) for the exception")
        now = datetime.now(UTC)
        if expires_at is not None:
            if expires_at.tzinfo is None:
                raise AdminError("expires_at needs a time zone, e.g. 2027-01-31T00:00:00Z")
            if expires_at <= now:
                raise AdminError("expires_at is in the past: an exception must end later")
        row = rows.ExceptionRow(advisory_id, reason, expires_at, by, now)
        with self._db.session(write=True) as conn:
            created = rows.put_exception(conn, project.id, row)
            until = expires_at.isoformat() if expires_at else "no expiry"
            audit_rows.audit(
                conn,
                actor,
                "vulnerability_exception",
                f"{project.path}:{advisory_id}",
                None,
                f"until {until}: {reason}",
            )
        self.forget()
        return row, created

    def revoke(self, project: ProjectRecord, advisory_id: str, actor: str) -> None:
        with self._db.session(write=True) as conn:
            if not rows.delete_exception(conn, project.id, advisory_id):
                raise NotFound(f"no vulnerability exception {advisory_id!r} in {project.path}")
            audit_rows.audit(
                conn,
                actor,
                "vulnerability_exception_deleted",
                f"{project.path}:{advisory_id}",
                None,
            )
        self.forget()

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    # --- enforcement ----------------------------------------------------------------

    def cached_guard(self, repository: str) -> Guard | None | Unknown:
        """``guard``'s answer when it needs no I/O (a fresh cache entry and no Redis to
        ask for the generation), else ``UNKNOWN``: a server calls this on its event loop
        and ``guard`` in a thread only when it must (the hop was half a GET's time)."""
        if not self._local:
            return UNKNOWN
        cached = self._cache.get(repository)
        if cached is not None and cached[0] > time.monotonic():
            return cached[2]
        return UNKNOWN

    def guard(self, repository: str) -> Guard | None:
        """The repository's active policy, or None (the common case, from the cache)."""
        now = time.monotonic()
        generation = self._shared.generation(rows.POLICIES)  # read before the policy
        cached = self._cache.get(repository)
        if cached is not None and cached[0] > now and cached[1] == generation:
            return cached[2]
        guard = self._load(repository)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[repository] = (now + CACHE_SECONDS, generation, guard)
        return guard

    def refusal(
        self, guard: Guard, repository: str, digest: str, principal: Principal
    ) -> str | None:
        """Why pulling ``digest`` from ``repository`` is refused, or None; a refusal and a
        maintainer's permitted pull of a blocked image are written to the audit log."""
        now = datetime.now(UTC)
        with self._db.session() as conn:
            record = scans.scan(conn, digest)
            status = record.status if record else None
            found = rows.blocking_findings(conn, digest, guard.policy.blocking())
            findings = [Finding(a, tuple(al), s, p) for a, al, s, p in found]
            message = policy.refusal(
                guard.project.path, guard.policy, status, findings, list(guard.exemptions), now
            )
            if message is None:
                return None
            bypass = guard.policy.allow_maintainers and _maintainer(conn, principal, guard)
        action = "pull_blocked_bypassed" if bypass else "pull_blocked"
        with self._db.session(write=True) as conn:
            audit_rows.audit(
                conn,
                principal.actor,
                action,
                f"{repository}@{digest}",
                None,
                message,
                credential_kind=principal.credential_kind,
                credential_id=principal.credential_id,
            )
        return None if bypass else message

    def _load(self, repository: str) -> Guard | None:
        with self._db.session() as conn:
            project = accounts.longest_project(conn, project_candidates(repository))
            if project is None:
                return None
            found = rows.policy(conn, project.id)
            if found is None or not _policy(found).active:
                return None
            exemptions = tuple(
                Exemption(e.advisory_id, e.expires_at) for e in rows.exceptions(conn, project.id)
            )
        return Guard(project, _policy(found), exemptions)


def _policy(row: rows.PolicyRow) -> Policy:
    return Policy(row.block_severity, row.block_unscanned, row.allow_maintainers)


def _maintainer(conn: object, principal: Principal, guard: Guard) -> bool:
    if principal.kind != "user":
        return False
    if principal.is_admin:
        return True
    if principal.user_id is None:
        return False
    return accounts.best_role(conn, principal.user_id, guard.project) >= roles.MAINTAINER
