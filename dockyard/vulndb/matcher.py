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
from dockyard.vulndb.ecosystems import canonical, keyed_by_source, package_name
from dockyard.vulndb.versions import assess


def match_key(package: Package) -> tuple[str, str, str] | None:
    """(ecosystem, advisory package name, version to compare) or None if unsupported."""
    ecosystem = canonical(package.ecosystem)
    if ecosystem is None:
        return None
    if keyed_by_source(ecosystem):
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
    keyed = [
        [(package, key) for package in inventory.packages if (key := match_key(package))]
        for inventory in inventories
    ]
    wanted: dict[str, set[str]] = defaultdict(set)
    for packages in keyed:
        for _, (ecosystem, name, _) in packages:
            wanted[ecosystem].add(name)
    by_key: dict[tuple[str, str], list[q.RangeRow]] = defaultdict(list)
    with db.session() as conn:
        for ecosystem, names in wanted.items():
            for row in q.live_ranges(conn, ecosystem, names):
                by_key[(ecosystem, row.package)].append(row)
    # Images share base layers: judge each (ecosystem, name, version) once.
    cache: dict[tuple[str, str, str], list[tuple[q.RangeRow, str | None]]] = {}
    results = []
    for packages in keyed:
        findings = []
        for package, key in packages:
            judged = cache.get(key)
            if judged is None:
                judged = cache[key] = _judge(key, by_key.get(key[:2], ()))
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
                for row, fixed in judged
            )
        results.append(findings)
    return results


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
