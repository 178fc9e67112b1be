"""Cross-repository blob mounts (spec: "Mounting a blob from another repository", end-11)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.http.oci_helpers import (
    MALFORMED_DIGESTS,
    assert_api_version,
    assert_error,
    blob_url,
    blob_visible,
    describe,
    digest_of,
    push_blob,
    push_random_blob,
    random_bytes,
    random_digest,
    upload_uuid,
    uploads_url,
    with_query,
)


def mount(client: httpx.Client, repo: str, digest: str, source: str | None) -> httpx.Response:
    params = {"mount": digest} if source is None else {"mount": digest, "from": source}
    return client.post(with_query(uploads_url(repo), **params), headers={"Content-Length": "0"})


def assert_new_session(resp: httpx.Response, repo: str) -> str:
    assert resp.status_code == 202, describe(resp)
    location = resp.headers["Location"]
    assert location.startswith(f"/v2/{repo}/blobs/uploads/"), location
    uuid.UUID(upload_uuid(location))
    assert resp.headers["Docker-Upload-UUID"] == upload_uuid(location)
    return location


def test_mount_from_repository_holding_blob(client: httpx.Client, repo: str) -> None:
    source = repo + "-src"
    data, digest = push_random_blob(client, source)
    assert not blob_visible(client, repo, digest)
    resp = mount(client, repo, digest, source)
    assert resp.status_code == 201, describe(resp)
    assert resp.headers["Location"] == blob_url(repo, digest)
    assert resp.headers["Docker-Content-Digest"] == digest
    assert_api_version(resp)
    got = client.get(blob_url(repo, digest))
    assert got.status_code == 200
    assert got.content == data
    assert blob_visible(client, source, digest)


def test_mount_of_blob_already_in_target(client: httpx.Client, repo: str) -> None:
    source = repo + "-src"
    data = random_bytes(100)
    for name in (repo, source):
        push_blob(client, name, data)
    resp = mount(client, repo, digest_of(data), source)
    assert resp.status_code == 201, describe(resp)
    assert resp.headers["Location"] == blob_url(repo, digest_of(data))


def test_mount_when_source_lacks_blob_starts_session(client: httpx.Client, repo: str) -> None:
    source = repo + "-src"
    push_random_blob(client, source)
    elsewhere = repo + "-elsewhere"
    data, digest = push_random_blob(client, elsewhere)  # exists, but not in `source`
    resp = mount(client, repo, digest, source)
    location = assert_new_session(resp, repo)
    assert not blob_visible(client, repo, digest)
    # the session is a normal one
    resp = client.put(with_query(location, digest=digest), content=data)
    assert resp.status_code == 201, describe(resp)
    assert client.get(blob_url(repo, digest)).content == data


def test_mount_from_unknown_repository_starts_session(client: httpx.Client, repo: str) -> None:
    resp = mount(client, repo, random_digest(), repo + "-never-created")
    assert_new_session(resp, repo)


def test_mount_unknown_blob_starts_session(client: httpx.Client, repo: str) -> None:
    source = repo + "-src"
    push_random_blob(client, source)
    digest = random_digest()
    resp = mount(client, repo, digest, source)
    assert_new_session(resp, repo)
    assert not blob_visible(client, repo, digest)


def test_mount_without_from_finds_blob_anywhere(client: httpx.Client, repo: str) -> None:
    data, digest = push_random_blob(client, repo + "-somewhere")
    resp = mount(client, repo, digest, None)
    assert resp.status_code == 201, describe(resp)
    assert resp.headers["Location"] == blob_url(repo, digest)
    assert resp.headers["Docker-Content-Digest"] == digest
    assert client.get(blob_url(repo, digest)).content == data


def test_mount_without_from_unknown_blob_starts_session(client: httpx.Client, repo: str) -> None:
    resp = mount(client, repo, random_digest(), None)
    assert_new_session(resp, repo)


@pytest.mark.parametrize("digest", MALFORMED_DIGESTS[:4])
def test_mount_malformed_digest(client: httpx.Client, repo: str, digest: str) -> None:
    source = repo + "-src"
    push_random_blob(client, source)
    assert_error(mount(client, repo, digest, source), 400, "DIGEST_INVALID")


def test_mounted_blob_is_independent_of_source_session(client: httpx.Client, repo: str) -> None:
    """A mount does not consume or change the source repository's blob."""
    source = repo + "-src"
    data, digest = push_random_blob(client, source)
    assert mount(client, repo, digest, source).status_code == 201
    assert mount(client, repo + "-third", digest, source).status_code == 201
    for name in (source, repo, repo + "-third"):
        assert client.get(blob_url(name, digest)).content == data
