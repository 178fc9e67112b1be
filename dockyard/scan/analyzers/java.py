"""Java archives: the ``META-INF/maven/<group>/<artifact>/pom.properties`` Maven writes
into every jar it builds, in ``.jar``, ``.war`` and ``.ear`` files and the archives they
carry (Spring Boot's ``BOOT-INF/lib``, a war's ``WEB-INF/lib``), down to
``Limits.max_jar_depth``.

A zip is read from its end (the central directory), which a forward-only stream cannot do,
so an archive is held in memory, and only up to ``Limits.max_file_bytes``; a larger one,
or one that is not a zip, is reported as unsupported. A package found inside a nested
archive has the path ``app.jar!BOOT-INF/lib/x.jar``.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import BinaryIO

from dockyard.scan.analyzer import Found, Limits, Result
from dockyard.scan.analyzers._read import read_bounded
from dockyard.scan.model import OSInfo, Package

ARCHIVES = (".jar", ".war", ".ear")
MAX_ENTRIES = 200_000  # the largest fat jars hold tens of thousands
_POM_PROPERTIES = re.compile(r"META-INF/maven/[^/]+/[^/]+/pom\.properties")
_PROPERTY = re.compile(r"([^=:\s]+)\s*[=:\s]\s*(.*)")


@dataclass(frozen=True)
class Artifact:
    inner: str  # "" for the archive itself, "!BOOT-INF/lib/x.jar" for one inside it
    group: str
    artifact: str
    version: str


@dataclass(frozen=True)
class Archive:
    artifacts: tuple[Artifact, ...]
    problems: tuple[str, ...]  # "<inner>: reason", said in the scan's unsupported list


def _properties(text: str) -> dict[str, str]:
    """The ``key=value`` lines Maven writes (``key: value`` too); comments skipped."""
    values = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        match = _PROPERTY.match(line)
        if match:
            values[match[1]] = match[2].strip()
    return values


def _artifact(inner: str, text: str) -> Artifact | None:
    props = _properties(text)
    group, artifact, version = (props.get(k, "") for k in ("groupId", "artifactId", "version"))
    if not group or not artifact or not version or "${" in version:
        return None
    return Artifact(inner, group, artifact, version)


class _Walk:
    """One archive and those inside it; collects artifacts and problems."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.artifacts: list[Artifact] = []
        self.problems: list[str] = []

    def archive(self, data: bytes, inner: str, depth: int) -> None:
        # zipfile builds an object per entry before we see any: count the central
        # directory's records first (an upper bound), so tiny entries cannot exhaust memory.
        if data.count(b"PK\x01\x02") > MAX_ENTRIES:
            self.problems.append(f"{inner}: more than {MAX_ENTRIES} entries")
            return
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info in zf.infolist():
                    self.entry(zf, info, inner, depth)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
            self.problems.append(f"{inner}: not a readable zip archive")
        except NotImplementedError:  # a compression method zipfile lacks
            self.problems.append(f"{inner}: zip compression method not supported")

    def entry(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, inner: str, depth: int) -> None:
        if info.is_dir():
            return
        if _POM_PROPERTIES.fullmatch(info.filename):
            if info.file_size <= self.limits.max_file_bytes:
                text = zf.read(info).decode("latin-1")  # Java's properties encoding
                found = _artifact(inner, text)
                if found is not None:
                    self.artifacts.append(found)
            return
        if not info.filename.lower().endswith(ARCHIVES):
            return
        nested = f"{inner}!{info.filename}"
        if depth >= self.limits.max_jar_depth:
            self.problems.append(f"{nested}: nested deeper than {self.limits.max_jar_depth}")
        elif info.file_size > self.limits.max_file_bytes:
            self.problems.append(f"{nested}: larger than the read limit")
        else:
            self.archive(zf.read(info), nested, depth + 1)


class JavaAnalyzer:
    """Maven artifacts in Java archives, from their ``pom.properties``."""

    name = "java"

    def wants(self, path: str, mode: int, size: int) -> bool:
        return path.lower().endswith(ARCHIVES)

    def read(self, path: str, stream: BinaryIO, size: int, limits: Limits) -> object | None:
        data = read_bounded(stream, size, limits.max_file_bytes)
        if data is None:
            return Archive((), (f": larger than the {limits.max_file_bytes}-byte read limit",))
        walk = _Walk(limits)
        walk.archive(data, "", 1)
        if not walk.artifacts and not walk.problems:
            return None
        return Archive(tuple(walk.artifacts), tuple(walk.problems))

    def finish(self, found: Mapping[str, Found], os: OSInfo | None) -> Result:
        result = Result()
        for path, item in sorted(found.items()):
            archive = item.value
            assert isinstance(archive, Archive)
            result.unsupported.extend(path + problem for problem in archive.problems)
            result.packages.extend(
                Package(
                    name=f"{a.group}:{a.artifact}",
                    version=a.version,
                    ecosystem="Maven",
                    purl_type="maven",
                    layer_digest=item.layer_digest,
                    path=path + a.inner,
                    namespace=a.group,
                )
                for a in archive.artifacts
            )
        return result
