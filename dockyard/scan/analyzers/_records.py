"""What OS package analyzers keep per file, and how a rewritten database keeps history.

A package database is one file rewritten by every layer that installs something, so the
file's layer is only the last writer. ``inherit`` carries, package by package, the layer
that first brought an unchanged package, which is what a user wants to see.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import BinaryIO

from dockyard.scan.analyzer import Found
from dockyard.scan.model import Package


@dataclass(frozen=True)
class Installed:
    name: str
    version: str
    arch: str | None = None
    source_name: str | None = None
    source_version: str | None = None
    layer: str | None = None  # None: the layer of the file it was read from


def as_packages(
    kept: Found, path: str, ecosystem: str, purl_type: str, namespace: str | None
) -> list[Package]:
    """The packages one database file listed, each with the layer that brought it."""
    return [
        Package(
            name=p.name,
            version=p.version,
            ecosystem=ecosystem,
            purl_type=purl_type,
            layer_digest=p.layer or kept.layer_digest,
            path=path,
            source_name=p.source_name,
            source_version=p.source_version,
            namespace=namespace,
            arch=p.arch,
        )
        for p in kept.value  # type: ignore[attr-defined]
    ]


def inherit(previous: Found, value: object) -> object:
    if not (isinstance(value, tuple) and isinstance(previous.value, tuple)):
        return value
    earlier = {
        (p.name, p.version, p.arch): p.layer or previous.layer_digest for p in previous.value
    }
    return tuple(replace(p, layer=earlier.get((p.name, p.version, p.arch), p.layer)) for p in value)


def stanzas(stream: BinaryIO) -> Iterator[list[str]]:
    """Blank-line separated paragraphs of ``Key: value`` lines, one at a time."""
    lines: list[str] = []
    for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line.strip():
            lines.append(line)
        elif lines:
            yield lines
            lines = []
    if lines:
        yield lines


def fields(lines: Iterable[str], separator: str = ":") -> dict[str, str]:
    """deb822 fields; continuation lines (leading space) belong to the field before."""
    result: dict[str, str] = {}
    key = None
    for line in lines:
        if line[:1] in (" ", "\t"):
            if key is not None:
                result[key] += "\n" + line.strip()
            continue
        key, _, value = line.partition(separator)
        key = key.strip()
        result[key] = value.strip()
    return result
