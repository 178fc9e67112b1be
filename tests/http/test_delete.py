"""Content management: deleting tags, manifests and blobs (spec: end-9, end-10)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.http.oci_helpers import (
    MALFORMED_DIGESTS,
    OCI_MANIFEST,
    assert_api_version,
    assert_error,
    blob_url,
    describe,
    manifest_url,
    push_blob,
    push_image,
    push_manifest,
    push_random_blob,
    random_digest,
    start_upload,
    uploads_url,
    with_query,
)


def tags_of(client: httpx.Client, repo: str) -> list[str] | None:
    """The repository's tags, or None when the repository is unknown (404 NAME_UNKNOWN)."""
    resp = client.get(f"/v2/{repo}/tags/list")
    if resp.status_code == 404:
        assert_error(resp, 404, "NAME_UNKNOWN")
        return None
    assert resp.status_code == 200, describe(resp)
    return resp.json()["tags"]


def assert_accepted(resp: httpx.Response) -> None:
    assert resp.status_code == 202, describe(resp)
    assert_api_version(resp)


# --- manifests --------------------------------------------------------------------------


def test_delete_manifest_by_digest(client: httpx.Client, repo: str) -> None:
    image = push_image(client, repo, "v1")
    push_manifest(client, repo, "v1-alias", image.body, OCI_MANIFEST)
    keep = push_image(client, repo, "keep")
    assert_accepted(client.delete(manifest_url(repo, image.digest)))
    for ref in (image.digest, "v1", "v1-alias"):
        assert_error(client.get(manifest_url(repo, ref)), 404, "MANIFEST_UNKNOWN")
        assert_error(client.head(manifest_url(repo, ref)), 404, "MANIFEST_UNKNOWN")
    assert tags_of(client, repo) == ["keep"]
    assert client.get(manifest_url(repo, keep.digest)).status_code == 200


def test_delete_manifest_twice(client: httpx.Client, repo: str) -> None:
    image = push_image(client, repo, "v1")
    assert_accepted(client.delete(manifest_url(repo, image.digest)))
    assert_error(client.delete(manifest_url(repo, image.digest)), 404, "MANIFEST_UNKNOWN")


def test_delete_last_manifest_leaves_no_tags(client: httpx.Client, repo: str) -> None:
    image = push_image(client, repo, "only")
    assert_accepted(client.delete(manifest_url(repo, image.digest)))
    assert tags_of(client, repo) in ([], None)


def test_delete_tag(client: httpx.Client, repo: str) -> None:
    image = push_image(client, repo, "v1")
    push_manifest(client, repo, "v1-alias", image.body, OCI_MANIFEST)
    assert_accepted(client.delete(manifest_url(repo, "v1")))
    assert_error(client.get(manifest_url(repo, "v1")), 404, "MANIFEST_UNKNOWN")
    assert client.get(manifest_url(repo, image.digest)).content == image.body
    assert client.get(manifest_url(repo, "v1-alias")).content == image.body
    assert tags_of(client, repo) == ["v1-alias"]
    assert_error(client.delete(manifest_url(repo, "v1")), 404, "MANIFEST_UNKNOWN")


def test_repush_after_delete(client: httpx.Client, repo: str) -> None:
    image = push_image(client, repo, "v1")
    assert_accepted(client.delete(manifest_url(repo, image.digest)))
    push_manifest(client, repo, "v1", image.body, OCI_MANIFEST)
    assert client.get(manifest_url(repo, "v1")).content == image.body


def test_delete_unknown_manifest(client: httpx.Client, repo: str) -> None:
    push_image(client, repo, "v1")
    assert_error(client.delete(manifest_url(repo, random_digest())), 404, "MANIFEST_UNKNOWN")
    assert_error(client.delete(manifest_url(repo, "nope")), 404, "MANIFEST_UNKNOWN")


def test_delete_manifest_in_unknown_repository(client: httpx.Client, repo: str) -> None:
    codes = {"MANIFEST_UNKNOWN", "NAME_UNKNOWN"}
    assert_error(client.delete(manifest_url(repo, random_digest())), 404, codes)
    assert_error(client.delete(manifest_url(repo, "latest")), 404, codes)


