"""GET /v2/: determining support (spec: "Determining Support", end-1)."""

from __future__ import annotations

import httpx

from tests.http.oci_helpers import API_VERSION, API_VERSION_HEADER, media_type_of, push_image


def test_base_returns_200_empty_json(client: httpx.Client) -> None:
    resp = client.get("/v2/")
    assert resp.status_code == 200
    assert resp.json() == {}
    assert media_type_of(resp) == "application/json"
    assert resp.headers[API_VERSION_HEADER] == API_VERSION


def test_base_head(client: httpx.Client) -> None:
    resp = client.head("/v2/")
    assert resp.status_code == 200
    assert resp.content == b""
    assert resp.headers[API_VERSION_HEADER] == API_VERSION


def test_base_is_stable_across_calls(client: httpx.Client) -> None:
    first = client.get("/v2/")
    second = client.get("/v2/")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() == {}


def test_api_version_header_on_success_responses(client: httpx.Client, repo: str) -> None:
    image = push_image(client, repo, "v1")
    for resp in (
        client.get(f"/v2/{repo}/manifests/v1"),
        client.head(f"/v2/{repo}/manifests/{image.digest}"),
        client.get(f"/v2/{repo}/tags/list"),
        client.get(f"/v2/{repo}/blobs/{image.config['digest']}"),
        client.get("/v2/_catalog"),
        client.get(f"/v2/{repo}/referrers/{image.digest}"),
    ):
        assert resp.status_code == 200, resp.request.url
        assert resp.headers.get(API_VERSION_HEADER) == API_VERSION, resp.request.url
