"""Personal access tokens, deploy tokens and CI job tokens: create, list, revoke."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dockyard.admin import AdminError, NotFound
from dockyard.admin.accounts import find_project, find_user
from dockyard.auth.credentials import (
    DEPLOY_SCOPES,
    JOB_USERNAME,
    REGISTRY_SCOPES,
    SYSTEM_NAMES,
    new_secret,
)
from dockyard.auth.policy import DEVELOPER
from dockyard.db.engine import Database
from dockyard.db.queries import accounts, sessions
from dockyard.db.queries import tokens as token_rows
from dockyard.db.records import TokenRecord
from dockyard.validation import check_expiry, check_text, parse_id, parse_int

MAX_JOB_TTL = 7 * 24 * 3600


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: the secret is here once and never again."""

    record: TokenRecord
    secret: str
    username: str


def _scopes(scopes: list[str], allowed: frozenset[str]) -> str:
    chosen = sorted(set(scopes))
    unknown = [s for s in chosen if s not in allowed]
    if not chosen or unknown:
        raise AdminError(f"scopes are one or more of {', '.join(sorted(allowed))}")
    return " ".join(chosen)


def _store(db: Database, kind: str, actor: str, **values: object) -> tuple[TokenRecord, str]:
    fresh = new_secret(kind)
    with db.session(write=True) as conn:
        token_id = token_rows.create(
            conn, secret_hash=fresh.secret_hash, hint=fresh.hint, kind=kind, **values
        )
        token_rows.audit(conn, actor, "token_create", f"{kind} token {token_id}", None)
        return token_rows.by_id(conn, token_id), fresh.secret


def create_personal(
    db: Database,
    username: str,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    actor: str = "cli",
) -> IssuedToken:
    user = find_user(db, username)
    record, secret = _store(
        db,
        "personal",
        actor,
        name=check_text(name, "name", 100),  # a label people read in lists
        user_id=user.id,
        scopes=_scopes(scopes, REGISTRY_SCOPES),
        expires_at=check_expiry(expires_at, datetime.now(UTC)),
    )
    return IssuedToken(record, secret, user.username)


def create_deploy(
    db: Database,
    path: str,
    name: str,
    scopes: list[str],
    username: str | None = None,
    expires_at: datetime | None = None,
    actor: str = "cli",
) -> IssuedToken:
    """A deploy token for a project, or for every project under a group."""
    with db.session() as conn:
        project = accounts.project_by_path(conn, path)
        group = None if project else accounts.namespace_by_path(conn, path)
    if project is None and (group is None or group.kind != "group"):
        raise NotFound(f"no project or group {path!r}")
    name = check_text(name, "name", 100)
    login = username or f"deploy-{name}".lower()
    _check_deploy_login(db, login)
    record, secret = _store(
        db,
        "deploy",
        actor,
        name=name,
        username=login,
        scopes=_scopes(scopes, DEPLOY_SCOPES),
        project_id=project.id if project else None,
        namespace_id=group.id if group else None,
        expires_at=check_expiry(expires_at, datetime.now(UTC)),
    )
    return IssuedToken(record, secret, login)


def _check_deploy_login(db: Database, login: str) -> None:
    """A deploy token's login may be neither a system name nor a user's (audit lines and
    logins must never pass for someone else)."""
    if login.lower() in SYSTEM_NAMES:
        raise AdminError(f"the name {login!r} is reserved")
    with db.session() as conn:
        if accounts.user_by_name(conn, login.lower()) is not None:
            raise AdminError(f"the name {login!r} belongs to a user")


def create_job(
    db: Database, path: str, username: str, ttl_seconds: int, actor: str = "cli"
) -> IssuedToken:
    """A CI job token: bound to one project, acting for ``username``, expiring on its own."""
    ttl_seconds = parse_int(ttl_seconds, 1, MAX_JOB_TTL, "ttl_seconds")
    project = find_project(db, path)
    user = find_user(db, username)
    with db.session() as conn:
        role = accounts.best_role(conn, user.id, project)
    if role < DEVELOPER and not user.is_admin:
        raise AdminError(f"{username} needs Developer or above in {path} to start jobs")
    expires = datetime.now(UTC) + timedelta(seconds=ttl_seconds)
    record, secret = _store(
        db,
        "job",
        actor,
        name=f"job for {path}",
        user_id=user.id,
        project_id=project.id,
        scopes="",
        expires_at=expires,
    )
    return IssuedToken(record, secret, JOB_USERNAME)


def list_tokens(
    db: Database, *, username: str | None = None, project: str | None = None
) -> list[TokenRecord]:
    user_id = find_user(db, username).id if username else None
    project_id = find_project(db, project).id if project else None
    with db.session() as conn:
        return token_rows.listing(conn, user_id=user_id, project_id=project_id)


def revoke(db: Database, token_id: int, actor: str = "cli") -> None:
    token_id = parse_id(token_id, "token_id")
    with db.session(write=True) as conn:
        if not token_rows.revoke(conn, token_id):
            raise NotFound(f"no active token {token_id}")
        sessions.bump_auth_epoch(conn)  # cached logins with it end (auth/epoch.py: how soon)
        token_rows.audit(conn, actor, "token_revoke", f"token {token_id}", None)
