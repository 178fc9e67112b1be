"""Project OIDC trusts: which CI issuers' ID tokens a project accepts, and for what role.

Only Reporter (pull) and Developer (pull and push) can be granted: a CI job should never
delete or manage. Removing a trust grows the auth epoch, so every login it allowed
(registry tokens, exchange passwords) ends at once on every replica.
"""

from __future__ import annotations

from dockyard.admin import NotFound
from dockyard.admin.accounts import find_project
from dockyard.auth.oidc.claims import check_patterns
from dockyard.auth.oidc.issuers import check_issuer
from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.db.queries import oidc as trust_rows
from dockyard.db.queries import sessions
from dockyard.db.queries import tokens as token_rows
from dockyard.db.queries.oidc import TrustRecord
from dockyard.validation import InvalidInput, check_text

TRUST_ROLES = ("reporter", "developer")
MAX_TRUSTS = 100  # per project


def granted(db: Database, trust_ids: list[int]) -> dict[str, str]:
    """Project path to the best role the given trusts grant there."""
    best: dict[str, str] = {}
    with db.session() as conn:
        for trust in trust_rows.by_ids(conn, trust_ids):
            if best.get(trust.project_path) != "developer":
                best[trust.project_path] = trust.role
    return best


def list_trusts(db: Database, path: str) -> list[TrustRecord]:
    project = find_project(db, path)
    with db.session() as conn:
        return trust_rows.of_project(conn, project.id)


def create_trust(
    db: Database,
    settings: Settings,
    path: str,
    *,
    issuer: str,
    audience: str,
    claims: object,
    role: str,
    actor: str,
) -> TrustRecord:
    project = find_project(db, path)
    issuer = check_issuer(check_text(issuer, "issuer", 255), settings)
    audience = check_text(audience, "audience", 255)
    patterns = check_patterns(claims)
    if role not in TRUST_ROLES:
        raise InvalidInput("role: reporter (pull) or developer (pull and push)")
    with db.session(write=True) as conn:
        if len(trust_rows.of_project(conn, project.id)) >= MAX_TRUSTS:
            raise InvalidInput(f"a project has at most {MAX_TRUSTS} OIDC trusts")
        record = trust_rows.create(
            conn,
            project_id=project.id,
            issuer=issuer,
            audience=audience,
            claims=patterns,
            role=role,
            created_by=actor,
        )
        token_rows.audit(
            conn, actor, "oidc_trust_create", f"{path} oidc trust {record.id}", None, issuer
        )
    return record


def delete_trust(db: Database, path: str, trust_id: int, actor: str) -> None:
    project = find_project(db, path)
    with db.session(write=True) as conn:
        if not trust_rows.remove(conn, project.id, trust_id):
            raise NotFound(f"no OIDC trust {trust_id} in {path}")
        sessions.bump_auth_epoch(conn)  # logins through it end (auth/epoch.py: how soon)
        token_rows.audit(conn, actor, "oidc_trust_delete", f"{path} oidc trust {trust_id}", None)


def delete_trusts(db: Database, path: str, actor: str) -> int:
    """Remove every trust of the project; how many there were."""
    project = find_project(db, path)
    with db.session(write=True) as conn:
        removed = trust_rows.remove_all(conn, project.id)
        if removed:
            sessions.bump_auth_epoch(conn)
            token_rows.audit(conn, actor, "oidc_trust_delete", f"{path} all oidc trusts", None)
    return removed
