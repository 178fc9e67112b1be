"""Benchmark: server time of the web UI's pages on a large registry.

    .venv/bin/python bench/ui_pages.py [--tags 100000] [--repositories 10000]

Builds a fresh SQLite database holding one repository of TAGS tags (each on its own
manifest) and REPOSITORIES repositories spread over 100 projects of one group, then
times each main page in process (the app and its templates, no network): the median of
``--repeat`` GETs after one warm-up. Auth is off, so the viewer is the sandbox admin, who
sees everything (the largest pages). Target (issue 13): every page ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select
from starlette.testclient import TestClient

from dockyard.admin.accounts import create_group, create_project
from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.db.models import Manifest, Repository, Tag
from dockyard.http.app import create_app

BIG = "bench/big/web"
CONFIG = "sha256:" + "c" * 64
MANIFEST = (
    '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
    '"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"'
    + CONFIG
    + '","size":2},"layers":[],"annotations":{"n":"N"}}'
)
PROJECTS = 100
POLICY = "bench/big/registry/cleanup_policy"


def fill(db: Database, tags: int, repositories: int) -> None:
    now = datetime.now(UTC)
    create_group(db, "bench")
    create_project(db, "bench/big")
    for n in range(PROJECTS):
        create_project(db, f"bench/p{n}")
    with db.session(write=True) as conn:
        names = [BIG] + [f"bench/p{n % PROJECTS}/img{n}" for n in range(repositories)]
        conn.execute(insert(Repository), [{"name": n, "created_at": now} for n in names])
        ids = dict(conn.execute(select(Repository.name, Repository.id)).all())
        manifests, rows = [], []
        for i in range(tags):
            payload = MANIFEST.replace("N", str(i)).encode()
            pushed = now - timedelta(seconds=tags - i)
            manifests.append(
                {
                    "repository_id": ids[BIG],
                    "digest": "sha256:" + hashlib.sha256(payload).hexdigest(),
                    "media_type": "application/vnd.oci.image.manifest.v1+json",
                    "size": len(payload),
                    "total_size": len(payload),
                    "payload": payload,
                    "created_at": pushed,
                }
            )
            rows.append({"name": f"build-{i}", "created_at": pushed, "updated_at": pushed})
        conn.execute(insert(Manifest), manifests)
        digests = dict(conn.execute(select(Manifest.digest, Manifest.id)).all())
        for row, manifest in zip(rows, manifests, strict=True):
            row.update(repository_id=ids[BIG], manifest_id=digests[manifest["digest"]])
        conn.execute(insert(Tag), rows)


def median_ms(client: TestClient, path: str, repeat: int) -> float:
    assert client.get(path).status_code == 200, path
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        resp = client.get(path)
        times.append(time.perf_counter() - started)
        assert resp.status_code == 200, path
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tags", type=int, default=100_000)
    parser.add_argument("--repositories", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    pages = {
        "projects (home)": "/",
        "group (100 projects)": "/g/bench",
        f"project ({args.repositories // PROJECTS} repositories)": "/p/bench/p1",
        f"repository ({args.tags:,} tags), first page": f"/r/{BIG}",
        "repository, filtered": f"/r/{BIG}?name=build-9999",
        "repository, oldest first, 100 per page": f"/r/{BIG}?sort=pushed_at&per_page=100",
        "tag": f"/r/{BIG}/-/tags/build-5",
        "tag, with a cleanup policy (.*, keep 10)": ("cleanup .*", f"/r/{BIG}/-/tags/build-5"),
        "tag, policy matching 10 tags (worst case)": (
            "cleanup build-[0-9]",
            f"/r/{BIG}/-/tags/build-0",
        ),
        "search (tags named build-99…)": "/-/search?q=build-99",
        "storage (admin)": "/-/admin/storage",
    }
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), auth="none")
        with TestClient(create_app(settings)) as client:
            db = Database(settings.effective_database_url)
            started = time.perf_counter()
            fill(db, args.tags, args.repositories)
            print(f"filled in {time.perf_counter() - started:.1f} s")
            print("| page | median server time |")
            print("|---|---|")
            for label, path in pages.items():
                if isinstance(path, tuple):  # ("cleanup REGEX", page): set the policy first
                    policy = {"enabled": True, "keep_n": 10, "name_regex": path[0].split()[1]}
                    saved = client.put(f"/api/v1/projects/{POLICY}", json=policy)
                    assert saved.status_code == 200, saved.text
                    path = path[1]
                print(f"| {label} | {median_ms(client, path, args.repeat):.1f} ms |")
            db.dispose()


if __name__ == "__main__":
    main()
