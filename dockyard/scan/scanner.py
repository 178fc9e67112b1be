"""Scan one image manifest: walk its layers once, then let each analyzer name packages.

``scan_image`` takes the parsed manifest (OCI image manifest or Docker schema 2); an
index is the caller's business (it scans each child on its own). Nothing is written to
disk and no layer is held in memory (see ``walker``); a corrupt, hostile or unsupported
image raises ``ScanFailed`` whose reason is shown to users.
"""

from __future__ import annotations

from collections.abc import Sequence

from dockyard.oci.digest import Digest, parse_digest
from dockyard.oci.errors import RegistryError
from dockyard.scan.analyzer import Analyzer, Limits
from dockyard.scan.analyzers import ANALYZERS
from dockyard.scan.analyzers.os_release import OSRelease, os_info
from dockyard.scan.model import Inventory, Package
from dockyard.scan.walker import ScanFailed, ScanUnsupported, Walker
from dockyard.storage.base import BlobStore

__all__ = ["ScanFailed", "ScanUnsupported", "scan_image"]

_INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
_IMAGE_CONFIGS = (
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
)


def layer_digests(manifest: dict) -> list[Digest]:
    """The layers to walk, bottom first; what is not an image is ``ScanUnsupported``."""
    if not isinstance(manifest, dict):
        raise ScanFailed("the manifest is not a JSON object")
    if manifest.get("mediaType") in _INDEX_TYPES or "manifests" in manifest:
        raise ScanUnsupported("an image index is scanned through its platform manifests")
    if manifest.get("schemaVersion") == 1:
        raise ScanUnsupported("Docker schema 1 manifests are not scanned")
    config = manifest.get("config")
    config_type = config.get("mediaType") if isinstance(config, dict) else None
    if config_type not in _IMAGE_CONFIGS:
        raise ScanUnsupported(f"not a container image (config media type {config_type!r})")
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        raise ScanFailed("the manifest has no list of layers")
    digests = []
    for layer in layers:
        try:
            digests.append(parse_digest(layer.get("digest") if isinstance(layer, dict) else None))
        except RegistryError as error:
            raise ScanFailed(f"the manifest names an invalid layer digest: {error}") from error
    return digests


def scan_image(
    store: BlobStore, manifest: dict, limits: Limits, analyzers: Sequence[Analyzer] | None = None
) -> Inventory:
    """The inventory of one image manifest; ``analyzers`` defaults to ``ANALYZERS``."""
    chosen = list(ANALYZERS if analyzers is None else analyzers)
    release = OSRelease()
    walked = Walker(store, [release, *chosen], limits).walk(layer_digests(manifest))
    os = os_info(walked.found[release.name])
    packages: list[Package] = []
    unsupported = list(walked.notes)
    for analyzer in chosen:
        result = analyzer.finish(walked.found[analyzer.name], os)
        packages.extend(result.packages)
        unsupported.extend(result.unsupported)
    return Inventory(os=os, packages=tuple(packages), unsupported=tuple(unsupported))
