"""rpm databases made by the real ``rpmbuild`` and ``rpm``, scanned from image layers."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dockyard.scan.analyzer import Limits
from dockyard.scan.model import OSInfo
from dockyard.scan.scanner import scan_image
from tests.scan.image import Image, file

SPEC = """Name: {name}
Version: {version}
Release: {release}
{epoch}
Summary: a package for scanner tests
License: MIT
BuildArch: noarch
%description
test
%files
{subpackage}
"""
SUBPACKAGE = """%package -n {name}
Summary: a subpackage
%description -n {name}
test
%files -n {name}
"""


def build(
    tmp_path: Path, name: str, version: str, release: str, *, epoch: int = 0, subpackage: str = ""
) -> list[Path]:
    spec = tmp_path / f"{name}.spec"
    spec.write_text(
        SPEC.format(
            name=name,
            version=version,
            release=release,
            epoch=f"Epoch: {epoch}" if epoch else "",
            subpackage=SUBPACKAGE.format(name=subpackage) if subpackage else "",
        )
    )
    top = tmp_path / "rpmbuild"
    subprocess.run(
        ["rpmbuild", "-bb", "--define", f"_topdir {top}", str(spec)],
        check=True,
        capture_output=True,
    )
    return sorted((top / "RPMS" / "noarch").glob(f"*-{version}-{release}.noarch.rpm"))


def rpm(db: Path, *args: str | Path) -> str:
    return subprocess.run(
        ["rpm", "--dbpath", str(db), *map(str, args)], check=True, capture_output=True, text=True
    ).stdout


def test_a_real_sqlite_rpm_database_across_layers(image: Image, tmp_path: Path) -> None:
    db = tmp_path / "db"
    db.mkdir()
    rpm(db, "--initdb")
    hello = build(tmp_path, "hello", "1.2.3", "4.el9", epoch=2, subpackage="libhello")
    rpm(db, "-i", "--justdb", "--nodeps", "--noscripts", *hello)
    first = image.layer(
        [
            file("etc/os-release", 'NAME="Rocky Linux"\nID="rocky"\nVERSION_ID="9.3"\n'),
            file("var/lib/rpm/rpmdb.sqlite", (db / "rpmdb.sqlite").read_bytes()),
        ]
    )
    rpm(db, "-e", "--justdb", "--nodeps", "--noscripts", "hello")
    openssl = build(tmp_path, "openssl", "3.0.7", "24.el9", subpackage="openssl-libs")
    libs = next(path for path in openssl if path.name.startswith("openssl-libs-"))
    rpm(db, "-i", "--justdb", "--nodeps", "--noscripts", libs)
    second = image.layer([file("var/lib/rpm/rpmdb.sqlite", (db / "rpmdb.sqlite").read_bytes())])

    inventory = scan_image(image.store, image.manifest(), Limits())

    assert inventory.os == OSInfo("rocky", "9.3", "")
    got = {
        (p.name, p.version, p.arch, p.source_name, p.source_version, p.layer_digest)
        for p in inventory.packages
    }
    assert got == {
        ("libhello", "2:1.2.3-4.el9", "noarch", "hello", "2:1.2.3-4.el9", first),
        ("openssl-libs", "3.0.7-24.el9", "noarch", "openssl", "3.0.7-24.el9", second),
    }
    assert {(p.ecosystem, p.purl_type, p.namespace, p.path) for p in inventory.packages} == {
        ("Rocky Linux:9", "rpm", "rocky", "var/lib/rpm/rpmdb.sqlite")
    }
    assert inventory.unsupported == ()
