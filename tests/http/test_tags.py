"""Listing tags (spec: "Listing Tags", end-8a, end-8b)."""

from __future__ import annotations

import random

import httpx
import pytest

from tests.http.oci_helpers import (
    OCI_MANIFEST,
    assert_api_version,
    assert_error,
    assert_spec_error_body,
    describe,
    media_type_of,
    next_link_url,
    parse_next_link,
    push_image,
    push_manifest,
)

TAGS = ["alpha", "beta", "delta", "epsilon", "gamma", "v1", "v10", "v2", "zeta"]


def tag_all(client: httpx.Client, repo: str, tags: list[str]) -> None:
    image = push_image(client, repo, tags[0])
    for tag in tags[1:]:
        push_manifest(client, repo, tag, image.body, OCI_MANIFEST)


@pytest.fixture
def tagged(client: httpx.Client, repo: str) -> list[str]:
    shuffled = list(TAGS)
    random.shuffle(shuffled)
    tag_all(client, repo, shuffled)
    return sorted(TAGS)


def list_tags(client: httpx.Client, repo: str, query: str = "") -> httpx.Response:
    return client.get(f"/v2/{repo}/tags/list{query}")


def assert_tags(resp: httpx.Response, repo: str, tags: list[str]) -> None:
    assert resp.status_code == 200, describe(resp)
    assert media_type_of(resp) == "application/json"
    assert resp.json() == {"name": repo, "tags": tags}
    assert_api_version(resp)


def assert_next(resp: httpx.Response, repo: str, n: int, last: str) -> None:
    link = parse_next_link(resp)
    assert link == (f"/v2/{repo}/tags/list", {"n": str(n), "last": last}), resp.headers.get("Link")


def test_list_is_sorted(client: httpx.Client, repo: str, tagged: list[str]) -> None:
    resp = list_tags(client, repo)
    assert_tags(resp, repo, tagged)
    assert "Link" not in resp.headers


def test_first_page(client: httpx.Client, repo: str, tagged: list[str]) -> None:
    resp = list_tags(client, repo, "?n=3")
    assert_tags(resp, repo, tagged[:3])
    assert_next(resp, repo, 3, tagged[2])


def test_exact_link_header_format(client: httpx.Client, repo: str, tagged: list[str]) -> None:
    resp = list_tags(client, repo, "?n=2")
    assert resp.headers["Link"] == f'</v2/{repo}/tags/list?n=2&last={tagged[1]}>; rel="next"'


def test_paginate_with_link(client: httpx.Client, repo: str, tagged: list[str]) -> None:
    seen: list[str] = []
    url: str | None = f"/v2/{repo}/tags/list?n=4"
    pages = 0
    while url is not None:
        resp = client.get(url)
        assert resp.status_code == 200, describe(resp)
        page = resp.json()["tags"]
        assert len(page) <= 4
        seen.extend(page)
        url = next_link_url(resp)
        pages += 1
        assert pages <= len(TAGS)
    assert seen == tagged
    assert pages == 3  # 4 + 4 + 1, and the last page has no Link


def test_n_and_last(client: httpx.Client, repo: str, tagged: list[str]) -> None:
    resp = list_tags(client, repo, f"?n=2&last={tagged[3]}")
    assert_tags(resp, repo, tagged[4:6])
    assert_next(resp, repo, 2, tagged[5])


def test_last_without_n(client: httpx.Client, repo: str, tagged: list[str]) -> None:
    resp = list_tags(client, repo, f"?last={tagged[6]}")
    assert_tags(resp, repo, tagged[7:])
    assert "Link" not in resp.headers


def test_last_not_a_tag(client: httpx.Client, repo: str, tagged: list[str]) -> None:
    """`last` is a position in lexical order; it need not be an existing tag."""
    resp = list_tags(client, repo, "?last=c")  # between "beta" and "delta"
    assert_tags(resp, repo, [t for t in tagged if t > "c"])


def test_last_page_exactly_full_has_no_link(
    client: httpx.Client, repo: str, tagged: list[str]
) -> None:
    resp = list_tags(client, repo, f"?n=2&last={tagged[6]}")
    assert tagged[7:] == ["v2", "zeta"]
    assert_tags(resp, repo, tagged[7:])
    assert "Link" not in resp.headers


