"""OIDC trusts of projects: add, list, remove, and find those of one issuer."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from dockyard.db.models import OidcTrust, Project


@dataclass(frozen=True, slots=True)
class TrustRecord:
    id: int
    project_id: int
    project_path: str
    issuer: str
    audience: str
    claims: dict[str, str]
    role: str
    created_by: str
    created_at: datetime


_COLUMNS = (
    OidcTrust.id,
    OidcTrust.project_id,
    Project.path,
    OidcTrust.issuer,
    OidcTrust.audience,
    OidcTrust.claims,
    OidcTrust.role,
    OidcTrust.created_by,
    OidcTrust.created_at,
)


def _record(row) -> TrustRecord:  # noqa: ANN001
    values = list(row)
    values[5] = json.loads(values[5])
    return TrustRecord(*values)


def _select():  # noqa: ANN202
    return select(*_COLUMNS).join(Project, Project.id == OidcTrust.project_id)


def create(
    conn: Connection,
    *,
    project_id: int,
    issuer: str,
    audience: str,
    claims: dict[str, str],
    role: str,
    created_by: str,
) -> TrustRecord:
    trust_id = conn.execute(
        insert(OidcTrust)
        .values(
            project_id=project_id,
            issuer=issuer,
            audience=audience,
            claims=json.dumps(claims, sort_keys=True),
            role=role,
            created_by=created_by[:255],
            created_at=datetime.now(UTC),
        )
        .returning(OidcTrust.id)
    ).scalar_one()
    return _record(conn.execute(_select().where(OidcTrust.id == trust_id)).one())


def of_project(conn: Connection, project_id: int) -> list[TrustRecord]:
    stmt = _select().where(OidcTrust.project_id == project_id).order_by(OidcTrust.id)
    return [_record(row) for row in conn.execute(stmt)]


def of_issuer(conn: Connection, issuer: str) -> list[TrustRecord]:
    """Every project's trusts in ``issuer``: what a token from it may be matched against."""
    stmt = _select().where(OidcTrust.issuer == issuer).order_by(OidcTrust.id)
    return [_record(row) for row in conn.execute(stmt)]


def by_ids(conn: Connection, trust_ids: list[int]) -> list[TrustRecord]:
    stmt = _select().where(OidcTrust.id.in_(trust_ids)).order_by(OidcTrust.id)
    return [_record(row) for row in conn.execute(stmt)] if trust_ids else []


def existing(conn: Connection, trust_ids: list[int]) -> set[int]:
    """Which of ``trust_ids`` still exist (a deleted trust ends the logins it allowed)."""
    if not trust_ids:
        return set()
    stmt = select(OidcTrust.id).where(OidcTrust.id.in_(trust_ids))
    return set(conn.execute(stmt).scalars())


def remove(conn: Connection, project_id: int, trust_id: int) -> bool:
    result = conn.execute(
        delete(OidcTrust).where(OidcTrust.id == trust_id, OidcTrust.project_id == project_id)
    )
    return bool(result.rowcount)


def remove_all(conn: Connection, project_id: int) -> int:
    return conn.execute(delete(OidcTrust).where(OidcTrust.project_id == project_id)).rowcount
