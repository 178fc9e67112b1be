"""Go binaries: the build information the Go linker embeds in every executable.

Since Go 1.18 the linker writes, 16-byte aligned in the data segment, a 32-byte header that
starts with ``\\xff Go buildinf:`` (then pointer size and flags); with flags bit 2 set the
header is followed by two varint-length strings: the toolchain version (``go1.21.5``) and
the module information, lines of tab-separated fields between two 16-byte sentinels::

    path  example.com/cmd/app
    mod   example.com            v1.2.0  h1:...
    dep   golang.org/x/net       v0.17.0 h1:...
    =>    golang.org/x/net       v0.19.0 h1:...   (a replacement of the line before)

The stream is searched with a rolling window, so a binary is never held in memory. Older
binaries keep pointers into the image instead, which a forward-only stream cannot follow:
those are reported as unsupported rather than silently empty. The toolchain itself is
reported as the package ``stdlib``, which is how OSV's Go ecosystem names it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import BinaryIO

from dockyard.scan.analyzer import Found, Limits, Result
from dockyard.scan.model import OSInfo, Package

MAGIC = b"\xff Go buildinf:"
HEADER_BYTES = 32
ALIGN = 16
CHUNK = 1024 * 1024
MAX_INFO_BYTES = 1024 * 1024  # version and module lines after the header; real ones are KiB
MIN_BINARY_BYTES = 4096
ELF = b"\x7fELF"
GO_NOTE = b"\x04\x00\x00\x00Go\x00\x00"  # the ELF note with Go's build id, near the start
_GO_VERSION = re.compile(r"go(\d+)\.(\d+)(?:\.(\d+))?(?:(rc|beta)(\d+))?")


@dataclass(frozen=True)
class GoBuild:
    """What one binary says about how it was built."""

    go_version: str  # as the toolchain wrote it: go1.21.5
    main: tuple[str, str] | None  # the main module (path, version), if versioned
    deps: tuple[tuple[str, str], ...]  # (module path, version), replacements applied


@dataclass(frozen=True)
class Unreadable:
    reason: str


class _Invalid(Exception):
    """This match of the magic is not a build-info header (a string constant, say)."""


class _PointerFormat(Exception):
    """A real pre-1.18 header: its strings live elsewhere in the image."""


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while pos < len(data) and shift < 63:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7
    raise _Invalid


def _bytes(data: bytes, pos: int) -> tuple[bytes, int]:
    length, pos = _uvarint(data, pos)
    if pos + length > len(data):
        raise _Invalid
    return data[pos : pos + length], pos + length


def _text(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise _Invalid from None


def _modules(raw: bytes) -> tuple[tuple[str, str] | None, tuple[tuple[str, str], ...]]:
    """The main module and the dependencies; a replacement takes its target's place,
    and a dependency replaced by a local directory is left out."""
    # The sentinels are binary; what lies between them is text.
    modinfo = _text(raw[16:-16]) if len(raw) >= 33 and raw[-17] == ord("\n") else ""
    main: list[str] | None = None
    deps: list[list[str]] = []
    last: list[str] | None = None
    for line in modinfo.split("\n"):
        kind, _, rest = line.partition("\t")
        fields = rest.split("\t")
        if kind in ("mod", "dep") and len(fields) >= 2:
            last = [fields[0], fields[1]]
            if kind == "mod":
                main = last
            else:
                deps.append(last)
        elif kind == "=>" and last is not None:
            last[:] = [fields[0], fields[1] if len(fields) >= 2 else ""]
    usable = tuple((path, version) for path, version in deps if _versioned(path, version))
    if main is None or not _versioned(*main):
        return None, usable
    return (main[0], main[1]), usable


def _versioned(path: str, version: str) -> bool:
    """A module an advisory can name: not a local directory, not a ``(devel)`` build."""
    return bool(path) and not path.startswith((".", "/")) and version not in ("", "(devel)")


def _parse(data: bytes) -> GoBuild:
    """``data`` starts at a 16-byte aligned magic."""
    if len(data) < HEADER_BYTES or data[14] not in (4, 8):
        raise _Invalid
    if not data[15] & 2:
        raise _PointerFormat
    raw_version, pos = _bytes(data, HEADER_BYTES)
    raw_modinfo, _ = _bytes(data, pos)
    version = _text(raw_version)
    if not version.startswith(("go", "devel")):
        raise _Invalid
    main, deps = _modules(raw_modinfo)
    return GoBuild(go_version=version, main=main, deps=deps)


def _scan(stream: BinaryIO, size: int, limit: int) -> GoBuild | Unreadable | None:
    """The first valid build-info header in at most ``limit`` bytes of ``stream``, which
    holds ``size`` bytes. Never reads past ``limit``: a large C program (``node``) is
    passed over, not a reason for the walker to fail the scan."""
    first = stream.read(min(CHUNK, limit))
    if not first.startswith(ELF):
        return None
    budget = limit - len(first)
    window, base, start = first, 0, 0  # window starts at file offset ``base``
    pointer_format = exhausted = False
    while True:
        at = window.find(MAGIC, start)
        if at < 0:
            if exhausted:
                break
            keep = len(MAGIC) - 1
            base += max(len(window) - keep, 0)
            window = window[-keep:]
            chunk = stream.read(min(CHUNK, budget))
            budget -= len(chunk)
            exhausted = not chunk
            window, start = window + chunk, 0
            continue
        start = at + 1
        if (base + at) % ALIGN:
            continue
        more, have = [window], len(window) - at
        while have < HEADER_BYTES + MAX_INFO_BYTES and not exhausted:
            chunk = stream.read(min(CHUNK, budget))
            budget -= len(chunk)
            exhausted = not chunk
            more.append(chunk)
            have += len(chunk)
        window = b"".join(more)
        try:
            return _parse(window[at : at + HEADER_BYTES + MAX_INFO_BYTES])
        except _PointerFormat:
            pointer_format = True
        except _Invalid:
            pass
    if pointer_format:
        return Unreadable("Go binary built before Go 1.18; its module list is not read")
    if size > limit and GO_NOTE in first[:65536]:
        return Unreadable(f"Go binary larger than the {limit}-byte read limit; not read to its end")
    return None


def stdlib_version(go_version: str) -> str | None:
    """``go1.21.5`` → ``1.21.5``, ``go1.19`` → ``1.19.0``, ``go1.21rc2`` → ``1.21.0-rc.2``
    (the semver spelling OSV uses for ``stdlib``); None for a development toolchain."""
    match = _GO_VERSION.fullmatch(go_version.split(" ")[0])
    if match is None:
        return None
    major, minor, patch, pre, pre_n = match.groups()
    version = f"{major}.{minor}.{patch or 0}"
    return f"{version}-{pre}.{pre_n}" if pre else version


def _package(name: str, version: str, item: Found, path: str) -> Package:
    return Package(
        name=name,
        version=version,
        ecosystem="Go",
        purl_type="golang",
        layer_digest=item.layer_digest,
        path=path,
        namespace=name.rpartition("/")[0] or None,
    )


class GoAnalyzer:
    """Modules compiled into Go executables, and the Go standard library they carry."""

    name = "go"

    def wants(self, path: str, mode: int, size: int) -> bool:
        return bool(mode & 0o111) and size >= MIN_BINARY_BYTES

    def read(self, path: str, stream: BinaryIO, size: int, limits: Limits) -> object | None:
        return _scan(stream, size, limits.max_file_bytes)

    def finish(self, found: Mapping[str, Found], os: OSInfo | None) -> Result:
        result = Result()
        for path, item in sorted(found.items()):
            build = item.value
            if isinstance(build, Unreadable):
                result.unsupported.append(f"{path}: {build.reason}")
                continue
            assert isinstance(build, GoBuild)
            modules = ([build.main] if build.main else []) + list(build.deps)
            stdlib = stdlib_version(build.go_version)
            if stdlib is not None:
                modules.append(("stdlib", stdlib))
            result.packages.extend(_package(n, v, item, path) for n, v in modules)
        return result
