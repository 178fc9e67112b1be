"""End to end: images built in Python with real package metadata, scanned from a store."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from dockyard.scan.analyzer import Limits
from dockyard.scan.model import OSInfo
from dockyard.scan.scanner import scan_image
from tests.scan.image import Image, file, symlink

DEBIAN_OS_RELEASE = """PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
"""
ALPINE_OS_RELEASE = """NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.1
PRETTY_NAME="Alpine Linux v3.19"
"""


def dpkg_query(status: bytes, tmp_path: Path) -> set[tuple[str, str, str, str, str]]:
    """The host's own dpkg reads the same bytes: the oracle for the whole file."""
    admin = tmp_path / "dpkg-admin"
    admin.mkdir()
    (admin / "status").write_bytes(status)
    fmt = (
        "${db:Status-Status}|${Package}|${Version}|${Architecture}"
        "|${source:Package}|${source:Version}\\n"
    )
    out = subprocess.run(
        ["dpkg-query", f"--admindir={admin}", "-W", f"-f={fmt}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows = [line.split("|") for line in out.splitlines()]
    return {tuple(row[1:]) for row in rows if row[0] == "installed"}  # type: ignore[misc]


def test_a_real_dpkg_status_file_is_read_with_sources(image: Image, tmp_path: Path) -> None:
    status = Path("/var/lib/dpkg/status").read_bytes()
    layer = image.layer(
        [
            file("usr/lib/os-release", DEBIAN_OS_RELEASE),
            symlink("etc/os-release", "../usr/lib/os-release"),
            file("var/lib/dpkg/status", status),
        ]
    )
    inventory = scan_image(image.store, image.manifest(), Limits())
    assert inventory.os == OSInfo("debian", "12", "Debian GNU/Linux 12 (bookworm)")
    assert inventory.unsupported == ()
    got = {(p.name, p.version, p.arch, p.source_name, p.source_version) for p in inventory.packages}
    assert got == dpkg_query(status, tmp_path)
    by_name = {p.name: p for p in inventory.packages}
    assert by_name["bash"].source_name == "bash"
    assert by_name["libssl3"].source_name == "openssl"
    assert by_name["libssl3"].source_version == by_name["libssl3"].version
    assert by_name["libc6"].source_name == "glibc"
    assert by_name["coreutils"].source_name == "coreutils"
    bash = by_name["bash"]
    assert (bash.ecosystem, bash.purl_type, bash.namespace) == ("Debian:12", "deb", "debian")
    assert (bash.layer_digest, bash.path) == (layer, "var/lib/dpkg/status")


STATUS_BASE = """Package: base-files
Status: install ok installed
Priority: required
Architecture: amd64
Version: 12.4+deb12u5
Description: Debian base system miscellaneous files
 This package contains the basic filesystem hierarchy.
 .
 It also contains the Debian version.

Package: libssl3
Status: install ok installed
Architecture: amd64
Source: openssl
Version: 3.0.11-1~deb12u2

Package: oldpkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1
"""
STATUS_CURL = (
    STATUS_BASE
    + """
Package: curl
Status: install ok installed
Architecture: amd64
Version: 7.88.1-10+deb12u5

Package: bash
Status: hold ok installed
Architecture: amd64
Source: bash (5.2.15-2)
Version: 5.2.15-2+b2
"""
)


def test_each_package_keeps_the_layer_that_brought_it(image: Image) -> None:
    base = image.layer(
        [file("etc/os-release", DEBIAN_OS_RELEASE), file("var/lib/dpkg/status", STATUS_BASE)]
    )
    added = image.layer([file("var/lib/dpkg/status", STATUS_CURL)], compression="zstd")
    inventory = scan_image(image.store, image.manifest(), Limits())
    layers = {p.name: p.layer_digest for p in inventory.packages}
    assert layers == {"base-files": base, "libssl3": base, "curl": added, "bash": added}
    bash = next(p for p in inventory.packages if p.name == "bash")
    assert (bash.source_name, bash.source_version) == ("bash", "5.2.15-2")


def test_a_package_removed_by_a_later_layer_is_not_reported(image: Image) -> None:
    image.layer(
        [file("etc/os-release", DEBIAN_OS_RELEASE), file("var/lib/dpkg/status", STATUS_CURL)]
    )
    image.layer([file("var/lib/dpkg/status", STATUS_BASE)], compression="none")
    inventory = scan_image(image.store, image.manifest(), Limits())
    assert {p.name for p in inventory.packages} == {"base-files", "libssl3"}


def test_distroless_status_directory(image: Image) -> None:
    image.layer(
        [
            file("etc/os-release", DEBIAN_OS_RELEASE),
            file("var/lib/dpkg/status.d/libssl3", STATUS_BASE.split("\n\n")[1]),
            file("var/lib/dpkg/status.d/libssl3.md5sums", "abc  usr/lib/libssl.so.3\n"),
            file(
                "var/lib/dpkg/status.d/tzdata",
                "Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n",
            ),
        ]
    )
    inventory = scan_image(image.store, image.manifest(), Limits())
    got = {(p.name, p.source_name, p.path) for p in inventory.packages}
    assert got == {
        ("libssl3", "openssl", "var/lib/dpkg/status.d/libssl3"),
        ("tzdata", "tzdata", "var/lib/dpkg/status.d/tzdata"),
    }


APK_INSTALLED = """C:Q1+0XAQVdLLA0dEu1Pd+lbhVYx/7s=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
S:407837
I:667648
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Natanael Copa <ncopa@alpinelinux.org>
t:1705510328
c:e91ffa6cc5e9cd1c8c76ba8d1d7b5b0a1a6e0a33
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1SDd8OWDLgMeQfkSONrvrqmAJ8yo=

C:Q1Y+ESp7Bns6H8zBquI6Z2oHqbqhs=
P:libcrypto3
V:3.1.4-r5
A:x86_64
S:1771516
I:4235264
T:Crypto library from openssl
U:https://www.openssl.org/
L:Apache-2.0
o:openssl
m:Natanael Copa <ncopa@alpinelinux.org>
t:1706205296
D:so:libc.musl-x86_64.so.1
F:lib
R:libcrypto.so.3

C:Q1abcdefghijklmnopqrstuvwxyz0=
P:busybox
V:1.36.1-r15
A:x86_64
o:busybox
"""


def test_alpine_packages_with_their_origin(image: Image) -> None:
    layer = image.layer(
        [file("etc/os-release", ALPINE_OS_RELEASE), file("lib/apk/db/installed", APK_INSTALLED)],
        compression="zstd",
    )
    inventory = scan_image(image.store, image.manifest(), Limits())
    assert inventory.os == OSInfo("alpine", "3.19.1", "Alpine Linux v3.19")
    got = {(p.name, p.version, p.source_name, p.arch) for p in inventory.packages}
    assert got == {
        ("musl", "1.2.4_git20230717-r4", "musl", "x86_64"),
        ("libcrypto3", "3.1.4-r5", "openssl", "x86_64"),
        ("busybox", "1.36.1-r15", "busybox", "x86_64"),
    }
    assert {
        (p.ecosystem, p.purl_type, p.namespace, p.layer_digest) for p in inventory.packages
    } == {("Alpine:v3.19", "apk", "alpine", layer)}


def test_an_image_with_no_os_release_still_lists_packages(image: Image) -> None:
    image.layer([file("lib/apk/db/installed", APK_INSTALLED)])
    inventory = scan_image(image.store, image.manifest(), Limits())
    assert inventory.os is None
    assert {p.ecosystem for p in inventory.packages} == {"Alpine"}


def test_berkeleydb_rpm_database_is_reported_unsupported(image: Image) -> None:
    image.layer(
        [
            file("etc/os-release", 'ID="centos"\nVERSION_ID="7"\n'),
            file("var/lib/rpm/Packages", b"\x00\x06\x15\x61" + b"\x00" * 4096),
        ]
    )
    inventory = scan_image(image.store, image.manifest(), Limits())
    assert inventory.packages == ()
    assert inventory.unsupported == (
        "rpm database var/lib/rpm/Packages is in the BerkeleyDB format, which the scanner "
        "cannot read; its packages are not listed",
    )


assert shutil.which("dpkg-query")  # the oracle is part of the test machine (Debian)
