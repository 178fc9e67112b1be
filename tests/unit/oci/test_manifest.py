import json

import pytest

from dockyard.oci import media_types as mt
from dockyard.oci.digest import digest_bytes
from dockyard.oci.errors import Code, RegistryError
from dockyard.oci.manifest import accepts, parse_manifest

CONFIG = {
    "mediaType": "application/vnd.oci.image.config.v1+json",
    "digest": str(digest_bytes(b"{}")),
    "size": 2,
}
LAYER = {
    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
    "digest": str(digest_bytes(b"layer")),
    "size": 5,
}


def encode(body: dict) -> bytes:
    return json.dumps(body).encode()


def image(**extra) -> dict:
    return {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": CONFIG,
        "layers": [LAYER],
        **extra,
    }


def invalid(payload: bytes, content_type: str = mt.OCI_MANIFEST) -> RegistryError:
    with pytest.raises(RegistryError) as caught:
        parse_manifest(payload, content_type)
    assert caught.value.code is Code.MANIFEST_INVALID
    return caught.value


def test_oci_image_manifest() -> None:
    payload = encode(image(annotations={"a": "b"}))
    manifest = parse_manifest(payload, mt.OCI_MANIFEST + "; charset=utf-8")
    assert manifest.media_type == mt.OCI_MANIFEST
    assert manifest.digest == digest_bytes(payload)
    assert manifest.size == len(payload)
    assert [str(d.digest) for d in manifest.blobs] == [CONFIG["digest"], LAYER["digest"]]
    assert manifest.referrer_artifact_type == CONFIG["mediaType"]
    assert manifest.annotations == {"a": "b"}
    assert not manifest.is_index


def test_oci_manifest_without_media_type_uses_content_type() -> None:
    body = image()
    del body["mediaType"]
    assert parse_manifest(encode(body), mt.OCI_MANIFEST).media_type == mt.OCI_MANIFEST


def test_artifact_with_empty_config_and_subject() -> None:
    empty = {"mediaType": mt.OCI_EMPTY, "digest": str(digest_bytes(b"{}")), "size": 2}
    subject = {"mediaType": mt.OCI_MANIFEST, "digest": str(digest_bytes(b"s")), "size": 1}
    body = image(
        config=empty, layers=[], artifactType="application/vnd.example.sbom", subject=subject
    )
    manifest = parse_manifest(encode(body), mt.OCI_MANIFEST)
    assert manifest.referrer_artifact_type == "application/vnd.example.sbom"
    assert str(manifest.subject.digest) == subject["digest"]
    assert [str(d.digest) for d in manifest.blobs] == [empty["digest"]]


def test_docker_manifest_and_list() -> None:
    docker = image(mediaType=mt.DOCKER_MANIFEST)
    assert parse_manifest(encode(docker), mt.DOCKER_MANIFEST).media_type == mt.DOCKER_MANIFEST
    child = {
        "mediaType": mt.DOCKER_MANIFEST,
        "digest": str(digest_bytes(b"c")),
        "size": 1,
        "platform": {"architecture": "amd64", "os": "linux"},
    }
    listing = {"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST_LIST, "manifests": [child]}
    parsed = parse_manifest(encode(listing), mt.DOCKER_MANIFEST_LIST)
    assert parsed.is_index
    assert parsed.blobs == ()
    assert [str(d.digest) for d in parsed.manifests] == [child["digest"]]
    assert parsed.referrer_artifact_type is None


def test_oci_index() -> None:
    child = {"mediaType": mt.OCI_MANIFEST, "digest": str(digest_bytes(b"c")), "size": 1}
    body = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_INDEX,
        "manifests": [child],
        "artifactType": "application/x",
    }
    parsed = parse_manifest(encode(body), mt.OCI_INDEX)
    assert parsed.is_index and parsed.referrer_artifact_type == "application/x"


def test_foreign_layers_are_not_required_blobs() -> None:
    foreign = {
        "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "digest": str(digest_bytes(b"f")),
        "size": 1,
        "urls": ["https://example.com/f"],
    }
    body = image(mediaType=mt.DOCKER_MANIFEST, layers=[foreign, LAYER])
    parsed = parse_manifest(encode(body), mt.DOCKER_MANIFEST)
    assert [str(d.digest) for d in parsed.blobs] == [CONFIG["digest"], LAYER["digest"]]


@pytest.mark.parametrize("content_type", [mt.DOCKER_SCHEMA1, mt.DOCKER_SCHEMA1_SIGNED])
def test_schema1_is_refused_by_content_type(content_type: str) -> None:
    error = invalid(encode({"schemaVersion": 1, "name": "x", "tag": "y"}), content_type)
    assert "schema 1" in error.message


