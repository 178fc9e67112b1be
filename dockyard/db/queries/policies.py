"""Rows of project vulnerability policies and exceptions, and what a pull check reads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from dockyard.db.engine import mark_changed
from dockyard.db.models import (
    Project,
    ScanFinding,
    VulnerabilityException,
    VulnerabilityPolicy,
)
from dockyard.db.queries._upsert import insert_for

POLICIES = "policies"  # the change name dockyard.shared publishes


@dataclass(frozen=True, slots=True)
class PolicyRow:
    block_severity: str | None
    block_unscanned: bool
    allow_maintainers: bool
    attach_sbom: bool = False


@dataclass(frozen=True, slots=True)
class ExceptionRow:
    advisory_id: str
    reason: str
    expires_at: datetime | None
    created_by: str
    created_at: datetime


def policy(conn: Connection, project_id: int) -> PolicyRow | None:
    row = conn.execute(
        select(
            VulnerabilityPolicy.block_severity,
            VulnerabilityPolicy.block_unscanned,
            VulnerabilityPolicy.allow_maintainers,
            VulnerabilityPolicy.attach_sbom,
        ).where(VulnerabilityPolicy.project_id == project_id)
    ).first()
    return PolicyRow(*row) if row else None


def policies_of(conn: Connection, project_ids: list[int]) -> dict[int, PolicyRow]:
    stmt = select(
        VulnerabilityPolicy.project_id,
        VulnerabilityPolicy.block_severity,
        VulnerabilityPolicy.block_unscanned,
        VulnerabilityPolicy.allow_maintainers,
        VulnerabilityPolicy.attach_sbom,
    ).where(VulnerabilityPolicy.project_id.in_(project_ids))
    return {pid: PolicyRow(*rest) for pid, *rest in conn.execute(stmt)}


def set_policy(conn: Connection, project_id: int, row: PolicyRow) -> None:
    values = {
        "block_severity": row.block_severity,
        "block_unscanned": row.block_unscanned,
        "allow_maintainers": row.allow_maintainers,
        "attach_sbom": row.attach_sbom,
        "updated_at": datetime.now(UTC),
    }
    stmt = insert_for(conn, VulnerabilityPolicy).values(project_id=project_id, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["project_id"], set_=values))
    mark_changed(conn, POLICIES)


_EXCEPTION = (
    VulnerabilityException.advisory_id,
    VulnerabilityException.reason,
    VulnerabilityException.expires_at,
    VulnerabilityException.created_by,
    VulnerabilityException.created_at,
)


def exceptions(conn: Connection, project_id: int) -> list[ExceptionRow]:
    stmt = (
        select(*_EXCEPTION)
        .where(VulnerabilityException.project_id == project_id)
        .order_by(VulnerabilityException.advisory_id)
    )
    return [ExceptionRow(*r) for r in conn.execute(stmt)]


def put_exception(conn: Connection, project_id: int, row: ExceptionRow) -> bool:
    """Create or replace the project's exception for ``row.advisory_id``; True if new."""
    existed = conn.execute(
        select(VulnerabilityException.id).where(
            VulnerabilityException.project_id == project_id,
            VulnerabilityException.advisory_id == row.advisory_id,
        )
    ).first()
    values = {
        "reason": row.reason,
        "expires_at": row.expires_at,
        "created_by": row.created_by,
        "created_at": row.created_at,
    }
    stmt = insert_for(conn, VulnerabilityException).values(
        project_id=project_id, advisory_id=row.advisory_id, **values
    )
    conn.execute(
        stmt.on_conflict_do_update(index_elements=["project_id", "advisory_id"], set_=values)
    )
    mark_changed(conn, POLICIES)
    return existed is None


def delete_exception(conn: Connection, project_id: int, advisory_id: str) -> bool:
    mark_changed(conn, POLICIES)
    result = conn.execute(
        delete(VulnerabilityException).where(
            VulnerabilityException.project_id == project_id,
            VulnerabilityException.advisory_id == advisory_id,
        )
    )
    return result.rowcount > 0


def blocking_findings(
    conn: Connection, digest: str, severities: tuple[str, ...]
) -> list[tuple[str, list[str], str, str]]:
    """(advisory id, aliases, severity, package) of the manifest's findings at
    ``severities``: the only findings a pull check needs (indexed by digest, severity)."""
    if not severities:
        return []
    stmt = select(
        ScanFinding.advisory_id,
        ScanFinding.aliases,
        ScanFinding.severity,
        ScanFinding.package_name,
    ).where(ScanFinding.digest == digest, ScanFinding.severity.in_(severities))
    return [(a, json.loads(al), s, p) for a, al, s, p in conn.execute(stmt)]


def sbom_projects(conn: Connection) -> list[str]:
    """Paths of the projects that attach SBOMs to their images."""
    stmt = (
        select(Project.path)
        .join(VulnerabilityPolicy, VulnerabilityPolicy.project_id == Project.id)
        .where(VulnerabilityPolicy.attach_sbom.is_(True))
    )
    return list(conn.scalars(stmt))
