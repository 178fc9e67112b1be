"""Scan results in and out of the database as the scan model's dataclasses.

The SQL is in ``dockyard.db.queries.scans``; this module only maps ``Inventory``,
``Package`` and ``Finding`` to rows and back. Every function takes the caller's
connection, so a result and its status change commit together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dockyard.db.queries import scans
from dockyard.scan.model import Finding, Inventory, OSInfo, Package


@dataclass(frozen=True)
class StoredFinding:
    finding: Finding
    first_seen_at: datetime


def _package_row(package: Package) -> dict[str, Any]:
    return {k: getattr(package, k) for k in scans.PACKAGE_FIELDS}


def _finding_row(finding: Finding) -> dict[str, Any]:
    package = _package_row(finding.package)
    return {
        "advisory_id": finding.advisory_id,
        "aliases": list(finding.aliases),
        "summary": finding.summary,
        "severity": finding.severity,
        "cvss_score": finding.cvss_score,
        "fixed_version": finding.fixed_version,
        **{k: package[k] for k in package if k not in ("name", "version")},
        "package_name": package["name"],
        "package_version": package["version"],
    }


def _package(row: dict[str, Any]) -> Package:
    return Package(**{k: row[k] for k in scans.PACKAGE_FIELDS})


def _finding(row: dict[str, Any]) -> Finding:
    fields = {k: row[k] for k in scans.PACKAGE_FIELDS if k not in ("name", "version")}
    package = Package(name=row["package_name"], version=row["package_version"], **fields)
    return Finding(
        advisory_id=row["advisory_id"],
        aliases=tuple(row["aliases"]),
        summary=row["summary"],
        severity=row["severity"],
        cvss_score=row["cvss_score"],
        package=package,
        fixed_version=row["fixed_version"],
    )


def save_inventory(conn: Any, digest: str, inventory: Inventory) -> None:
    os = (inventory.os.id, inventory.os.version, inventory.os.pretty_name) if inventory.os else None
    rows = [_package_row(p) for p in inventory.packages]
    scans.save_inventory(conn, digest, os, list(inventory.unsupported), rows)


def save_findings(conn: Any, digest: str, findings: list[Finding]) -> list[Finding]:
    """Replace the digest's findings; those not seen on it before."""
    new = scans.save_findings(conn, digest, [_finding_row(f) for f in _unique(findings)])
    return [_finding(row) for row in new]


def _unique(findings: list[Finding]) -> list[Finding]:
    """One finding per (advisory, package): a matcher may report one twice."""
    seen: dict[tuple[str, ...], Finding] = {}
    for f in findings:
        p = f.package
        seen.setdefault((f.advisory_id, p.name, p.version, p.ecosystem, p.path), f)
    return list(seen.values())


def load_inventory(conn: Any, digest: str) -> Inventory | None:
    """The stored inventory of a scanned digest, or None if it has none."""
    record = scans.scan(conn, digest)
    if record is None or record.status != "done":
        return None
    os = (
        OSInfo(record.os_id, record.os_version or "", record.os_pretty_name or "")
        if record.os_id
        else None
    )
    packages = tuple(_package(r) for r in scans.packages(conn, digest))
    return Inventory(os=os, packages=packages, unsupported=tuple(record.unsupported))


def load_findings(conn: Any, digest: str) -> list[StoredFinding]:
    return [StoredFinding(_finding(r), r["first_seen_at"]) for r in scans.findings(conn, digest)]
