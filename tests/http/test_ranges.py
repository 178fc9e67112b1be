"""Blob GET with Range (RFC 9110 section 14): every edge, on both backends.

test_blobs.py covers the ordinary satisfiable ranges; this file covers what probes sent.
"""

from __future__ import annotations

import httpx
import pytest

from tests.http.oci_helpers import (
    assert_api_version,
    assert_spec_error_body,
    blob_url,
    push_blob,
    random_bytes,
)

SIZE = 1000


@pytest.fixture
def blob(client: httpx.Client, repo: str) -> tuple[bytes, str]:
    data = random_bytes(SIZE)
    return data, push_blob(client, repo, data)


def get(client: httpx.Client, repo: str, digest: str, **headers: str) -> httpx.Response:
    encoded = {key: value.encode() for key, value in headers.items()}  # UTF-8 on the wire
    return client.get(blob_url(repo, digest), headers=encoded)


def assert_416(resp: httpx.Response, size: int = SIZE) -> None:
    assert resp.status_code == 416, resp.text
    assert resp.headers["Content-Range"] == f"bytes */{size}"
    assert_api_version(resp)
    (error,) = assert_spec_error_body(resp)
    assert error["code"] == "SIZE_INVALID"
    assert error["detail"]["size"] == size


def assert_whole(resp: httpx.Response, data: bytes) -> None:
    assert resp.status_code == 200, resp.text
    assert resp.content == data
    assert resp.headers["Content-Length"] == str(len(data))
    assert "Content-Range" not in resp.headers


@pytest.mark.parametrize(
    "range_header",
    [
        "bytes=500-0",  # last before first: the probe's case
        "bytes=1-0",
        "bytes=abc",
        "bytes=a-b",
        "bytes=1-2-3",
        "bytes=--5",
        "bytes=-",
        "bytes=",
        "bytes= , ",
        "bytes=0x10-20",
        "bytes=+1-2",
        "bytes=1.5-2",
        "bytes=\u0661-\u0662",  # Arabic-Indic digits: not ASCII, not a number here
        "bytes",
        "0-10",
        "=0-10",
        "bytes=0-10,20-5",  # one bad spec spoils a multi-range set
        "bytes=" + "9" * 5000 + "-1",
    ],
)
def test_malformed_range_is_416(
    client: httpx.Client, repo: str, blob: tuple[bytes, str], range_header: str
) -> None:
    assert_416(get(client, repo, blob[1], Range=range_header))


@pytest.mark.parametrize(
    "range_header",
    [
        f"bytes={SIZE}-",
        f"bytes={SIZE}-{SIZE + 5}",
        f"bytes={SIZE + 10}-{SIZE + 20}",
        "bytes=" + "9" * 40 + "-",
        "bytes=" + "9" * 5000 + "-",
        "bytes=-0",  # a zero-length suffix selects nothing
        f"bytes={SIZE}-,{SIZE + 1}-",  # several ranges, none inside the blob
    ],
)
def test_unsatisfiable_range_is_416(
    client: httpx.Client, repo: str, blob: tuple[bytes, str], range_header: str
) -> None:
    assert_416(get(client, repo, blob[1], Range=range_header))


@pytest.mark.parametrize(
    ("range_header", "start", "end"),
    [
        ("bytes=500-", 500, SIZE - 1),  # open range
        ("bytes=-500", SIZE - 500, SIZE - 1),  # suffix range
        ("bytes=-1", SIZE - 1, SIZE - 1),
        (f"bytes=-{SIZE}", 0, SIZE - 1),
        ("bytes=-" + "9" * 40, 0, SIZE - 1),  # suffix past the start: the whole blob
        ("bytes=900-" + "9" * 5000, 900, SIZE - 1),  # end past the end is clamped
        (f"bytes=0-{SIZE}", 0, SIZE - 1),
        ("bytes=5-5", 5, 5),
        ("BYTES=5-9", 5, 9),  # range units are case-insensitive
        (" bytes = 5-9 ", 5, 9),
        ("bytes=5-9,", 5, 9),  # empty list elements are ignored (RFC 9110 5.6.1)
        ("bytes=0007-0009", 7, 9),
    ],
)
def test_satisfiable_range_is_206(
    client: httpx.Client,
    repo: str,
    blob: tuple[bytes, str],
    range_header: str,
    start: int,
    end: int,
) -> None:
    data, digest = blob
    resp = get(client, repo, digest, Range=range_header)
    assert resp.status_code == 206, resp.text
    assert resp.content == data[start : end + 1]
    assert resp.headers["Content-Range"] == f"bytes {start}-{end}/{SIZE}"
    assert resp.headers["Content-Length"] == str(end - start + 1)
    assert resp.headers["Docker-Content-Digest"] == digest
    assert_api_version(resp)


@pytest.mark.parametrize(
    "range_header",
    [
        "bytes=0-9,20-29",  # several ranges: the whole blob, never multipart
        "bytes=0-9,-5",
        f"bytes=0-9,{SIZE + 5}-",  # one satisfiable range is enough to answer 200
        "items=0-9",  # an unknown unit MUST be ignored (RFC 9110 14.2)
        "pages=500-0",
    ],
)
def test_range_served_as_whole_blob(
    client: httpx.Client, repo: str, blob: tuple[bytes, str], range_header: str
) -> None:
    data, digest = blob
    assert_whole(get(client, repo, digest, Range=range_header), data)


def test_if_range_with_this_etag_honours_the_range(
    client: httpx.Client, repo: str, blob: tuple[bytes, str]
) -> None:
    data, digest = blob
    resp = get(client, repo, digest, Range="bytes=10-19", **{"If-Range": f'"{digest}"'})
    assert resp.status_code == 206
    assert resp.content == data[10:20]


def test_if_range_with_another_etag_sends_everything(
    client: httpx.Client, repo: str, blob: tuple[bytes, str]
) -> None:
    data, digest = blob
    other = '"sha256:' + "0" * 64 + '"'
    assert_whole(get(client, repo, digest, Range="bytes=10-19", **{"If-Range": other}), data)
    # a false If-Range turns the Range off entirely, even an unsatisfiable one
    assert_whole(get(client, repo, digest, Range="bytes=5000-", **{"If-Range": other}), data)


@pytest.mark.parametrize("range_header", ["bytes=0-", "bytes=0-0", "bytes=-1", "bytes=5-1"])
def test_any_range_of_an_empty_blob_is_416(
    client: httpx.Client, repo: str, range_header: str
) -> None:
    digest = push_blob(client, repo, b"")
    assert_416(get(client, repo, digest, Range=range_header), size=0)


@pytest.mark.parametrize("range_header", ["bytes=500-0", f"bytes={SIZE}-", "bytes=0-9"])
def test_head_ignores_range(
    client: httpx.Client, repo: str, blob: tuple[bytes, str], range_header: str
) -> None:
    """RFC 9110 14.2: Range is defined for GET only; HEAD answers 200 as the spec asks."""
    resp = client.head(blob_url(repo, blob[1]), headers={"Range": range_header})
    assert resp.status_code == 200
    assert resp.headers["Content-Length"] == str(SIZE)
    assert "Content-Range" not in resp.headers


def test_416_on_unknown_blob_is_still_404(client: httpx.Client, repo: str) -> None:
    resp = get(client, repo, "sha256:" + "1" * 64, Range="bytes=500-0")
    assert resp.status_code == 404
