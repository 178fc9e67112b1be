"""Pushing blobs: monolithic (POST+PUT, single POST) and chunked (PATCH) uploads, status,
cancellation (spec: "Pushing blobs", end-4a, end-4b, end-5, end-6, end-13)."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.http.oci_helpers import (
    EMPTY_BLOB_DIGEST,
    MALFORMED_DIGESTS,
    UNSUPPORTED_DIGESTS,
    assert_api_version,
    assert_error,
    blob_url,
    blob_visible,
    describe,
    digest_of,
    random_bytes,
    start_upload,
    upload_uuid,
    uploads_url,
    with_query,
)

OCTET = {"Content-Type": "application/octet-stream"}


def patch_chunk(
    client: httpx.Client, location: str, chunk: bytes, start: int | None
) -> httpx.Response:
    headers = dict(OCTET)
    if start is not None:
        headers["Content-Range"] = f"{start}-{start + len(chunk) - 1}"
    return client.patch(location, content=chunk, headers=headers)


def assert_upload_location(resp: httpx.Response, repo: str) -> str:
    location = resp.headers["Location"]
    prefix = f"/v2/{repo}/blobs/uploads/"
    assert location.startswith(prefix), describe(resp)
    uid = upload_uuid(location)
    uuid.UUID(uid)  # the spec: the location MUST contain a UUID
    assert resp.headers["Docker-Upload-UUID"] == uid
    return location


# --- starting a session -----------------------------------------------------------------


def test_post_starts_session(client: httpx.Client, repo: str) -> None:
    resp = client.post(uploads_url(repo), headers={"Content-Length": "0"})
    assert resp.status_code == 202, describe(resp)
    assert_upload_location(resp, repo)
    assert resp.headers["Content-Length"] == "0"
    assert resp.content == b""
    assert_api_version(resp)


def test_sessions_are_distinct(client: httpx.Client, repo: str) -> None:
    first = start_upload(client, repo)
    second = start_upload(client, repo)
    assert upload_uuid(first) != upload_uuid(second)


def test_location_is_relative(client: httpx.Client, repo: str) -> None:
    location = start_upload(client, repo)
    assert location.startswith("/v2/"), location


# --- monolithic -------------------------------------------------------------------------


def test_post_then_put(client: httpx.Client, repo: str) -> None:
    data = random_bytes(2048)
    digest = digest_of(data)
    location = start_upload(client, repo)
    resp = client.put(with_query(location, digest=digest), content=data, headers=OCTET)
    assert resp.status_code == 201, describe(resp)
    assert resp.headers["Location"] == blob_url(repo, digest)
    assert resp.headers["Docker-Content-Digest"] == digest
    assert_api_version(resp)
    got = client.get(resp.headers["Location"])
    assert got.status_code == 200
    assert got.content == data


def test_single_post_upload(client: httpx.Client, repo: str) -> None:
    data = random_bytes(512)
    digest = digest_of(data)
    resp = client.post(with_query(uploads_url(repo), digest=digest), content=data, headers=OCTET)
    assert resp.status_code == 201, describe(resp)
    assert resp.headers["Location"] == blob_url(repo, digest)
    assert resp.headers["Docker-Content-Digest"] == digest
    assert client.get(blob_url(repo, digest)).content == data


def test_single_post_digest_mismatch(client: httpx.Client, repo: str) -> None:
    data = random_bytes(512)
    wrong = digest_of(data + b"x")
    resp = client.post(with_query(uploads_url(repo), digest=wrong), content=data, headers=OCTET)
    assert_error(resp, 400, "DIGEST_INVALID")
    assert not blob_visible(client, repo, wrong)
    assert not blob_visible(client, repo, digest_of(data))


def test_put_empty_blob(client: httpx.Client, repo: str) -> None:
    location = start_upload(client, repo)
    resp = client.put(with_query(location, digest=EMPTY_BLOB_DIGEST), content=b"", headers=OCTET)
    assert resp.status_code == 201, describe(resp)
    assert resp.headers["Location"] == blob_url(repo, EMPTY_BLOB_DIGEST)


def test_put_sha512(client: httpx.Client, repo: str) -> None:
    data = random_bytes(700)
    digest = digest_of(data, "sha512")
    location = start_upload(client, repo)
    resp = client.put(with_query(location, digest=digest), content=data, headers=OCTET)
    assert resp.status_code == 201, describe(resp)
    assert resp.headers["Location"] == blob_url(repo, digest)
    assert client.get(blob_url(repo, digest)).content == data


def test_put_digest_mismatch(client: httpx.Client, repo: str) -> None:
    data = random_bytes(512)
    wrong = digest_of(b"something else")
    location = start_upload(client, repo)
    resp = client.put(with_query(location, digest=wrong), content=data, headers=OCTET)
    assert_error(resp, 400, "DIGEST_INVALID")
    assert not blob_visible(client, repo, wrong)
    assert not blob_visible(client, repo, digest_of(data))


def test_put_without_digest(client: httpx.Client, repo: str) -> None:
    data = random_bytes(64)
    location = start_upload(client, repo)
    resp = client.put(location, content=data, headers=OCTET)
    assert_error(resp, 400, "DIGEST_INVALID")
    assert not blob_visible(client, repo, digest_of(data))


@pytest.mark.parametrize("digest", MALFORMED_DIGESTS)
def test_put_malformed_digest(client: httpx.Client, repo: str, digest: str) -> None:
    location = start_upload(client, repo)
    resp = client.put(with_query(location, digest=digest), content=b"abc", headers=OCTET)
    assert_error(resp, 400, "DIGEST_INVALID")


@pytest.mark.parametrize("digest", UNSUPPORTED_DIGESTS)
def test_put_unsupported_digest_algorithm(client: httpx.Client, repo: str, digest: str) -> None:
    location = start_upload(client, repo)
    resp = client.put(with_query(location, digest=digest), content=b"abc", headers=OCTET)
    assert_error(resp, 400, "UNSUPPORTED")


@pytest.mark.parametrize("digest", MALFORMED_DIGESTS[:3])
def test_single_post_malformed_digest(client: httpx.Client, repo: str, digest: str) -> None:
    resp = client.post(with_query(uploads_url(repo), digest=digest), content=b"abc", headers=OCTET)
    assert_error(resp, 400, "DIGEST_INVALID")


# --- chunked ----------------------------------------------------------------------------


def test_chunked_upload_with_content_range(client: httpx.Client, repo: str) -> None:
    data = random_bytes(3000)
    chunks = [data[:1000], data[1000:2500], data[2500:]]
    location = start_upload(client, repo)
    offset = 0
    for chunk in chunks:
        resp = patch_chunk(client, location, chunk, offset)
        assert resp.status_code == 202, describe(resp)
        offset += len(chunk)
        assert resp.headers["Range"] == f"0-{offset - 1}"
        location = assert_upload_location(resp, repo)
        assert_api_version(resp)
    digest = digest_of(data)
    resp = client.put(with_query(location, digest=digest))
    assert resp.status_code == 201, describe(resp)
    assert resp.headers["Location"] == blob_url(repo, digest)
    assert resp.headers["Docker-Content-Digest"] == digest
    assert client.get(blob_url(repo, digest)).content == data


def test_streamed_patches_without_content_range(client: httpx.Client, repo: str) -> None:
    data = random_bytes(2000)
    location = start_upload(client, repo)
    first = patch_chunk(client, location, data[:800], None)
    assert first.status_code == 202, describe(first)
    assert first.headers["Range"] == "0-799"
    second = patch_chunk(client, first.headers["Location"], data[800:], None)
    assert second.status_code == 202, describe(second)
    assert second.headers["Range"] == "0-1999"
    digest = digest_of(data)
    resp = client.put(with_query(second.headers["Location"], digest=digest))
    assert resp.status_code == 201, describe(resp)
    assert client.get(blob_url(repo, digest)).content == data


def test_final_chunk_in_put(client: httpx.Client, repo: str) -> None:
    data = random_bytes(1500)
    location = start_upload(client, repo)
    resp = patch_chunk(client, location, data[:1000], 0)
    assert resp.status_code == 202, describe(resp)
    digest = digest_of(data)
    resp = client.put(
        with_query(resp.headers["Location"], digest=digest),
        content=data[1000:],
        headers={**OCTET, "Content-Range": "1000-1499"},
    )
    assert resp.status_code == 201, describe(resp)
    assert resp.headers["Location"] == blob_url(repo, digest)
    assert client.get(blob_url(repo, digest)).content == data


def test_final_chunk_in_put_without_content_range(client: httpx.Client, repo: str) -> None:
    data = random_bytes(1500)
    location = start_upload(client, repo)
    resp = patch_chunk(client, location, data[:700], None)
    assert resp.status_code == 202, describe(resp)
    digest = digest_of(data)
    resp = client.put(
        with_query(resp.headers["Location"], digest=digest), content=data[700:], headers=OCTET
    )
    assert resp.status_code == 201, describe(resp)
    assert client.get(blob_url(repo, digest)).content == data


def test_chunked_digest_mismatch(client: httpx.Client, repo: str) -> None:
    data = random_bytes(1000)
    location = start_upload(client, repo)
    resp = patch_chunk(client, location, data, 0)
    assert resp.status_code == 202
    wrong = digest_of(data[:-1])
    resp = client.put(with_query(resp.headers["Location"], digest=wrong))
    assert_error(resp, 400, "DIGEST_INVALID")
    assert not blob_visible(client, repo, wrong)
    assert not blob_visible(client, repo, digest_of(data))


def test_out_of_order_chunk_is_416(client: httpx.Client, repo: str) -> None:
    data = random_bytes(2000)
    location = start_upload(client, repo)
    resp = patch_chunk(client, location, data[:1000], 0)
    assert resp.status_code == 202
    location = resp.headers["Location"]
    # skips ahead
    assert_error(patch_chunk(client, location, data[1500:], 1500), 416, "BLOB_UPLOAD_INVALID")
    # overlaps
    assert_error(patch_chunk(client, location, data[500:], 500), 416, "BLOB_UPLOAD_INVALID")
    # the session is intact: status still reports 1000 bytes and it can be completed
    status = client.get(location)
    assert status.status_code == 204, describe(status)
    assert status.headers["Range"] == "0-999"
    resp = patch_chunk(client, status.headers["Location"], data[1000:], 1000)
    assert resp.status_code == 202, describe(resp)
    assert resp.headers["Range"] == "0-1999"
    digest = digest_of(data)
    assert client.put(with_query(resp.headers["Location"], digest=digest)).status_code == 201
    assert client.get(blob_url(repo, digest)).content == data


def test_first_chunk_must_start_at_zero(client: httpx.Client, repo: str) -> None:
    location = start_upload(client, repo)
    assert_error(patch_chunk(client, location, b"hello", 5), 416, "BLOB_UPLOAD_INVALID")


# --- status -----------------------------------------------------------------------------


def test_status_of_new_session(client: httpx.Client, repo: str) -> None:
    location = start_upload(client, repo)
    resp = client.get(location)
    assert resp.status_code == 204, describe(resp)
    assert resp.content == b""
    assert resp.headers["Location"].startswith(f"/v2/{repo}/blobs/uploads/")
    assert upload_uuid(resp.headers["Location"]) == upload_uuid(location)
    assert_api_version(resp)


def test_status_after_data(client: httpx.Client, repo: str) -> None:
    location = start_upload(client, repo)
    resp = patch_chunk(client, location, random_bytes(321), 0)
    assert resp.status_code == 202
    status = client.get(resp.headers["Location"])
    assert status.status_code == 204, describe(status)
    assert status.headers["Range"] == "0-320"
    assert status.headers["Location"].startswith(f"/v2/{repo}/blobs/uploads/")
    assert upload_uuid(status.headers["Location"]) == upload_uuid(location)


# --- cancel, unknown sessions -----------------------------------------------------------


def test_cancel_upload(client: httpx.Client, repo: str) -> None:
    location = start_upload(client, repo)
    resp = patch_chunk(client, location, b"partial", 0)
    assert resp.status_code == 202, describe(resp)
    location = resp.headers["Location"]
    resp = client.delete(location)
    assert resp.status_code == 204, describe(resp)
    assert_api_version(resp)
    assert_error(client.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(patch_chunk(client, location, b"more", None), 404, "BLOB_UPLOAD_UNKNOWN")
    digest = digest_of(b"partial")
    assert_error(client.put(with_query(location, digest=digest)), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(client.delete(location), 404, "BLOB_UPLOAD_UNKNOWN")
    assert not blob_visible(client, repo, digest)


def test_finished_upload_is_gone(client: httpx.Client, repo: str) -> None:
    data = random_bytes(100)
    location = start_upload(client, repo)
    assert client.put(with_query(location, digest=digest_of(data)), content=data).status_code == 201
    assert_error(client.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(patch_chunk(client, location, b"x", None), 404, "BLOB_UPLOAD_UNKNOWN")
    resp = client.put(with_query(location, digest=digest_of(data)), content=data)
    assert_error(resp, 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(client.delete(location), 404, "BLOB_UPLOAD_UNKNOWN")


def test_unknown_upload_uuid(client: httpx.Client, repo: str) -> None:
    start_upload(client, repo)  # the repository exists
    location = f"/v2/{repo}/blobs/uploads/{uuid.uuid4()}"
    assert_error(client.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(patch_chunk(client, location, b"x", None), 404, "BLOB_UPLOAD_UNKNOWN")
    resp = client.put(with_query(location, digest=digest_of(b"x")), content=b"x")
    assert_error(resp, 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(client.delete(location), 404, "BLOB_UPLOAD_UNKNOWN")


def test_upload_uuid_under_another_repository(client: httpx.Client, repo: str) -> None:
    data = random_bytes(100)
    location = start_upload(client, repo)
    other = repo + "-other"
    start_upload(client, other)
    foreign = location.replace(f"/v2/{repo}/", f"/v2/{other}/", 1)
    assert foreign != location
    digest = digest_of(data)
    assert_error(client.get(foreign), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(patch_chunk(client, foreign, data, 0), 404, "BLOB_UPLOAD_UNKNOWN")
    resp = client.put(with_query(foreign, digest=digest), content=data, headers=OCTET)
    assert_error(resp, 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(client.delete(foreign), 404, "BLOB_UPLOAD_UNKNOWN")
    assert not blob_visible(client, other, digest)
    # the session still belongs to `repo`, untouched
    resp = client.put(with_query(location, digest=digest), content=data, headers=OCTET)
    assert resp.status_code == 201, describe(resp)
    assert blob_visible(client, repo, digest)
    assert not blob_visible(client, other, digest)


@pytest.mark.parametrize(
    "upload_id",
    ["not-a-uuid", "%2E%2E", "a" * 300, "0" * 32],
)
def test_non_uuid_upload_id(client: httpx.Client, repo: str, upload_id: str) -> None:
    start_upload(client, repo)
    location = f"/v2/{repo}/blobs/uploads/{upload_id}"
    assert_error(client.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(patch_chunk(client, location, b"x", None), 404, "BLOB_UPLOAD_UNKNOWN")
    resp = client.put(with_query(location, digest=digest_of(b"x")), content=b"x")
    assert_error(resp, 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(client.delete(location), 404, "BLOB_UPLOAD_UNKNOWN")


@pytest.mark.parametrize("upload_id", ["%2E%2E%2F%2E%2E%2Fetc", "..%2F..%2Fetc"])
def test_upload_id_with_encoded_slashes(client: httpx.Client, repo: str, upload_id: str) -> None:
    """Decoded, these leave the uploads route: any spec 404 will do, never a file access."""
    start_upload(client, repo)
    location = f"/v2/{repo}/blobs/uploads/{upload_id}"
    for resp in (
        client.get(location),
        client.delete(location),
        patch_chunk(client, location, b"x", None),
    ):
        assert_error(resp, 404, {"BLOB_UPLOAD_UNKNOWN", "NAME_UNKNOWN"})


@pytest.mark.parametrize("name", ["Upper/case", "a//b", "-a", "a" * 256])
def test_upload_to_invalid_name(client: httpx.Client, name: str) -> None:
    resp = client.post(uploads_url(name), headers={"Content-Length": "0"})
    assert_error(resp, 400, "NAME_INVALID")


def test_a_failed_single_request_push_leaves_no_session(make_client) -> None:  # noqa: ANN001
    client = make_client()
    bad = client.post(
        f"/v2/t/single/blobs/uploads/?digest={digest_of(b'other')}", content=b"payload"
    )
    assert_error(bad, 400, "DIGEST_INVALID")
    data_dir = client.app.registry_api.state.ctx.settings.data_dir
    assert list((data_dir / "uploads").iterdir()) == []
