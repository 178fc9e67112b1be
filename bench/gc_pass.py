"""Benchmark: a garbage collection pass over a large registry, and pushes during it.

    .venv/bin/python bench/gc_pass.py [--blobs 100000] [--manifests 20000] [--database-url URL]

Fills a fresh database (SQLite in a temp dir unless --database-url names an empty
PostgreSQL database) and blob store with BLOBS small blobs and MANIFESTS manifests of five
blobs each over 100 repositories; half the manifests are tagged, the other half (and so
half the blobs) are unreferenced. Then times ``Collector.sweep`` (find what is
unreferenced) and ``Collector.run(now=True)`` (delete it, bytes included), sampling RSS.
Last, it times manifest pushes (in-process ``Manifests.put``) while idle and while a
second pass collects the way a server does (``GcProcess``: a low-priority child that
rests between small transactions), and prints the p50/p99 of both.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.db.models import Blob, Manifest, ManifestReference, Repository, RepositoryBlob, Tag
from dockyard.registry.gc import Collector
from dockyard.registry.manifests import Manifests
from dockyard.storage.filesystem import FilesystemStore
from dockyard.workers.gc_process import GcProcess

REPOSITORIES = 100
OCI = "application/vnd.oci.image.manifest.v1+json"


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def fill(db: Database, root: Path, blobs: int, manifests: int) -> None:
    """Rows and files, written directly (a push per object would take an hour)."""
    now = datetime.now(UTC)
    digests = []
    for i in range(blobs):
        data = i.to_bytes(8, "big") + b"x" * 56
        hexdigest = hashlib.sha256(data).hexdigest()
        path = root / "blobs" / "sha256" / hexdigest[:2] / hexdigest
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        digests.append("sha256:" + hexdigest)
    per_manifest = blobs // manifests
    with db.session(write=True) as conn:
        conn.execute(
            insert(Repository),
            [{"id": r + 1, "name": f"bench/r{r}", "created_at": now} for r in range(REPOSITORIES)],
        )
        conn.execute(insert(Blob), [{"digest": d, "size": 64, "created_at": now} for d in digests])
        links, manifest_rows, references, tags = [], [], [], []
        for m in range(manifests):
            repository_id = m % REPOSITORIES + 1
            mine = digests[m * per_manifest : (m + 1) * per_manifest]
            payload = json.dumps({"schemaVersion": 2, "n": m, "layers": mine}).encode()
            manifest_rows.append({
                "id": m + 1, "repository_id": repository_id,
                "digest": "sha256:" + hashlib.sha256(payload).hexdigest(), "media_type": OCI,
                "size": len(payload), "total_size": len(payload) + 64 * len(mine),
                "payload": payload, "created_at": now,
            })  # fmt: skip
            links += [{"repository_id": repository_id, "digest": d, "created_at": now}
                      for d in mine]  # fmt: skip
            references += [{"manifest_id": m + 1, "digest": d, "kind": "blob"} for d in mine]
            if m % 2 == 0:
                tag = {"repository_id": repository_id, "name": f"t{m}", "manifest_id": m + 1}
                tags.append({**tag, "created_at": now, "updated_at": now})
        for table, rows in ((Manifest, manifest_rows), (RepositoryBlob, links),
                            (ManifestReference, references), (Tag, tags)):  # fmt: skip
            for start in range(0, len(rows), 5000):
                conn.execute(insert(table), rows[start : start + 5000])


def timed_pushes(manifests: Manifests, count: int, prefix: str) -> list[float]:
    config = b'{"architecture":"amd64","os":"linux"}'
    digest = "sha256:" + hashlib.sha256(config).hexdigest()
    body_base = {"schemaVersion": 2, "mediaType": OCI, "layers": [],
                 "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                            "digest": digest, "size": len(config)}}  # fmt: skip
    took = []
    for i in range(count):
        body = json.dumps({**body_base, "annotations": {"n": f"{prefix}{i}"}}).encode()
        started = time.perf_counter()
        manifests.put("bench/pushes", f"{prefix}{i}", body, OCI)
        took.append((time.perf_counter() - started) * 1000)
    return took


def seed_config(db: Database, store_root: Path) -> None:
    config = b'{"architecture":"amd64","os":"linux"}'
    hexdigest = hashlib.sha256(config).hexdigest()
    path = store_root / "blobs" / "sha256" / hexdigest[:2] / hexdigest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(config)
    now = datetime.now(UTC)
    with db.session(write=True) as conn:
        conn.execute(insert(Repository).values(id=REPOSITORIES + 1, name="bench/pushes",
                                               created_at=now))  # fmt: skip
        conn.execute(insert(Blob).values(digest="sha256:" + hexdigest, size=len(config),
                                         created_at=now))  # fmt: skip
        conn.execute(insert(RepositoryBlob).values(repository_id=REPOSITORIES + 1,
                                                   digest="sha256:" + hexdigest,
                                                   created_at=now))  # fmt: skip


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def pushes_during_a_background_pass(db: Database, root: Path, args: argparse.Namespace) -> None:
    """Time pushes idle, then while the server's gentle child collects a quarter of it."""
    seed_config(db, root)
    manifests = Manifests(db, 4 * 1024 * 1024)
    idle = timed_pushes(manifests, args.pushes, "idle")
    settings = Settings(
        data_dir=root, database_url=db.url, sqlite_synchronous=args.sqlite_synchronous
    )
    passes = GcProcess(settings)
    passes.run(now=True)  # start the child now: nothing is due yet
    fill_more = args.manifests // 4  # fresh garbage for a concurrent pass
    with db.session(write=True) as conn:  # untag a quarter of what is left
        conn.execute(Tag.__table__.delete().where(Tag.manifest_id <= fill_more * 2))
    Collector(db, FilesystemStore(root)).sweep(timedelta(0))
    second: dict = {}
    running = threading.Thread(target=lambda: second.update(passes.run(now=True)))
    started = time.perf_counter()
    running.start()
    time.sleep(0.5)  # the child is deep in the pass
    during = timed_pushes(manifests, args.pushes, "busy")
    still_running = running.is_alive()
    running.join()
    passes.close()
    print(f"background pass removed {second.get('manifests')} manifests, "
          f"{second.get('blobs')} blobs in {time.perf_counter() - started:.1f} s; "
          f"pushes ended {'before' if still_running else 'after'} it")  # fmt: skip
    for name, values in (("idle", idle), ("during gc", during)):
        print(f"manifest push {name}: p50 {statistics.median(values):.2f} ms, "
              f"p99 {percentile(values, 0.99):.2f} ms")  # fmt: skip
    print("slowest during gc:", [round(v, 1) for v in sorted(during)[-8:]])
    print(f"p99 ratio during/idle: {percentile(during, 0.99) / percentile(idle, 0.99):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--blobs", type=int, default=100_000)
    parser.add_argument("--manifests", type=int, default=20_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--pushes", type=int, default=300)
    parser.add_argument("--sqlite-synchronous", default="full")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        store = FilesystemStore(root)
        db = Database(args.database_url or f"sqlite:///{tmp}/bench.db", args.sqlite_synchronous)
        db.migrate()
        started = time.perf_counter()
        fill(db, root, args.blobs, args.manifests)
        print(f"filled {args.blobs} blobs, {args.manifests} manifests "
              f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
        collector = Collector(db, store)
        samples = []

        def sample(_phase: str, _n: int) -> None:
            samples.append(rss_mib())

        before = rss_mib()
        started, cpu = time.perf_counter(), time.process_time()
        queued = collector.sweep(timedelta(0), progress=sample)
        swept = time.perf_counter() - started
        removed = collector.run(now=True, progress=sample)
        took = time.perf_counter() - started
        print(f"sweep queued {queued} in {swept:.1f} s; pass removed {removed.manifests} "
              f"manifests, {removed.blob_links} links, {removed.blobs} blobs "
              f"({removed.blob_bytes / 2**20:.1f} MiB) in {took:.1f} s total "
              f"({time.process_time() - cpu:.1f} s CPU); RSS {before:.0f} MiB before, "
              f"max {max(samples, default=before):.0f} MiB during")  # fmt: skip
        left = sum(1 for _ in store.iter_digests())
        print(f"blobs left in storage: {left} (expected {args.blobs - removed.blobs})")

        pushes_during_a_background_pass(db, root, args)
        db.dispose()
        os.sync()


if __name__ == "__main__":
    main()
