"""The seam between the layer walker and the analyzers that understand package metadata.

The walker streams every layer once, in order, applying whiteouts. For each regular file
it asks every analyzer whether it ``wants`` it (by path, mode and size alone, so nothing
else is read), hands the wanted ones to ``read`` as a stream, and keeps the small result
per path; a later layer that deletes or replaces the path drops or replaces it. After the
last layer each analyzer's ``finish`` turns what survived into packages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from dockyard.scan.model import OSInfo, Package


@dataclass(frozen=True)
class Limits:
    """Bounds against hostile layers; each breach fails the scan with a clear reason."""

    max_layer_bytes: int = 8 * 1024**3  # uncompressed bytes per layer
    max_files_per_layer: int = 500_000
    max_file_bytes: int = 64 * 1024**2  # largest single file an analyzer may read
    max_jar_depth: int = 2  # a jar, and the jars inside it


@dataclass(frozen=True)
class Found:
    """What an analyzer kept of one file, and which layer that file came from."""

    layer_digest: str
    value: object


@dataclass(frozen=True)
class Result:
    packages: list[Package] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)  # seen but unreadable, said plainly


class Analyzer(Protocol):
    name: str

    def wants(self, path: str, mode: int, size: int) -> bool:
        """Whether to read this file. ``path`` is relative with no leading ``./`` or ``/``
        (``var/lib/dpkg/status``); ``mode`` the tar mode bits; ``size`` in bytes."""

    def read(self, path: str, stream: BinaryIO, size: int, limits: Limits) -> object | None:
        """Parse one wanted file from a forward-only stream (read at most
        ``limits.max_file_bytes``); return a small value to keep, or None to keep nothing."""

    def finish(self, found: Mapping[str, Found], os: OSInfo | None) -> Result:
        """Packages from what survived every layer, keyed by path; ``os`` names the release
        for OS package ecosystems (``Debian:12``)."""
