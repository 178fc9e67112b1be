"""Benchmark: preview a cleanup policy over one repository of 10,000 tags.

    .venv/bin/python bench/cleanup_preview.py [--tags 10000] [--database-url URL]

Builds a fresh database (SQLite in a temp dir unless --database-url names an empty
PostgreSQL database) holding one project with one repository of TAGS tags, each on its
own manifest, pushed over the last 400 days (``build-N`` tags, every tenth a
``release-N``), then times ``POST /api/v1/projects/{p}/registry/cleanup_policy/preview``
end to end (in process, JSON included; also with ``?limit=200``, as the UI asks) and
the service call alone, for two policies: one
that deletes nearly everything and one that deletes a few hundred. Target: ≤ 1 s.
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

from dockyard.admin.accounts import create_group, create_project, find_project
from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.db.models import Manifest, Repository, Tag
from dockyard.http.app import create_app

PROJECT = "bench/app"
REPOSITORY = "bench/app/web"
POLICIES = {
    "deletes nearly all (keep_n 10, any age, keep release-.*)": {
        "keep_n": 10,
        "older_than": None,
        "name_regex": ".*",
        "name_regex_keep": "release-.*",
    },
    "deletes a few (keep_n 25, older than 30d, build-9.*)": {
        "keep_n": 25,
        "older_than": "30d",
        "name_regex": "build-9.*",
        "name_regex_keep": None,
    },
}


def fill(db: Database, count: int) -> None:
    """One repository with ``count`` tags, each on its own small manifest."""
    now = datetime.now(UTC)
    create_group(db, "bench")
    create_project(db, PROJECT)
    with db.session(write=True) as conn:
        conn.execute(insert(Repository).values(name=REPOSITORY, created_at=now))
        repo_id = conn.scalar(select(Repository.id).where(Repository.name == REPOSITORY))
        manifests, tags = [], []
        for i in range(count):
            payload = f'{{"schemaVersion":2,"n":{i}}}'.encode()
            pushed = now - timedelta(seconds=400 * 86400 * (count - i) // count)
            manifests.append(
                {
                    "repository_id": repo_id,
                    "digest": "sha256:" + hashlib.sha256(payload).hexdigest(),
                    "media_type": "application/vnd.oci.image.manifest.v1+json",
                    "size": len(payload),
                    "total_size": len(payload),
                    "payload": payload,
                    "created_at": pushed,
                }
            )
            name = f"release-{i}" if i % 10 == 0 else f"build-{i}"
            tags.append({"name": name, "created_at": pushed, "updated_at": pushed})
        conn.execute(insert(Manifest), manifests)
        ids = dict(conn.execute(select(Manifest.digest, Manifest.id)).all())
        for tag, manifest in zip(tags, manifests, strict=True):
            tag.update(repository_id=repo_id, manifest_id=ids[manifest["digest"]])
        conn.execute(insert(Tag), tags)


def timed(fn, repeat: int) -> tuple[float, object]:  # noqa: ANN001 - any call
    """Median seconds over ``repeat`` calls (after one warm-up), and the last result."""
    result = fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tags", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), database_url=args.database_url, auth="none")
        started = time.perf_counter()
        with TestClient(create_app(settings)) as client:
            db = Database(settings.effective_database_url)
            fill(db, args.tags)
            print(
                f"{db.engine.dialect.name}: {args.tags} tags written in "
                f"{time.perf_counter() - started:.1f} s"
            )
            api = client.app.web.routes[0].app.state.api  # /api/v1 (auth off: no /jwt/auth)
            project = find_project(db, PROJECT)
            url = f"/api/v1/projects/{PROJECT}/registry/cleanup_policy/preview"
            for label, policy in POLICIES.items():
                http, resp = timed(lambda p=policy: client.post(url, json=p), args.repeat)
                assert resp.status_code == 200, resp.text  # type: ignore[attr-defined]
                chosen = resp.json()["tags_to_delete"]  # type: ignore[attr-defined]
                short, _ = timed(
                    lambda p=policy: client.post(url + "?limit=200", json=p), args.repeat
                )
                service, _ = timed(lambda p=policy: api.cleanup.preview(project, p), args.repeat)
                print(
                    f"  {label}: {chosen} tags chosen; HTTP {http * 1000:.0f} ms, "
                    f"HTTP ?limit=200 (the UI's) {short * 1000:.0f} ms, "
                    f"service alone {service * 1000:.0f} ms (medians of {args.repeat})"
                )
            db.dispose()


if __name__ == "__main__":
    main()
