"""Small real stand-ins for the scanner and the matcher (built on other branches), and a
registry whose job worker runs them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

from dockyard.db.engine import Database
from dockyard.db.models import Job
from dockyard.oci.digest import parse_digest
from dockyard.scan.analyzer import Limits
from dockyard.scan.model import Finding, Inventory, OSInfo, Package
from dockyard.storage import BlobStore, open_store
from dockyard.workers.jobs import JobKind, JobWorker
from dockyard.workers.scan_job import ScanJobs
from tests.support.auth_registry import AuthRegistry


class LayerRefused(Exception):
    """What the real scanner's ScanFailed is: an exception carrying a reason for users."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def fake_scanner(store: BlobStore, manifest: dict[str, Any], limits: Limits) -> Inventory:
    """Reads the first layer from the store; a layer starting with b"corrupt" is refused,
    b"crash" raises an unexpected error; otherwise a fixed Debian + PyPI inventory."""
    first, last = manifest["layers"][0]["digest"], manifest["layers"][-1]["digest"]
    data = b"".join(store.read(parse_digest(first)))
    if data.startswith(b"corrupt"):
        raise LayerRefused("layer 1 is not a tar archive")
    if data.startswith(b"crash"):
        raise RuntimeError("disk on fire")
    assert limits.max_files_per_layer > 0
    return Inventory(
        os=OSInfo("debian", "12", "Debian GNU/Linux 12 (bookworm)"),
        packages=(
            Package(
                "libssl3",
                "3.0.11-1~deb12u1",
                "Debian:12",
                "deb",
                first,
                "var/lib/dpkg/status",
                source_name="openssl",
                source_version="3.0.11-1~deb12u1",
                namespace="debian",
                arch="amd64",
            ),
            Package(
                "requests",
                "2.30.0",
                "PyPI",
                "pypi",
                last,
                "usr/lib/python3/site-packages/requests-2.30.0.dist-info/METADATA",
            ),
        ),
        unsupported=("var/lib/rpm/Packages (BerkeleyDB)",),
    )


@dataclass
class Advisories:
    """A matcher over a list the test edits: (id, package or source name, severity, score)."""

    known: list[tuple[str, str, str, float | None]] = field(default_factory=list)

    def match(self, _db: Database, inventory: Inventory) -> list[Finding]:
        found = []
        for advisory_id, name, severity, score in self.known:
            for package in inventory.packages:
                if name in (package.name, package.source_name):
                    found.append(
                        Finding(
                            advisory_id,
                            (f"ALIAS-{advisory_id}",),
                            f"{name} is broken",
                            severity,
                            score,
                            package,
                            "9.9",
                        )
                    )
        return found


def worker(
    registry: AuthRegistry, advisories: Advisories, scanner: Callable[..., Inventory] = fake_scanner
) -> JobWorker:
    scans = ScanJobs(
        registry.db,
        open_store(registry.settings),
        scanner=scanner,
        matcher=advisories.match,
        failure=LayerRefused,
        limits=Limits(),
    )
    kinds = {
        "scan": JobKind("scan", scans.scan, scans.give_up),
        "rematch": JobKind("rematch", scans.rematch),
    }
    return JobWorker(registry.db, kinds, backoff_seconds=0)


def live_jobs(db: Database, dedupe_key: str) -> list[tuple[str, str]]:
    with db.session() as conn:
        rows = conn.execute(select(Job.kind, Job.payload).where(Job.dedupe_key == dedupe_key))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def push_plain(client: TestClient, repository: str) -> str:
    """Push a tiny image with no auth (a registry with ``auth: none``); its digest."""
    descriptors = []
    for data, media_type in (
        (b"{}", "application/vnd.oci.image.config.v1+json"),
        (b"not really a layer", "application/vnd.oci.image.layer.v1.tar+gzip"),
    ):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        resp = client.post(f"/v2/{repository}/blobs/uploads/?digest={digest}", content=data)
        assert resp.status_code == 201, resp.text
        descriptors.append({"mediaType": media_type, "digest": digest, "size": len(data)})
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": descriptors[0],
        "layers": descriptors[1:],
    }
    resp = client.put(
        f"/v2/{repository}/manifests/v1",
        content=json.dumps(manifest),
        headers={"Content-Type": manifest["mediaType"]},
    )
    assert resp.status_code == 201, resp.text
    return resp.headers["docker-content-digest"]
