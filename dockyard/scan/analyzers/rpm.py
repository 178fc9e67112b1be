"""Red Hat family packages from rpm's database.

rpm 4.16+ keeps it in SQLite, ``var/lib/rpm/rpmdb.sqlite`` (``usr/lib/sysimage/rpm/``
on newer Fedora): the file is read (bounded by the per-file limit) and opened in memory
with ``sqlite3``'s ``deserialize``, so nothing touches the disk. Each row's blob is an rpm
header; the few tags we need are read by ``parse_header``. Older images keep a BerkeleyDB
``Packages`` file and SUSE an NDB ``Packages.db``; no maintained Python library reads
either, so they are reported as unsupported rather than as an empty list.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Mapping
from typing import BinaryIO

from dockyard.scan.analyzer import Found, Limits, Result
from dockyard.scan.analyzers._records import Installed, as_packages, inherit
from dockyard.scan.ecosystems import os_ecosystem, purl_namespace
from dockyard.scan.model import OSInfo

_DIRS = ("var/lib/rpm/", "usr/lib/sysimage/rpm/")
SQLITE = "rpmdb.sqlite"
_UNSUPPORTED = {"Packages": "BerkeleyDB", "Packages.db": "NDB"}

# rpm tag numbers (rpmtag.h) and data types
NAME, VERSION, RELEASE, EPOCH, ARCH, SOURCERPM = 1000, 1001, 1002, 1003, 1022, 1044
_WANTED = {NAME, VERSION, RELEASE, EPOCH, ARCH, SOURCERPM}
_INT32, _STRING, _STRING_ARRAY, _I18NSTRING = 4, 6, 8, 9
_MAX_ENTRIES = 65_536


class Unsupported(str):
    """The kept value of a database format we cannot read: its kind."""


def parse_header(blob: bytes) -> dict[int, str | int]:
    """The wanted tags of one header blob: ``il``, ``dl``, ``il`` index entries of
    (tag, type, offset, count), then ``dl`` bytes of data, all big-endian."""
    if len(blob) < 8:
        raise ValueError("rpm header is truncated")
    entries, length = struct.unpack_from(">II", blob)
    start = 8 + 16 * entries
    if entries > _MAX_ENTRIES or start + length > len(blob):
        raise ValueError("rpm header is truncated")
    data = blob[start : start + length]
    tags: dict[int, str | int] = {}
    for index in range(entries):
        tag, kind, offset, _count = struct.unpack_from(">IIII", blob, 8 + 16 * index)
        if tag not in _WANTED or offset >= len(data):
            continue
        if kind in (_STRING, _STRING_ARRAY, _I18NSTRING):
            end = data.find(b"\0", offset)
            tags[tag] = data[offset : end if end >= 0 else len(data)].decode("utf-8", "replace")
        elif kind == _INT32 and offset + 4 <= len(data):
            tags[tag] = struct.unpack_from(">i", data, offset)[0]
    return tags


def parse_source_rpm(source: str) -> tuple[str, str] | None:
    """``openssl-3.0.7-24.el9.src.rpm`` -> (``openssl``, ``3.0.7-24.el9``)."""
    for suffix in (".src.rpm", ".nosrc.rpm"):
        if source.endswith(suffix):
            name, _, release = source.removesuffix(suffix).rpartition("-")
            name, _, version = name.rpartition("-")
            if name and version and release:
                return name, f"{version}-{release}"
    return None


def _installed(tags: dict[int, str | int]) -> Installed | None:
    name = tags.get(NAME)
    if not isinstance(name, str) or name == "gpg-pubkey":  # imported keys, not software
        return None
    version = f"{tags.get(VERSION, '')}-{tags.get(RELEASE, '')}"
    epoch = tags.get(EPOCH)
    if isinstance(epoch, int) and epoch > 0:
        version = f"{epoch}:{version}"
    source = parse_source_rpm(str(tags.get(SOURCERPM, "")))
    source_name, source_version = source if source else (name, version)
    if source and isinstance(epoch, int) and epoch > 0:
        source_version = f"{epoch}:{source_version}"  # a source rpm has its binaries' epoch
    arch = tags.get(ARCH)
    return Installed(name, version, str(arch) if arch else None, source_name, source_version)


def read_sqlite(data: bytes) -> tuple[Installed, ...]:
    # WAL mode (bytes 18-19 == 2) cannot be opened from memory; the checkpointed
    # main file is what a stopped container leaves, so read it as rollback-journal.
    if len(data) > 19 and data[18:20] == b"\x02\x02":
        data = data[:18] + b"\x01\x01" + data[20:]
    connection = sqlite3.connect(":memory:")
    try:
        connection.deserialize(data)
        rows = connection.execute("SELECT blob FROM Packages ORDER BY hnum").fetchall()
    finally:
        connection.close()
    found = (_installed(parse_header(bytes(blob))) for (blob,) in rows)
    return tuple(p for p in found if p is not None)


class Rpm:
    name = "rpm"
    inherit = staticmethod(inherit)

    def wants(self, path: str, mode: int, size: int) -> bool:
        directory, _, base = path.rpartition("/")
        return directory + "/" in _DIRS and (base == SQLITE or base in _UNSUPPORTED)

    def read(self, path: str, stream: BinaryIO, size: int, limits: Limits) -> object | None:
        base = path.rpartition("/")[2]
        if base in _UNSUPPORTED:
            return Unsupported(_UNSUPPORTED[base])
        return read_sqlite(stream.read(limits.max_file_bytes + 1))

    def finish(self, found: Mapping[str, Found], os: OSInfo | None) -> Result:
        ecosystem = os_ecosystem(os, "Red Hat")
        namespace = purl_namespace(os, "redhat")
        result = Result()
        readable = {p.rpartition("/")[0] for p, k in found.items() if isinstance(k.value, tuple)}
        for path, kept in sorted(found.items()):
            if isinstance(kept.value, Unsupported):
                if path.rpartition("/")[0] in readable:  # left over from a migration to SQLite
                    continue
                result.unsupported.append(
                    f"rpm database {path} is in the {kept.value} format, which the scanner "
                    "cannot read; its packages are not listed"
                )
                continue
            result.packages.extend(as_packages(kept, path, ecosystem, "rpm", namespace))
        return result
