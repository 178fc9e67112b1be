"""Benchmark: import synthetic OSV advisories, then match inventories against them.

    .venv/bin/python bench/vulndb_import.py [--count 100000] [--database-url URL]

Writes an osv.dev-style zip of COUNT records (seven ecosystems, several advisories per
package, as in the real feeds), imports it into a fresh database (SQLite in a temp dir
unless --database-url names an empty PostgreSQL database), re-imports it (all
unchanged), then times ``match`` on a 500-package inventory and ``match_many`` on many
inventories. RSS is sampled during the import to show that memory stays flat.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
import zipfile
from pathlib import Path

from dockyard.db.engine import Database
from dockyard.scan.model import Inventory, Package
from dockyard.vulndb.importer import Progress, import_paths
from dockyard.vulndb.matcher import Matcher, match


def _deb(r: random.Random, major: int) -> str:
    return f"{major}.{r.randint(0, 20)}-{r.randint(1, 5)}+deb12u{r.randint(1, 9)}"


def _ubuntu(r: random.Random, major: int) -> str:
    return f"{major}.{r.randint(0, 20)}-0ubuntu{r.randint(1, 9)}"


def _apk(r: random.Random, major: int) -> str:
    return f"{major}.{r.randint(0, 20)}.{r.randint(0, 9)}-r{r.randint(0, 5)}"


def _plain(r: random.Random, major: int) -> str:
    return f"{major}.{r.randint(0, 20)}.{r.randint(0, 9)}"


ECOSYSTEMS = [  # (name, share of records, version maker)
    ("Debian:12", 0.35, _deb),
    ("Ubuntu:22.04", 0.15, _ubuntu),
    ("Alpine:v3.19", 0.05, _apk),
    ("PyPI", 0.15, _plain),
    ("npm", 0.15, _plain),
    ("Go", 0.08, _plain),
    ("Maven", 0.07, _plain),
]
PACKAGES_PER_ECOSYSTEM = 4000
VECTOR = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:{c}/I:{i}/A:N"


def package_name(ecosystem: str, k: int) -> str:
    return f"org.example:pkg{k}" if ecosystem == "Maven" else f"pkg{k}"


def make_record(rng: random.Random, n: int) -> dict:
    ecosystem, _, version = rng.choices(ECOSYSTEMS, weights=[e[1] for e in ECOSYSTEMS])[0]
    k = rng.randrange(PACKAGES_PER_ECOSYSTEM)
    major = rng.randint(1, 5)
    record = {
        "id": f"BENCH-{n:07d}",
        "modified": "2026-01-01T00:00:00Z",
        "published": "2025-12-01T00:00:00Z",
        "aliases": [f"CVE-2026-{n:06d}"],
        "summary": f"synthetic advisory {n} for {package_name(ecosystem, k)}",
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": package_name(ecosystem, k)},
                "ranges": [
                    {
                        "type": "ECOSYSTEM",
                        "events": [{"introduced": "0"}, {"fixed": version(rng, major)}],
                    }
                ],
            }
        ],
    }
    if rng.random() < 0.6:
        c, i = rng.choice("HLN"), rng.choice("HLN")
        record["severity"] = [{"type": "CVSS_V3", "score": VECTOR.format(c=c, i=i)}]
    else:
        record["database_specific"] = {"severity": rng.choice(["LOW", "MODERATE", "HIGH"])}
    return record


def write_zip(path: Path, count: int) -> None:
    rng = random.Random(9)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(count):
            archive.writestr(f"BENCH-{n:07d}.json", json.dumps(make_record(rng, n)))


def inventory(rng: random.Random, size: int) -> Inventory:
    packages = []
    for _ in range(size):
        ecosystem, _, version = rng.choice(ECOSYSTEMS)
        name = package_name(ecosystem, rng.randrange(PACKAGES_PER_ECOSYSTEM))
        packages.append(
            Package(name, version(rng, rng.randint(1, 5)), ecosystem, "generic", "sha256:x", "p")
        )
    return Inventory(os=None, packages=tuple(packages))


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--inventories", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "all.zip"
        started = time.perf_counter()
        write_zip(archive, args.count)
        print(f"wrote {args.count} records in {time.perf_counter() - started:.1f} s")
        db = Database(args.database_url or f"sqlite:///{tmp}/bench.db")
        db.migrate()
        samples: list[float] = []
        done = [0]

        def advance(n: int) -> None:
            done[0] += n
            if done[0] % 10_000 == 0:
                samples.append(rss_mib())

        before = rss_mib()
        started, cpu = time.perf_counter(), time.process_time()
        summary = import_paths(db, [archive], progress=Progress(advance=advance))
        took = time.perf_counter() - started
        print(
            f"import: {summary.added} added in {took:.1f} s "
            f"({time.process_time() - cpu:.1f} s CPU) "
            f"({summary.added / took:,.0f}/s); RSS {before:.0f} MiB before, per 10k records: "
            + " ".join(f"{s:.0f}" for s in samples)
        )
        started = time.perf_counter()
        again = import_paths(db, [archive])
        print(f"re-import: {again.unchanged} unchanged in {time.perf_counter() - started:.1f} s")

        rng = random.Random(1)
        image = inventory(rng, 500)
        started = time.perf_counter()
        findings = match(db, image)
        print(
            f"match: 500 packages -> {len(findings)} findings in "
            f"{(time.perf_counter() - started) * 1000:.0f} ms"
        )
        # Images share base layers and common dependencies: 50 distinct bases of 400
        # packages, plus 100 packages each drawn from 5,000 (name, version) pairs.
        bases = [inventory(rng, 400).packages for _ in range(50)]
        pool = inventory(rng, 5000).packages
        many = [
            Inventory(os=None, packages=bases[i % 50] + tuple(rng.sample(pool, 100)))
            for i in range(args.inventories)
        ]
        # In slices, as a rematch would go, so findings never pile up in memory.
        started, cpu, total = time.perf_counter(), time.process_time(), 0
        matcher = Matcher(db)
        for start in range(0, len(many), 500):
            total += sum(map(len, matcher.match_many(many[start : start + 500])))
        print(
            f"Matcher.match_many: {len(many)} inventories of 500 packages -> {total} findings in "
            f"{time.perf_counter() - started:.1f} s ({time.process_time() - cpu:.1f} s CPU)"
        )
        db.dispose()


if __name__ == "__main__":
    main()
