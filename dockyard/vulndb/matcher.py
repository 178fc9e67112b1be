"""Match an inventory against the stored advisories.

Debian and Ubuntu advisories name the source package and its version, Alpine's the
origin, the RHEL family's the source RPM: an ``openssl`` advisory is reported against
``libssl3``. Language ecosystems match by package name (PyPI normalised). One query per
ecosystem fetches the ranges for every name of the inventory at once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from dockyard.db.engine import Database
from dockyard.db.queries import vulndb as q
from dockyard.scan.model import Finding, Inventory, Package
from dockyard.vulndb.ecosystems import BY_SOURCE, canonical, family, package_name
from dockyard.vulndb.versions import assess


def match_key(package: Package) -> tuple[str, str, str] | None:
    """(ecosystem, advisory package name, version to compare) or None if unsupported."""
    ecosystem = canonical(package.ecosystem)
    if ecosystem is None:
        return None
    if family(ecosystem) in BY_SOURCE:
        name = package.source_name or package.name
        version = package.source_version or package.version
    else:
        name, version = package.name, package.version
    if ecosystem == "Maven" and ":" not in name and package.namespace:
        name = f"{package.namespace}:{name}"  # OSV names Maven packages group:artifact
    return ecosystem, package_name(ecosystem, name), version


def match(db: Database, inventory: Inventory) -> list[Finding]:
    """Every (advisory, package) pair where the installed version is affected."""
    return match_many(db, [inventory])[0]


def match_many(db: Database, inventories: Iterable[Inventory]) -> list[list[Finding]]:
    """Findings per inventory, fetching each (ecosystem, name) range set only once."""
    inventories = list(inventories)
    wanted: dict[str, set[str]] = defaultdict(set)
    for inventory in inventories:
        for package in inventory.packages:
            key = match_key(package)
            if key:
                wanted[key[0]].add(key[1])
    by_key: dict[tuple[str, str], list[q.RangeRow]] = defaultdict(list)
    with db.session() as conn:
        for ecosystem, names in wanted.items():
            for row in q.live_ranges(conn, ecosystem, names):
                by_key[(ecosystem, row.package)].append(row)
    cache: dict[tuple[str, str, str], list[tuple[q.RangeRow, str | None]]] = {}
    return [_findings(inventory, by_key, cache) for inventory in inventories]


def _findings(
    inventory: Inventory,
    by_key: dict[tuple[str, str], list[q.RangeRow]],
    cache: dict[tuple[str, str, str], list[tuple[q.RangeRow, str | None]]],
) -> list[Finding]:
    findings = []
    for package in inventory.packages:
        key = match_key(package)
        if key is None:
            continue
        if key not in cache:  # images share base layers: judge each version once
            cache[key] = _judge(key, by_key.get(key[:2], ()))
        findings.extend(
            Finding(
                advisory_id=row.advisory_id,
                aliases=row.aliases,
                summary=row.summary,
                severity=row.severity,
                cvss_score=row.cvss_score,
                package=package,
                fixed_version=fixed,
            )
            for row, fixed in cache[key]
        )
    return findings


def _judge(
    key: tuple[str, str, str], rows: Iterable[q.RangeRow]
) -> list[tuple[q.RangeRow, str | None]]:
    """The advisories (one row each) that affect this version, with their first fix."""
    ecosystem, _, version = key
    per_advisory: dict[str, list[q.RangeRow]] = defaultdict(list)
    for row in rows:
        per_advisory[row.advisory_id].append(row)
    affecting = []
    for advisory_rows in per_advisory.values():
        verdict = assess(
            ecosystem,
            version,
            [(r.range_type, r.events) for r in advisory_rows if r.range_type],
            [v for r in advisory_rows for v in r.versions],
        )
        if verdict.affected:
            affecting.append((advisory_rows[0], verdict.fixed))
    return affecting
