"""Python distributions: ``*.dist-info/METADATA`` (wheels, pip) and ``*.egg-info`` (setuptools).

Only the header block of the core metadata is parsed (``Name``, ``Version``); the long
description after it can be megabytes and says nothing about identity. Names keep their
published spelling for display; compare them with ``normalize_name`` (PEP 503), since
``Flask_SQLAlchemy`` and ``flask-sqlalchemy`` are the same project to PyPI and to OSV.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.parser import BytesHeaderParser
from typing import BinaryIO

from dockyard.scan.analyzer import Found, Limits, Result
from dockyard.scan.analyzers._read import read_bounded
from dockyard.scan.model import OSInfo, Package

_SEPARATORS = re.compile(r"[-_.]+")


def normalize_name(name: str) -> str:
    """PEP 503: lower case, runs of ``-``, ``_`` and ``.`` become one ``-``."""
    return _SEPARATORS.sub("-", name).lower()


def _is_metadata(path: str) -> bool:
    parent, _, base = path.rpartition("/")
    folder = parent.rpartition("/")[2]
    if base == "METADATA":
        return folder.endswith(".dist-info") and len(folder) > len(".dist-info")
    if base == "PKG-INFO":
        return folder.endswith(".egg-info") and len(folder) > len(".egg-info")
    return base.endswith(".egg-info") and len(base) > len(".egg-info")  # egg-info as one file


class PythonAnalyzer:
    """Installed Python distributions, from their core metadata."""

    name = "python"

    def wants(self, path: str, mode: int, size: int) -> bool:
        return _is_metadata(path)

    def read(self, path: str, stream: BinaryIO, size: int, limits: Limits) -> object | None:
        data = read_bounded(stream, size, limits.max_file_bytes)
        if data is None:
            return None
        headers = BytesHeaderParser().parsebytes(data)
        name, version = headers.get("Name"), headers.get("Version")
        if not name or not version:
            return None
        return (str(name).strip(), str(version).strip())

    def finish(self, found: Mapping[str, Found], os: OSInfo | None) -> Result:
        packages = []
        for path, item in sorted(found.items()):
            name, version = item.value  # type: ignore[misc]  # what read returned
            packages.append(
                Package(
                    name=name,
                    version=version,
                    ecosystem="PyPI",
                    purl_type="pypi",
                    layer_digest=item.layer_digest,
                    path=path,
                )
            )
        return Result(packages=packages)
