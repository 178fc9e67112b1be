"""npm packages: the ``package.json`` at the root of each ``node_modules`` entry.

Only ``node_modules/<name>/package.json`` and ``node_modules/@scope/<name>/package.json``
are packages; the many other ``package.json`` files inside a package (test fixtures,
examples, sub-folder ``{"type": "module"}`` markers) are not, and neither is an app's own
``package.json`` outside ``node_modules``. A file that is not JSON, or names no package,
is skipped: a broken fixture must not fail a scan.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import BinaryIO

from dockyard.scan.analyzer import Found, Limits, Result
from dockyard.scan.analyzers._read import read_bounded
from dockyard.scan.model import OSInfo, Package


def _is_package_root(path: str) -> bool:
    parts = path.split("/")
    if len(parts) < 3 or parts[-1] != "package.json" or parts[-2].startswith((".", "@")):
        return False
    if parts[-3] == "node_modules":
        return True
    return len(parts) >= 4 and parts[-3].startswith("@") and parts[-4] == "node_modules"


class NpmAnalyzer:
    """Installed npm packages, from their manifests in ``node_modules``."""

    name = "npm"

    def wants(self, path: str, mode: int, size: int) -> bool:
        return _is_package_root(path)

    def read(self, path: str, stream: BinaryIO, size: int, limits: Limits) -> object | None:
        data = read_bounded(stream, size, limits.max_file_bytes)
        if data is None:
            return None
        try:
            manifest = json.loads(data)
        except ValueError:  # also bad UTF-8
            return None
        if not isinstance(manifest, dict):
            return None
        name, version = manifest.get("name"), manifest.get("version")
        if not isinstance(name, str) or not isinstance(version, str) or not name or not version:
            return None
        return (name, version)

    def finish(self, found: Mapping[str, Found], os: OSInfo | None) -> Result:
        packages = []
        for path, item in sorted(found.items()):
            name, version = item.value  # type: ignore[misc]  # what read returned
            scope = name.partition("/")[0] if name.startswith("@") else None
            packages.append(
                Package(
                    name=name,
                    version=version,
                    ecosystem="npm",
                    purl_type="npm",
                    layer_digest=item.layer_digest,
                    path=path,
                    namespace=scope,
                )
            )
        return Result(packages=packages)
