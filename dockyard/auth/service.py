"""Access decisions backed by the database: log in, re-check, authorize, audit.

Every decision goes through ``policy.actions_for``; this module only gathers what
that table needs (the principal, the project a repository belongs to, the role).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from dockyard.auth import policy
from dockyard.auth.credentials import JOB_USERNAME, hash_secret, session_key, token_kind
from dockyard.auth.epoch import EpochCache
from dockyard.auth.oidc import OidcRefused
from dockyard.auth.oidc.login import USERNAME as OIDC_USERNAME
from dockyard.auth.oidc.login import OidcLogin
from dockyard.auth.passwords import password_stamp, verify_password
from dockyard.auth.principal import ANONYMOUS, SCANNER, Principal
from dockyard.auth.registry_tokens import TokenSigner
from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.db.queries import accounts
from dockyard.db.queries import sessions as session_rows
from dockyard.db.queries import tokens as token_rows
from dockyard.db.queries.accounts import project_candidates
from dockyard.db.records import ProjectRecord, TokenRecord
from dockyard.oci.errors import Code, RegistryError
from dockyard.shared import SharedState
from dockyard.shared.local import LocalState

RECHECK_SECONDS = 10.0
RecheckKey = tuple[str, int | None, int | None, str | None]  # kind, uid, cid, password stamp


def _holder(claims: dict[str, object]) -> Principal | RecheckKey | None:
    """Who a (non-OIDC) token names: a principal that needs no re-check (anonymous, or
    the scanner, whose grants are in the token we signed), what identifies an account's
    credential for the re-check, or None for malformed claims."""
    kind, uid, cid, stamp = (
        claims.get("kind"),
        claims.get("uid"),
        claims.get("cid"),
        claims.get("pw"),
    )
    if kind == "anonymous":
        return ANONYMOUS
    if kind == "scanner":
        return SCANNER
    if (
        not isinstance(kind, str)
        or not (uid is None or isinstance(uid, int))
        or not (cid is None or isinstance(cid, int))
        or not (stamp is None or isinstance(stamp, str))
    ):
        return None
    return kind, uid, cid, stamp


def _usable(record: TokenRecord | None, kind: str) -> bool:
    if record is None or record.kind != kind or record.revoked_at is not None:
        return False
    expires = record.expires_at
    return expires is None or expires > datetime.now(UTC)


class AccessService:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        shared: SharedState | None = None,
        signer: TokenSigner | None = None,
    ) -> None:
        self._db = db
        self._settings = settings
        self._shared = shared or LocalState()
        self._epoch = EpochCache(lambda: self._shared.epoch(self._epoch_from_database))
        db.after_commit.append(self._epoch.changed)  # our own changes count at once
        # Keyless CI login needs our signer for its exchange passwords; without one
        # (tools that only manage accounts) ID tokens are refused.
        self.oidc = OidcLogin(db, settings, signer, self.auth_epoch) if signer else None
        self._recheck: dict[RecheckKey, tuple[float, int, Principal | None]] = {}
        self._lock = threading.Lock()

    # --- who ------------------------------------------------------------------------

    def login(self, username: str, secret: str, client: str | None) -> Principal:
        """The principal behind Basic credentials, or 401 (429 while locked out)."""
        limits = self._failure_limits(username, secret, client)
        keys = list(limits)
        window = datetime.now(UTC) - timedelta(seconds=self._settings.login_window_seconds)
        with self._db.session() as conn:
            if any(token_rows.failures(conn, k, window) >= n for k, n in limits.items()):
                raise RegistryError(Code.TOOMANYREQUESTS, "too many failed logins; try later")
            oidc = username == OIDC_USERNAME
            principal = None if oidc else self._check(conn, username, secret)
        refusal = "invalid username or password"
        if oidc:  # outside the transaction: it may fetch the issuer's keys
            principal, refusal = self._oidc_login(secret)
        if principal is None:
            with self._db.session(write=True) as conn:  # committed before we refuse
                for key in keys:
                    token_rows.record_failure(conn, key, window)
                kind = "oidc" if oidc else token_kind(secret) or "password"
                detail = refusal if oidc else None  # never the token, only why
                token_rows.audit(
                    conn, username, "login_failed", "registry", client, detail, credential_kind=kind
                )
            raise RegistryError(Code.UNAUTHORIZED, refusal)
        with self._db.session(write=True) as conn:
            if keys[0].startswith("user:"):  # a valid token never resets an address's count
                token_rows.clear_failures(conn, keys[0])
            if principal.credential_id is not None:
                token_rows.mark_used(conn, principal.credential_id)
            elif principal.user_id is not None:
                accounts.update_user(conn, principal.user_id, last_login_at=datetime.now(UTC))
            token_rows.audit(
                conn,
                principal.actor,
                "login",
                "registry",
                client,
                principal.kind,
                credential_kind=principal.credential_kind,
                credential_id=principal.credential_id,
            )
        return principal

    def oidc_exchange(self, token: str, client: str | None) -> tuple[Principal, str, int]:
        """A short-lived registry password for an ID token: (principal, password, expiry).
        Checked, counted and audited like a login; 401 with the reason when refused."""
        principal = self.login(OIDC_USERNAME, token, client)
        assert self.oidc is not None  # login refuses ID tokens without it
        password, expires = self.oidc.password_for(principal)
        with self._db.session(write=True) as conn:
            token_rows.audit(
                conn, principal.actor, "oidc_exchange", "registry", client, credential_kind="oidc"
            )
        return principal, password, expires

    def _oidc_login(self, token: str) -> tuple[Principal | None, str]:
        """The principal behind an OIDC ID token (or exchange password), or why not."""
        if self.oidc is None:
            return None, "OIDC login is not available here"
        try:
            return self.oidc.login(token), ""
        except OidcRefused as refused:
            return None, f"OIDC login refused: {refused}"

    def _failure_limits(self, username: str, secret: str, client: str | None) -> dict[str, int]:
        """The failed-login counters an attempt is checked against and counted in.

        A password can be guessed, so its failures count per account and per address (an
        address may be shared by NAT or CI runners, so it gets five times the room). A token
        is its own 32 random bytes and many share one login name (every job token logs in as
        dockyard-ci-token), so token failures count per address only, apart from passwords:
        invented tokens never lock out valid ones, nor does a locked password its tokens.
        """
        limit = self._settings.login_max_failures
        if token_kind(secret) is not None or username == OIDC_USERNAME:
            return {f"token-addr:{client or '-'}": 5 * limit}
        return {f"user:{username.lower()}"[:300]: limit, f"addr:{client or '-'}": 5 * limit}

    def _check(self, conn: object, username: str, secret: str) -> Principal | None:
        kind = token_kind(secret)
        if kind is None:
            user = accounts.user_by_name(conn, username)
            ok = verify_password(user.password_hash if user else None, secret)
            if not ok or user is None:
                return None
            if user.is_blocked:  # said only to whoever knows the password
                raise RegistryError(
                    Code.DENIED, "this account is blocked: ask an administrator to unblock it"
                )
            return Principal("user", user.username, user.id, user.is_admin)
        record = token_rows.by_hash(conn, hash_secret(secret))
        if not _usable(record, kind):
            return None
        principal = self._from_token(conn, record)
        return principal if principal is not None and principal.name == username else None

    def _from_token(self, conn: object, record: TokenRecord) -> Principal | None:
        scopes = frozenset(record.scopes.split())
        if record.kind == "deploy":
            group = (
                accounts.namespace_path(conn, record.namespace_id) if record.namespace_id else None
            )
            return Principal(
                "deploy",
                record.username or "",
                None,
                False,
                scopes,
                record.id,
                record.project_id,
                group,
            )
        user = accounts.user_by_id(conn, record.user_id) if record.user_id else None
        if user is None or user.is_blocked:
            return None
        if record.kind == "job":
            return Principal(
                "job", JOB_USERNAME, user.id, user.is_admin, None, record.id, record.project_id
            )
        return Principal("user", user.username, user.id, user.is_admin, scopes, record.id)

    def claims_for(self, principal: Principal) -> dict[str, object]:
        """What a bearer token must carry to find its principal again (and, for a password
        login, the password's stamp, so the token ends when the password changes)."""
        if principal.kind == "oidc" and self.oidc is not None:
            return self.oidc.claims_for(principal)
        claims: dict[str, object] = {
            "kind": principal.kind,
            "uid": principal.user_id,
            "cid": principal.credential_id,
        }
        if principal.kind == "user" and principal.credential_id is None and principal.user_id:
            with self._db.session() as conn:
                user = accounts.user_by_id(conn, principal.user_id)
            claims["pw"] = password_stamp(user.password_hash if user else None)
        return claims

    def from_claims(self, claims: dict[str, object]) -> Principal | None:
        """The principal a token was issued to, if still valid (re-checked every few seconds,
        and at once when the credentials epoch grows)."""
        if claims.get("kind") == "oidc":  # no account: grants in the token, trusts re-checked
            return self.oidc.from_claims(claims) if self.oidc is not None else None
        holder = _holder(claims)
        if holder is None or isinstance(holder, Principal):
            return holder
        epoch, now = self.auth_epoch(), time.monotonic()
        known, principal = self._rechecked(holder, epoch, now)
        if known:
            return principal
        kind, uid, cid, stamp = holder
        principal = self._lookup(kind, uid, cid, stamp or "")  # "": a stamp nothing matches
        with self._lock:
            if len(self._recheck) > 10_000:
                self._recheck.clear()
            self._recheck[holder] = (now + RECHECK_SECONDS, epoch, principal)
        return principal

    def cached_principal(self, claims: dict[str, object]) -> tuple[bool, Principal | None]:
        """``(True, from_claims(claims))`` when that needs no I/O (the epoch was read
        lately and the re-check is cached), else ``(False, None)``: the event loop
        answers most requests itself and sends only the rest to a worker thread."""
        if claims.get("kind") == "oidc":  # its trusts are re-checked in the database
            return False, None
        holder = _holder(claims)
        if holder is None or isinstance(holder, Principal):
            return True, holder
        epoch = self._epoch.fresh()
        if epoch is None:
            return False, None
        return self._rechecked(holder, epoch, time.monotonic())

    def _rechecked(self, key: RecheckKey, epoch: int, now: float) -> tuple[bool, Principal | None]:
        """The cached re-check of ``key``, if it is recent and from the current epoch."""
        with self._lock:
            cached = self._recheck.get(key)
        if cached and cached[0] > now and cached[1] == epoch:
            return True, cached[2]
        return False, None

    def _lookup(
        self, kind: str, uid: int | None, cid: int | None, stamp: str | None = None
    ) -> Principal | None:
        """The principal, if still allowed in; with ``stamp`` (a token from a password
        login) only while that password is the current one."""
        with self._db.session() as conn:
            if cid is not None:
                record = token_rows.by_id(conn, cid)
                if record is None or not _usable(record, record.kind):
                    return None
                principal = self._from_token(conn, record)
                return principal if principal is not None and principal.kind == kind else None
            user = accounts.user_by_id(conn, uid) if uid is not None else None
            if kind != "user" or user is None or user.is_blocked:
                return None
            if stamp is not None and stamp != password_stamp(user.password_hash):
                return None
            return Principal("user", user.username, user.id, user.is_admin)

    # --- what -----------------------------------------------------------------------

    def actions(self, principal: Principal, repository: str) -> frozenset[str]:
        """What ``principal`` may do to ``repository`` right now."""
        return self._standing(principal, repository)[1]

    def refusal(self, principal: Principal, repository: str, actions: frozenset[str]) -> str | None:
        """Why ``principal`` may not take ``actions`` on ``repository``; None if it may.

        The project is named only when the caller may pull from it (so knows it exists);
        otherwise the message names the repository, whether or not a project is there.
        """
        project, allowed = self._standing(principal, repository)
        if actions <= allowed:
            return None
        shown = project.path if project is not None and "pull" in allowed else repository
        return policy.refusal(shown, actions - allowed)

    def _standing(
        self, principal: Principal, repository: str
    ) -> tuple[ProjectRecord | None, frozenset[str]]:
        with self._db.session() as conn:
            project = accounts.longest_project(conn, project_candidates(repository))
            if project is None:
                return None, policy.NOTHING
            role = accounts.best_role(conn, principal.user_id, project) if principal.user_id else 0
        return project, policy.actions_for(principal, project, role)

    def may_list_catalog(self, principal: Principal) -> bool:
        """Whether to grant ``registry:catalog:*`` (the listing shows only what it may pull)."""
        if not principal.is_anonymous:
            return policy.may_list_catalog(principal, public_projects=False)
        with self._db.session() as conn:
            public = any(p.visibility == "public" for p in accounts.list_projects(conn))
        return policy.may_list_catalog(principal, public_projects=public)

    def readable(self, principal: Principal) -> Callable[[str], bool]:
        """A predicate over repository names: may ``principal`` pull from it?"""
        if principal.is_admin:
            return lambda _name: True
        with self._db.session() as conn:
            projects = accounts.list_projects(conn)
            roles = accounts.roles_by_project(conn, principal.user_id) if principal.user_id else {}
        known = {p.path for p in projects}
        readable = {
            p.path
            for p in projects
            if "pull" in policy.actions_for(principal, p, roles.get(p.path, 0))
        }

        def may_read(name: str) -> bool:
            for candidate in project_candidates(name):
                if candidate in known:
                    return candidate in readable
            return False

        return may_read

    def audit(self, principal: Principal, action: str, target: str, client: str | None) -> None:
        """Record a push or delete. Through ``transact``: on SQLite the row then shares
        the commit of concurrent pushes (its own synced commit per push made token
        auth cost 40% of the tag PUT rate)."""
        self._db.transact(
            lambda conn: token_rows.audit(
                conn,
                principal.actor,
                action,
                target,
                client,
                credential_kind=principal.credential_kind,
                credential_id=principal.credential_id,
            )
        )

    # --- management ---------------------------------------------------------------

    def principal_for_secret(self, secret: str) -> Principal | None:
        """The principal behind a bare token (REST API headers); None if not usable."""
        kind = token_kind(secret)
        if kind is None:
            return None
        with self._db.session() as conn:
            record = token_rows.by_hash(conn, hash_secret(secret))
            if not _usable(record, kind):
                return None
            principal = self._from_token(conn, record)
        if principal is not None:
            with self._db.session(write=True) as conn:
                token_rows.mark_used(conn, record.id)
        return principal

    def user_principal(self, user_id: int) -> Principal | None:
        """A person by id, if still allowed in."""
        return self._lookup("user", user_id, None)

    # --- web sessions ---------------------------------------------------------------

    def start_session(self, user_id: int) -> str:
        """A new server-side session; the returned secret goes into the cookie only."""
        secret = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + timedelta(seconds=self._settings.session_ttl_seconds)
        with self._db.session(write=True) as conn:
            session_rows.end_expired(conn)
            session_rows.create_session(conn, hash_secret(secret), user_id, expires)
        return secret

    def session_principal(self, secret: object) -> Principal | None:
        """The person behind a session cookie while the session lives (sign-out, a
        password change or a block ends it at once), else None."""
        key = session_key(secret)
        if key is None:
            return None
        with self._db.session() as conn:
            user_id = session_rows.session_user(conn, key)
        return self.user_principal(user_id) if user_id is not None else None

    def end_session(self, secret: object) -> None:
        key = session_key(secret)
        if key is not None:
            with self._db.session(write=True) as conn:
                session_rows.end_session(conn, key)

    def auth_epoch(self) -> int:
        """Grows when any credential stops being valid; cached logins compare against it.
        Never more than ``epoch.MAX_AGE_SECONDS`` stale (and known at once after a change
        this process commits); read from the database (one indexed read), or from Redis
        when ``redis_url`` is set and Redis answers."""
        return self._epoch.current()

    def fresh_epoch(self) -> int | None:
        """The epoch if known without I/O (read lately), else None."""
        return self._epoch.fresh()

    def _epoch_from_database(self) -> int:
        with self._db.session() as conn:
            return session_rows.auth_epoch(conn)

    def project_abilities(self, principal: Principal, path: str) -> frozenset[str]:
        with self._db.session() as conn:
            project = accounts.project_by_path(conn, path)
            if project is None:
                return policy.NOTHING
            role = accounts.best_role(conn, principal.user_id, project) if principal.user_id else 0
        return self._deletable(policy.project_abilities(principal, project, role))

    def _deletable(self, abilities: frozenset[str]) -> frozenset[str]:
        """With ``delete_enabled`` off nobody may delete, whatever their role: every
        surface that asks for abilities (REST, UI) then hides and refuses deletes."""
        return abilities if self._settings.delete_enabled else abilities - {"delete"}

    def group_abilities(self, principal: Principal, path: str) -> frozenset[str]:
        if principal.user_id is None:
            return policy.NOTHING
        with self._db.session() as conn:
            if accounts.namespace_by_path(conn, path) is None:
                return policy.NOTHING
            role = accounts.group_role(conn, principal.user_id, path)
        return policy.group_abilities(principal, role)

    def groups_managed(self, principal: Principal, paths: list[str]) -> list[str]:
        """Those of the group ``paths`` whose abilities include "manage" (as
        ``group_abilities`` says, one group at a time), from one query however many."""
        if principal.user_id is None:
            return []
        with self._db.session() as conn:
            direct = accounts.group_roles(conn, principal.user_id)
        managed = []
        for path in paths:
            above = accounts.ancestor_paths(path + "/x")  # the group and those above it
            role = max((direct.get(p, 0) for p in above), default=0)
            if "manage" in policy.group_abilities(principal, role):
                managed.append(path)
        return managed

    def visible_projects(self, principal: Principal) -> list[tuple[ProjectRecord, frozenset[str]]]:
        """Every project the caller may read, with what else they may do there."""
        with self._db.session() as conn:
            projects = accounts.list_projects(conn)
            roles = accounts.roles_by_project(conn, principal.user_id) if principal.user_id else {}
        found = []
        for project in projects:
            role = roles.get(project.path, 0)
            abilities = self._deletable(policy.project_abilities(principal, project, role))
            if "read" in abilities:
                found.append((project, abilities))
        return found
