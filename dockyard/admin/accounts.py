"""Users, groups and projects (memberships: dockyard.admin.members)."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from dockyard.admin import AdminError, Conflict, Forbidden, NotFound, TooManyAttempts

# Memberships live in dockyard.admin.members (the Owner rule); still importable from here.
from dockyard.admin.members import add_member, list_members, remove_member  # noqa: F401
from dockyard.auth.credentials import SYSTEM_NAMES, token_kind
from dockyard.auth.passwords import MIN_LENGTH, hash_password, password_problem, verify_password
from dockyard.auth.service import AccessService
from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.db.queries import accounts, management, sessions, usage
from dockyard.db.queries import tokens as token_rows
from dockyard.db.records import ProjectRecord, UserRecord
from dockyard.oci.errors import Code, RegistryError
from dockyard.oci.names import is_valid_name

# A username is one repository-name component (it is also a namespace path).
_USERNAME = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*")
VISIBILITIES = ("private", "internal", "public")
INITIAL_ADMIN = "admin"


def _check_username(username: str) -> None:
    if not _USERNAME.fullmatch(username) or len(username) > 64:
        raise AdminError(
            f"invalid username {username!r}: lowercase letters, digits and . _ - inside"
        )


def create_user(
    db: Database,
    username: str,
    email: str,
    password: str | None,
    is_admin: bool = False,
    min_length: int = MIN_LENGTH,
) -> UserRecord:
    _check_username(username)
    _check_password(username, password, min_length)
    if username in SYSTEM_NAMES and username != INITIAL_ADMIN:
        raise AdminError(f"the name {username!r} is reserved")
    with db.session(write=True) as conn:
        if (
            accounts.user_by_name(conn, username)
            or accounts.namespace_by_path(conn, username)
            or token_rows.deploy_username_taken(conn, username)
        ):
            raise AdminError(f"the name {username!r} is taken")
        hashed = hash_password(password) if password is not None else None
        user_id = accounts.create_user(conn, username, email, hashed, is_admin)
        return accounts.user_by_id(conn, user_id)


def find_user(db: Database, username: str) -> UserRecord:
    with db.session() as conn:
        user = accounts.user_by_name(conn, username)
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def list_users(db: Database) -> list[UserRecord]:
    with db.session() as conn:
        return accounts.list_users(conn)


def set_user_flags(
    db: Database,
    username: str,
    *,
    blocked: bool | None = None,
    admin: bool | None = None,
    actor: str | None = None,
) -> UserRecord:
    """Block or unblock a user, make them an admin or not. Someone must stay able to
    administer: the last admin who is not blocked is never demoted or blocked, and an
    ``actor`` (the admin asking, when known) never blocks or demotes themselves."""
    user = find_user(db, username)
    values = {k: v for k, v in (("is_blocked", blocked), ("is_admin", admin)) if v is not None}
    steps_down = blocked is True or admin is False
    if steps_down and actor == username:
        what = "block yourself" if blocked else "remove your own administrator rights"
        raise Forbidden(f"you cannot {what}: ask another administrator")
    with db.session(write=True) as conn:
        if steps_down and set(accounts.lock_active_admins(conn)) == {user.id}:
            what = "blocked" if blocked else "demoted"
            raise Conflict(
                f"{username} is the last administrator and cannot be {what}: "
                "make another user an administrator first"
            )
        if values:
            accounts.update_user(conn, user.id, **values)
            # Cached logins carry the admin flag too: every process re-reads them now.
            sessions.bump_auth_epoch(conn)
        if blocked:  # a blocked user is out everywhere at once, not after a cache TTL
            sessions.end_user_sessions(conn, user.id)
        return accounts.user_by_id(conn, user.id)


def _check_password(username: str, password: str | None, min_length: int) -> None:
    problem = password_problem(username, password, min_length) if password is not None else None
    if problem:
        raise AdminError(problem)


def change_password(
    db: Database,
    username: str,
    current: str,
    new: str,
    *,
    keep_session: str | None = None,
    min_length: int = MIN_LENGTH,
    guard: AccessService | None = None,
    client: str | None = None,
) -> None:
    """A user changes their own password: the current one must be right. Every other
    session of theirs ends, and cached logins with the old password stop working.

    With ``guard``, the current password is checked as a login is (a wrong one counts as a
    failed login and guessing is paused), so a stolen session or token is no password oracle.
    """
    user = find_user(db, username)
    if token_kind(current) is not None:  # a token is never the account password
        raise AdminError("the current password is wrong")
    if guard is not None:
        try:
            guard.login(username, current, client)
        except RegistryError as error:
            if error.code == Code.TOOMANYREQUESTS:
                raise TooManyAttempts("too many wrong passwords: try again later") from None
            raise AdminError("the current password is wrong") from None
    if not verify_password(user.password_hash, current):
        raise AdminError("the current password is wrong")
    _replace_password(db, user, new, min_length, keep_session, actor=username)


def reset_password(
    db: Database, username: str, new: str, *, actor: str, min_length: int = MIN_LENGTH
) -> None:
    """An admin sets someone's password; all their sessions end."""
    _replace_password(db, find_user(db, username), new, min_length, None, actor=actor)


