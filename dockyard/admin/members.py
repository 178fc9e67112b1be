"""Memberships of projects and groups, under the Owner rule.

Every surface (REST, UI, CLI) changes members through here, with the person acting, so
the rule in ``dockyard.auth.policy.membership_refusal`` is applied once: Maintainers
manage members, only Owners (and instance admins) add, change or remove Owners, and the
last Owner of a project or group is never removed or demoted, by anyone.
"""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.admin import AdminError, Conflict, Forbidden, NotFound
from dockyard.auth import policy
from dockyard.auth.principal import Principal
from dockyard.db.engine import Database
from dockyard.db.queries import accounts

# The server's operator (the CLI, or the server itself, e.g. a group's creator becoming
# its Owner): an admin, still bound by the last-Owner rule.
OPERATOR = Principal("user", "operator", None, is_admin=True)
_ROLE_NAMES = {value: name for name, value in policy.ROLES.items()}


@dataclass(frozen=True)
class _Target:
    """A project or a group as membership keys, and the namespaces above it."""

    path: str
    keys: dict[str, int]
    ancestors: list[str]
    project: object | None  # a ProjectRecord when the target is a project

    def actor_role(self, conn: object, actor: Principal) -> int:
        if actor.user_id is None:
            return 0
        if self.project is not None:
            return accounts.best_role(conn, actor.user_id, self.project)
        return accounts.group_role(conn, actor.user_id, self.path)

    def owners_left(self, conn: object, user_id: int, new_role: int | None) -> int:
        """How many Owners the target keeps if ``user_id``'s direct role becomes ``new_role``."""
        if self.project is not None:
            direct = accounts.owner_ids(conn, project_id=self.project.id)
        else:
            direct = accounts.owner_ids(conn, namespace_paths=[self.path])
        inherited = accounts.owner_ids(conn, namespace_paths=self.ancestors)
        kept = inherited | (direct - {user_id})
        if new_role is not None and new_role >= policy.OWNER:
            kept.add(user_id)
        return len(kept)


def _resolve(conn: object, path: str) -> _Target:
    project = accounts.project_by_path(conn, path)
    if project is not None:
        return _Target(path, {"project_id": project.id}, accounts.ancestor_paths(path), project)
    namespace = accounts.namespace_by_path(conn, path)
    if namespace is None or namespace.kind != "group":
        raise NotFound(f"no project or group {path!r}")
    return _Target(path, {"namespace_id": namespace.id}, accounts.ancestor_paths(path), None)


def _user_id(conn: object, username: str) -> int:
    user = accounts.user_by_name(conn, username)
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user.id


def _check(
    conn: object, actor: Principal, target: _Target, username: str, user_id: int, new: int | None
) -> int | None:
    """Apply the rule to one change; returns the member's current direct role."""
    accounts.lock_members(conn, **target.keys)
    current = accounts.membership_role(conn, user_id, **target.keys)
    needs_count = current is not None and current >= policy.OWNER
    left = target.owners_left(conn, user_id, new) if needs_count else 1
    refusal = policy.membership_refusal(actor, target.actor_role(conn, actor), current, new, left)
    if refusal == "manage":
        raise Forbidden(f"you may not manage the members of {target.path}")
    if refusal == "owner":
        raise Forbidden(f"only an Owner of {target.path} may add, change or remove its Owners")
    if refusal == "last_owner":
        raise Conflict(
            f"{username} is the last Owner of {target.path}; make someone else Owner first"
        )
    return current


def add_member(
    db: Database, username: str, path: str, role: str, actor: Principal = OPERATOR
) -> None:
    """Give ``username`` a role in a group (inherited below it) or in a project, or change
    the role they have there."""
    if role not in policy.ROLES:
        raise AdminError(f"role is one of {', '.join(policy.ROLES)}")
    with db.session(write=True) as conn:
        target = _resolve(conn, path)
        user_id = _user_id(conn, username)
        _check(conn, actor, target, username, user_id, policy.ROLES[role])
        accounts.set_membership(conn, user_id, policy.ROLES[role], **target.keys)


def remove_member(db: Database, username: str, path: str, actor: Principal = OPERATOR) -> None:
    with db.session(write=True) as conn:
        target = _resolve(conn, path)
        user_id = _user_id(conn, username)
        if _check(conn, actor, target, username, user_id, None) is None:
            raise NotFound(f"{username} is not a direct member of {path}")
        accounts.remove_membership(conn, user_id, **target.keys)


def list_members(db: Database, path: str) -> list[tuple[str, str]]:
    """Direct members of a project or group with their role names."""
    with db.session() as conn:
        rows = accounts.members(conn, **_resolve(conn, path).keys)
    return [(username, _ROLE_NAMES.get(role, "guest")) for username, role in rows]
