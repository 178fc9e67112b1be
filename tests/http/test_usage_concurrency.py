"""Usage stays exact under concurrent pushes, on SQLite and PostgreSQL: images sharing
layers pushed at once into two repositories of one project (each layer counts once for
the project and its group), pushes racing deletes, and pushes racing for the last room
under a limit (no blob link ever takes the project past it)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from dockyard.admin import usage as admin_usage
from dockyard.config import Settings
from dockyard.db.engine import Database
from dockyard.http.app import create_app
from tests.http.oci_helpers import (
    OCI_CONFIG,
    OCI_LAYER,
    OCI_MANIFEST,
    describe,
    descriptor,
    digest_of,
    image_config,
    image_manifest,
    manifest_url,
    random_bytes,
    uploads_url,
    with_query,
)

WRITERS = 12


@dataclass
class Registry:
    client: TestClient
    db: Database


@pytest.fixture(scope="module")
def registry(
    backend: str, tmp_path_factory: pytest.TempPathFactory, postgres_url: Callable[[], str]
) -> Iterator[Registry]:
    data_dir: Path = tmp_path_factory.mktemp(f"usage-{backend}")
    url = postgres_url() if backend == "postgres" else ""
    settings = Settings(data_dir=data_dir, database_url=url, auth="none")
    with TestClient(create_app(settings)) as client:
        db = Database(settings.effective_database_url)
        yield Registry(client, db)
        db.dispose()


def new_project(client: httpx.Client) -> str:
    group = f"c{uuid.uuid4().hex[:8]}"
    assert client.post("/api/v1/groups", json={"path": group}).status_code == 201
    assert client.post("/api/v1/projects", json={"path": f"{group}/app"}).status_code == 201
    return f"{group}/app"


def all_at_once(work: Callable[[int], Any]) -> list[Any]:
    start = threading.Barrier(WRITERS, timeout=60)

    def one(i: int) -> Any:
        start.wait()
        try:
            return work(i)
        except Exception as error:  # noqa: BLE001 - reported with the others
            return error

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        results = list(pool.map(one, range(WRITERS)))
    errors = [f"writer {i}: {r!r}" for i, r in enumerate(results) if isinstance(r, Exception)]
    assert not errors, "\n".join(errors)
    return results


def upload(client: httpx.Client, repo: str, data: bytes, chunked: bool) -> httpx.Response:
    """One blob: POST ?digest= in one request, or POST, two PATCHes and a PUT."""
    digest = digest_of(data)
    if not chunked:
        return client.post(with_query(uploads_url(repo), digest=digest), content=data)
    resp = client.post(uploads_url(repo), headers={"Content-Length": "0"})
    if resp.status_code != 202:
        return resp
    location = resp.headers["Location"]
    half = len(data) // 2
    for part, start in ((data[:half], 0), (data[half:], half)):
        end = start + len(part) - 1
        resp = client.patch(location, content=part, headers={"Content-Range": f"{start}-{end}"})
        if resp.status_code != 202:
            return resp
        location = resp.headers["Location"]
    return client.put(with_query(location, digest=digest))


def push_image(client: httpx.Client, repo: str, tag: str, layers: list[bytes]) -> dict[str, int]:
    """Push config, layers and manifest; digest -> size of everything pushed."""
    config = image_config()
    pushed = {}
    for i, data in enumerate([config, *layers]):
        resp = upload(client, repo, data, chunked=i % 2 == 1)
        assert resp.status_code == 201, describe(resp)
        pushed[digest_of(data)] = len(data)
    body = image_manifest(
        descriptor(OCI_CONFIG, config), [descriptor(OCI_LAYER, data) for data in layers]
    )
    resp = client.put(manifest_url(repo, tag), content=body, headers={"Content-Type": OCI_MANIFEST})
    assert resp.status_code == 201, describe(resp)
    pushed[digest_of(body)] = len(body)
    return pushed


def usage_of(client: httpx.Client, path: str) -> int:
    resp = client.get(f"/api/v1/{path}/usage")
    assert resp.status_code == 200, resp.text
    return resp.json()["size"]


def test_images_sharing_layers_pushed_at_once_count_each_layer_once(
    registry: Registry,
) -> None:
    client = registry.client
    project = new_project(client)
    shared = [random_bytes(64 * 1024) for _ in range(3)]
    repos = [f"{project}/api", f"{project}/web"]

    def push(i: int) -> tuple[str, dict[str, int]]:
        repo = repos[i % 2]
        layers = [shared[i % 3], shared[(i + 1) % 3], random_bytes(1000 + i)]
        return repo, push_image(client, repo, f"v{i}", layers)

    results = all_at_once(push)
    held: dict[str, dict[str, int]] = {repo: {} for repo in repos}
    for repo, pushed in results:
        held[repo].update(pushed)
    everything = {d: s for pushed in held.values() for d, s in pushed.items()}
    assert usage_of(client, f"projects/{project}") == sum(everything.values())
    assert usage_of(client, f"groups/{project.split('/')[0]}") == sum(everything.values())
    listed = client.get(f"/api/v1/projects/{project}/registry/repositories").json()
    assert {r["name"]: r["size"] for r in listed} == {
        repo: sum(pushed.values()) for repo, pushed in held.items()
    }
    report = admin_usage.recount(registry.db, dry_run=True)
    assert report.ok, report.findings


def test_pushes_racing_deletes_keep_the_counters_exact(registry: Registry) -> None:
    client = registry.client
    project = new_project(client)
    shared = [random_bytes(32 * 1024) for _ in range(2)]
    repos = [f"{project}/api", f"{project}/web"]
    for repo in repos:
        push_image(client, repo, "base", shared)

    def work(i: int) -> None:
        repo, other = repos[i % 2], repos[(i + 1) % 2]
        if i % 3 == 0:  # unlink a shared layer from the other repository
            resp = client.delete(f"/v2/{other}/blobs/{digest_of(shared[i % 2])}")
            assert resp.status_code in (202, 404), describe(resp)
        elif i % 3 == 1:  # delete the other repository's base manifest
            resp = client.get(manifest_url(other, "base"), headers={"Accept": OCI_MANIFEST})
            if resp.status_code == 200:
                digest = resp.headers["Docker-Content-Digest"]
                gone = client.delete(manifest_url(other, digest))
                assert gone.status_code in (202, 404), describe(gone)
        else:
            push_image(client, repo, f"v{i}", [shared[i % 2], random_bytes(500 + i)])

    all_at_once(work)
    report = admin_usage.recount(registry.db, dry_run=True)
    assert report.ok, report.findings


def test_racing_for_the_last_room_never_passes_the_limit(registry: Registry) -> None:
    client = registry.client
    project = new_project(client)
    size, fits = 10_000, 5
    limit = size * fits + size // 2  # room for five blobs and a half
    resp = client.patch(f"/api/v1/projects/{project}", json={"storage_limit_bytes": limit})
    assert resp.status_code == 200, resp.text

    def push(i: int) -> int:
        repo = f"{project}/{'api' if i % 2 else 'web'}"
        return upload(client, repo, random_bytes(size), chunked=i % 3 == 0).status_code

    statuses = all_at_once(push)
    assert statuses.count(201) == fits, statuses
    assert statuses.count(403) == WRITERS - fits, statuses
    assert usage_of(client, f"projects/{project}") == size * fits
    assert admin_usage.recount(registry.db, dry_run=True).ok
