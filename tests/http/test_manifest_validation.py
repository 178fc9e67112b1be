"""Manifest PUTs the registry must reject (MANIFEST_INVALID, MANIFEST_BLOB_UNKNOWN,
DIGEST_INVALID, 413), and that rejected manifests leave no trace."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from tests.http.oci_helpers import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    DOCKER_SCHEMA1,
    DOCKER_SCHEMA1_SIGNED,
    OCI_CONFIG,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    assert_error,
    descriptor,
    digest_of,
    encode,
    image_config,
    image_manifest,
    index_manifest,
    manifest_url,
    push_artifact,
    push_blob,
    push_image,
    push_index,
    push_manifest,
    random_bytes,
    random_digest,
    sized_manifest,
)


@pytest.fixture
def config(client: httpx.Client, repo: str) -> dict[str, Any]:
    """A config descriptor whose blob exists in `repo`."""
    data = image_config()
    push_blob(client, repo, data)
    return descriptor(OCI_CONFIG, data)


@pytest.fixture
def layer(client: httpx.Client, repo: str) -> dict[str, Any]:
    data = random_bytes(128)
    push_blob(client, repo, data)
    return descriptor(OCI_LAYER, data)


def put(
    client: httpx.Client, repo: str, body: bytes, media_type: str | None, ref: str = "t"
) -> httpx.Response:
    return push_manifest(client, repo, ref, body, media_type, expect=None)


def assert_rejected(
    client: httpx.Client, repo: str, resp: httpx.Response, status: int, code: str, ref: str = "t"
) -> list[dict[str, Any]]:
    errors = assert_error(resp, status, code)
    assert client.get(manifest_url(repo, ref)).status_code == 404
    return errors


def manifest_doc(config: dict[str, Any], layers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": layers}


# --- content type vs. mediaType ---------------------------------------------------------


@pytest.mark.parametrize("content_type", [DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST])
def test_content_type_must_match_media_type(
    client: httpx.Client, repo: str, config: dict[str, Any], content_type: str
) -> None:
    body = image_manifest(config, [])
    resp = put(client, repo, body, content_type)
    assert_rejected(client, repo, resp, 400, "MANIFEST_INVALID")


def test_index_content_type_must_match_media_type(client: httpx.Client, repo: str) -> None:
    child = push_image(client, repo)
    body = index_manifest([child.descriptor()])
    assert_rejected(client, repo, put(client, repo, body, OCI_MANIFEST), 400, "MANIFEST_INVALID")


@pytest.mark.parametrize(
    "content_type", [None, "application/json", "application/octet-stream", "text/plain"]
)
def test_unknown_content_type_without_media_type(
    client: httpx.Client, repo: str, config: dict[str, Any], content_type: str | None
) -> None:
    body = image_manifest(config, [], media_type=None)
    resp = put(client, repo, body, content_type)
    assert_rejected(client, repo, resp, 400, "MANIFEST_INVALID")


def test_unknown_media_type_in_body(
    client: httpx.Client, repo: str, config: dict[str, Any]
) -> None:
    body = image_manifest(config, [], media_type="application/vnd.example.unknown+json")
    resp = put(client, repo, body, "application/vnd.example.unknown+json")
    assert_rejected(client, repo, resp, 400, "MANIFEST_INVALID")


# --- ambiguous documents: a manifest that also reads as an index, or the reverse ---------


@pytest.mark.parametrize("media_type", [OCI_MANIFEST, None])
def test_image_manifest_with_manifests_is_ambiguous(
    client: httpx.Client,
    repo: str,
    config: dict[str, Any],
    layer: dict[str, Any],
    media_type: str | None,
) -> None:
    child = push_image(client, repo)
    doc = manifest_doc(config, [layer])
    doc["manifests"] = [child.descriptor()]
    if media_type is None:
        del doc["mediaType"]  # the type then comes from Content-Type alone
    errors = assert_rejected(
        client, repo, put(client, repo, encode(doc), OCI_MANIFEST), 400, "MANIFEST_INVALID"
    )
    assert "ambiguous" in errors[0]["message"]
    assert errors[0]["detail"] == {"fields": ["manifests"]}


@pytest.mark.parametrize(
    ("media_type", "extra"),
    [
        (OCI_INDEX, {"layers": True}),
        (OCI_INDEX, {"config": True}),
        (OCI_INDEX, {"config": True, "layers": True}),
        (DOCKER_LIST, {"layers": True}),
        (None, {"layers": True}),
    ],
)
def test_index_with_manifest_fields_is_ambiguous(
    client: httpx.Client,
    repo: str,
    config: dict[str, Any],
    layer: dict[str, Any],
    media_type: str | None,
    extra: dict[str, bool],
) -> None:
    child = push_image(client, repo, docker=media_type == DOCKER_LIST)
    doc = json.loads(index_manifest([child.descriptor()], media_type=media_type))
    if "config" in extra:
        doc["config"] = config
    if "layers" in extra:
        doc["layers"] = [layer]
    content_type = media_type or OCI_INDEX
    resp = put(client, repo, encode(doc), content_type)
    errors = assert_rejected(client, repo, resp, 400, "MANIFEST_INVALID")
    assert "ambiguous" in errors[0]["message"]


def test_docker_manifest_with_manifests_is_ambiguous(client: httpx.Client, repo: str) -> None:
    child = push_image(client, repo, docker=True)
    doc = json.loads(child.body)
    doc["manifests"] = []
    resp = put(client, repo, encode(doc), DOCKER_MANIFEST)
    assert_rejected(client, repo, resp, 400, "MANIFEST_INVALID")


def test_artifacts_and_plain_images_still_push(client: httpx.Client, repo: str) -> None:
    """The refusal is narrow: artifacts with subject and artifactType keep working."""
    image = push_image(client, repo, tag="image")
    docker = push_image(client, repo, tag="docker", docker=True)
    subject = image.descriptor()
    artifact = push_artifact(client, repo, subject, "application/vnd.example.sbom+json")
    push_index(
        client,
        repo,
        [image, artifact],
        tag="index",
        subject=docker.descriptor(),
        artifact_type="application/vnd.example.bundle",
    )
    push_index(client, repo, [docker], tag="list", docker=True)
    referrers = client.get(f"/v2/{repo}/referrers/{image.digest}").json()["manifests"]
    assert [r["digest"] for r in referrers] == [artifact.digest]


# --- structure --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"not json", b"[]", b'"string"', b"null", b"42", b"\xff\xfe{}"],
)
def test_not_a_json_object(client: httpx.Client, repo: str, body: bytes) -> None:
    assert_rejected(client, repo, put(client, repo, body, OCI_MANIFEST), 400, "MANIFEST_INVALID")


@pytest.mark.parametrize("version", [None, 3, 0, "2", 2.5])
def test_schema_version_must_be_2(
    client: httpx.Client, repo: str, config: dict[str, Any], version: Any
) -> None:
    doc = manifest_doc(config, [])
    if version is None:
        del doc["schemaVersion"]
    else:
        doc["schemaVersion"] = version
    resp = put(client, repo, encode(doc), OCI_MANIFEST)
    assert_rejected(client, repo, resp, 400, "MANIFEST_INVALID")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("config", None),
        ("layers", None),
        ("config", "sha256:abc"),
        ("config", []),
        ("layers", {}),
        ("layers", "x"),
        ("layers", [None]),
    ],
)
def test_image_manifest_required_fields(
    client: httpx.Client, repo: str, config: dict[str, Any], field: str, value: Any
) -> None:
    doc = manifest_doc(config, [])
    if value is None:
        del doc[field]
    else:
        doc[field] = value
    resp = put(client, repo, encode(doc), OCI_MANIFEST)
    assert_rejected(client, repo, resp, 400, "MANIFEST_INVALID")


@pytest.mark.parametrize("manifests", ["missing", None, {}, "x", [None]])
def test_index_requires_manifests(client: httpx.Client, repo: str, manifests: Any) -> None:
    doc: dict[str, Any] = {"schemaVersion": 2, "mediaType": OCI_INDEX}
    if manifests != "missing":
        doc["manifests"] = manifests
    resp = put(client, repo, encode(doc), OCI_INDEX)
    assert_rejected(client, repo, resp, 400, "MANIFEST_INVALID")


def test_empty_index_is_valid(client: httpx.Client, repo: str) -> None:
    body = index_manifest([])
    push_manifest(client, repo, "empty", body, OCI_INDEX)
    assert client.get(manifest_url(repo, "empty")).content == body


BAD_DESCRIPTOR_CHANGES: list[tuple[str, Any]] = [
    ("digest", "sha256:abc"),
    ("digest", "sha256:" + "A" * 64),
    ("digest", "nonsense"),
    ("digest", None),
    ("size", -1),
    ("size", "12"),
    ("size", None),
]


def broken(desc: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    desc = dict(desc)
    if value is None:
        del desc[key]
    else:
        desc[key] = value
    return desc


@pytest.mark.parametrize(("key", "value"), BAD_DESCRIPTOR_CHANGES)
def test_bad_config_descriptor(
    client: httpx.Client, repo: str, config: dict[str, Any], key: str, value: Any
) -> None:
    body = image_manifest(broken(config, key, value), [])
    resp = put(client, repo, body, OCI_MANIFEST)
    assert_rejected(client, repo, resp, 400, "MANIFEST_INVALID")


@pytest.mark.parametrize(("key", "value"), BAD_DESCRIPTOR_CHANGES)
def test_bad_layer_descriptor(
    client: httpx.Client,
    repo: str,
    config: dict[str, Any],
    layer: dict[str, Any],
    key: str,
    value: Any,
) -> None:
    body = image_manifest(config, [layer, broken(layer, key, value)])
    resp = put(client, repo, body, OCI_MANIFEST)
    assert_rejected(client, repo, resp, 400, "MANIFEST_INVALID")


@pytest.mark.parametrize(("key", "value"), BAD_DESCRIPTOR_CHANGES)
def test_bad_index_entry(client: httpx.Client, repo: str, key: str, value: Any) -> None:
    child = push_image(client, repo)
    body = index_manifest([broken(child.descriptor(), key, value)])
    resp = put(client, repo, body, OCI_INDEX)
    assert_rejected(client, repo, resp, 400, "MANIFEST_INVALID")


@pytest.mark.parametrize(("key", "value"), BAD_DESCRIPTOR_CHANGES[:5])
def test_bad_subject_descriptor(
    client: httpx.Client, repo: str, config: dict[str, Any], key: str, value: Any
) -> None:
    subject = descriptor(OCI_MANIFEST, digest=random_digest(), size=100)
    body = image_manifest(config, [], subject=broken(subject, key, value))
    resp = put(client, repo, body, OCI_MANIFEST)
    assert_rejected(client, repo, resp, 400, "MANIFEST_INVALID")


# --- Docker schema 1 --------------------------------------------------------------------

SCHEMA1_PATTERN = re.compile(r"schema\s*[-_ ]?\s*(version)?\s*:?\s*1|schema1|v1\+", re.IGNORECASE)


def schema1_body(repo: str) -> bytes:
    return encode(
        {
            "schemaVersion": 1,
            "name": repo,
            "tag": "old",
            "architecture": "amd64",
            "fsLayers": [{"blobSum": random_digest()}],
            "history": [{"v1Compatibility": "{}"}],
        }
    )


@pytest.mark.parametrize("content_type", [DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED, OCI_MANIFEST])
def test_docker_schema1_is_rejected(client: httpx.Client, repo: str, content_type: str) -> None:
    resp = put(client, repo, schema1_body(repo), content_type)
    errors = assert_rejected(client, repo, resp, 400, "MANIFEST_INVALID")
    text = " ".join(f"{e['message']} {json.dumps(e['detail'])}" for e in errors)
    assert SCHEMA1_PATTERN.search(text), f"error does not mention schema 1: {text!r}"


def test_schema1_content_type_with_v2_body(
    client: httpx.Client, repo: str, config: dict[str, Any]
) -> None:
    body = image_manifest(config, [], media_type=None)
    resp = put(client, repo, body, DOCKER_SCHEMA1_SIGNED)
    assert_rejected(client, repo, resp, 400, "MANIFEST_INVALID")


# --- referenced content must exist in this repository -----------------------------------


def blob_unknown_detail_mentions(errors: list[dict[str, Any]], digest: str) -> bool:
    return any(
        e["code"] == "MANIFEST_BLOB_UNKNOWN" and digest in json.dumps(e["detail"]) for e in errors
    )


def test_missing_config_blob(client: httpx.Client, repo: str, layer: dict[str, Any]) -> None:
    config = descriptor(OCI_CONFIG, image_config())  # never pushed
    resp = put(client, repo, image_manifest(config, [layer]), OCI_MANIFEST)
    errors = assert_rejected(client, repo, resp, 400, "MANIFEST_BLOB_UNKNOWN")
    assert blob_unknown_detail_mentions(errors, config["digest"]), errors


def test_missing_layer_blob(client: httpx.Client, repo: str, config: dict[str, Any]) -> None:
    missing = descriptor(OCI_LAYER, random_bytes(50))
    resp = put(client, repo, image_manifest(config, [missing]), OCI_MANIFEST)
    errors = assert_rejected(client, repo, resp, 400, "MANIFEST_BLOB_UNKNOWN")
    assert blob_unknown_detail_mentions(errors, missing["digest"]), errors


def test_missing_docker_layer_blob(client: httpx.Client, repo: str) -> None:
    config_data = image_config()
    push_blob(client, repo, config_data)
    missing = descriptor(DOCKER_LAYER, random_bytes(50))
    body = image_manifest(
        descriptor(DOCKER_CONFIG, config_data), [missing], media_type=DOCKER_MANIFEST
    )
    errors = assert_rejected(
        client, repo, put(client, repo, body, DOCKER_MANIFEST), 400, "MANIFEST_BLOB_UNKNOWN"
    )
    assert blob_unknown_detail_mentions(errors, missing["digest"]), errors


def test_blob_only_in_another_repository(
    client: httpx.Client, repo: str, config: dict[str, Any]
) -> None:
    data = random_bytes(80)
    push_blob(client, repo + "-other", data)
    layer = descriptor(OCI_LAYER, data)
    resp = put(client, repo, image_manifest(config, [layer]), OCI_MANIFEST)
    errors = assert_rejected(client, repo, resp, 400, "MANIFEST_BLOB_UNKNOWN")
    assert blob_unknown_detail_mentions(errors, layer["digest"]), errors


def test_missing_index_child(client: httpx.Client, repo: str) -> None:
    present = push_image(client, repo)
    missing = descriptor(OCI_MANIFEST, digest=random_digest(), size=500)
    body = index_manifest([present.descriptor(), missing])
    errors = assert_rejected(
        client, repo, put(client, repo, body, OCI_INDEX), 400, "MANIFEST_BLOB_UNKNOWN"
    )
    assert blob_unknown_detail_mentions(errors, missing["digest"]), errors


def test_missing_docker_list_child(client: httpx.Client, repo: str) -> None:
    missing = descriptor(DOCKER_MANIFEST, digest=random_digest(), size=500)
    missing["platform"] = {"architecture": "amd64", "os": "linux"}
    body = index_manifest([missing], media_type=DOCKER_LIST)
    errors = assert_rejected(
        client, repo, put(client, repo, body, DOCKER_LIST), 400, "MANIFEST_BLOB_UNKNOWN"
    )
    assert blob_unknown_detail_mentions(errors, missing["digest"]), errors


def test_index_child_only_in_another_repository(client: httpx.Client, repo: str) -> None:
    child = push_image(client, repo + "-other")
    body = index_manifest([child.descriptor()])
    errors = assert_rejected(
        client, repo, put(client, repo, body, OCI_INDEX), 400, "MANIFEST_BLOB_UNKNOWN"
    )
    assert blob_unknown_detail_mentions(errors, child.digest), errors


def test_manifest_pushed_after_missing_blob_arrives(
    client: httpx.Client, repo: str, config: dict[str, Any]
) -> None:
    data = random_bytes(64)
    body = image_manifest(config, [descriptor(OCI_LAYER, data)])
    assert_error(put(client, repo, body, OCI_MANIFEST), 400, "MANIFEST_BLOB_UNKNOWN")
    push_blob(client, repo, data)
    push_manifest(client, repo, "t", body, OCI_MANIFEST)
    assert client.get(manifest_url(repo, "t")).content == body


# --- size limit -------------------------------------------------------------------------


def test_manifest_over_default_limit_is_413(
    client: httpx.Client, repo: str, config: dict[str, Any]
) -> None:
    body = sized_manifest(config, 4 * 1024 * 1024 + 1)
    assert_rejected(client, repo, put(client, repo, body, OCI_MANIFEST), 413, "MANIFEST_INVALID")


def test_manifest_at_default_limit_is_accepted(
    client: httpx.Client, repo: str, config: dict[str, Any]
) -> None:
    body = sized_manifest(config, 4 * 1024 * 1024)
    push_manifest(client, repo, "big", body, OCI_MANIFEST)
    resp = client.get(manifest_url(repo, "big"))
    assert resp.status_code == 200
    assert resp.content == body


def test_configured_manifest_limit(make_client: Any) -> None:
    small = make_client(max_manifest_bytes=2048)
    name = "limits/small"
    data = image_config()
    push_blob(small, name, data)
    config = descriptor(OCI_CONFIG, data)
    at_limit = sized_manifest(config, 2048)
    push_manifest(small, name, "fits", at_limit, OCI_MANIFEST)
    assert small.get(manifest_url(name, "fits")).content == at_limit
    over = sized_manifest(config, 2049)
    resp = push_manifest(small, name, "over", over, OCI_MANIFEST, expect=None)
    assert_error(resp, 413, "MANIFEST_INVALID")
    assert_error(small.get(manifest_url(name, "over")), 404, "MANIFEST_UNKNOWN")
    resp = push_manifest(small, name, digest_of(over), over, OCI_MANIFEST, expect=None)
    assert_error(resp, 413, "MANIFEST_INVALID")


# --- rejected pushes change nothing -----------------------------------------------------


def test_rejected_push_does_not_move_tag(
    client: httpx.Client, repo: str, config: dict[str, Any]
) -> None:
    good = push_image(client, repo, "stable")
    bad = image_manifest(config, [descriptor(OCI_LAYER, random_bytes(10))])
    assert_error(put(client, repo, bad, OCI_MANIFEST, "stable"), 400, "MANIFEST_BLOB_UNKNOWN")
    assert client.get(manifest_url(repo, "stable")).content == good.body
