"""Users, namespaces, projects and memberships."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from dockyard.db.models import Membership, Namespace, Project, User
from dockyard.db.queries._upsert import insert_for
from dockyard.db.records import NamespaceRecord, ProjectRecord, UserRecord

_USER = (
    User.id,
    User.username,
    User.email,
    User.password_hash,
    User.is_admin,
    User.is_blocked,
    User.created_at,
    User.last_login_at,
)
_PROJECT = (Project.id, Project.path, Project.visibility, Project.namespace_id)


def create_user(
    conn: Connection, username: str, email: str, password_hash: str | None, is_admin: bool
) -> int:
    """A user and their personal namespace, which they own."""
    now = datetime.now(UTC)
    user_id = conn.execute(
        insert(User)
        .values(
            username=username,
            email=email,
            password_hash=password_hash,
            is_admin=is_admin,
            is_blocked=False,
            created_at=now,
        )
        .returning(User.id)
    ).scalar_one()
    conn.execute(
        insert(Namespace).values(
            path=username, kind="user", parent_id=None, owner_id=user_id, created_at=now
        )
    )
    return user_id


def user_by_name(conn: Connection, username: str) -> UserRecord | None:
    row = conn.execute(select(*_USER).where(User.username == username)).first()
    return UserRecord(*row) if row else None


def user_by_id(conn: Connection, user_id: int) -> UserRecord | None:
    row = conn.execute(select(*_USER).where(User.id == user_id)).first()
    return UserRecord(*row) if row else None


def list_users(conn: Connection) -> list[UserRecord]:
    return [UserRecord(*row) for row in conn.execute(select(*_USER).order_by(User.username))]


def update_user(conn: Connection, user_id: int, **values: object) -> None:
    conn.execute(update(User).where(User.id == user_id).values(**values))


def lock_active_admins(conn: Connection) -> list[int]:
    """Ids of the admins who are not blocked, their rows locked (PostgreSQL; SQLite has a
    single writer), so two admins cannot both be demoted or blocked at once."""
    active = select(User.id).where(User.is_admin.is_(True), User.is_blocked.is_(False))
    return list(conn.execute(active.with_for_update()).scalars())


def count_users(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(User)).scalar_one()


def namespace_by_path(conn: Connection, path: str) -> NamespaceRecord | None:
    row = conn.execute(
        select(Namespace.id, Namespace.path, Namespace.kind).where(Namespace.path == path)
    ).first()
    return NamespaceRecord(*row) if row else None


def create_group(conn: Connection, path: str, parent_id: int | None) -> int:
    return conn.execute(
        insert(Namespace)
        .values(path=path, kind="group", parent_id=parent_id, created_at=datetime.now(UTC))
        .returning(Namespace.id)
    ).scalar_one()


def create_project(conn: Connection, namespace_id: int, path: str, visibility: str) -> int:
    return conn.execute(
        insert(Project)
        .values(
            namespace_id=namespace_id,
            path=path,
            visibility=visibility,
            created_at=datetime.now(UTC),
        )
        .returning(Project.id)
    ).scalar_one()


def project_by_path(conn: Connection, path: str) -> ProjectRecord | None:
    row = conn.execute(select(*_PROJECT).where(Project.path == path)).first()
    return ProjectRecord(*row) if row else None


def project_by_id(conn: Connection, project_id: int) -> ProjectRecord | None:
    row = conn.execute(select(*_PROJECT).where(Project.id == project_id)).first()
    return ProjectRecord(*row) if row else None


def longest_project(conn: Connection, candidates: list[str]) -> ProjectRecord | None:
    """The project whose path is the longest of ``candidates`` (repository prefixes)."""
    stmt = (
        select(*_PROJECT)
        .where(Project.path.in_(candidates))
        .order_by(func.length(Project.path).desc())
        .limit(1)
    )
    row = conn.execute(stmt).first()
    return ProjectRecord(*row) if row else None


def project_candidates(repository: str) -> list[str]:
    """Project paths a repository may belong to: itself or up to two levels above it.

    Projects never nest (a project path is never also a namespace), so at most one of
    them exists: the repository's project."""
    parts = repository.split("/")
    return ["/".join(parts[:k]) for k in (len(parts), len(parts) - 1, len(parts) - 2) if k >= 2]


