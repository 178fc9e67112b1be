"""The permission table: what a principal may do in a project. Pure; no I/O.

| action | private project | internal project | public project |
|---|---|---|---|
| pull   | Reporter+       | any signed-in user | anyone         |
| push   | Developer+      | Developer+         | Developer+     |
| delete | Maintainer+     | Maintainer+        | Maintainer+    |

Admins may do everything. A token narrows its owner's rights to its scopes; deploy
tokens act only on their project (or group) and never delete; a CI job token acts
with its user's rights, pulls wherever that user may, and pushes or deletes only in
its own project. A CI job signed in with an OIDC ID token gets the role of each project
trust its token matched (Reporter: pull; Developer: pull and push) in that project only,
and never deletes.
"""

from __future__ import annotations

from dockyard.auth.principal import Principal
from dockyard.db.records import ProjectRecord

GUEST, REPORTER, DEVELOPER, MAINTAINER, OWNER = 10, 20, 30, 40, 50
ADMIN = 60  # GitLab's access level of an instance administrator (tag protection rules)
ROLES = {
    "guest": GUEST,
    "reporter": REPORTER,
    "developer": DEVELOPER,
    "maintainer": MAINTAINER,
    "owner": OWNER,
}
ALL = frozenset({"pull", "push", "delete"})
NOTHING: frozenset[str] = frozenset()

# What each role may do, whatever the visibility.
ROLE_ACTIONS = {
    0: NOTHING,
    GUEST: NOTHING,
    REPORTER: frozenset({"pull"}),
    DEVELOPER: frozenset({"pull", "push"}),
    MAINTAINER: ALL,
    OWNER: ALL,
}
# What a token scope lets through.
SCOPE_ACTIONS = {
    "read_registry": frozenset({"pull"}),
    "write_registry": ALL,  # still bounded by the role: delete needs Maintainer
    "api": ALL,
}


def _visible(principal: Principal, project: ProjectRecord) -> bool:
    """Readable without a role: public to all, internal to signed-in people."""
    if project.visibility == "public":
        return True
    return project.visibility == "internal" and principal.kind in ("user", "job")


def _person(principal: Principal, project: ProjectRecord, role: int) -> frozenset[str]:
    if principal.is_admin:
        return ALL
    granted = ROLE_ACTIONS[max(r for r in ROLE_ACTIONS if r <= role)]
    return granted | {"pull"} if _visible(principal, project) else granted


def _scoped(actions: frozenset[str], scopes: frozenset[str] | None) -> frozenset[str]:
    if scopes is None:
        return actions
    allowed = frozenset().union(*(SCOPE_ACTIONS.get(s, NOTHING) for s in scopes))
    return actions & allowed


def _deploy_covers(principal: Principal, project: ProjectRecord) -> bool:
    if principal.project_id is not None:
        return principal.project_id == project.id
    prefix = principal.namespace_path
    return prefix is not None and project.path.startswith(prefix + "/")


def actions_for(principal: Principal, project: ProjectRecord | None, role: int) -> frozenset[str]:
    """The registry actions ``principal`` may take in ``project`` (``role``: their best role)."""
    if project is None:
        return NOTHING
    match principal.kind:
        case "user":
            return _scoped(_person(principal, project, role), principal.scopes)
        case "job":
            granted = _person(principal, project, role)
            return granted if project.id == principal.project_id else granted & {"pull"}
        case "deploy":
            public = frozenset({"pull"}) if project.visibility == "public" else NOTHING
            if not _deploy_covers(principal, project):
                return public
            return public | (_scoped(ALL, principal.scopes) - {"delete"})
        case "oidc":
            public = frozenset({"pull"}) if project.visibility == "public" else NOTHING
            role = trust_level(principal, project.id)
            return public | (ROLE_ACTIONS[max(r for r in ROLE_ACTIONS if r <= role)] - {"delete"})
        case _:
            return frozenset({"pull"}) if project.visibility == "public" else NOTHING


