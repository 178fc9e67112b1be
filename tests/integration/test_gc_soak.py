"""Soak: pushes, tag moves and deletes race the server's own garbage collection.

A live server (two worker processes, collection every second with no delay) takes
parallel pushes of images that share layers, tags moving between them, tag and manifest
deletes. A push that loses a blob to the collector between its upload and its manifest
gets MANIFEST_BLOB_UNKNOWN and pushes the blob again, as docker and podman do. At the
end every tag the registry acknowledged last pulls with skopeo (which verifies every
digest), and after a final ``dockyard gc --now`` the bytes in storage are exactly the
blobs the database holds, and every blob a manifest names is there.

``make test`` runs it for SOAK_SECONDS (default 15) on SQLite and PostgreSQL; ``make
soak`` for several minutes.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.clients import ClientSandbox
from tests.integration.conftest import LiveServer, fail_on_traceback
from tests.integration.gc_checks import blobs, pull_each

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

SECONDS = float(os.environ.get("SOAK_SECONDS", "15"))
PUSHERS = 4
REPOSITORIES = 3
SHARED = [os.urandom(2048) for _ in range(6)]  # layers many images share
OCI = "application/vnd.oci.image.manifest.v1+json"


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_url: Callable[[], str],
) -> Iterator[LiveServer]:
    url = postgres_url() if request.param == "postgres" else ""
    env = {"DOCKYARD_GC_REVIEW_DELAY_SECONDS": "0", "DOCKYARD_GC_INTERVAL_SECONDS": "1",
           "DOCKYARD_GC_UPLOAD_GRACE_SECONDS": "3",
           "DOCKYARD_SCAN_ON_PUSH": "false"}  # fmt: skip
    live = LiveServer("dockyard", tmp_path_factory.mktemp("soak"), url, workers=2, extra_env=env)
    live.start()
    try:
        yield live
    finally:
        live.stop()
    fail_on_traceback(live.log(), "during the soak")


class Pusher(threading.Thread):
    """Pushes, re-tags and deletes in its own tags; remembers what was acknowledged last."""

    def __init__(self, server: LiveServer, number: int, until: float) -> None:
        super().__init__(daemon=True)
        self.http = httpx.Client(base_url=server.url, timeout=60, trust_env=False)
        self.number, self.until = number, until
        self.random = random.Random(number)
        self.tags: dict[tuple[str, str], str | None] = {}  # (repo, tag) -> digest, None gone
        self.pushed = self.retried = self.gave_up = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while time.monotonic() < self.until:
                self.step()
        except BaseException as error:  # noqa: BLE001 - the test reports it
            self.error = error

    def step(self) -> None:
        repo = f"soak/r{self.random.randrange(REPOSITORIES)}"
        tag = f"p{self.number}-t{self.random.randrange(4)}"
        roll = self.random.random()
        if roll < 0.15 and self.tags.get((repo, tag)):
            resp = self.http.delete(f"/v2/{repo}/manifests/{tag}")
            assert resp.status_code == 202, resp.text
            self.tags[(repo, tag)] = None
        elif roll < 0.2 and self.tags.get((repo, tag)):
            resp = self.http.delete(f"/v2/{repo}/manifests/{self.tags[(repo, tag)]}")
            assert resp.status_code in (202, 404), resp.text  # 404: another tag's delete
            for key, value in self.tags.items():
                if key[0] == repo and value == self.tags[(repo, tag)]:
                    self.tags[key] = None
        else:
            pushed = self.push(repo, tag)
            if pushed is not None:  # else not acknowledged: the tag keeps what it had
                self.tags[(repo, tag)] = pushed

    def blob(self, repo: str, data: bytes) -> dict:
        resp = self.http.post(f"/v2/{repo}/blobs/uploads/?digest={digest(data)}", content=data)
        assert resp.status_code == 201, resp.text
        return {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(data),
                "size": len(data)}  # fmt: skip

    def push(self, repo: str, tag: str) -> str | None:
        """The digest the registry acknowledged, or None after giving up: with no delay,
        a busy collector may take a fresh blob before every retry's manifest arrives."""
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "nonce": os.urandom(8).hex()}).encode()  # fmt: skip
        layers_data = [*self.random.sample(SHARED, 3), os.urandom(1024)]
        for _attempt in range(5):
            config_desc = self.blob(repo, config)
            config_desc["mediaType"] = "application/vnd.oci.image.config.v1+json"
            layers = [self.blob(repo, data) for data in layers_data]
            body = json.dumps({"schemaVersion": 2, "mediaType": OCI, "config": config_desc,
                               "layers": layers}).encode()  # fmt: skip
            resp = self.http.put(
                f"/v2/{repo}/manifests/{tag}", content=body, headers={"Content-Type": OCI}
            )
            if resp.status_code == 201:
                self.pushed += 1
                return resp.headers["docker-content-digest"]
            assert resp.status_code == 400, resp.text
            assert resp.json()["errors"][0]["code"] == "MANIFEST_BLOB_UNKNOWN", resp.text
            self.retried += 1  # collected between upload and manifest: push the blobs again
        self.gave_up += 1
        return None


def test_pushes_deletes_and_collection_never_lose_an_acknowledged_image(
    server: LiveServer, tmp_path: Path
) -> None:
    until = time.monotonic() + SECONDS
    pushers = [Pusher(server, n, until) for n in range(PUSHERS)]
    for pusher in pushers:
        pusher.start()
    for pusher in pushers:
        pusher.join(SECONDS + 300)
        assert pusher.error is None, repr(pusher.error)
    assert sum(p.pushed for p in pushers) >= PUSHERS

    live = {key: d for p in pushers for key, d in p.tags.items() if d is not None}
    for (repo, tag), expected in sorted(live.items()):
        head = httpx.head(f"{server.url}/v2/{repo}/manifests/{tag}", headers={"Accept": OCI})
        assert head.headers.get("docker-content-digest") == expected, (repo, tag, head)
    pull_each(ClientSandbox(server.host, tmp_path / "clients"), tmp_path / "pulled", live)

    server.cli("gc", "--now")
    found = blobs(server)
    assert found.gc_passes > 0, "the server's collector never removed anything"
    assert found.referenced <= found.rows, f"referenced but gone: {found.referenced - found.rows}"
    assert found.rows == found.on_disk, (
        f"rows without bytes {found.rows - found.on_disk}, orphans {found.on_disk - found.rows}"
    )
    assert found.rows == found.referenced  # after --now nothing unreferenced is left
