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
    return Matcher(db).match_many([inventory])[0]


def match_many(db: Database, inventories: Iterable[Inventory]) -> list[list[Finding]]:
    """Findings per inventory; see Matcher."""
    return Matcher(db).match_many(inventories)


class Matcher:
    """Matches many inventories against one view of the advisories (a rematch run).

    Ranges are fetched once per (ecosystem, name), and each (ecosystem, name, version)
    is judged once, across every call: images share base layers, so most packages recur.
    Make a new Matcher after an import; this one keeps what it already read.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self._ranges: dict[tuple[str, str], list[q.RangeRow]] = {}
        self._judged: dict[tuple[str, str, str], list[tuple[q.RangeRow, str | None]]] = {}

    def match_many(self, inventories: Iterable[Inventory]) -> list[list[Finding]]:
        inventories = list(inventories)
        keys: dict[Package, tuple[str, str, str] | None] = {}
        for inventory in inventories:
            for package in inventory.packages:
                if package not in keys:
                    keys[package] = match_key(package)
        self._fetch({key[:2] for key in keys.values() if key})
        per_package = {package: self._findings(package, key) for package, key in keys.items()}
        results = []
        for inventory in inventories:
            findings: list[Finding] = []
            for package in inventory.packages:
                findings.extend(per_package[package])
            results.append(findings)
        return results

    def _fetch(self, wanted: set[tuple[str, str]]) -> None:
        missing: dict[str, set[str]] = defaultdict(set)
        for ecosystem, name in wanted - self._ranges.keys():
            missing[ecosystem].add(name)
            self._ranges[(ecosystem, name)] = []
        if not missing:
            return
        with self.db.session() as conn:
            for ecosystem, names in missing.items():
                for row in q.live_ranges(conn, ecosystem, names):
                    self._ranges[(ecosystem, row.package)].append(row)

    def _findings(self, package: Package, key: tuple[str, str, str] | None) -> list[Finding]:
        if key is None:
            return []
        judged = self._judged.get(key)
        if judged is None:
            judged = self._judged[key] = _judge(key, self._ranges[key[:2]])
        return [
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
        ]


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
