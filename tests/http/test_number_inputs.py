"""Numbers in /v2 query strings and headers: huge or non-ASCII digits are a 4xx, never a 500."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.http.oci_helpers import blob_url, push_blob, random_bytes, start_upload

HUGE = "9" * 5000  # int() refuses more than 4300 digits


@pytest.mark.parametrize("n", ["%C2%B2", "%D9%A3", "-1", "1e3"])
def test_listing_page_sizes(client: TestClient, repo: str, n: str) -> None:
    push_blob(client, repo, b"x")
    for path in ("/v2/_catalog", f"/v2/{repo}/tags/list"):
        resp = client.get(f"{path}?n={n}")
        assert resp.status_code == 400, (path, resp.text[:200])
        assert resp.json()["errors"][0]["message"].startswith("n must be")


def test_huge_page_size_is_capped(client: TestClient, repo: str) -> None:
    push_blob(client, repo, b"x")
    assert client.get(f"/v2/_catalog?n={HUGE}").status_code == 200


def test_huge_range_header(client: TestClient, repo: str) -> None:
    digest = push_blob(client, repo, random_bytes(100))
    resp = client.get(blob_url(repo, digest), headers={"Range": f"bytes={HUGE}-"})
    assert resp.status_code < 500


def test_huge_content_range_header(client: TestClient, repo: str) -> None:
    location = start_upload(client, repo)
    resp = client.patch(location, content=b"x", headers={"Content-Range": f"{HUGE}-{HUGE}"})
    assert 400 <= resp.status_code < 500, resp.text[:200]