def list_projects(conn: Connection) -> list[ProjectRecord]:
    return [ProjectRecord(*row) for row in conn.execute(select(*_PROJECT).order_by(Project.path))]


def update_project(conn: Connection, project_id: int, **values: object) -> None:
    conn.execute(update(Project).where(Project.id == project_id).values(**values))


def set_membership(
    conn: Connection,
    user_id: int,
    role: int,
    *,
    namespace_id: int | None = None,
    project_id: int | None = None,
) -> None:
    """Give a user a role in a namespace or a project, replacing any earlier role there."""
    existing = conn.execute(
        select(Membership.id).where(
            Membership.user_id == user_id,
            Membership.namespace_id.is_(None)
            if namespace_id is None
            else Membership.namespace_id == namespace_id,
            Membership.project_id.is_(None)
            if project_id is None
            else Membership.project_id == project_id,
        )
    ).scalar()
    if existing is not None:
        conn.execute(update(Membership).where(Membership.id == existing).values(role=role))
        return
    conn.execute(
        insert_for(conn, Membership).values(
            user_id=user_id,
            namespace_id=namespace_id,
            project_id=project_id,
            role=role,
            created_at=datetime.now(UTC),
        )
    )


def best_role(conn: Connection, user_id: int, project: ProjectRecord) -> int:
    """The user's highest role on the project: direct, or inherited from any ancestor group.

    A user's own namespace counts as owned (role 50).
    """
    ancestors = ancestor_paths(project.path)
    inherited = (
        select(func.max(Membership.role))
        .join(Namespace, Namespace.id == Membership.namespace_id)
        .where(Membership.user_id == user_id, Namespace.path.in_(ancestors))
    )
    direct = select(func.max(Membership.role)).where(
        Membership.user_id == user_id, Membership.project_id == project.id
    )
    owned = (
        select(func.count())
        .select_from(Namespace)
        .where(Namespace.id == project.namespace_id, Namespace.owner_id == user_id)
    )
    roles = [conn.scalar(inherited) or 0, conn.scalar(direct) or 0]
    if conn.scalar(owned):
        roles.append(50)
    return max(roles)


def roles_by_project(conn: Connection, user_id: int) -> dict[str, int]:
    """Every project path the user holds a role on (direct, inherited or owned) -> role."""
    roles: dict[str, int] = {}
    for path, role in conn.execute(
        select(Project.path, Membership.role)
        .join(Membership, Membership.project_id == Project.id)
        .where(Membership.user_id == user_id)
    ):
        roles[path] = max(roles.get(path, 0), role)
    groups = {
        ns_path: role
        for ns_path, role in conn.execute(
            select(Namespace.path, Membership.role)
            .join(Membership, Membership.namespace_id == Namespace.id)
            .where(Membership.user_id == user_id)
        )
    }
    owned = set(conn.scalars(select(Namespace.path).where(Namespace.owner_id == user_id)))
    for project in list_projects(conn):
        for ancestor in ancestor_paths(project.path):
            if ancestor in groups:
                roles[project.path] = max(roles.get(project.path, 0), groups[ancestor])
            if ancestor in owned:
                roles[project.path] = 50
    return roles


def ancestor_paths(project_path: str) -> list[str]:
    """'a/b/c' -> ['a', 'a/b']: the namespaces a project sits in."""
    parts = project_path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def namespace_path(conn: Connection, namespace_id: int) -> str | None:
    return conn.scalar(select(Namespace.path).where(Namespace.id == namespace_id))


