"""Pushing and pulling manifests (spec: "Pulling manifests", "Pushing Manifests", end-3,
end-7)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.http.oci_helpers import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    EMPTY_CONFIG,
    MALFORMED_DIGESTS,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    UNSUPPORTED_DIGESTS,
    assert_api_version,
    assert_error,
    describe,
    descriptor,
    digest_of,
    empty_config_descriptor,
    image_config,
    image_manifest,
    index_manifest,
    manifest_url,
    media_type_of,
    push_blob,
    push_image,
    push_manifest,
    random_bytes,
    random_digest,
)

KINDS = [
    "oci-image",
    "oci-image-no-layers",
    "docker-image",
    "oci-index",
    "docker-list",
    "artifact-empty-config",
    "artifact-custom-config",
    "custom-config-no-artifact-type",
]


def build(client: httpx.Client, repo: str, kind: str) -> tuple[bytes, str]:
    """Push everything `kind` references; return the (unpushed) manifest and its type."""
    if kind in ("oci-image", "oci-image-no-layers", "docker-image"):
        docker = kind == "docker-image"
        config_data = image_config()
        push_blob(client, repo, config_data)
        layers = []
        if kind != "oci-image-no-layers":
            for _ in range(2):
                data = random_bytes(300)
                push_blob(client, repo, data)
                layer_type = "application/vnd.docker.image.rootfs.diff.tar.gzip"
                layers.append(descriptor(layer_type if docker else OCI_LAYER, data))
        config_type = "application/vnd.docker.container.image.v1+json" if docker else OCI_CONFIG
        media_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
        body = image_manifest(descriptor(config_type, config_data), layers, media_type=media_type)
        return body, media_type
    if kind in ("oci-index", "docker-list"):
        docker = kind == "docker-list"
        children = [push_image(client, repo, docker=docker) for _ in range(2)]
        platform = {"architecture": "amd64", "os": "linux"}
        media_type = DOCKER_LIST if docker else OCI_INDEX
        body = index_manifest(
            [child.descriptor(platform=platform) for child in children], media_type=media_type
        )
        return body, media_type
    payload = random_bytes(100)
    push_blob(client, repo, payload)
    layers = [descriptor("application/vnd.example.payload", payload)]
    if kind == "artifact-empty-config":
        push_blob(client, repo, EMPTY_CONFIG)
        body = image_manifest(
            empty_config_descriptor(), layers, artifact_type="application/vnd.example.sbom"
        )
        return body, OCI_MANIFEST
    config_data = b'{"example": true}'
    push_blob(client, repo, config_data)
    config = descriptor("application/vnd.example.config.v1+json", config_data)
    artifact_type = "application/vnd.example.thing" if kind == "artifact-custom-config" else None
    return image_manifest(config, layers, artifact_type=artifact_type), OCI_MANIFEST


def assert_manifest_response(resp: httpx.Response, body: bytes, media_type: str) -> None:
    assert resp.status_code == 200, describe(resp)
    assert media_type_of(resp) == media_type
    assert resp.headers["Docker-Content-Digest"] == digest_of(body)
    assert resp.headers["Content-Length"] == str(len(body))
    assert_api_version(resp)
    if resp.request.method == "GET":
        assert resp.content == body
    else:
        assert resp.content == b""


@pytest.mark.parametrize("kind", KINDS)
def test_push_by_tag_and_pull(client: httpx.Client, repo: str, kind: str) -> None:
    body, media_type = build(client, repo, kind)
    digest = digest_of(body)
    resp = push_manifest(client, repo, "v1", body, media_type)
    assert resp.headers["Location"] == manifest_url(repo, digest)
    assert resp.headers["Docker-Content-Digest"] == digest
    assert_api_version(resp)
    for ref in ("v1", digest):
        assert_manifest_response(client.get(manifest_url(repo, ref)), body, media_type)
        assert_manifest_response(client.head(manifest_url(repo, ref)), body, media_type)


@pytest.mark.parametrize("kind", KINDS)
def test_push_by_digest_and_pull(client: httpx.Client, repo: str, kind: str) -> None:
    body, media_type = build(client, repo, kind)
    digest = digest_of(body)
    resp = push_manifest(client, repo, digest, body, media_type)
    assert resp.headers["Location"] == manifest_url(repo, digest)
    assert resp.headers["Docker-Content-Digest"] == digest
    assert_manifest_response(client.get(manifest_url(repo, digest)), body, media_type)


def test_exact_bytes_are_preserved(client: httpx.Client, repo: str) -> None:
    """Whitespace, key order and unknown fields survive byte for byte."""
    config_data = image_config()
    push_blob(client, repo, config_data)
    config = descriptor(OCI_CONFIG, config_data)
    body = (
        b'{   "layers":[],\n\t"config": '
        + json.dumps(config).encode()
        + b',"schemaVersion":2,  "mediaType":"'
        + OCI_MANIFEST.encode()
        + b'", "x-unknown": {"b": 1, "a": [1, 2]}   }\n\n'
    )
    push_manifest(client, repo, "odd", body, OCI_MANIFEST)
    assert client.get(manifest_url(repo, "odd")).content == body


def test_push_by_sha512_digest(client: httpx.Client, repo: str) -> None:
    body, media_type = build(client, repo, "oci-image")
    digest = digest_of(body, "sha512")
    resp = push_manifest(client, repo, digest, body, media_type)
    assert resp.headers["Location"] == manifest_url(repo, digest)
    assert resp.headers["Docker-Content-Digest"] == digest
    got = client.get(manifest_url(repo, digest))
    assert got.status_code == 200, describe(got)
    assert got.content == body


def test_push_without_media_type_field_uses_content_type(client: httpx.Client, repo: str) -> None:
    config_data = image_config()
    push_blob(client, repo, config_data)
    body = image_manifest(descriptor(OCI_CONFIG, config_data), [], media_type=None)
    push_manifest(client, repo, "plain", body, OCI_MANIFEST)
    assert_manifest_response(client.get(manifest_url(repo, "plain")), body, OCI_MANIFEST)


def test_content_type_parameters_are_ignored(client: httpx.Client, repo: str) -> None:
    body, media_type = build(client, repo, "oci-image")
    push_manifest(client, repo, "params", body, f"{media_type}; charset=utf-8")
    assert_manifest_response(client.get(manifest_url(repo, "params")), body, media_type)


def test_repush_same_manifest_is_idempotent(client: httpx.Client, repo: str) -> None:
    body, media_type = build(client, repo, "oci-image")
    first = push_manifest(client, repo, "same", body, media_type)
    second = push_manifest(client, repo, "same", body, media_type)
    assert first.headers["Docker-Content-Digest"] == second.headers["Docker-Content-Digest"]
    assert client.get(manifest_url(repo, "same")).content == body


def test_one_manifest_many_tags(client: httpx.Client, repo: str) -> None:
    body, media_type = build(client, repo, "oci-image")
    for tag in ("a", "b", "latest"):
        push_manifest(client, repo, tag, body, media_type)
    for tag in ("a", "b", "latest"):
        assert client.get(manifest_url(repo, tag)).content == body


def test_tag_moves_to_new_manifest(client: httpx.Client, repo: str) -> None:
    old = push_image(client, repo, "moving")
    new = push_image(client, repo, "moving")
    assert old.digest != new.digest
    resp = client.get(manifest_url(repo, "moving"))
    assert resp.status_code == 200
    assert resp.content == new.body
    assert resp.headers["Docker-Content-Digest"] == new.digest
    still = client.get(manifest_url(repo, old.digest))
    assert still.status_code == 200
    assert still.content == old.body


def test_same_manifest_in_two_repositories(client: httpx.Client, repo: str) -> None:
    other = repo + "-b"
    config_data = image_config()
    for name in (repo, other):
        push_blob(client, name, config_data)
    body = image_manifest(descriptor(OCI_CONFIG, config_data), [])
    push_manifest(client, repo, "x", body, OCI_MANIFEST)
    push_manifest(client, other, "y", body, OCI_MANIFEST)
    assert client.get(manifest_url(repo, "x")).content == body
    assert client.get(manifest_url(other, "y")).content == body
    assert_error(client.get(manifest_url(other, "x")), 404, "MANIFEST_UNKNOWN")


def test_manifest_is_not_visible_from_another_repository(client: httpx.Client, repo: str) -> None:
    image = push_image(client, repo, "v1")
    other = repo + "-other"
    push_image(client, other, "v1")
    assert_error(client.get(manifest_url(other, image.digest)), 404, "MANIFEST_UNKNOWN")


@pytest.mark.parametrize("tag", ["a", "A", "_", "0", "a" * 128, "v1.2.3-rc_1", "UPPER.case-_"])
def test_valid_tags(client: httpx.Client, repo: str, tag: str) -> None:
    body, media_type = build(client, repo, "oci-image-no-layers")
    push_manifest(client, repo, tag, body, media_type)
    assert client.get(manifest_url(repo, tag)).content == body


@pytest.mark.parametrize("tag", ["-lead", ".lead", "a" * 129, "plus+sign", "semi;colon", "t%40g"])
def test_invalid_tag_on_put(client: httpx.Client, repo: str, tag: str) -> None:
    body, media_type = build(client, repo, "oci-image-no-layers")
    resp = push_manifest(client, repo, tag, body, media_type, expect=None)
    assert_error(resp, 400, "MANIFEST_INVALID")


# --- subject ----------------------------------------------------------------------------


def test_subject_sets_oci_subject_header(client: httpx.Client, repo: str) -> None:
    subject = push_image(client, repo, "base")
    push_blob(client, repo, EMPTY_CONFIG)
    body = image_manifest(
        empty_config_descriptor(),
        [],
        subject=subject.descriptor(),
        artifact_type="application/vnd.example.sig",
    )
    resp = push_manifest(client, repo, digest_of(body), body, OCI_MANIFEST)
    assert resp.headers["OCI-Subject"] == subject.digest
    assert resp.headers["Docker-Content-Digest"] == digest_of(body)


def test_subject_need_not_exist(client: httpx.Client, repo: str) -> None:
    push_blob(client, repo, EMPTY_CONFIG)
    missing = descriptor(OCI_MANIFEST, digest=random_digest(), size=1234)
    body = image_manifest(
        empty_config_descriptor(), [], subject=missing, artifact_type="application/vnd.example"
    )
    resp = push_manifest(client, repo, "dangling", body, OCI_MANIFEST)
    assert resp.headers["OCI-Subject"] == missing["digest"]
    assert client.get(manifest_url(repo, "dangling")).content == body


def test_index_with_subject_sets_oci_subject_header(client: httpx.Client, repo: str) -> None:
    subject = push_image(client, repo, "base")
    child = push_image(client, repo)
    body = index_manifest([child.descriptor()], subject=subject.descriptor())
    resp = push_manifest(client, repo, "idx", body, OCI_INDEX)
    assert resp.headers["OCI-Subject"] == subject.digest


def test_no_oci_subject_header_without_subject(client: httpx.Client, repo: str) -> None:
    body, media_type = build(client, repo, "oci-image")
    resp = push_manifest(client, repo, "v1", body, media_type)
    assert "OCI-Subject" not in resp.headers


# --- content negotiation ----------------------------------------------------------------


@pytest.mark.parametrize(
    "accept",
    [
        OCI_MANIFEST,
        f"{DOCKER_MANIFEST}, {OCI_MANIFEST}",
        f"{DOCKER_MANIFEST},{OCI_INDEX},{OCI_MANIFEST}",
        f"{OCI_MANIFEST};q=0.5, {DOCKER_MANIFEST}",
        "*/*",
        f"{DOCKER_MANIFEST}, */*",
    ],
)
def test_accept_matching(client: httpx.Client, repo: str, accept: str) -> None:
    image = push_image(client, repo, "v1")
    for ref in ("v1", image.digest):
        resp = client.get(manifest_url(repo, ref), headers={"Accept": accept})
        assert_manifest_response(resp, image.body, OCI_MANIFEST)
        resp = client.head(manifest_url(repo, ref), headers={"Accept": accept})
        assert_manifest_response(resp, image.body, OCI_MANIFEST)


def test_accept_multiple_headers(client: httpx.Client, repo: str) -> None:
    image = push_image(client, repo, "v1")
    headers = [("Accept", DOCKER_MANIFEST), ("Accept", OCI_MANIFEST)]
    resp = client.get(manifest_url(repo, "v1"), headers=headers)
    assert_manifest_response(resp, image.body, OCI_MANIFEST)


@pytest.mark.parametrize(
    "accept", [DOCKER_MANIFEST, f"{DOCKER_MANIFEST}, {DOCKER_LIST}, {OCI_INDEX}"]
)
def test_accept_not_matching_is_404(client: httpx.Client, repo: str, accept: str) -> None:
    image = push_image(client, repo, "v1")
    for ref in ("v1", image.digest):
        resp = client.get(manifest_url(repo, ref), headers={"Accept": accept})
        assert_error(resp, 404, "MANIFEST_UNKNOWN")
        resp = client.head(manifest_url(repo, ref), headers={"Accept": accept})
        assert_error(resp, 404, "MANIFEST_UNKNOWN")


def test_accept_docker_list_for_docker_list(client: httpx.Client, repo: str) -> None:
    body, media_type = build(client, repo, "docker-list")
    push_manifest(client, repo, "multi", body, media_type)
    resp = client.get(manifest_url(repo, "multi"), headers={"Accept": DOCKER_LIST})
    assert_manifest_response(resp, body, DOCKER_LIST)
    resp = client.get(manifest_url(repo, "multi"), headers={"Accept": OCI_INDEX})
    assert_error(resp, 404, "MANIFEST_UNKNOWN")


# --- unknown manifests, bad references --------------------------------------------------


def test_unknown_tag(client: httpx.Client, repo: str) -> None:
    push_image(client, repo, "v1")
    assert_error(client.get(manifest_url(repo, "nope")), 404, "MANIFEST_UNKNOWN")
    assert_error(client.head(manifest_url(repo, "nope")), 404, "MANIFEST_UNKNOWN")


def test_unknown_digest(client: httpx.Client, repo: str) -> None:
    push_image(client, repo, "v1")
    assert_error(client.get(manifest_url(repo, random_digest())), 404, "MANIFEST_UNKNOWN")
    assert_error(client.head(manifest_url(repo, random_digest())), 404, "MANIFEST_UNKNOWN")


def test_unknown_repository(client: httpx.Client, repo: str) -> None:
    assert_error(client.get(manifest_url(repo, "latest")), 404, "MANIFEST_UNKNOWN")
    assert_error(client.get(manifest_url(repo, random_digest())), 404, "MANIFEST_UNKNOWN")
    assert_error(client.head(manifest_url(repo, "latest")), 404, "MANIFEST_UNKNOWN")


def test_blob_digest_is_not_a_manifest(client: httpx.Client, repo: str) -> None:
    image = push_image(client, repo, "v1")
    config_digest = image.config["digest"] if image.config else ""
    assert_error(client.get(manifest_url(repo, config_digest)), 404, "MANIFEST_UNKNOWN")


@pytest.mark.parametrize("digest", [d for d in MALFORMED_DIGESTS if ":" in d])
def test_malformed_digest_reference(client: httpx.Client, repo: str, digest: str) -> None:
    body, media_type = build(client, repo, "oci-image-no-layers")
    push_manifest(client, repo, "v1", body, media_type)
    assert_error(client.get(manifest_url(repo, digest)), 400, "DIGEST_INVALID")
    resp = push_manifest(client, repo, digest, body, media_type, expect=None)
    assert_error(resp, 400, "DIGEST_INVALID")


@pytest.mark.parametrize("digest", UNSUPPORTED_DIGESTS)
def test_unsupported_digest_reference(client: httpx.Client, repo: str, digest: str) -> None:
    body, media_type = build(client, repo, "oci-image-no-layers")
    push_manifest(client, repo, "v1", body, media_type)
    assert_error(client.get(manifest_url(repo, digest)), 400, "UNSUPPORTED")
    resp = push_manifest(client, repo, digest, body, media_type, expect=None)
    assert_error(resp, 400, "UNSUPPORTED")


def test_put_by_digest_mismatch(client: httpx.Client, repo: str) -> None:
    body, media_type = build(client, repo, "oci-image")
    wrong = digest_of(body + b" ")
    resp = push_manifest(client, repo, wrong, body, media_type, expect=None)
    assert_error(resp, 400, "DIGEST_INVALID")
    assert_error(client.get(manifest_url(repo, wrong)), 404, "MANIFEST_UNKNOWN")
    assert_error(client.get(manifest_url(repo, digest_of(body))), 404, "MANIFEST_UNKNOWN")
