"""Concurrent pushes: the same blob from 20 clients, and 20 manifests racing for one tag."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import pytest

from tests.integration.clients import (
    OCI_CONFIG,
    OCI_LAYER_TAR,
    OCI_MANIFEST,
    get_manifest,
    new_http,
    push_blob,
    put_manifest,
    sha256_digest,
    tags_of,
)

pytestmark = pytest.mark.integration

WRITERS = 20
BLOB_SIZE = 1024 * 1024
T = TypeVar("T")


def all_at_once(base_url: str, work: Callable[[httpx.Client, int], T]) -> list[T | BaseException]:
    """Run ``work`` in WRITERS threads released together, each with its own connection.

    Returns each thread's result or exception, so a failure report shows every writer.
    """
    start = threading.Barrier(WRITERS, timeout=30)

    def one(i: int) -> T | BaseException:
        try:
            with new_http(base_url) as client:
                client.get("/v2/")  # open the connection before the race starts
                start.wait()
                return work(client, i)
        except Exception as exc:  # noqa: BLE001 - reported by the caller with the others
            return exc

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        return list(pool.map(one, range(WRITERS)))


def failures(results: list[Any]) -> list[str]:
    return [f"writer {i}: {r!r}" for i, r in enumerate(results) if isinstance(r, BaseException)]


def manifest_body(config: dict[str, Any], layer: dict[str, Any], writer: int) -> bytes:
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config,
        "layers": [layer],
        "annotations": {"org.example.writer": str(writer)},
    }
    return json.dumps(manifest, separators=(",", ":")).encode()


@pytest.mark.timeout(180)
def test_concurrent_pushes(live_server: Any, repo: str, http: httpx.Client) -> None:
    blob = os.urandom(BLOB_SIZE)
    blob_digest = sha256_digest(blob)

    # Half the writers use the one-request POST ?digest=, half POST then PUT.
    results = all_at_once(
        live_server.url, lambda c, i: push_blob(c, repo, blob, single_post=i % 2 == 0)
    )
    assert not failures(results), "\n".join(failures(results))
    assert results == [blob_digest] * WRITERS

    head = http.head(f"/v2/{repo}/blobs/{blob_digest}")
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == BLOB_SIZE
    assert head.headers["Docker-Content-Digest"] == blob_digest

    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [blob_digest]},
        }
    ).encode()
    config_digest = push_blob(http, repo, config)
    config_desc = {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)}
    layer_desc = {"mediaType": OCI_LAYER_TAR, "digest": blob_digest, "size": BLOB_SIZE}
    bodies = [manifest_body(config_desc, layer_desc, i) for i in range(WRITERS)]
    digests = {sha256_digest(b): b for b in bodies}
    assert len(digests) == WRITERS

    def put_tag(client: httpx.Client, i: int) -> tuple[int, str, str]:
        resp = put_manifest(client, repo, "race", bodies[i], OCI_MANIFEST)
        return resp.status_code, resp.headers.get("Docker-Content-Digest", ""), resp.text

    results = all_at_once(live_server.url, put_tag)
    assert not failures(results), "\n".join(failures(results))
    puts = [r for r in results if isinstance(r, tuple)]
    for i, (status, digest, text) in enumerate(puts):
        assert status == 201, f"writer {i}: PUT manifest -> {status} {text}"
        assert digest == sha256_digest(bodies[i])

    resp = get_manifest(http, repo, "race", accept=OCI_MANIFEST)
    assert resp.status_code == 200, resp.text
    winner = sha256_digest(resp.content)
    assert winner in digests, "the tag serves bytes nobody pushed"
    assert resp.headers["Docker-Content-Digest"] == winner
    assert tags_of(http, repo) == ["race"]
    for digest, body in digests.items():
        by_digest = get_manifest(http, repo, digest, accept=OCI_MANIFEST)
        assert by_digest.status_code == 200, f"GET {digest}: {by_digest.status_code}"
        assert by_digest.content == body