def members(
    conn: Connection, *, project_id: int | None = None, namespace_id: int | None = None
) -> list[tuple[str, int]]:
    """(username, role) of direct members of one project or group."""
    target = (
        Membership.project_id == project_id
        if project_id is not None
        else Membership.namespace_id == namespace_id
    )
    stmt = (
        select(User.username, Membership.role)
        .join(User, User.id == Membership.user_id)
        .where(target)
        .order_by(User.username)
    )
    return [(name, role) for name, role in conn.execute(stmt)]


def remove_membership(
    conn: Connection,
    user_id: int,
    *,
    project_id: int | None = None,
    namespace_id: int | None = None,
) -> bool:
    target = (
        Membership.project_id == project_id
        if project_id is not None
        else Membership.namespace_id == namespace_id
    )
    return bool(
        conn.execute(delete(Membership).where(Membership.user_id == user_id, target)).rowcount
    )


def delete_project(conn: Connection, project_id: int) -> None:
    conn.execute(delete(Project).where(Project.id == project_id))


def groups(conn: Connection) -> list[NamespaceRecord]:
    stmt = (
        select(Namespace.id, Namespace.path, Namespace.kind)
        .where(Namespace.kind == "group")
        .order_by(Namespace.path)
    )
    return [NamespaceRecord(*row) for row in conn.execute(stmt)]


def group_role(conn: Connection, user_id: int, group_path: str) -> int:
    """The user's highest role on a group, counting roles on the groups above it."""
    paths = [*ancestor_paths(group_path + "/x")]
    return (
        conn.scalar(
            select(func.max(Membership.role))
            .join(Namespace, Namespace.id == Membership.namespace_id)
            .where(Membership.user_id == user_id, Namespace.path.in_(paths))
        )
        or 0
    )


def group_roles(conn: Connection, user_id: int) -> dict[str, int]:
    """Every group path the user holds a role on directly -> that role (inherited roles
    follow from the paths: see ``group_role``)."""
    stmt = (
        select(Namespace.path, func.max(Membership.role))
        .join(Membership, Membership.namespace_id == Namespace.id)
        .where(Membership.user_id == user_id)
        .group_by(Namespace.path)
    )
    return {path: role for path, role in conn.execute(stmt)}


def _target(project_id: int | None, namespace_id: int | None):  # noqa: ANN202 - a clause
    if project_id is not None:
        return Membership.project_id == project_id
    return Membership.namespace_id == namespace_id


def lock_members(
    conn: Connection, *, project_id: int | None = None, namespace_id: int | None = None
) -> None:
    """Serialize membership changes of one project or group (PostgreSQL row lock; SQLite
    already has a single writer), so two Owners cannot both step down at once."""
    table, key = (Project, project_id) if project_id is not None else (Namespace, namespace_id)
    conn.execute(select(table.id).where(table.id == key).with_for_update())


def membership_role(
    conn: Connection,
    user_id: int,
    *,
    project_id: int | None = None,
    namespace_id: int | None = None,
) -> int | None:
    """The user's direct role in one project or group, None if they are not a member."""
    return conn.scalar(
        select(Membership.role).where(
            Membership.user_id == user_id, _target(project_id, namespace_id)
        )
    )


def owner_ids(
    conn: Connection, *, project_id: int | None = None, namespace_paths: list[str] | None = None
) -> set[int]:
    """Users who hold Owner (50) directly on a project, or on any of the namespaces given,
    as members or as the person a personal namespace belongs to."""
    found: set[int] = set()
    if project_id is not None:
        found |= set(
            conn.scalars(
                select(Membership.user_id).where(
                    Membership.project_id == project_id, Membership.role >= 50
                )
            )
        )
    if namespace_paths:
        found |= set(
            conn.scalars(
                select(Membership.user_id)
                .join(Namespace, Namespace.id == Membership.namespace_id)
                .where(Namespace.path.in_(namespace_paths), Membership.role >= 50)
            )
        )
        found |= set(
            conn.scalars(
                select(Namespace.owner_id).where(
                    Namespace.path.in_(namespace_paths), Namespace.owner_id.is_not(None)
                )
            )
        )
    return found
