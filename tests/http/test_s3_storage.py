"""The registry on the S3 driver (SeaweedFS): pushes and pulls, chunks split across two
"replicas" (two apps on one database and one bucket), redirects, and outages that
answer 503 and heal without a restart."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from dockyard.config import Settings
from dockyard.db.models import Upload
from dockyard.http.app import create_app
from tests.http.oci_helpers import (
    assert_error,
    blob_url,
    describe,
    digest_of,
    push_blob,
    push_image,
    random_bytes,
    start_upload,
    with_query,
)
from tests.support.seaweed import SeaweedS3

OCTET = {"Content-Type": "application/octet-stream"}


def s3_settings(seaweed: SeaweedS3, prefix: str, **more: Any) -> dict[str, Any]:
    return {
        "storage": "s3",
        "s3_endpoint": seaweed.endpoint,
        "s3_bucket": seaweed.bucket,
        "s3_region": seaweed.region,
        "s3_access_key": seaweed.access_key,
        "s3_secret_key": seaweed.secret_key,
        "s3_prefix": prefix,
        "s3_part_size_bytes": 5 * 1024 * 1024,
        **more,
    }


@pytest.fixture
def replicas(
    backend: str,
    postgres_url: Callable[[], str],
    tmp_path: Path,
    seaweed: SeaweedS3,
) -> Iterator[Callable[..., list[TestClient]]]:
    """``build(n, **settings)``: n apps on one fresh database and one bucket prefix, as
    n replicas behind a balancer would be (each with its own process state)."""
    opened: list[TestClient] = []

    def build(count: int = 1, **more: Any) -> list[TestClient]:
        url = postgres_url() if backend == "postgres" else f"sqlite:///{tmp_path / 'd.db'}"
        prefix = f"r-{uuid.uuid4().hex[:10]}"
        clients = []
        for n in range(count):
            settings = Settings(
                data_dir=tmp_path / f"replica-{n}",
                database_url=url,
                auth="none",
                **s3_settings(seaweed, prefix, **more),
            )
            client = TestClient(create_app(settings), follow_redirects=False)
            client.__enter__()
            opened.append(client)
            clients.append(client)
        return clients

    yield build
    for client in opened:
        client.__exit__(None, None, None)


def test_push_and_pull_through_s3(replicas: Callable[..., list[TestClient]], repo: str) -> None:
    [client] = replicas()
    pushed = push_image(client, repo, "v1")
    resp = client.get(f"/v2/{repo}/manifests/v1", headers={"Accept": pushed.media_type})
    assert resp.status_code == 200 and resp.content == pushed.body
    big = random_bytes(6 * 1024 * 1024 + 5)
    digest = push_blob(client, repo, big)
    resp = client.get(blob_url(repo, digest))
    assert resp.status_code == 200 and resp.content == big
    resp = client.get(blob_url(repo, digest), headers={"Range": "bytes=10-19"})
    assert resp.status_code == 206 and resp.content == big[10:20]


def test_chunks_across_two_replicas_are_verified(
    replicas: Callable[..., list[TestClient]], repo: str
) -> None:
    """PATCHes alternate between two apps sharing the database and the bucket; the PUT
    lands on the one that did not see every chunk, which re-reads the session to verify."""
    first, second = replicas(2)
    chunks = [random_bytes(300_000) for _ in range(4)]
    location = start_upload(first, repo)
    offset = 0
    for n, chunk in enumerate(chunks):
        headers = {**OCTET, "Content-Range": f"{offset}-{offset + len(chunk) - 1}"}
        resp = (first, second)[n % 2].patch(location, content=chunk, headers=headers)
        assert resp.status_code == 202, describe(resp)
        location = resp.headers["Location"]
        offset += len(chunk)
    data = b"".join(chunks)
    wrong = first.put(with_query(location, digest=digest_of(b"something else")))
    assert_error(wrong, 400, "DIGEST_INVALID")
    assert first.head(blob_url(repo, digest_of(b"something else"))).status_code == 404
    done = first.put(with_query(location, digest=digest_of(data)))
    assert done.status_code == 201, describe(done)
    assert second.get(blob_url(repo, digest_of(data))).content == data


def test_a_session_has_one_writer_across_replicas(
    replicas: Callable[..., list[TestClient]], repo: str
) -> None:
    """While one replica streams a chunk, another is refused (416 with the Range) instead
    of writing the same session; once the first is done, the second may continue."""
    first, second = replicas(2)
    location = start_upload(first, repo)
    uploads_first = first.app.registry_api.state.ctx.registry.uploads
    uploads_second = second.app.registry_api.state.ctx.registry.uploads
    upload_id = location.rsplit("/", 1)[1]
    status = uploads_first.status(repo, upload_id)
    holding = uploads_first.receiver(status)  # a PATCH in flight on the first replica
    holding.write(b"abc")
    try:
        busy = second.patch(location, content=b"xyz", headers=OCTET)
        assert_error(busy, 416, "BLOB_UPLOAD_INVALID")
        assert busy.headers["Range"] == "0-0"
        finish = second.put(with_query(location, digest=digest_of(b"abc")))
        assert_error(finish, 416, "BLOB_UPLOAD_INVALID")
    finally:
        holding.close()
    assert uploads_second.status(repo, upload_id).size == 3
    resp = second.patch(location, content=b"def", headers=OCTET)
    assert resp.status_code == 202 and resp.headers["Range"] == "0-5", describe(resp)
    done = first.put(with_query(location, digest=digest_of(b"abcdef")))
    assert done.status_code == 201, describe(done)


def test_redirects_blob_gets_to_s3(
    replicas: Callable[..., list[TestClient]], repo: str, seaweed: SeaweedS3
) -> None:
    [client] = replicas(s3_redirect=True, s3_redirect_ttl_seconds=30)
    data = random_bytes(70_000)
    digest = push_blob(client, repo, data)
    resp = client.get(blob_url(repo, digest))
    assert resp.status_code == 307, describe(resp)
    location = resp.headers["Location"]
    assert location.startswith(seaweed.endpoint) and "X-Amz-Expires=30" in location
    assert resp.headers["Docker-Content-Digest"] == digest
    assert httpx.get(location).content == data  # the bytes come from S3, not from us
    head = client.head(blob_url(repo, digest))  # HEADs and manifests are answered here
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(data))
    pushed = push_image(client, repo, "v1")
    manifest = client.get(f"/v2/{repo}/manifests/v1", headers={"Accept": pushed.media_type})
    assert manifest.status_code == 200 and manifest.content == pushed.body
    elsewhere = client.get(blob_url(f"{repo}-other", digest))  # access checks come first
    assert_error(elsewhere, 404, {"BLOB_UNKNOWN", "NAME_UNKNOWN"})


def test_s3_down_answers_503_and_heals_without_restart(
    replicas: Callable[..., list[TestClient]], repo: str, seaweed: SeaweedS3
) -> None:
    [client] = replicas()
    data = random_bytes(5000)
    digest = push_blob(client, repo, data)
    location = start_upload(client, repo)
    seaweed.stop()
    try:
        ready = client.get("/-/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["storage"] != "ok"
        for resp in (
            client.get(blob_url(repo, digest)),
            client.post(f"/v2/{repo}/blobs/uploads/", headers={"Content-Length": "0"}),
            client.patch(location, content=b"chunk", headers=OCTET),
            client.put(with_query(location, digest=digest_of(b""))),
        ):
            errors = assert_error(resp, 503, "TOOMANYREQUESTS")
            assert "storage is unavailable" in errors[0]["message"], describe(resp)
            assert resp.headers["Retry-After"]
    finally:
        seaweed.start()
    assert client.get("/-/ready").status_code == 200
    assert client.get(blob_url(repo, digest)).content == data
    resp = client.patch(location, content=b"chunk", headers=OCTET)
    assert resp.status_code == 202, describe(resp)
    done = client.put(with_query(location, digest=digest_of(b"chunk")))
    assert done.status_code == 201, describe(done)


def test_redirects_only_after_access_is_granted(
    make_auth_registry: Callable[..., Any], seaweed: SeaweedS3
) -> None:
    """With token auth, a pull without the right to read gets 401/403 (or 404 for a
    HEAD), never the presigned URL; a reader gets the 307."""
    reg = make_auth_registry(
        "sqlite", **s3_settings(seaweed, f"a-{uuid.uuid4().hex[:8]}", s3_redirect=True)
    )
    repo = reg.new_project() + "/img"
    owner = reg.new_user(admin=True)
    token = reg.token(owner.name, owner.password, f"repository:{repo}:pull,push")
    data = random_bytes(4000)
    client = reg.client
    location = client.post(f"/v2/{repo}/blobs/uploads/", headers=reg.bearer(token)).headers[
        "Location"
    ]
    done = client.put(
        with_query(location, digest=digest_of(data)),
        content=data,
        headers={**OCTET, **reg.bearer(token)},
    )
    assert done.status_code == 201, describe(done)
    url = blob_url(repo, digest_of(data))
    anonymous = client.get(url, follow_redirects=False)
    assert anonymous.status_code == 401 and "Location" not in anonymous.headers
    stranger = reg.new_user()
    theirs = reg.token(stranger.name, stranger.password, f"repository:{repo}:pull")
    refused = client.get(url, headers=reg.bearer(theirs), follow_redirects=False)
    assert refused.status_code in (401, 403, 404) and "Location" not in refused.headers
    allowed = client.get(url, headers=reg.bearer(token), follow_redirects=False)
    assert allowed.status_code == 307, describe(allowed)
    assert httpx.get(allowed.headers["Location"]).content == data


def test_a_crashed_writers_lease_expires(
    replicas: Callable[..., list[TestClient]], repo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica killed mid-PATCH never lets go of its lease; once the lease runs out,
    the client's retry through another replica continues the session. The lease's end is
    moved into the past in the database rather than waited for (a busy machine would
    make a short real lease run out early)."""
    first, second = replicas(2)
    location = start_upload(first, repo)
    upload_id = location.rsplit("/", 1)[1]
    uploads_first = first.app.registry_api.state.ctx.registry.uploads
    abandoned = uploads_first.receiver(uploads_first.status(repo, upload_id))
    abandoned.write(b"never acknowledged")  # buffered, never flushed: the process "died"
    assert_error(second.patch(location, content=b"abc", headers=OCTET), 416, "BLOB_UPLOAD_INVALID")
    db = second.app.registry_api.state.ctx.registry.uploads._db
    with db.session(write=True) as conn:  # the lease runs out
        past = datetime.now(UTC) - timedelta(seconds=1)
        conn.execute(update(Upload).where(Upload.id == upload_id).values(lease_until=past))
    resp = second.patch(location, content=b"abc", headers=OCTET)
    assert resp.status_code == 202 and resp.headers["Range"] == "0-2", describe(resp)
    done = second.put(with_query(location, digest=digest_of(b"abc")))
    assert done.status_code == 201, describe(done)
    assert second.get(blob_url(repo, digest_of(b"abc"))).content == b"abc"