def test_delete_manifest_only_in_that_repository(client: httpx.Client, repo: str) -> None:
    image = push_image(client, repo, "v1")
    other = repo + "-other"
    for data in image.blobs.values():
        push_blob(client, other, data)
    push_manifest(client, other, "v1", image.body, OCI_MANIFEST)
    assert_accepted(client.delete(manifest_url(repo, image.digest)))
    assert client.get(manifest_url(other, "v1")).content == image.body
    assert client.get(manifest_url(other, image.digest)).content == image.body


@pytest.mark.parametrize("digest", [d for d in MALFORMED_DIGESTS if ":" in d][:3])
def test_delete_manifest_malformed_digest(client: httpx.Client, repo: str, digest: str) -> None:
    push_image(client, repo, "v1")
    assert_error(client.delete(manifest_url(repo, digest)), 400, "DIGEST_INVALID")


# --- blobs ------------------------------------------------------------------------------


def test_delete_blob(client: httpx.Client, repo: str) -> None:
    _, digest = push_random_blob(client, repo)
    assert_accepted(client.delete(blob_url(repo, digest)))
    assert_error(client.get(blob_url(repo, digest)), 404, "BLOB_UNKNOWN")
    assert_error(client.head(blob_url(repo, digest)), 404, "BLOB_UNKNOWN")
    assert_error(client.delete(blob_url(repo, digest)), 404, "BLOB_UNKNOWN")


def test_delete_unknown_blob(client: httpx.Client, repo: str) -> None:
    push_random_blob(client, repo)
    assert_error(client.delete(blob_url(repo, random_digest())), 404, "BLOB_UNKNOWN")


def test_delete_blob_in_unknown_repository(client: httpx.Client, repo: str) -> None:
    codes = {"BLOB_UNKNOWN", "NAME_UNKNOWN"}
    assert_error(client.delete(blob_url(repo, random_digest())), 404, codes)


def test_delete_blob_only_in_that_repository(client: httpx.Client, repo: str) -> None:
    data, digest = push_random_blob(client, repo)
    other = repo + "-other"
    resp = client.post(with_query(uploads_url(other), mount=digest, **{"from": repo}))
    assert resp.status_code == 201, describe(resp)
    assert_accepted(client.delete(blob_url(other, digest)))
    assert_error(client.get(blob_url(other, digest)), 404, "BLOB_UNKNOWN")
    assert client.get(blob_url(repo, digest)).content == data


def test_blob_can_be_pushed_again_after_delete(client: httpx.Client, repo: str) -> None:
    data, digest = push_random_blob(client, repo)
    assert_accepted(client.delete(blob_url(repo, digest)))
    assert push_blob(client, repo, data) == digest
    assert client.get(blob_url(repo, digest)).content == data


@pytest.mark.parametrize("digest", [d for d in MALFORMED_DIGESTS if ":" in d][:3])
def test_delete_blob_malformed_digest(client: httpx.Client, repo: str, digest: str) -> None:
    push_random_blob(client, repo)
    assert_error(client.delete(blob_url(repo, digest)), 400, "DIGEST_INVALID")


# --- deletes disabled -------------------------------------------------------------------


def test_deletes_disabled(make_client: Callable[..., Any]) -> None:
    registry = make_client(delete_enabled=False)
    name = "nodelete/repo"
    image = push_image(registry, name, "v1")
    blob = next(iter(image.blobs))
    for url in (
        manifest_url(name, image.digest),
        manifest_url(name, "v1"),
        blob_url(name, blob),
        manifest_url(name, random_digest()),
        manifest_url(name, "unknown-tag"),
        blob_url(name, random_digest()),
    ):
        assert_error(registry.delete(url), 405, "UNSUPPORTED")
    assert registry.get(manifest_url(name, "v1")).content == image.body
    assert registry.get(manifest_url(name, image.digest)).status_code == 200
    assert registry.get(blob_url(name, blob)).status_code == 200


def test_upload_cancel_still_works_when_deletes_disabled(make_client: Callable[..., Any]) -> None:
    registry = make_client(delete_enabled=False)
    location = start_upload(registry, "nodelete/uploads")
    resp = registry.delete(location)
    assert resp.status_code == 204, describe(resp)
    assert_error(registry.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