def test_schema1_is_refused_by_body() -> None:
    assert "schema 1" in invalid(encode({"schemaVersion": 1}), "application/json").message


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        (b"not json", mt.OCI_MANIFEST),
        (b"[]", mt.OCI_MANIFEST),
        (b"\xff\xfe", mt.OCI_MANIFEST),
        (encode(image(schemaVersion=3)), mt.OCI_MANIFEST),
        (encode(image(schemaVersion=True)), mt.OCI_MANIFEST),
        (encode(image()), mt.OCI_INDEX),
        (encode(image()), ""),
        (
            encode(image(mediaType="application/vnd.oci.artifact.manifest.v1+json")),
            "application/vnd.oci.artifact.manifest.v1+json",
        ),
        (encode({k: v for k, v in image().items() if k != "config"}), mt.OCI_MANIFEST),
        (encode({k: v for k, v in image().items() if k != "layers"}), mt.OCI_MANIFEST),
        (encode(image(layers={})), mt.OCI_MANIFEST),
        (encode(image(layers=[{**LAYER, "size": -1}])), mt.OCI_MANIFEST),
        (encode(image(layers=[{**LAYER, "size": "5"}])), mt.OCI_MANIFEST),
        (encode(image(layers=[{**LAYER, "digest": "sha256:nothex"}])), mt.OCI_MANIFEST),
        (encode(image(layers=[{**LAYER, "mediaType": "no slash"}])), mt.OCI_MANIFEST),
        (encode(image(annotations={"a": 1})), mt.OCI_MANIFEST),
        (encode(image(artifactType="bad type")), mt.OCI_MANIFEST),
        (encode(image(subject="x")), mt.OCI_MANIFEST),
        (encode({"schemaVersion": 2, "mediaType": mt.OCI_INDEX}), mt.OCI_INDEX),
        (encode({"schemaVersion": 2, "config": CONFIG, "layers": []}), mt.DOCKER_MANIFEST),
    ],
)
def test_invalid_manifests(payload: bytes, content_type: str) -> None:
    invalid(payload, content_type)


INDEX_ENTRY = {
    "mediaType": mt.OCI_MANIFEST,
    "digest": str(digest_bytes(b"child")),
    "size": 5,
}


def index(media_type: str | None = mt.OCI_INDEX, **extra) -> dict:
    body = {"schemaVersion": 2, "manifests": [INDEX_ENTRY], **extra}
    if media_type is not None:
        body["mediaType"] = media_type
    return body


@pytest.mark.parametrize(
    ("body", "content_type", "fields"),
    [
        (image(manifests=[INDEX_ENTRY]), mt.OCI_MANIFEST, ["manifests"]),
        (image(manifests=[]), mt.OCI_MANIFEST, ["manifests"]),
        (image(mediaType=mt.DOCKER_MANIFEST, manifests=[]), mt.DOCKER_MANIFEST, ["manifests"]),
        (index(layers=[LAYER]), mt.OCI_INDEX, ["layers"]),
        (index(config=CONFIG), mt.OCI_INDEX, ["config"]),
        (index(config=CONFIG, layers=[]), mt.OCI_INDEX, ["config", "layers"]),
        (index(mt.DOCKER_MANIFEST_LIST, layers=[LAYER]), mt.DOCKER_MANIFEST_LIST, ["layers"]),
        (index(None, layers=[LAYER]), mt.OCI_INDEX, ["layers"]),  # type from Content-Type
        ({**image(manifests=[INDEX_ENTRY]), "mediaType": None}, mt.OCI_MANIFEST, ["manifests"]),
    ],
)
def test_ambiguous_manifests_are_refused(body: dict, content_type: str, fields: list) -> None:
    body = {k: v for k, v in body.items() if v is not None or k != "mediaType"}
    error = invalid(encode(body), content_type)
    assert "ambiguous" in error.message
    assert error.detail == {"fields": fields}


def test_null_foreign_fields_are_absent() -> None:
    assert parse_manifest(encode(image(manifests=None)), mt.OCI_MANIFEST).layers
    parsed = parse_manifest(encode(index(config=None, layers=None)), mt.OCI_INDEX)
    assert parsed.is_index and len(parsed.manifests) == 1


def test_media_type_must_match_content_type_either_way() -> None:
    invalid(encode(image()), mt.DOCKER_MANIFEST)
    invalid(encode(index()), mt.OCI_MANIFEST)
    invalid(encode(index(mt.DOCKER_MANIFEST_LIST)), mt.OCI_INDEX)
    invalid(encode(image(mediaType=mt.DOCKER_MANIFEST)), mt.OCI_MANIFEST)


def test_artifact_with_subject_and_artifact_type_is_not_ambiguous() -> None:
    subject = {**INDEX_ENTRY}
    body = image(artifactType="application/vnd.example+json", subject=subject)
    parsed = parse_manifest(encode(body), mt.OCI_MANIFEST)
    assert parsed.subject is not None and parsed.artifact_type == "application/vnd.example+json"
    parsed = parse_manifest(
        encode(index(artifactType="application/x.a", subject=subject)), mt.OCI_INDEX
    )
    assert parsed.is_index and parsed.subject is not None


def test_accept_negotiation() -> None:
    assert accepts(None, mt.OCI_MANIFEST)
    assert accepts("", mt.OCI_MANIFEST)
    assert accepts(f"{mt.DOCKER_MANIFEST}, {mt.OCI_MANIFEST};q=0.5", mt.OCI_MANIFEST)
    assert accepts("*/*", mt.OCI_INDEX)
    assert not accepts(mt.DOCKER_MANIFEST, mt.OCI_MANIFEST)
