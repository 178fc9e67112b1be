"""Storage limits on /v2: a push that would pass its project's or a group's limit gets
403 DENIED with the usage in the message, before its bytes are stored (at the session's
start, at a chunk's declared length, at the bytes received, at the final PUT); a blob
the project holds already, or a mount of one, costs nothing. Auth is off here, so every
caller is an administrator."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.http.oci_helpers import (
    OCI_CONFIG,
    OCI_LAYER,
    assert_error,
    blob_visible,
    describe,
    descriptor,
    digest_of,
    image_manifest,
    push_blob,
    push_manifest,
    random_bytes,
    start_upload,
    uploads_url,
    with_query,
)


def new_project(client: httpx.Client) -> str:
    group = f"q{uuid.uuid4().hex[:8]}"
    assert client.post("/api/v1/groups", json={"path": group}).status_code == 201
    path = f"{group}/app"
    assert client.post("/api/v1/projects", json={"path": path}).status_code == 201
    return path


def set_limit(client: httpx.Client, scope: str, path: str, limit: int | None) -> None:
    resp = client.patch(f"/api/v1/{scope}/{path}", json={"storage_limit_bytes": limit})
    assert resp.status_code == 200, resp.text


def used(client: httpx.Client, path: str) -> int:
    return client.get(f"/api/v1/projects/{path}/usage").json()["size"]


def session_size(client: httpx.Client, location: str) -> int:
    resp = client.get(location)
    assert resp.status_code == 204, describe(resp)
    return int(resp.headers["Range"].split("-")[1]) + 1 if resp.headers["Range"] != "0-0" else 0


def refused(resp: httpx.Response, message: str) -> None:
    errors = assert_error(resp, 403, "DENIED")
    assert errors[0]["message"] == message, errors


@pytest.fixture
def project(client: httpx.Client) -> str:
    return new_project(client)


def test_start_is_refused_once_the_project_is_full(client: httpx.Client, project: str) -> None:
    push_blob(client, f"{project}/api", random_bytes(1000))
    set_limit(client, "projects", project, 1000)
    resp = client.post(uploads_url(f"{project}/api"), headers={"Content-Length": "0"})
    refused(resp, f"quota exceeded: 1000 B used of 1000 B (project {project})")
    assert resp.json()["errors"][0]["detail"] == {
        "scope": "project",
        "path": project,
        "used_bytes": 1000,
        "limit_bytes": 1000,
    }
    set_limit(client, "projects", project, None)  # null removes the limit
    start_upload(client, f"{project}/api")


def test_a_group_limit_applies_to_every_project_below(client: httpx.Client, project: str) -> None:
    group = project.split("/")[0]
    push_blob(client, f"{project}/api", random_bytes(3 * 1024 * 1024))
    set_limit(client, "groups", group, 2 * 1024 * 1024)
    assert client.post("/api/v1/projects", json={"path": f"{group}/other"}).status_code == 201
    resp = client.post(uploads_url(f"{group}/other/web"), headers={"Content-Length": "0"})
    refused(resp, f"quota exceeded: 3 MiB used of 2 MiB (group {group})")


def test_a_chunk_that_declares_too_much_is_not_read(client: httpx.Client, project: str) -> None:
    set_limit(client, "projects", project, 1000)
    location = start_upload(client, f"{project}/api")
    resp = client.patch(location, content=random_bytes(1001))
    refused(resp, f"quota exceeded: 0 B used of 1000 B (project {project})")
    assert session_size(client, location) == 0
    resp = client.patch(location, content=random_bytes(600))
    assert resp.status_code == 202, describe(resp)
    resp = client.patch(location, content=random_bytes(401))  # 600 + 401 > 1000
    refused(resp, f"quota exceeded: 0 B used of 1000 B (project {project})")
    assert session_size(client, location) == 600


def test_a_streamed_chunk_stops_when_it_passes_the_room(client: httpx.Client, project: str) -> None:
    set_limit(client, "projects", project, 100_000)
    location = start_upload(client, f"{project}/api")

    def stream() -> Iterator[bytes]:  # no Content-Length: chunked transfer
        for _ in range(50):
            yield random_bytes(4096)

    resp = client.patch(location, content=stream())
    refused(resp, f"quota exceeded: 0 B used of 97.6 KiB (project {project})")
    assert session_size(client, location) == 0  # the received part was cut back off


def test_the_final_put_is_refused_when_others_filled_the_room(
    client: httpx.Client, project: str
) -> None:
    set_limit(client, "projects", project, 1000)
    location = start_upload(client, f"{project}/api")
    data = random_bytes(600)
    assert client.patch(location, content=data).status_code == 202
    push_blob(client, f"{project}/web", random_bytes(500))  # another push took the room
    resp = client.put(with_query(location, digest=digest_of(data)))
    refused(resp, f"quota exceeded: 500 B used of 1000 B (project {project})")
    assert not blob_visible(client, f"{project}/api", digest_of(data))
    assert session_size(client, location) == 600  # kept: it can finish if room is made
    set_limit(client, "projects", project, 2000)
    resp = client.put(with_query(location, digest=digest_of(data)))
    assert resp.status_code == 201, describe(resp)
    assert used(client, project) == 1100


def test_a_put_with_a_last_chunk_too_big_is_refused(client: httpx.Client, project: str) -> None:
    set_limit(client, "projects", project, 1000)
    location = start_upload(client, f"{project}/api")
    data = random_bytes(1200)
    resp = client.put(with_query(location, digest=digest_of(data)), content=data)
    refused(resp, f"quota exceeded: 0 B used of 1000 B (project {project})")
    assert session_size(client, location) == 0


def test_a_one_request_push_too_big_is_refused(client: httpx.Client, project: str) -> None:
    set_limit(client, "projects", project, 1000)
    data = random_bytes(1200)
    resp = client.post(
        with_query(uploads_url(f"{project}/api"), digest=digest_of(data)), content=data
    )
    refused(resp, f"quota exceeded: 0 B used of 1000 B (project {project})")
    assert not blob_visible(client, f"{project}/api", digest_of(data))


def test_a_blob_the_project_holds_costs_nothing(client: httpx.Client, project: str) -> None:
    data = random_bytes(800)
    digest = push_blob(client, f"{project}/api", data)
    set_limit(client, "projects", project, 800)  # full
    # a one-request push of the same bytes into another repository: allowed, free
    resp = client.post(with_query(uploads_url(f"{project}/web"), digest=digest), content=data)
    assert resp.status_code == 201, describe(resp)
    # so is a mount of it
    resp = client.post(
        with_query(uploads_url(f"{project}/db"), mount=digest, **{"from": f"{project}/api"}),
        headers={"Content-Length": "0"},
    )
    assert resp.status_code == 201, describe(resp)
    assert used(client, project) == 800


def test_a_mount_that_does_not_fit_is_refused(client: httpx.Client, project: str) -> None:
    other = new_project(client)
    digest = push_blob(client, f"{other}/api", random_bytes(900))
    set_limit(client, "projects", project, 500)
    resp = client.post(
        with_query(uploads_url(f"{project}/api"), mount=digest, **{"from": f"{other}/api"}),
        headers={"Content-Length": "0"},
    )
    refused(resp, f"quota exceeded: 0 B used of 500 B (project {project})")
    assert not blob_visible(client, f"{project}/api", digest)


def test_manifests_count_and_are_refused_only_over_the_limit(
    client: httpx.Client, project: str
) -> None:
    repo = f"{project}/api"
    config_data, layer = b'{"architecture":"amd64","os":"linux"}', random_bytes(400)
    push_blob(client, repo, config_data)
    push_blob(client, repo, layer)
    blobs = len(config_data) + 400
    set_limit(client, "projects", project, blobs)  # exactly full with the blobs
    config = descriptor(OCI_CONFIG, config_data)
    body = image_manifest(config, [descriptor(OCI_LAYER, layer)])
    push_manifest(client, repo, "v1", body, "application/vnd.oci.image.manifest.v1+json")
    assert used(client, project) == blobs + len(body)  # over now, by one manifest
    push_manifest(client, repo, "v1-again", body, "application/vnd.oci.image.manifest.v1+json")
    other = image_manifest(config, [descriptor(OCI_LAYER, layer)], annotations={"a": "b"})
    resp = push_manifest(
        client, repo, "v2", other, "application/vnd.oci.image.manifest.v1+json", expect=None
    )
    refused(
        resp,
        f"quota exceeded: {blobs + len(body)} B used of {blobs} B (project {project})",
    )
