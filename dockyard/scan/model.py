"""The shapes of an inventory and of a finding, shared by scanner, matcher, API and SBOMs.

Ecosystem names are the advisory world's (OSV) wherever one exists, so a package can be
matched without translation: ``Debian:12``, ``Ubuntu:22.04``, ``Alpine:v3.19``, ``Red Hat``
(RHEL family), ``PyPI``, ``npm``, ``Go``, ``Maven``. OS package ecosystems carry the release,
taken from ``os-release``, because advisories are per release.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OSInfo:
    """From ``etc/os-release`` (or ``usr/lib/os-release``): ``id`` like ``debian``,
    ``ubuntu``, ``alpine``, ``rhel``, ``rocky``; ``version`` like ``12``, ``22.04``, ``3.19.1``."""

    id: str
    version: str
    pretty_name: str = ""


@dataclass(frozen=True)
class Package:
    """One installed package, where it was found, and the layer that brought it."""

    name: str
    version: str
    ecosystem: str  # OSV ecosystem, e.g. "Debian:12", "PyPI"
    purl_type: str  # package-url type: deb, apk, rpm, pypi, npm, golang, maven
    layer_digest: str  # the layer whose file this came from
    path: str  # the file it was read from, relative to the root, e.g. var/lib/dpkg/status
    source_name: str | None = None  # dpkg Source:, apk origin, rpm source package
    source_version: str | None = None
    namespace: str | None = None  # purl namespace: "debian", "alpine", a Maven group id
    arch: str | None = None


@dataclass(frozen=True)
class Inventory:
    """Everything one image manifest holds, after whiteouts were applied in layer order.

    ``unsupported`` says what was seen but could not be read (a BerkeleyDB rpm database,
    say), so an empty list never hides a blind spot.
    """

    os: OSInfo | None
    packages: tuple[Package, ...]
    unsupported: tuple[str, ...] = field(default=())


SEVERITIES = ("critical", "high", "medium", "low", "unknown")  # worst first


@dataclass(frozen=True)
class Finding:
    """A package matched by an advisory."""

    advisory_id: str
    aliases: tuple[str, ...]
    summary: str
    severity: str  # one of SEVERITIES
    cvss_score: float | None
    package: Package
    fixed_version: str | None  # the first version that fixes it, when the advisory says
