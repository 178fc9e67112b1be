"""Builders and assertions for the spec-driven HTTP tests (OCI Distribution v1.1).

Everything here talks to the registry through an httpx-compatible client only, so the
same tests can be pointed at any registry. Upload locations are always reused exactly as
the registry returned them: query strings are appended with `with_query`, never with
httpx's `params=` (which would replace a query string the registry put in the Location).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx

# --- media types ------------------------------------------------------------------------

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

EMPTY_CONFIG = b"{}"
EMPTY_CONFIG_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
EMPTY_BLOB_DIGEST = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

API_VERSION_HEADER = "Docker-Distribution-API-Version"
API_VERSION = "registry/2.0"

SPEC_ERROR_CODES = frozenset(
    {
        "BLOB_UNKNOWN",
        "BLOB_UPLOAD_INVALID",
        "BLOB_UPLOAD_UNKNOWN",
        "DIGEST_INVALID",
        "MANIFEST_BLOB_UNKNOWN",
        "MANIFEST_INVALID",
        "MANIFEST_UNKNOWN",
        "NAME_INVALID",
        "NAME_UNKNOWN",
        "SIZE_INVALID",
        "UNAUTHORIZED",
        "DENIED",
        "UNSUPPORTED",
        "TOOMANYREQUESTS",
    }
)

# Digests that are well-formed, and ones that are not.
MALFORMED_DIGESTS = [
    "sha256:abc",  # too short
    "sha256:" + "A" * 64,  # uppercase hex
    "sha256:" + "g" * 64,  # not hex
    "sha256:" + "a" * 65,  # too long
    "sha512:" + "a" * 64,  # wrong length for sha512
    "sha256" + "a" * 64,  # no separator
    ":" + "a" * 64,  # no algorithm
    "sha256:",  # no encoded part
]
UNSUPPORTED_DIGESTS = [
    "md5:" + "a" * 32,
    "blake3:" + "a" * 64,
]


# --- bytes and digests ------------------------------------------------------------------


def random_bytes(size: int = 1024) -> bytes:
    return os.urandom(size)


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def random_digest() -> str:
    """A well-formed sha256 digest of content nobody has pushed."""
    return digest_of(random_bytes(64))


def media_type_of(resp: httpx.Response) -> str:
    """The Content-Type without parameters, lowercased."""
    return resp.headers.get("Content-Type", "").split(";")[0].strip().lower()


# --- URLs -------------------------------------------------------------------------------


def with_query(url: str, **params: str | int) -> str:
    """Append query parameters to a URL, keeping any query string it already has."""
    extra = "&".join(f"{key}={quote(str(value), safe=':')}" for key, value in params.items())
    if not extra:
        return url
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{extra}"


def blob_url(repo: str, digest: str) -> str:
    return f"/v2/{repo}/blobs/{digest}"


def manifest_url(repo: str, ref: str) -> str:
    return f"/v2/{repo}/manifests/{ref}"


def uploads_url(repo: str) -> str:
    return f"/v2/{repo}/blobs/uploads/"


def referrers_url(repo: str, digest: str) -> str:
    return f"/v2/{repo}/referrers/{digest}"


def upload_uuid(location: str) -> str:
    """The last path segment of an upload Location."""
    return urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1]


def parse_next_link(resp: httpx.Response) -> tuple[str, dict[str, str]] | None:
    """(path, query) of a `Link: <...>; rel="next"` header, or None when there is none."""
    link = resp.headers.get("Link")
    if link is None:
        return None
    match = re.fullmatch(r'\s*<([^>]*)>\s*;\s*rel="?next"?\s*', link)
    assert match, f"malformed Link header: {link!r}"
    parts = urlsplit(match.group(1))
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    return parts.path, query


def next_link_url(resp: httpx.Response) -> str | None:
    link = resp.headers.get("Link")
    if link is None:
        return None
    match = re.fullmatch(r'\s*<([^>]*)>\s*;\s*rel="?next"?\s*', link)
    assert match, f"malformed Link header: {link!r}"
    return match.group(1)


# --- assertions -------------------------------------------------------------------------


def describe(resp: httpx.Response) -> str:
    """A one-line summary for assertion messages."""
    body = resp.content[:500].decode("utf-8", "replace") if resp.content else ""
    return f"{resp.request.method} {resp.request.url} -> {resp.status_code} {body!r}"


def assert_api_version(resp: httpx.Response) -> None:
    assert resp.headers.get(API_VERSION_HEADER) == API_VERSION, (
        f"missing/incorrect {API_VERSION_HEADER}: {describe(resp)}"
    )


def error_codes(resp: httpx.Response) -> list[str]:
    return [error["code"] for error in resp.json()["errors"]]


def assert_spec_error_body(resp: httpx.Response) -> list[dict[str, Any]]:
    """The body is the spec's error envelope with only the spec's 14 codes."""
    assert media_type_of(resp) == "application/json", f"error not JSON: {describe(resp)}"
    body = resp.json()
    assert isinstance(body, dict) and set(body) == {"errors"}, describe(resp)
    errors = body["errors"]
    assert isinstance(errors, list) and errors, describe(resp)
    for error in errors:
        assert isinstance(error, dict), describe(resp)
        assert {"code", "message", "detail"} <= set(error), f"incomplete error: {describe(resp)}"
        assert error["code"] in SPEC_ERROR_CODES, f"non-spec code: {describe(resp)}"
        assert isinstance(error["message"], str), describe(resp)
    return errors


def assert_error(
    resp: httpx.Response, status: int, code: str | set[str] | frozenset[str]
) -> list[dict[str, Any]]:
    """Status, API-version header and (for non-HEAD requests) a spec error body with `code`."""
    assert resp.status_code == status, f"expected {status} {code}: {describe(resp)}"
    assert_api_version(resp)
    if resp.request.method == "HEAD":
        assert resp.content == b""
        return []
    errors = assert_spec_error_body(resp)
    wanted = {code} if isinstance(code, str) else set(code)
    codes = [error["code"] for error in errors]
    assert wanted & set(codes), f"expected code {sorted(wanted)}, got {codes}: {describe(resp)}"
    return errors


def assert_no_error_body_or_spec(resp: httpx.Response) -> None:
    """A response that may have an empty body, but any body must be a spec error."""
    if resp.content:
        assert_spec_error_body(resp)


def assert_digest_header_matches(resp: httpx.Response, data: bytes) -> None:
    """Docker-Content-Digest is present and is a digest of `data` (in its own algorithm)."""
    header = resp.headers.get("Docker-Content-Digest")
    assert header, f"no Docker-Content-Digest: {describe(resp)}"
    algorithm = header.split(":", 1)[0]
    assert header == digest_of(data, algorithm), describe(resp)


# --- blobs ------------------------------------------------------------------------------


def start_upload(client: httpx.Client, repo: str) -> str:
    """POST a new upload session and return its Location exactly as given."""
    resp = client.post(uploads_url(repo), headers={"Content-Length": "0"})
    assert resp.status_code == 202, describe(resp)
    location = resp.headers["Location"]
    assert location, describe(resp)
    return location


def push_blob(client: httpx.Client, repo: str, data: bytes, algorithm: str = "sha256") -> str:
    """Monolithic POST-then-PUT upload; returns the blob's digest."""
    digest = digest_of(data, algorithm)
    location = start_upload(client, repo)
    resp = client.put(
        with_query(location, digest=digest),
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert resp.status_code == 201, describe(resp)
    return digest


def push_random_blob(client: httpx.Client, repo: str, size: int = 256) -> tuple[bytes, str]:
    data = random_bytes(size)
    return data, push_blob(client, repo, data)


def blob_visible(client: httpx.Client, repo: str, digest: str) -> bool:
    resp = client.head(blob_url(repo, digest))
    assert resp.status_code in (200, 404), describe(resp)
    return resp.status_code == 200


# --- manifests --------------------------------------------------------------------------


def descriptor(
    media_type: str,
    data: bytes | None = None,
    *,
    digest: str | None = None,
    size: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A descriptor for `data`, or for an explicit digest/size."""
    if data is not None:
        digest = digest if digest is not None else digest_of(data)
        size = size if size is not None else len(data)
    result: dict[str, Any] = {"mediaType": media_type, "digest": digest, "size": size}
    result.update(extra)
    return result


def empty_config_descriptor() -> dict[str, Any]:
    return descriptor(OCI_EMPTY, EMPTY_CONFIG)


def encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=2, sort_keys=False).encode()


def image_manifest(
    config: dict[str, Any],
    layers: list[dict[str, Any]],
    subject: dict[str, Any] | None = None,
    artifact_type: str | None = None,
    annotations: dict[str, str] | None = None,
    media_type: str | None = OCI_MANIFEST,
) -> bytes:
    """An image manifest; pass media_type=None to leave out the `mediaType` field."""
    document: dict[str, Any] = {"schemaVersion": 2}
    if media_type is not None:
        document["mediaType"] = media_type
    if artifact_type is not None:
        document["artifactType"] = artifact_type
    document["config"] = config
    document["layers"] = layers
    if subject is not None:
        document["subject"] = subject
    if annotations is not None:
        document["annotations"] = annotations
    return encode(document)


def index_manifest(
    manifests: list[dict[str, Any]],
    subject: dict[str, Any] | None = None,
    artifact_type: str | None = None,
    annotations: dict[str, str] | None = None,
    media_type: str | None = OCI_INDEX,
) -> bytes:
    """An image index (or, with media_type=DOCKER_LIST, a Docker manifest list)."""
    document: dict[str, Any] = {"schemaVersion": 2}
    if media_type is not None:
        document["mediaType"] = media_type
    if artifact_type is not None:
        document["artifactType"] = artifact_type
    document["manifests"] = manifests
    if subject is not None:
        document["subject"] = subject
    if annotations is not None:
        document["annotations"] = annotations
    return encode(document)


def push_manifest(
    client: httpx.Client,
    repo: str,
    ref: str,
    body: bytes,
    media_type: str | None,
    *,
    expect: int | None = 201,
) -> httpx.Response:
    """PUT a manifest; asserts the status `expect` unless it is None."""
    headers = {"Content-Type": media_type} if media_type is not None else {}
    resp = client.put(manifest_url(repo, ref), content=body, headers=headers)
    if expect is not None:
        assert resp.status_code == expect, describe(resp)
    return resp


@dataclass
class Pushed:
    """A manifest that was pushed, with what it references."""

    repo: str
    body: bytes
    media_type: str
    config: dict[str, Any] | None = None
    layers: list[dict[str, Any]] = field(default_factory=list)
    blobs: dict[str, bytes] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return digest_of(self.body)

    @property
    def size(self) -> int:
        return len(self.body)

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return descriptor(self.media_type, self.body, **extra)


def image_config(architecture: str = "amd64") -> bytes:
    """A minimal OCI image configuration (unique per call)."""
    return encode(
        {
            "architecture": architecture,
            "os": "linux",
            "config": {"Labels": {"nonce": uuid.uuid4().hex}},
            "rootfs": {"type": "layers", "diff_ids": []},
        }
    )


def push_image(
    client: httpx.Client,
    repo: str,
    tag: str | None = None,
    *,
    layers: int = 1,
    subject: dict[str, Any] | None = None,
    artifact_type: str | None = None,
    annotations: dict[str, str] | None = None,
    config_media_type: str = OCI_CONFIG,
    docker: bool = False,
) -> Pushed:
    """Push config + random layers + an image manifest (by tag, else by digest)."""
    blobs: dict[str, bytes] = {}
    config_data = EMPTY_CONFIG if config_media_type == OCI_EMPTY else image_config()
    blobs[push_blob(client, repo, config_data)] = config_data
    config_type = DOCKER_CONFIG if docker else config_media_type
    layer_type = DOCKER_LAYER if docker else OCI_LAYER
    config = descriptor(config_type, config_data)
    layer_descriptors = []
    for _ in range(layers):
        data = random_bytes(200)
        blobs[push_blob(client, repo, data)] = data
        layer_descriptors.append(descriptor(layer_type, data))
    media_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
    body = image_manifest(
        config,
        layer_descriptors,
        subject=subject,
        artifact_type=artifact_type,
        annotations=annotations,
        media_type=media_type,
    )
    push_manifest(client, repo, tag or digest_of(body), body, media_type)
    return Pushed(repo, body, media_type, config, layer_descriptors, blobs)


def push_artifact(
    client: httpx.Client,
    repo: str,
    subject: dict[str, Any] | None,
    artifact_type: str,
    *,
    annotations: dict[str, str] | None = None,
    tag: str | None = None,
) -> Pushed:
    """An OCI artifact: empty config, one small layer, `artifactType`, optional subject."""
    push_blob(client, repo, EMPTY_CONFIG)
    data = random_bytes(64)
    push_blob(client, repo, data)
    layers = [descriptor("application/vnd.example.payload", data)]
    body = image_manifest(
        empty_config_descriptor(),
        layers,
        subject=subject,
        artifact_type=artifact_type,
        annotations=annotations,
    )
    push_manifest(client, repo, tag or digest_of(body), body, OCI_MANIFEST)
    return Pushed(repo, body, OCI_MANIFEST, empty_config_descriptor(), layers)


def push_index(
    client: httpx.Client,
    repo: str,
    children: list[Pushed],
    tag: str | None = None,
    *,
    subject: dict[str, Any] | None = None,
    artifact_type: str | None = None,
    annotations: dict[str, str] | None = None,
    docker: bool = False,
) -> Pushed:
    """An index (or Docker manifest list) over already-pushed child manifests."""
    platform = {"architecture": "amd64", "os": "linux"}
    entries = [child.descriptor(platform=platform) for child in children]
    media_type = DOCKER_LIST if docker else OCI_INDEX
    body = index_manifest(
        entries,
        subject=subject,
        artifact_type=artifact_type,
        annotations=annotations,
        media_type=media_type,
    )
    push_manifest(client, repo, tag or digest_of(body), body, media_type)
    return Pushed(repo, body, media_type)


def sized_manifest(config: dict[str, Any], size: int) -> bytes:
    """A valid image manifest padded (with an annotation) to exactly `size` bytes."""
    base = image_manifest(config, [], annotations={"pad": ""})
    missing = size - len(base)
    assert missing >= 0, f"cannot build a {size}-byte manifest; minimum is {len(base)}"
    body = image_manifest(config, [], annotations={"pad": "x" * missing})
    assert len(body) == size
    return body
