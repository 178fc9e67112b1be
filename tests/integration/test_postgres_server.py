"""A live server on PostgreSQL (instead of the default SQLite), driven by skopeo."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.integration.clients import (
    OCI_CONFIG,
    OCI_LAYER_TAR,
    OCI_MANIFEST,
    ClientSandbox,
    ImageBuilder,
    new_http,
    push_blob,
    put_manifest,
    tags_of,
)
from tests.integration.conftest import LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def pg_server(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: Callable[[], str]
) -> Iterator[LiveServer]:
    server = LiveServer("dockyard", tmp_path_factory.mktemp("pg-server"), postgres_url())
    server.start()
    try:
        yield server
    finally:
        server.stop()
    assert "Traceback" not in server.log()


def test_push_inspect_list_and_delete_on_postgresql(
    pg_server: LiveServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    sandbox = ClientSandbox(pg_server.host, tmp_path_factory.mktemp("pg-clients"))
    image = ImageBuilder(sandbox, tmp_path_factory.mktemp("pg-images")).single("pgtiny")
    for tag in ("v1", "v2"):
        sandbox.skopeo_copy(image.ref, sandbox.docker_ref("pg/app", tag))
    digest = sandbox.inspect("pg/app", "v1")["Digest"]
    assert sandbox.inspect("pg/app", "v2")["Digest"] == digest
    listed = sandbox.skopeo("list-tags", sandbox.docker_ref("pg/app")).stdout
    assert '"v1"' in listed and '"v2"' in listed
    sandbox.skopeo("delete", sandbox.docker_ref("pg/app", digest))
    gone = sandbox.skopeo("inspect", sandbox.docker_ref("pg/app", "v1"), check=False)
    assert gone.returncode != 0


CLIENTS = 32


def test_32_clients_pushing_into_one_repository_at_once_all_succeed(pg_server: LiveServer) -> None:
    """Every push in one repository updates the same usage counter rows, and concurrent
    blob commits lock the same digests: on PostgreSQL those waits, and any deadlock the
    server breaks, must stay inside Dockyard (waited out or retried), never a 5xx."""
    repo = "pg/parallel"
    shared = os.urandom(64 * 1024)  # a base layer every client pushes at the same moment
    start = threading.Barrier(CLIENTS, timeout=60)

    def push(i: int) -> tuple[str, int]:
        with new_http(pg_server.url) as client:
            client.get("/v2/")
            start.wait()
            layers = [push_blob(client, repo, shared, single_post=i % 2 == 0)]
            own = os.urandom(16 * 1024)
            layers.append(push_blob(client, repo, own))
            mounted = client.post(
                f"/v2/{repo}-copy-{i}/blobs/uploads/",
                params={"mount": layers[0], "from": repo},
            )
            assert mounted.status_code == 201, mounted.text
            config = json.dumps({"architecture": "amd64", "os": "linux", "n": i}).encode()
            manifest = {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": OCI_CONFIG,
                    "digest": push_blob(client, repo, config),
                    "size": len(config),
                },
                "layers": [
                    {"mediaType": OCI_LAYER_TAR, "digest": digest, "size": size}
                    for digest, size in zip(layers, [len(shared), len(own)], strict=True)
                ],
            }
            body = json.dumps(manifest).encode()
            put = put_manifest(client, repo, f"c{i}", body, OCI_MANIFEST)
            return put.headers.get("Docker-Content-Digest", put.text), put.status_code

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(push, range(CLIENTS)))
    assert [status for _, status in results] == [201] * CLIENTS, results
    with new_http(pg_server.url) as client:
        assert sorted(tags_of(client, repo)) == sorted(f"c{i}" for i in range(CLIENTS))
        for i, (digest, _) in enumerate(results):
            got = client.get(f"/v2/{repo}/manifests/c{i}", headers={"Accept": OCI_MANIFEST})
            assert got.status_code == 200 and got.headers["Docker-Content-Digest"] == digest
