"""Debian and Ubuntu packages from dpkg's database.

``var/lib/dpkg/status`` on ordinary images; distroless images have no dpkg and write one
file per package under ``var/lib/dpkg/status.d/`` (their ``*.md5sums`` siblings are not
package records). Only entries whose state is ``installed`` count (``install ok
installed`` or ``hold ok installed``; a removed package leaves ``deinstall ok
config-files`` behind). ``Source: name (version)`` names the source package advisories
are keyed by; without a version it is the binary's version, and without the field the
source is the package itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import BinaryIO

from dockyard.scan.analyzer import Found, Limits, Result
from dockyard.scan.analyzers._records import Installed, as_packages, fields, inherit, stanzas
from dockyard.scan.ecosystems import os_ecosystem, purl_namespace
from dockyard.scan.model import OSInfo

STATUS = "var/lib/dpkg/status"
STATUS_DIR = "var/lib/dpkg/status.d/"
_SOURCE = re.compile(r"^(\S+)(?:\s+\((\S+)\))?$")


def parse_source(value: str | None, name: str, version: str) -> tuple[str, str]:
    match = _SOURCE.match(value or "")
    if match is None:
        return name, version
    return match.group(1), match.group(2) or version


def _installed(record: dict[str, str], in_status_dir: bool) -> Installed | None:
    status = record.get("Status")
    if status is None and not in_status_dir:
        return None
    if status is not None and status.split()[-1:] != ["installed"]:  # the state, not the wish
        return None
    name, version = record.get("Package"), record.get("Version")
    if not name or not version:
        return None
    source_name, source_version = parse_source(record.get("Source"), name, version)
    return Installed(name, version, record.get("Architecture"), source_name, source_version)


class Dpkg:
    name = "dpkg"
    inherit = staticmethod(inherit)

    def wants(self, path: str, mode: int, size: int) -> bool:
        if path == STATUS:
            return True
        rest = path.removeprefix(STATUS_DIR)
        return rest != path and "/" not in rest and not rest.endswith(".md5sums")

    def read(self, path: str, stream: BinaryIO, size: int, limits: Limits) -> object | None:
        in_dir = path != STATUS
        found = (_installed(fields(lines), in_dir) for lines in stanzas(stream))
        return tuple(p for p in found if p is not None)

    def finish(self, found: Mapping[str, Found], os: OSInfo | None) -> Result:
        ecosystem = os_ecosystem(os, "Debian")
        namespace = purl_namespace(os, "debian")
        packages = [
            package
            for path, kept in sorted(found.items())
            for package in as_packages(kept, path, ecosystem, "deb", namespace)
        ]
        return Result(packages=packages)