def trust_level(principal: Principal, project_id: int) -> int:
    """The best role the OIDC trusts a CI job's ID token matched grant in a project (its
    level for tag protection rules too); 0 where none did."""
    return max((role for _, p, role in principal.trusts if p == project_id), default=0)


def tag_access_level(principal: Principal, role: int) -> int:
    """The level tag protection rules compare with: a person's best role in the project,
    and a CI job's, which acts as its user; an admin's is ADMIN. Deploy tokens, the
    scanner and anonymous callers hold no role, so no protected tag is theirs to change.
    """
    if principal.kind not in ("user", "job"):
        return 0
    return ADMIN if principal.is_admin else role


def may_list_catalog(principal: Principal, public_projects: bool) -> bool:
    """Anyone signed in may list the catalog (it shows only what they may pull); anonymous
    callers only while public projects exist, the only ones they could see."""
    return not principal.is_anonymous or public_projects


def refusal(path: str, missing: frozenset[str]) -> str:
    """Why a request was refused, worded so it never tells whether a hidden project exists.

    ``path`` is the project when the caller may see it, else the repository they named.
    """
    if "push" in missing:
        verb = "push to"
    elif "delete" in missing:
        verb = "delete from"
    else:
        verb = "pull from"
    return f"project {path} does not exist or you cannot {verb} it"


def project_abilities(principal: Principal, project: ProjectRecord, role: int) -> frozenset[str]:
    """What the management API and UI let ``principal`` do with a project.

    read/push/delete follow the registry table above; managing members, deploy tokens
    and the vulnerability policy takes Maintainer, changing visibility or deleting the
    project takes Owner, and starting CI jobs takes Developer. Only people (not deploy
    tokens) manage. A CI job token sees its own project only: any other is hidden, as
    from an outsider.
    """
    if principal.kind == "job" and project.id != principal.project_id:
        return NOTHING
    actions = actions_for(principal, project, role)
    abilities = {
        name
        for name, action in (("read", "pull"), ("push", "push"), ("delete", "delete"))
        if action in actions
    }
    person = principal.kind == "user"
    if person and (principal.is_admin or role >= MAINTAINER):
        abilities |= {"manage_members", "manage_tokens", "manage_policy"}
    if person and (principal.is_admin or role >= OWNER):
        abilities.add("admin")
    if person and "read" in abilities and (principal.is_admin or role >= DEVELOPER):
        abilities.add("start_jobs")
    return frozenset(abilities)


def group_abilities(principal: Principal, role: int) -> frozenset[str]:
    """Members see a group; Maintainers manage its members and subgroups; Owners more."""
    if principal.kind != "user":
        return NOTHING
    if principal.is_admin:
        return frozenset({"read", "manage", "admin"})
    abilities = set()
    if role >= GUEST:
        abilities.add("read")
    if role >= MAINTAINER:
        abilities.add("manage")
    if role >= OWNER:
        abilities.add("admin")
    return frozenset(abilities)


def membership_refusal(
    actor: Principal, actor_role: int, current: int | None, new: int | None, owners_left: int
) -> str | None:
    """Why ``actor`` may not change one membership from ``current`` to ``new`` (None: a
    removal, or no membership yet), or None when they may.

    Maintainers manage members; only Owners (and admins) touch an Owner membership or grant
    Owner; and no one, not even an admin, takes away the last Owner (``owners_left``: how
    many would remain), so a project or group is never left without someone to run it.
    Answers: ``"manage"``, ``"owner"`` or ``"last_owner"``.
    """
    if actor.kind != "user" or not (actor.is_admin or actor_role >= MAINTAINER):
        return "manage"
    if OWNER in (current, new) and not (actor.is_admin or actor_role >= OWNER):
        return "owner"
    if current == OWNER and new != OWNER and owners_left == 0:
        return "last_owner"
    return None
