"""A chunked upload survives a server crash (SIGKILL) and resumes where it stopped."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.integration.clients import absolute, new_http, sha256_digest, with_query

pytestmark = pytest.mark.integration

SIZE = 6 * 1024 * 1024 + 123  # several MiB, and not a multiple of any buffer size


def upload_location(base_url: str, resp: Any) -> str:
    """The absolute upload URL from a response (each response may move the session)."""
    assert "Location" in resp.headers, f"no Location: {resp.status_code} {dict(resp.headers)}"
    return absolute(base_url, resp.headers["Location"])


@pytest.mark.timeout(120)
def test_chunked_upload_resumes_after_crash(live_server: Any, repo: str) -> None:
    data = os.urandom(SIZE)
    half = SIZE // 2
    digest = sha256_digest(data)
    octets = {"Content-Type": "application/octet-stream"}

    with new_http(live_server.url) as http:
        resp = http.post(f"/v2/{repo}/blobs/uploads/")
        assert resp.status_code == 202, resp.text
        location = upload_location(live_server.url, resp)

        first = {**octets, "Content-Range": f"0-{half - 1}", "Content-Length": str(half)}
        resp = http.patch(location, content=data[:half], headers=first)
        assert resp.status_code == 202, f"PATCH first half: {resp.status_code} {resp.text}"
        assert resp.headers["Range"] == f"0-{half - 1}"
        location = upload_location(live_server.url, resp)

    live_server.restart()

    with new_http(live_server.url) as http:
        resp = http.get(location)
        assert resp.status_code == 204, f"GET upload status: {resp.status_code} {resp.text}"
        assert resp.headers["Range"] == f"0-{half - 1}"
        assert resp.headers.get("Docker-Upload-UUID"), dict(resp.headers)
        location = upload_location(live_server.url, resp)

        rest = SIZE - half
        second = {**octets, "Content-Range": f"{half}-{SIZE - 1}", "Content-Length": str(rest)}
        resp = http.patch(location, content=data[half:], headers=second)
        assert resp.status_code == 202, f"PATCH second half: {resp.status_code} {resp.text}"
        assert resp.headers["Range"] == f"0-{SIZE - 1}"
        location = upload_location(live_server.url, resp)

        resp = http.put(with_query(location, digest=digest))
        assert resp.status_code == 201, f"PUT ?digest=: {resp.status_code} {resp.text}"
        assert resp.headers["Docker-Content-Digest"] == digest

        resp = http.get(f"/v2/{repo}/blobs/{digest}", follow_redirects=True)
        assert resp.status_code == 200, resp.text
        assert len(resp.content) == SIZE
        assert resp.content == data
