"""Pulling blobs and checking their existence (spec: "Pulling blobs", end-2)."""

from __future__ import annotations

import httpx
import pytest

from tests.http.oci_helpers import (
    MALFORMED_DIGESTS,
    UNSUPPORTED_DIGESTS,
    assert_api_version,
    assert_error,
    assert_no_error_body_or_spec,
    blob_url,
    digest_of,
    push_blob,
    random_bytes,
    random_digest,
)

SIZE = 1000


@pytest.fixture
def blob(client: httpx.Client, repo: str) -> tuple[bytes, str]:
    data = random_bytes(SIZE)
    return data, push_blob(client, repo, data)


def test_get_blob(client: httpx.Client, repo: str, blob: tuple[bytes, str]) -> None:
    data, digest = blob
    resp = client.get(blob_url(repo, digest))
    assert resp.status_code == 200
    assert resp.content == data
    assert resp.headers["Docker-Content-Digest"] == digest
    assert resp.headers["Content-Length"] == str(SIZE)
    assert resp.headers["Content-Type"] == "application/octet-stream"
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert_api_version(resp)


def test_head_blob(client: httpx.Client, repo: str, blob: tuple[bytes, str]) -> None:
    _, digest = blob
    resp = client.head(blob_url(repo, digest))
    assert resp.status_code == 200
    assert resp.content == b""
    assert resp.headers["Docker-Content-Digest"] == digest
    assert resp.headers["Content-Length"] == str(SIZE)
    assert resp.headers["Content-Type"] == "application/octet-stream"
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert_api_version(resp)


def test_empty_blob_roundtrip(client: httpx.Client, repo: str) -> None:
    digest = push_blob(client, repo, b"")
    assert digest == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    resp = client.get(blob_url(repo, digest))
    assert resp.status_code == 200
    assert resp.content == b""
    assert resp.headers["Content-Length"] == "0"
    assert resp.headers["Docker-Content-Digest"] == digest


def test_sha512_blob_roundtrip(client: httpx.Client, repo: str) -> None:
    data = random_bytes(300)
    digest = push_blob(client, repo, data, algorithm="sha512")
    assert len(digest) == len("sha512:") + 128
    resp = client.get(blob_url(repo, digest))
    assert resp.status_code == 200
    assert resp.content == data
    assert resp.headers["Docker-Content-Digest"] == digest
    head = client.head(blob_url(repo, digest))
    assert head.status_code == 200
    assert head.headers["Content-Length"] == "300"


def test_unknown_blob_is_404(client: httpx.Client, repo: str, blob: tuple[bytes, str]) -> None:
    assert_error(client.get(blob_url(repo, random_digest())), 404, "BLOB_UNKNOWN")
    assert_error(client.head(blob_url(repo, random_digest())), 404, "BLOB_UNKNOWN")


def test_unknown_blob_in_unknown_repository_is_404(client: httpx.Client, repo: str) -> None:
    assert_error(client.get(blob_url(repo + "/nope", random_digest())), 404, "BLOB_UNKNOWN")


def test_blob_is_not_visible_from_another_repository(
    client: httpx.Client, repo: str, blob: tuple[bytes, str]
) -> None:
    _, digest = blob
    other = repo + "-other"
    push_blob(client, other, random_bytes(10))  # make sure `other` exists
    assert_error(client.get(blob_url(other, digest)), 404, "BLOB_UNKNOWN")
    assert_error(client.head(blob_url(other, digest)), 404, "BLOB_UNKNOWN")
    assert client.head(blob_url(repo, digest)).status_code == 200


def test_same_content_pushed_to_two_repositories(client: httpx.Client, repo: str) -> None:
    data = random_bytes(100)
    other = repo + "-b"
    assert push_blob(client, repo, data) == push_blob(client, other, data)
    for name in (repo, other):
        resp = client.get(blob_url(name, digest_of(data)))
        assert resp.status_code == 200
        assert resp.content == data


def test_pushing_existing_blob_again_is_fine(client: httpx.Client, repo: str) -> None:
    data = random_bytes(100)
    assert push_blob(client, repo, data) == push_blob(client, repo, data)
    assert client.get(blob_url(repo, digest_of(data))).content == data


@pytest.mark.parametrize("digest", MALFORMED_DIGESTS)
def test_get_blob_malformed_digest(client: httpx.Client, repo: str, digest: str) -> None:
    assert_error(client.get(blob_url(repo, digest)), 400, "DIGEST_INVALID")


@pytest.mark.parametrize("digest", UNSUPPORTED_DIGESTS)
def test_get_blob_unsupported_algorithm(client: httpx.Client, repo: str, digest: str) -> None:
    assert_error(client.get(blob_url(repo, digest)), 400, "UNSUPPORTED")


# --- Range requests (RFC 9110) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("range_header", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=10-19", 10, 19),
        ("bytes=0-0", 0, 0),
        ("bytes=500-", 500, SIZE - 1),
        ("bytes=-4", SIZE - 4, SIZE - 1),
        ("bytes=0-", 0, SIZE - 1),
        ("bytes=990-5000", 990, SIZE - 1),  # end past the blob is clamped
        (f"bytes={SIZE - 1}-{SIZE - 1}", SIZE - 1, SIZE - 1),
        (f"bytes=-{SIZE + 50}", 0, SIZE - 1),  # suffix longer than the blob: whole blob
    ],
)
def test_range_request(
    client: httpx.Client,
    repo: str,
    blob: tuple[bytes, str],
    range_header: str,
    start: int,
    end: int,
) -> None:
    data, digest = blob
    resp = client.get(blob_url(repo, digest), headers={"Range": range_header})
    assert resp.status_code == 206, resp.text
    assert resp.content == data[start : end + 1]
    assert resp.headers["Content-Range"] == f"bytes {start}-{end}/{SIZE}"
    assert resp.headers["Content-Length"] == str(end - start + 1)
    assert_api_version(resp)


@pytest.mark.parametrize("range_header", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}"])
def test_unsatisfiable_range_is_416(
    client: httpx.Client, repo: str, blob: tuple[bytes, str], range_header: str
) -> None:
    _, digest = blob
    resp = client.get(blob_url(repo, digest), headers={"Range": range_header})
    assert resp.status_code == 416
    assert resp.headers["Content-Range"] == f"bytes */{SIZE}"
    assert_api_version(resp)
    assert_no_error_body_or_spec(resp)


def test_range_on_unknown_blob_is_404(client: httpx.Client, repo: str) -> None:
    resp = client.get(blob_url(repo, random_digest()), headers={"Range": "bytes=0-1"})
    assert_error(resp, 404, "BLOB_UNKNOWN")


def test_ranged_reads_reassemble_the_blob(
    client: httpx.Client, repo: str, blob: tuple[bytes, str]
) -> None:
    data, digest = blob
    pieces = []
    for start in range(0, SIZE, 300):
        end = min(start + 299, SIZE - 1)
        resp = client.get(blob_url(repo, digest), headers={"Range": f"bytes={start}-{end}"})
        assert resp.status_code == 206
        pieces.append(resp.content)
    assert b"".join(pieces) == data
