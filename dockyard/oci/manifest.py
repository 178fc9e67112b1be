"""Parse and validate manifests into frozen values; no I/O.

Covers the OCI image manifest and index (image-spec v1.1, artifacts included) and
Docker's schema 2 manifest and manifest list. Docker schema 1 is refused. The
registry stores the bytes exactly as received; this module only reads them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dockyard.oci import media_types as mt
from dockyard.oci.digest import Digest, digest_bytes, parse_digest
from dockyard.oci.errors import Code, RegistryError


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    digest: Digest
    size: int
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    urls: tuple[str, ...] = ()
    platform: dict[str, Any] | None = None

    @property
    def is_external(self) -> bool:
        """A non-distributable layer with URLs: its bytes live elsewhere, never here."""
        return self.media_type in mt.NON_DISTRIBUTABLE and bool(self.urls)


@dataclass(frozen=True, slots=True)
class Manifest:
    media_type: str
    digest: Digest
    size: int
    config: Descriptor | None
    layers: tuple[Descriptor, ...]
    manifests: tuple[Descriptor, ...]
    subject: Descriptor | None
    artifact_type: str | None
    annotations: dict[str, str]

    @property
    def is_index(self) -> bool:
        return self.media_type in mt.INDEXES

    @property
    def blobs(self) -> tuple[Descriptor, ...]:
        """Blobs this manifest needs in the repository (config and pushed layers)."""
        own = (self.config,) if self.config else ()
        return own + tuple(d for d in self.layers if not d.is_external)

    @property
    def referrer_artifact_type(self) -> str | None:
        """artifactType as the referrers API reports it (spec: config type as fallback)."""
        if self.artifact_type:
            return self.artifact_type
        if self.config is not None:
            return self.config.media_type
        return None


def _invalid(message: str, **detail: Any) -> RegistryError:
    return RegistryError(Code.MANIFEST_INVALID, message, detail or None)


def _string_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _invalid(f"{where} must be a map of strings to strings")
    return dict(value)


def parse_descriptor(value: Any, where: str) -> Descriptor:
    """Validate one descriptor (image-spec descriptor.md)."""
    if not isinstance(value, dict):
        raise _invalid(f"{where} must be an object")
    media_type = value.get("mediaType")
    if not mt.is_valid_media_type(media_type):
        raise _invalid(f"{where}.mediaType is missing or invalid")
    size = value.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise _invalid(f"{where}.size must be a non-negative integer")
    try:
        digest = parse_digest(value.get("digest"))
    except RegistryError as error:
        raise _invalid(f"{where}.digest: {error.message}") from None
    artifact_type = value.get("artifactType")
    if artifact_type is not None and not mt.is_valid_media_type(artifact_type):
        raise _invalid(f"{where}.artifactType is invalid")
    urls = value.get("urls") or []
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise _invalid(f"{where}.urls must be a list of strings")
    platform = value.get("platform")
    if platform is not None and not isinstance(platform, dict):
        raise _invalid(f"{where}.platform must be an object")
    return Descriptor(
        media_type=media_type,
        digest=digest,
        size=size,
        artifact_type=artifact_type,
        annotations=_string_map(value.get("annotations"), f"{where}.annotations"),
        urls=tuple(urls),
        platform=platform,
    )


def _descriptor_list(body: dict[str, Any], key: str, required: bool) -> tuple[Descriptor, ...]:
    value = body.get(key)
    if value is None and not required:
        return ()
    if not isinstance(value, list):
        raise _invalid(f"{key} must be a list")
    return tuple(parse_descriptor(item, f"{key}[{i}]") for i, item in enumerate(value))


def _decode(payload: bytes) -> dict[str, Any]:
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise _invalid("manifest is not valid JSON") from None
    if not isinstance(body, dict):
        raise _invalid("manifest must be a JSON object")
    return body


def _media_type(body: dict[str, Any], content_type: str | None) -> str:
    """Decide the manifest's media type from the header and the body; they must agree."""
    header = mt.bare(content_type)
    declared = body.get("mediaType")
    if header in mt.SCHEMA1 or body.get("schemaVersion") == 1 or declared in mt.SCHEMA1:
        raise _invalid(
            "Docker schema 1 manifests are not supported; push with schema 2 or OCI",
            mediaType=declared or header,
        )
    if declared is not None:
        if not isinstance(declared, str) or declared not in mt.MANIFESTS:
            raise _invalid("unsupported manifest mediaType", mediaType=str(declared))
        if header != declared:
            raise _invalid(
                "Content-Type does not match the manifest's mediaType",
                contentType=header,
                mediaType=declared,
            )
        return declared
    if header not in mt.MANIFESTS:
        raise _invalid("Content-Type is not a supported manifest media type", contentType=header)
    if header in (mt.DOCKER_MANIFEST, mt.DOCKER_MANIFEST_LIST):
        raise _invalid("Docker manifests must declare their mediaType", contentType=header)
    return header


def _refuse_ambiguity(body: dict[str, Any], is_index: bool) -> None:
    """A document must not also read as the other kind (manifest vs index).

    Otherwise one digest could mean an image to one client and an index to another
    (the content confusion behind image-spec 1.0.2's advisory, GHSA-77vh-xpmg-72qh);
    Distribution refuses the same fields. A field set to null counts as absent.
    """
    foreign = ("config", "layers") if is_index else ("manifests",)
    present = [key for key in foreign if body.get(key) is not None]
    if present:
        kind, other = ("an index", "image manifest") if is_index else ("an image manifest", "index")
        raise _invalid(
            f"ambiguous manifest: {kind} must not have {other} fields ({', '.join(present)})",
            fields=present,
        )


def parse_manifest(payload: bytes, content_type: str | None) -> Manifest:
    """Validate a pushed manifest; raise MANIFEST_INVALID with a precise message if it is not."""
    body = _decode(payload)
    media_type = _media_type(body, content_type)
    if body.get("schemaVersion") != 2 or isinstance(body.get("schemaVersion"), bool):
        raise _invalid("schemaVersion must be 2")
    is_index = media_type in mt.INDEXES
    _refuse_ambiguity(body, is_index)
    config = None if is_index else parse_descriptor(body.get("config"), "config")
    layers = () if is_index else _descriptor_list(body, "layers", required=True)
    manifests = _descriptor_list(body, "manifests", required=True) if is_index else ()
    subject = body.get("subject")
    artifact_type = body.get("artifactType")
    if artifact_type is not None and not mt.is_valid_media_type(artifact_type):
        raise _invalid("artifactType is invalid")
    return Manifest(
        media_type=media_type,
        digest=digest_bytes(payload),
        size=len(payload),
        config=config,
        layers=layers,
        manifests=manifests,
        subject=None if subject is None else parse_descriptor(subject, "subject"),
        artifact_type=artifact_type,
        annotations=_string_map(body.get("annotations"), "annotations"),
    )


def accepts(accept_header: str | None, media_type: str) -> bool:
    """Whether an Accept header admits this media type (no header admits anything)."""
    if not accept_header:
        return True
    offered = {mt.bare(part) for part in accept_header.split(",")}
    offered.discard("")
    if not offered:
        return True
    return media_type in offered or "*/*" in offered or "application/*" in offered
