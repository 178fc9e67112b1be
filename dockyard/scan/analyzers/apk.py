"""Alpine packages from apk's database, ``lib/apk/db/installed``.

One paragraph per package of ``X:value`` lines: ``P`` name, ``V`` version, ``A`` arch,
``o`` origin (the source package, which Alpine's advisories are keyed by; it is built
at the same version). File lines (``F``, ``R``, ``Z``...) are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import BinaryIO

from dockyard.scan.analyzer import Found, Limits, Result
from dockyard.scan.analyzers._records import Installed, as_packages, inherit
from dockyard.scan.ecosystems import os_ecosystem, purl_namespace
from dockyard.scan.model import OSInfo

INSTALLED = "lib/apk/db/installed"


def _record(fields: dict[str, str]) -> Installed | None:
    name, version = fields.get("P"), fields.get("V")
    if not name or not version:
        return None
    return Installed(name, version, fields.get("A"), fields.get("o") or name, version)


def parse(stream: BinaryIO) -> tuple[Installed, ...]:
    records: list[Installed] = []
    fields: dict[str, str] = {}
    for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            record = _record(fields)
            if record is not None:
                records.append(record)
            fields = {}
            continue
        key, sep, value = line.partition(":")
        if sep and len(key) == 1 and key in "PVAo":
            fields.setdefault(key, value)
    record = _record(fields)
    if record is not None:
        records.append(record)
    return tuple(records)


class Apk:
    name = "apk"
    inherit = staticmethod(inherit)

    def wants(self, path: str, mode: int, size: int) -> bool:
        return path == INSTALLED

    def read(self, path: str, stream: BinaryIO, size: int, limits: Limits) -> object | None:
        return parse(stream)

    def finish(self, found: Mapping[str, Found], os: OSInfo | None) -> Result:
        ecosystem = os_ecosystem(os, "Alpine")
        namespace = purl_namespace(os, "alpine")
        packages = [
            package
            for path, kept in sorted(found.items())
            for package in as_packages(kept, path, ecosystem, "apk", namespace)
        ]
        return Result(packages=packages)
