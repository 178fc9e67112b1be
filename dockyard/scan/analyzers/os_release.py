"""The operating system, from ``os-release`` (freedesktop.org's format: KEY=value lines).

``etc/os-release`` wins over ``usr/lib/os-release``; on most images the first is a
symlink to the second, which the walker does not follow, so the fallback reads it.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import BinaryIO

from dockyard.scan.analyzer import Found, Limits, Result
from dockyard.scan.model import OSInfo

PATHS = ("etc/os-release", "usr/lib/os-release")


def parse(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or key.startswith("#"):
            continue
        try:
            words = shlex.split(value)
        except ValueError:  # an unbalanced quote: keep the raw text
            words = [value.strip("\"'")]
        fields[key.strip()] = " ".join(words)
    return fields


class OSRelease:
    name = "os-release"

    def wants(self, path: str, mode: int, size: int) -> bool:
        return path in PATHS

    def read(self, path: str, stream: BinaryIO, size: int, limits: Limits) -> object | None:
        fields = parse(stream.read(min(size, limits.max_file_bytes)).decode("utf-8", "replace"))
        if not fields.get("ID"):
            return None
        return OSInfo(
            id=fields["ID"].lower(),
            version=fields.get("VERSION_ID", ""),
            pretty_name=fields.get("PRETTY_NAME", ""),
        )

    def finish(self, found: Mapping[str, Found], os: OSInfo | None) -> Result:
        return Result()


def os_info(found: Mapping[str, Found]) -> OSInfo | None:
    for path in PATHS:
        if path in found:
            value = found[path].value
            assert isinstance(value, OSInfo)
            return value
    return None
