"""Upload bodies that end early or disagree with their headers, in process, on both backends.

A short body is what the server sees when a client goes away half-way: the ASGI server
delivers part of the body, then ``http.disconnect``. The answer is 400 SIZE_INVALID, the
partial chunk is discarded (the session's Range stays where it was, and the session stays
usable), and no blob appears. tests/integration/test_short_bodies.py does the same over
real sockets against a live server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.http.oci_helpers import (
    assert_error,
    blob_visible,
    digest_of,
    random_bytes,
    start_upload,
    uploads_url,
    with_query,
)

CHUNK = 1000


def cut_off(client: Any, method: str, url: str, body: bytes, length: int) -> httpx.Response:
    """Send ``body`` under ``Content-Length: length``, then disconnect (raw ASGI)."""
    path, _, query = url.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/octet-stream"),
            (b"content-length", str(length).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    messages: Iterator[dict[str, Any]] = iter(
        [
            {"type": "http.request", "body": body[: len(body) // 2], "more_body": True},
            {"type": "http.request", "body": body[len(body) // 2 :], "more_body": True},
        ]
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages, {"type": "http.disconnect"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def call() -> None:
        await client.app(scope, receive, send)

    client.portal.call(call)
    start = sent[0]
    headers = [(k.decode(), v.decode()) for k, v in start["headers"]]
    content = b"".join(m.get("body", b"") for m in sent[1:])
    request = httpx.Request(method, "http://testserver" + url)
    return httpx.Response(start["status"], headers=headers, content=content, request=request)


def session_range(client: httpx.Client, location: str) -> str:
    resp = client.get(location)
    assert resp.status_code == 204, resp.text
    return resp.headers["Range"]


def patch(client: httpx.Client, location: str, data: bytes, start: int) -> httpx.Response:
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Range": f"{start}-{start + len(data) - 1}",
    }
    return client.patch(location, content=data, headers=headers)


def test_patch_cut_off_keeps_the_session_where_it_was(client: httpx.Client, repo: str) -> None:
    data = random_bytes(3 * CHUNK)
    location = start_upload(client, repo)
    assert patch(client, location, data[:CHUNK], 0).status_code == 202

    resp = cut_off(client, "PATCH", location, data[CHUNK : 2 * CHUNK - 300], CHUNK)
    errors = assert_error(resp, 400, "SIZE_INVALID")
    assert errors[0]["detail"] == {"expected": CHUNK, "received": CHUNK - 300}
    assert session_range(client, location) == f"0-{CHUNK - 1}"

    # the session goes on from where it was, and the blob is whole and right
    assert patch(client, location, data[CHUNK:], CHUNK).status_code == 202
    resp = client.put(with_query(location, digest=digest_of(data)))
    assert resp.status_code == 201, resp.text
    assert client.get(f"/v2/{repo}/blobs/{digest_of(data)}").content == data


def test_first_patch_cut_off_leaves_an_empty_session(client: httpx.Client, repo: str) -> None:
    data = random_bytes(CHUNK)
    location = start_upload(client, repo)
    assert_error(cut_off(client, "PATCH", location, data[:10], CHUNK), 400, "SIZE_INVALID")
    assert session_range(client, location) == "0-0"
    assert patch(client, location, data, 0).status_code == 202
    assert session_range(client, location) == f"0-{CHUNK - 1}"


def test_closing_put_cut_off_commits_nothing(client: httpx.Client, repo: str) -> None:
    data = random_bytes(2 * CHUNK)
    digest = digest_of(data)
    location = start_upload(client, repo)
    assert patch(client, location, data[:CHUNK], 0).status_code == 202

    url = with_query(location, digest=digest)
    assert_error(cut_off(client, "PUT", url, data[CHUNK:-1], CHUNK), 400, "SIZE_INVALID")
    assert not blob_visible(client, repo, digest)
    assert session_range(client, location) == f"0-{CHUNK - 1}"

    resp = client.put(url, content=data[CHUNK:])
    assert resp.status_code == 201, resp.text
    assert client.get(f"/v2/{repo}/blobs/{digest}").content == data


def test_monolithic_post_cut_off_leaves_nothing(make_client: Any, repo: str) -> None:
    client = make_client()
    data = random_bytes(CHUNK)
    url = with_query(uploads_url(repo), digest=digest_of(data))
    assert_error(cut_off(client, "POST", url, data[:-1], CHUNK), 400, "SIZE_INVALID")
    assert not blob_visible(client, repo, digest_of(data))
    data_dir = client.app.registry_api.state.ctx.settings.data_dir
    assert list((data_dir / "uploads").iterdir()) == []


def test_cut_off_before_any_byte(client: httpx.Client, repo: str) -> None:
    location = start_upload(client, repo)
    assert_error(cut_off(client, "PATCH", location, b"", CHUNK), 400, "SIZE_INVALID")
    assert session_range(client, location) == "0-0"


@pytest.mark.parametrize("length", [CHUNK - 1, CHUNK + 1, 0])
def test_content_length_must_match_the_body(client: httpx.Client, repo: str, length: int) -> None:
    """What an ASGI server may pass on: a Content-Length that the body does not fill."""
    data = random_bytes(CHUNK)
    location = start_upload(client, repo)
    headers = {"Content-Length": str(length), "Content-Type": "application/octet-stream"}
    resp = client.patch(location, content=data, headers=headers)
    assert_error(resp, 400, "SIZE_INVALID")
    assert session_range(client, location) == "0-0"


def test_content_length_must_match_content_range(client: httpx.Client, repo: str) -> None:
    data = random_bytes(CHUNK)
    location = start_upload(client, repo)
    headers = {"Content-Length": str(CHUNK), "Content-Range": f"0-{CHUNK * 2 - 1}"}
    assert_error(client.patch(location, content=data, headers=headers), 400, "SIZE_INVALID")
    assert session_range(client, location) == "0-0"


@pytest.mark.parametrize("length", ["-1", "abc", "1e3", "\u00b2", "9" * 40, " "])
def test_invalid_content_length_is_400(client: httpx.Client, repo: str, length: str) -> None:
    location = start_upload(client, repo)
    headers = {"Content-Length": length.encode("latin-1")}
    resp = client.patch(location, content=b"abc", headers=headers)  # type: ignore[arg-type]
    assert_error(resp, 400, "SIZE_INVALID")
    assert session_range(client, location) == "0-0"


def test_manifest_put_cut_off_is_400_and_stores_nothing(client: httpx.Client, repo: str) -> None:
    body = b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}'
    resp = cut_off(client, "PUT", f"/v2/{repo}/manifests/t", body, len(body) + 100)
    assert_error(resp, 400, "SIZE_INVALID")
    assert client.get(f"/v2/{repo}/manifests/t").status_code == 404


@pytest.mark.parametrize("length", ["\u00b2", "-5", "x"])
def test_manifest_put_with_invalid_content_length(
    client: httpx.Client, repo: str, length: str
) -> None:
    headers = {"Content-Length": length.encode("latin-1"), "Content-Type": "application/json"}
    resp = client.put(f"/v2/{repo}/manifests/t", content=b"{}", headers=headers)  # type: ignore[arg-type]
    assert_error(resp, 400, "SIZE_INVALID")


def test_refused_closing_put_takes_its_chunk_back(client: httpx.Client, repo: str) -> None:
    """A PUT whose final chunk arrived but whose digest is wrong leaves the Range as it was,
    so the client can send the same PUT again with the right digest."""
    data = random_bytes(2 * CHUNK)
    location = start_upload(client, repo)
    assert patch(client, location, data[:CHUNK], 0).status_code == 202
    wrong = with_query(location, digest=digest_of(b"something else"))
    assert_error(client.put(wrong, content=data[CHUNK:]), 400, "DIGEST_INVALID")
    assert session_range(client, location) == f"0-{CHUNK - 1}"
    right = with_query(location, digest=digest_of(data))
    assert client.put(right, content=data[CHUNK:]).status_code == 201


def test_refused_headers_release_the_session(client: httpx.Client, repo: str) -> None:
    """A request refused on its headers alone must not keep the session locked."""
    data = random_bytes(CHUNK)
    location = start_upload(client, repo)
    headers = {"Content-Length": b"abc"}
    assert_error(client.patch(location, content=data, headers=headers), 400, "SIZE_INVALID")  # type: ignore[arg-type]
    mismatch = {"Content-Length": str(CHUNK), "Content-Range": "0-9"}
    assert_error(client.patch(location, content=data, headers=mismatch), 400, "SIZE_INVALID")
    assert patch(client, location, data, 0).status_code == 202
    assert client.put(with_query(location, digest=digest_of(data))).status_code == 201


@pytest.mark.parametrize("size", [CHUNK - 1, CHUNK + 1, 20 * CHUNK])
def test_chunked_body_must_fill_its_content_range(
    client: httpx.Client, repo: str, size: int
) -> None:
    """Without Content-Length only Content-Range promises a length; a body off it is refused."""
    location = start_upload(client, repo)

    def stream() -> Iterator[bytes]:
        data = random_bytes(size)
        for at in range(0, size, 100):
            yield data[at : at + 100]

    headers = {"Content-Range": f"0-{CHUNK - 1}"}
    resp = client.patch(location, content=stream(), headers=headers)
    assert_error(resp, 400, "SIZE_INVALID")
    assert session_range(client, location) == "0-0"
