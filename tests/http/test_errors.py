"""Repository names, the error envelope, and odd requests that must fail cleanly."""

from __future__ import annotations

import httpx
import pytest

from tests.http.oci_helpers import (
    OCI_MANIFEST,
    assert_api_version,
    assert_error,
    assert_spec_error_body,
    blob_url,
    describe,
    digest_of,
    image_manifest,
    manifest_url,
    push_blob,
    push_image,
    random_digest,
    referrers_url,
    uploads_url,
    with_query,
)

INVALID_NAMES = [
    "Upper",
    "t/Upper",
    "a//b",
    "-a",
    "a-",
    "a/-b",
    "a..b",
    "a___b",
    "a/%2E%2E/b",  # a/../b once decoded
    "a/%2E/b",  # a/./b
    "%2E%2E",
    "a%20b",
    "a" * 256,
    "t/" + "a" * 254,
]


def name_endpoints(name: str) -> list[tuple[str, str]]:
    return [
        ("GET", f"/v2/{name}/tags/list"),
        ("GET", manifest_url(name, "latest")),
        ("HEAD", manifest_url(name, "latest")),
        ("GET", manifest_url(name, random_digest())),
        ("DELETE", manifest_url(name, random_digest())),
        ("GET", blob_url(name, random_digest())),
        ("HEAD", blob_url(name, random_digest())),
        ("DELETE", blob_url(name, random_digest())),
        ("POST", uploads_url(name)),
        ("POST", with_query(uploads_url(name), digest=digest_of(b"x"))),
        ("GET", f"/v2/{name}/blobs/uploads/00000000-0000-4000-8000-000000000000"),
        ("GET", referrers_url(name, random_digest())),
    ]


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_names_are_rejected_everywhere(client: httpx.Client, name: str) -> None:
    for method, url in name_endpoints(name):
        resp = client.request(method, url, content=b"x" if "digest=" in url else None)
        assert_error(resp, 400, "NAME_INVALID")


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_invalid_name_on_manifest_put(client: httpx.Client, name: str) -> None:
    body = image_manifest({"mediaType": "x", "digest": random_digest(), "size": 1}, [])
    headers = {"Content-Type": OCI_MANIFEST}
    resp = client.put(manifest_url(name, "v1"), content=body, headers=headers)
    assert_error(resp, 400, "NAME_INVALID")


def test_name_of_255_characters_is_valid(client: httpx.Client, repo: str) -> None:
    name = repo + "/" + "a" * (255 - len(repo) - 1)
    assert len(name) == 255
    assert_error(client.get(f"/v2/{name}/tags/list"), 404, "NAME_UNKNOWN")
    image = push_image(client, name, "v1")
    assert client.get(manifest_url(name, "v1")).content == image.body
    resp = client.get(f"/v2/{name}/tags/list")
    assert resp.status_code == 200, describe(resp)
    assert resp.json() == {"name": name, "tags": ["v1"]}


@pytest.mark.parametrize("suffix", ["a.b", "a_b", "a__b", "a-b", "a---b", "0/9z", "x/y/z/w"])
def test_valid_name_components(client: httpx.Client, repo: str, suffix: str) -> None:
    name = f"{repo}/{suffix}"
    data = b"name check " + name.encode()
    digest = push_blob(client, name, data)
    resp = client.get(blob_url(name, digest))
    assert resp.status_code == 200, describe(resp)
    assert resp.content == data


def test_error_envelope(client: httpx.Client, repo: str) -> None:
    resp = client.get(blob_url(repo, random_digest()))
    errors = assert_error(resp, 404, "BLOB_UNKNOWN")
    assert resp.headers["Content-Type"].split(";")[0] == "application/json"
    assert int(resp.headers["Content-Length"]) == len(resp.content) > 0
    assert len(errors) >= 1
    assert all(set(error) >= {"code", "message", "detail"} for error in errors)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/t/x/unknown-endpoint"),
        ("GET", "/v2/t/x/blobs/"),
        ("GET", "/v2/t/x/manifests/"),
        ("GET", "/v2/t/x/tags/"),
    ],
)
def test_unknown_endpoints_are_404_spec_errors(
    client: httpx.Client, method: str, path: str
) -> None:
    resp = client.request(method, path)
    assert resp.status_code == 404, describe(resp)
    assert_api_version(resp)
    assert_spec_error_body(resp)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/v2/"),
        ("DELETE", "/v2/"),
        ("POST", "/v2/t/x/tags/list"),
        ("PUT", "/v2/_catalog"),
        ("POST", "/v2/t/x/manifests/latest"),
        ("PATCH", f"/v2/t/x/blobs/{digest_of(b'x')}"),
    ],
)
def test_wrong_methods_fail_cleanly(client: httpx.Client, method: str, path: str) -> None:
    resp = client.request(method, path)
    assert resp.status_code in (404, 405), describe(resp)
    assert_api_version(resp)
    assert_spec_error_body(resp)


@pytest.mark.parametrize(
    "headers",
    [
        {"Range": "bytes=abc"},
        {"Range": "items=0-1"},
        {"Range": "bytes=5-2"},
        {"Accept": ";;;,,,"},
    ],
)
def test_garbage_headers_never_500(
    client: httpx.Client, repo: str, headers: dict[str, str]
) -> None:
    image = push_image(client, repo, "v1")
    blob = next(iter(image.blobs))
    for url in (blob_url(repo, blob), manifest_url(repo, "v1")):
        resp = client.get(url, headers=headers)
        assert resp.status_code < 500, describe(resp)
        assert_api_version(resp)
        if resp.status_code >= 400 and resp.content:
            assert_spec_error_body(resp)


@pytest.mark.parametrize("content_range", ["garbage", "0-", "-5", "5-2", "a-b"])
def test_malformed_content_range_never_500(
    client: httpx.Client, repo: str, content_range: str
) -> None:
    location = client.post(uploads_url(repo)).headers["Location"]
    resp = client.patch(location, content=b"hello", headers={"Content-Range": content_range})
    assert resp.status_code in (400, 416), describe(resp)
    assert_api_version(resp)
    assert_spec_error_body(resp)
