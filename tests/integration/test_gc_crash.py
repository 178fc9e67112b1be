"""kill -9 while the collector and deletes are at work: nothing referenced is lost, and
``dockyard gc --now`` converges to storage holding exactly the referenced blobs."""

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
from tests.integration.conftest import LiveServer
from tests.integration.gc_checks import blobs, pull_each

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

OCI = "application/vnd.oci.image.manifest.v1+json"
SHARED = [os.urandom(4096) for _ in range(4)]


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
    live = LiveServer("dockyard", tmp_path_factory.mktemp("crash"), url, extra_env=env)
    live.start()
    try:
        yield live
    finally:
        live.stop()


def push(http: httpx.Client, repo: str, tag: str) -> str:
    """Push an image; blobs the collector took before the manifest came are pushed again
    (there is no delay in these tests), as clients do on MANIFEST_BLOB_UNKNOWN."""
    config_data = json.dumps({"os": "linux", "n": os.urandom(6).hex()}).encode()
    unique = os.urandom(20_000)
    for _attempt in range(10):
        resp = _push_once(http, repo, tag, config_data, unique)
        if resp.status_code == 201:
            return resp.headers["docker-content-digest"]
        assert resp.json()["errors"][0]["code"] == "MANIFEST_BLOB_UNKNOWN", resp.text
    raise AssertionError(f"{repo}:{tag} never went in: {resp.text}")


def _push_once(
    http: httpx.Client, repo: str, tag: str, config_data: bytes, unique: bytes
) -> httpx.Response:
    def blob(data: bytes, media_type: str) -> dict:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        resp = http.post(f"/v2/{repo}/blobs/uploads/?digest={digest}", content=data)
        assert resp.status_code == 201, resp.text
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    config = blob(config_data, "application/vnd.oci.image.config.v1+json")
    layers = [blob(d, "application/vnd.oci.image.layer.v1.tar") for d in [*SHARED[:2], unique]]
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI, "config": config,
                       "layers": layers}).encode()  # fmt: skip
    return http.put(f"/v2/{repo}/manifests/{tag}", content=body, headers={"Content-Type": OCI})


def test_kill_during_collection_and_deletes_loses_nothing_referenced(
    server: LiveServer, tmp_path: Path
) -> None:
    rng = random.Random(7)
    kept: dict[tuple[str, str], str] = {}
    for round_ in range(2):
        http = httpx.Client(base_url=server.url, timeout=30, trust_env=False)
        # Work for the collector: images pushed and then untagged or deleted.
        doomed = []
        for i in range(30):
            repo = f"crash/r{i % 3}"
            doomed.append((repo, f"drop-{round_}-{i}", push(http, repo, f"drop-{round_}-{i}")))
        for i in range(3):
            repo, tag = f"crash/r{i}", f"keep-{round_}"
            kept[(repo, tag)] = push(http, repo, tag)

        def delete_all(http: httpx.Client = http, doomed: list = doomed) -> None:
            for repo, tag, digest in doomed:
                target = digest if rng.random() < 0.5 else tag
                try:
                    http.delete(f"/v2/{repo}/manifests/{target}")
                except httpx.TransportError:
                    return  # the server is being killed

        deleter = threading.Thread(target=delete_all, daemon=True)
        deleter.start()
        time.sleep(rng.uniform(0.3, 1.5))  # deletes and collection under way
        server.restart()  # SIGKILL, then start again on the same data
        deleter.join(30)
        http.close()

    pull_each(ClientSandbox(server.host, tmp_path / "clients"), tmp_path / "pulled", kept)
    server.cli("gc", "--now")
    second = json.loads(server.cli("gc", "--now", "-o", "json"))
    assert second["manifests"] == 0 and second["blobs"] == 0 and second["orphans"] == 0
    found = blobs(server)
    assert found.rows == found.referenced == found.on_disk
