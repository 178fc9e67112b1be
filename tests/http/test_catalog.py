"""The repository catalog, /v2/_catalog (same n/last/Link rules as the tags list)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.http.oci_helpers import (
    assert_api_version,
    assert_spec_error_body,
    describe,
    media_type_of,
    next_link_url,
    parse_next_link,
    push_image,
)

REPOS = ["alpha", "beta/one", "beta/two", "delta", "gamma/x/y", "omega"]


@pytest.fixture
def registry(make_client: Callable[..., Any]) -> httpx.Client:
    """A fresh registry holding exactly REPOS (pushed out of order)."""
    fresh = make_client()
    for name in reversed(REPOS):
        push_image(fresh, name, "latest")
    return fresh


def assert_repositories(resp: httpx.Response, names: list[str]) -> None:
    assert resp.status_code == 200, describe(resp)
    assert media_type_of(resp) == "application/json"
    assert resp.json() == {"repositories": names}
    assert_api_version(resp)


def assert_next(resp: httpx.Response, n: int, last: str) -> None:
    link = parse_next_link(resp)
    assert link == ("/v2/_catalog", {"n": str(n), "last": last}), resp.headers.get("Link")


def test_empty_registry(make_client: Callable[..., Any]) -> None:
    resp = make_client().get("/v2/_catalog")
    assert_repositories(resp, [])
    assert "Link" not in resp.headers


def test_catalog_is_sorted(registry: httpx.Client) -> None:
    resp = registry.get("/v2/_catalog")
    assert_repositories(resp, REPOS)
    assert "Link" not in resp.headers


def test_first_page(registry: httpx.Client) -> None:
    resp = registry.get("/v2/_catalog?n=2")
    assert_repositories(resp, REPOS[:2])
    assert_next(resp, 2, REPOS[1])


def test_n_and_last(registry: httpx.Client) -> None:
    resp = registry.get(f"/v2/_catalog?n=2&last={REPOS[1]}")
    assert_repositories(resp, REPOS[2:4])
    assert_next(resp, 2, REPOS[3])


def test_last_without_n(registry: httpx.Client) -> None:
    resp = registry.get(f"/v2/_catalog?last={REPOS[3]}")
    assert_repositories(resp, REPOS[4:])
    assert "Link" not in resp.headers


def test_paginate_with_link(registry: httpx.Client) -> None:
    seen: list[str] = []
    url: str | None = "/v2/_catalog?n=4"
    pages = 0
    while url is not None:
        resp = registry.get(url)
        assert resp.status_code == 200, describe(resp)
        seen.extend(resp.json()["repositories"])
        url = next_link_url(resp)
        pages += 1
        assert pages <= len(REPOS)
    assert seen == REPOS
    assert pages == 2


def test_full_last_page_has_no_link(registry: httpx.Client) -> None:
    resp = registry.get(f"/v2/_catalog?n=2&last={REPOS[3]}")
    assert_repositories(resp, REPOS[4:])
    assert "Link" not in resp.headers
    resp = registry.get(f"/v2/_catalog?n={len(REPOS)}")
    assert_repositories(resp, REPOS)
    assert "Link" not in resp.headers


def test_n_zero(registry: httpx.Client) -> None:
    resp = registry.get("/v2/_catalog?n=0")
    assert_repositories(resp, [])
    assert "Link" not in resp.headers


def test_huge_n(registry: httpx.Client) -> None:
    resp = registry.get("/v2/_catalog?n=1000000")
    assert_repositories(resp, REPOS)
    assert "Link" not in resp.headers


@pytest.mark.parametrize("n", ["abc", "-1", "1.5"])
def test_invalid_n(registry: httpx.Client, n: str) -> None:
    resp = registry.get(f"/v2/_catalog?n={n}")
    assert resp.status_code == 400, describe(resp)
    assert_api_version(resp)
    assert_spec_error_body(resp)


def test_shared_registry_lists_new_repository(client: httpx.Client, repo: str) -> None:
    push_image(client, repo, "v1")
    push_image(client, repo + "/child", "v1")
    names: list[str] = []
    url: str | None = "/v2/_catalog?n=1000"
    while url is not None:
        resp = client.get(url)
        assert resp.status_code == 200, describe(resp)
        names.extend(resp.json()["repositories"])
        url = next_link_url(resp)
    assert names == sorted(names)
    assert len(names) == len(set(names))
    assert repo in names
    assert repo + "/child" in names