def _replace_password(
    db: Database,
    user: UserRecord,
    new: str,
    min_length: int,
    keep_session: str | None,
    actor: str,
) -> None:
    _check_password(user.username, new, min_length)
    hashed = hash_password(new)
    with db.session(write=True) as conn:
        accounts.update_user(conn, user.id, password_hash=hashed)
        sessions.end_user_sessions(conn, user.id, keep=keep_session)
        sessions.bump_auth_epoch(conn)
        token_rows.audit(conn, actor, "password_change", f"user {user.username}", None)


def ensure_initial_admin(db: Database, settings: Settings) -> str | None:
    """On first start, create 'admin'; the generated password (if any) is returned once."""
    with db.session() as conn:
        if accounts.count_users(conn):
            return None
    # A generated password is long enough for any minimum (about 1.3 characters a byte).
    password = settings.admin_password or secrets.token_urlsafe(
        max(18, settings.password_min_length)
    )
    problem = password_problem(INITIAL_ADMIN, password, settings.password_min_length)
    if problem:
        raise AdminError(
            f"DOCKYARD_ADMIN_PASSWORD (admin_password) is refused: {problem}; "
            "set a stronger one, or leave it empty to have one generated"
        )
    create_user(
        db,
        INITIAL_ADMIN,
        "admin@localhost",
        password,
        is_admin=True,
        min_length=settings.password_min_length,
    )
    if settings.admin_password:
        return None
    path = Path(settings.data_dir) / "initial_admin_password"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(password + "\n")
    return password


def _check_path(path: str, what: str) -> None:
    if not is_valid_name(path):
        raise AdminError(
            f"invalid {what} path {path!r}: lowercase components like 'team/app' (each "
            "letters and digits, separated by . _ or -)"
        )


def create_group(db: Database, path: str) -> str:
    """A group; a path with slashes makes a subgroup of an existing group."""
    _check_path(path, "group")
    parent_path, _, _ = path.rpartition("/")
    with db.session(write=True) as conn:
        if accounts.namespace_by_path(conn, path) or accounts.project_by_path(conn, path):
            raise AdminError(f"{path!r} already exists")
        parent_id = None
        if parent_path:
            parent = accounts.namespace_by_path(conn, parent_path)
            if parent is None or parent.kind != "group":
                raise NotFound(f"no group {parent_path!r} to create {path!r} in")
            parent_id = parent.id
        accounts.create_group(conn, path, parent_id)
    return path


def create_project(db: Database, path: str, visibility: str = "private") -> ProjectRecord:
    """A project inside an existing user namespace or group."""
    _check_path(path, "project")
    if visibility not in VISIBILITIES:
        raise AdminError(f"visibility is one of {', '.join(VISIBILITIES)}")
    namespace_path, _, _ = path.rpartition("/")
    if not namespace_path:
        raise AdminError("a project lives in a namespace: use 'group/project' or 'user/project'")
    with db.session(write=True) as conn:
        namespace = accounts.namespace_by_path(conn, namespace_path)
        if namespace is None:
            raise NotFound(f"no user or group {namespace_path!r}")
        if accounts.project_by_path(conn, path) or accounts.namespace_by_path(conn, path):
            raise AdminError(f"{path!r} already exists")
        project_id = accounts.create_project(conn, namespace.id, path, visibility)
        usage.attach_project(conn, project_id)  # images pushed there before (auth off)
        return accounts.project_by_id(conn, project_id)


def find_project(db: Database, path: str) -> ProjectRecord:
    with db.session() as conn:
        project = accounts.project_by_path(conn, path)
    if project is None:
        raise NotFound(f"no project {path!r}")
    return project


def list_projects(db: Database) -> list[ProjectRecord]:
    with db.session() as conn:
        return accounts.list_projects(conn)


def set_visibility(db: Database, path: str, visibility: str) -> ProjectRecord:
    if visibility not in VISIBILITIES:
        raise AdminError(f"visibility is one of {', '.join(VISIBILITIES)}")
    project = find_project(db, path)
    with db.session(write=True) as conn:
        accounts.update_project(conn, project.id, visibility=visibility)
        return accounts.project_by_id(conn, project.id)


def delete_project(db: Database, path: str) -> None:
    """The project and its memberships and tokens (its images go with scheduled deletes)."""
    project = find_project(db, path)
    with db.session(write=True) as conn:
        for repository in management.repositories(conn, [path]):
            management.schedule_deletion(conn, repository.id)
        usage.detach_project(conn, project.id)
        accounts.delete_project(conn, project.id)


def list_groups(db: Database) -> list[str]:
    with db.session() as conn:
        return [g.path for g in accounts.groups(conn)]
