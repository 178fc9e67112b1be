"""What the garbage collection integration tests check at the end of a run against a
live server: every acknowledged tag pulls intact, and storage matches the database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from dockyard.db.engine import normalise_url
from tests.integration.clients import ClientSandbox
from tests.integration.conftest import LiveServer


def pull_each(sandbox: ClientSandbox, folder: Path, tags: dict[tuple[str, str], str]) -> None:
    """skopeo-copy every (repository, tag) and check it is the digest acknowledged last
    (skopeo verifies every blob's digest on the way)."""
    for (repo, tag), digest in sorted(tags.items()):
        out = folder / repo / tag
        out.parent.mkdir(parents=True, exist_ok=True)
        sandbox.skopeo_copy(sandbox.docker_ref(repo, tag), f"oci:{out}:{tag}", "--preserve-digests")
        assert json.loads((out / "index.json").read_text())["manifests"][0]["digest"] == digest


@dataclass(frozen=True)
class Blobs:
    rows: set[str]  # blob rows in the database
    referenced: set[str]  # blobs some manifest names
    on_disk: set[str]  # bytes in the store
    gc_passes: int  # audit events of the server's own collector


def blobs(server: LiveServer) -> Blobs:
    engine = create_engine(normalise_url(server.database_url))
    with engine.connect() as conn:
        rows = set(conn.execute(text("SELECT digest FROM blobs")).scalars())
        referenced = set(
            conn.execute(text("SELECT digest FROM manifest_references WHERE kind = 'blob'"))
            .scalars()
        )  # fmt: skip
        passes = conn.execute(text("SELECT count(*) FROM audit_events WHERE actor = 'gc'"))
        gc_passes = int(passes.scalar() or 0)
    engine.dispose()
    folder = server.data_dir / "blobs" / "sha256"
    on_disk = {f"sha256:{p.name}" for p in folder.rglob("*") if p.is_file()}
    return Blobs(rows, referenced, on_disk, gc_passes)