def test_n_equal_to_total_has_no_link(client: httpx.Client, repo: str, tagged: list[str]) -> None:
    resp = list_tags(client, repo, f"?n={len(TAGS)}")
    assert_tags(resp, repo, tagged)
    assert "Link" not in resp.headers


def test_n_one_less_than_total_has_link(client: httpx.Client, repo: str, tagged: list[str]) -> None:
    resp = list_tags(client, repo, f"?n={len(TAGS) - 1}")
    assert_tags(resp, repo, tagged[:-1])
    assert_next(resp, repo, len(TAGS) - 1, tagged[-2])


def test_last_after_everything(client: httpx.Client, repo: str, tagged: list[str]) -> None:
    resp = list_tags(client, repo, "?n=5&last=zzz")
    assert_tags(resp, repo, [])
    assert "Link" not in resp.headers


def test_n_zero(client: httpx.Client, repo: str, tagged: list[str]) -> None:
    for query in ("?n=0", f"?n=0&last={tagged[2]}"):
        resp = list_tags(client, repo, query)
        assert_tags(resp, repo, [])
        assert "Link" not in resp.headers


def test_huge_n_with_few_tags(client: httpx.Client, repo: str, tagged: list[str]) -> None:
    resp = list_tags(client, repo, "?n=1000000")
    assert_tags(resp, repo, tagged)
    assert "Link" not in resp.headers


def test_n_is_capped_at_1000(client: httpx.Client, repo: str) -> None:
    tags = [f"t{i:04d}" for i in range(1001)]
    tag_all(client, repo, tags)
    resp = list_tags(client, repo, "?n=1000000")
    assert resp.status_code == 200, describe(resp)
    page = resp.json()["tags"]
    assert len(page) == 1000
    assert page == tags[:1000]
    link = parse_next_link(resp)
    assert link is not None
    assert link[0] == f"/v2/{repo}/tags/list"
    assert link[1]["last"] == tags[999]
    rest = client.get(next_link_url(resp) or "")
    assert rest.status_code == 200, describe(rest)
    assert rest.json()["tags"] == tags[1000:]
    assert "Link" not in rest.headers


@pytest.mark.parametrize("n", ["abc", "-1", "1.5", "0x10", "1e3", "%C2%B2", "%D9%A1"])
def test_invalid_n(client: httpx.Client, repo: str, tagged: list[str], n: str) -> None:
    resp = list_tags(client, repo, f"?n={n}")
    assert resp.status_code == 400, describe(resp)
    assert_api_version(resp)
    assert_spec_error_body(resp)


def test_n_with_thousands_of_digits_is_capped(
    client: httpx.Client, repo: str, tagged: list[str]
) -> None:
    resp = list_tags(client, repo, "?n=" + "9" * 5000)
    assert resp.status_code == 200, describe(resp)
    assert resp.json()["tags"] == sorted(tagged)


def test_unknown_repository(client: httpx.Client, repo: str) -> None:
    assert_error(list_tags(client, repo), 404, "NAME_UNKNOWN")
    assert_error(list_tags(client, repo, "?n=10"), 404, "NAME_UNKNOWN")


def test_repository_with_untagged_manifest_only(client: httpx.Client, repo: str) -> None:
    push_image(client, repo)  # by digest
    assert_tags(list_tags(client, repo), repo, [])


def test_tags_of_other_repositories_are_not_listed(client: httpx.Client, repo: str) -> None:
    tag_all(client, repo, ["mine"])
    tag_all(client, repo + "/nested", ["nested-tag"])
    tag_all(client, repo + "-sibling", ["sibling-tag"])
    assert_tags(list_tags(client, repo), repo, ["mine"])
    assert_tags(list_tags(client, repo + "/nested"), repo + "/nested", ["nested-tag"])


def test_moved_tag_listed_once(client: httpx.Client, repo: str) -> None:
    push_image(client, repo, "latest")
    push_image(client, repo, "latest")
    push_image(client, repo, "other")
    assert_tags(list_tags(client, repo), repo, ["latest", "other"])


def test_invalid_name(client: httpx.Client) -> None:
    assert_error(client.get("/v2/Bad/Name/tags/list"), 400, "NAME_INVALID")
