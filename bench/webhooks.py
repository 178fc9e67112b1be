"""Webhooks: what queueing an event adds to a push, and how fast one worker delivers.

.venv/bin/python bench/webhooks.py [--pushes 300] [--deliveries 1000] [--postgres URL]

1. Pushes (manifest PUT in-process, the registry's own ``Manifests.put``: same blobs, a
   new tag each time) into a project without hooks, one with a project hook, one under a
   group with a group hook (one query more: the project's path); the difference of the
   medians is the cost of the outbox (target: <= 1 ms).
2. ``--deliveries`` events queued for one hook, then one ``JobWorker`` with the webhook
   kind drains them to a keep-alive receiver on 127.0.0.1 (target: >= 200/s).
Short by default (seconds); SQLite in a temporary folder unless ``--postgres``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from starlette.testclient import TestClient  # noqa: E402

from dockyard.admin import accounts  # noqa: E402
from dockyard.admin.hooks import Hooks, Scope  # noqa: E402
from dockyard.config import Settings  # noqa: E402
from dockyard.db.engine import Database  # noqa: E402
from dockyard.db.queries.accounts import namespace_by_path  # noqa: E402
from dockyard.http.app import create_app  # noqa: E402
from dockyard.registry import build_registry  # noqa: E402
from dockyard.storage import open_store  # noqa: E402
from dockyard.webhooks import outbox  # noqa: E402
from dockyard.webhooks.events import Event, Origin  # noqa: E402
from dockyard.webhooks.ssrf import AllowList  # noqa: E402
from dockyard.workers.jobs import JobWorker  # noqa: E402
from dockyard.workers.kinds import webhook_kind  # noqa: E402

MANIFEST = "application/vnd.oci.image.manifest.v1+json"


class Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        return


def upload(client: TestClient, repository: str) -> bytes:
    """Blobs for one image; the manifest body that references them."""
    descriptors = []
    for data in (b'{"architecture":"amd64","os":"linux"}', b"layer bytes for the bench"):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        resp = client.post(f"/v2/{repository}/blobs/uploads/?digest={digest}", content=data)
        assert resp.status_code == 201, resp.text
        descriptors.append({"digest": digest, "size": len(data)})
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **descriptors[0]},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", **descriptors[1]}],
        }
    ).encode()


def push_times(registry: object, repository: str, body: bytes, n: int, prefix: str) -> list[float]:
    took = []
    for i in range(n):
        started = time.perf_counter()
        registry.manifests.put(repository, f"{prefix}{i}", body, MANIFEST)  # type: ignore[attr-defined]
        took.append(time.perf_counter() - started)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=300)
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL instead of SQLite")
    parser.add_argument("--sqlite-synchronous", default="full", choices=["full", "normal"])
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"

    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            data_dir=Path(folder),
            database_url=args.postgres,
            auth="none",
            scan_on_push=False,
            webhook_allowed_hosts="127.0.0.1",
            sqlite_synchronous=args.sqlite_synchronous,
        )
        with TestClient(create_app(settings)) as client:
            db = Database(settings.effective_database_url, settings.sqlite_synchronous)
            registry = build_registry(settings, db, open_store(settings))
            names = ("quiet", "project", "group")  # no hook; a project's hook; a group's
            bodies = {}
            for name in names:
                accounts.create_group(db, name)
                accounts.create_project(db, f"{name}/app")
                bodies[name] = upload(client, f"{name}/app/web")
            hooks = Hooks(db, AllowList.parse("127.0.0.1"))
            fields = {"url": url, "secret": "bench", "events": ["push"]}
            project = accounts.find_project(db, "project/app")
            hooks.create(Scope(project.path, project_id=project.id), fields, "bench")
            with db.session() as conn:
                namespace = namespace_by_path(conn, "group")
            assert namespace is not None
            hooks.create(Scope("group", namespace_id=namespace.id), fields, "bench")
            medians = {}
            for name in names:
                push_times(registry, f"{name}/app/web", bodies[name], 20, "warm")
            for name in names:
                took = push_times(registry, f"{name}/app/web", bodies[name], args.pushes, "t")
                medians[name] = statistics.median(took) * 1000
            q = medians["quiet"]
            print(f"push without hooks: median {q:.3f} ms ({args.pushes} pushes each)")
            for name in ("project", "group"):
                m = medians[name]
                print(f"push with a {name} hook: median {m:.3f} ms; the outbox adds {m - q:.3f} ms")

            worker = JobWorker(db, {"webhook": webhook_kind(settings, db)})
            worker.drain()  # the pushes' own deliveries
            event = Event("push", "project/app/web", "v1", "sha256:" + "0" * 64, MANIFEST, 1)
            with db.session(write=True) as conn:
                for _ in range(args.deliveries):
                    outbox.emit(conn, event, Origin("bench", "personal", "localhost"))
            started = time.perf_counter()
            sent = worker.drain()
            took = time.perf_counter() - started
            print(f"one worker delivered {sent} events in {took:.2f} s: {sent / took:.0f}/s")
            db.dispose()
    server.shutdown()


if __name__ == "__main__":
    main()
