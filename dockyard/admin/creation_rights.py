"""Who may create groups and projects, and where: one rule for the REST API and the web UI.

Only people create (deploy tokens, CI jobs and OIDC logins never do). Anyone signed in may
create a top-level group and becomes its Owner; a subgroup needs "manage" (Maintainer) on
its parent; a project goes in the creator's own namespace or in a group they manage, and
administrators may put one anywhere. With auth off (no ``AccessService``) all is allowed.

Refusals are ``Forbidden`` (the group is visible but not the caller's to manage) or
``NotFound`` (the caller may not even see it, so we do not say whether it exists).
"""

from __future__ import annotations

from dockyard.admin import Forbidden, NotFound, accounts, members
from dockyard.auth.principal import Principal
from dockyard.auth.service import AccessService
from dockyard.db.engine import Database
from dockyard.db.records import ProjectRecord


def check_group_in(service: AccessService | None, principal: Principal, parent: str) -> None:
    """Raise unless ``principal`` may create a group under ``parent`` ("" for top level)."""
    if principal.kind != "user":
        raise Forbidden("only people create groups")
    if parent:
        _check_manage(service, principal, parent)


def check_project_in(service: AccessService | None, principal: Principal, namespace: str) -> None:
    """Raise unless ``principal`` may create a project in ``namespace``."""
    if principal.kind != "user":
        raise Forbidden("only people create projects")
    if service is not None and not principal.is_admin and namespace != principal.name:
        _check_manage(service, principal, namespace)


def _check_manage(service: AccessService | None, principal: Principal, group: str) -> None:
    if service is None:
        return
    abilities = service.group_abilities(principal, group)
    if "read" not in abilities:
        raise NotFound(f"no group {group!r}")
    if "manage" not in abilities:
        raise Forbidden(f"you may not manage group {group}")


def create_group(
    db: Database, service: AccessService | None, principal: Principal, path: str
) -> str:
    """The group at ``path``; the person who creates a top-level group becomes its Owner
    (a subgroup's Owners are its parent's, inherited)."""
    parent = path.rpartition("/")[0]
    check_group_in(service, principal, parent)
    accounts.create_group(db, path)
    if principal.user_id is not None and not parent:
        members.add_member(db, principal.name, path, "owner")
    return path


def create_project(
    db: Database,
    service: AccessService | None,
    principal: Principal,
    path: str,
    visibility: str = "private",
) -> ProjectRecord:
    check_project_in(service, principal, path.rpartition("/")[0])
    return accounts.create_project(db, path, visibility)


def project_namespaces(
    db: Database, service: AccessService | None, principal: Principal
) -> list[str]:
    """Every namespace ``principal`` may create a project in: their own first, then groups,
    then (for administrators, or with auth off) other people's."""
    if principal.kind != "user":
        return []
    groups = accounts.list_groups(db)
    if service is None or principal.is_admin:
        people = sorted(u.username for u in accounts.list_users(db))
        return _own_first(principal.name, groups + people)
    managed = service.groups_managed(principal, groups)  # one query, not one per group
    return _own_first(principal.name, managed + ([principal.name] if principal.user_id else []))


def _own_first(own: str, namespaces: list[str]) -> list[str]:
    return ([own] if own in namespaces else []) + [n for n in namespaces if n != own]
