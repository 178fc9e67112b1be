"""Every analyzer through the real walker at once: OS packages and language packages from
one image, with a later layer uninstalling a Python package by whiteout."""

from __future__ import annotations

import json

from dockyard.scan.analyzer import Limits
from dockyard.scan.scanner import scan_image
from tests.scan.image import Image, file, whiteout
from tests.scan.test_os_packages import DEBIAN_OS_RELEASE, STATUS_BASE


def metadata(name: str, version: str) -> str:
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: x\n\nBody\n"


SITE = "usr/local/lib/python3.11/site-packages"


def test_os_and_language_packages_with_whiteouts(image: Image) -> None:
    base = image.layer(
        [file("etc/os-release", DEBIAN_OS_RELEASE), file("var/lib/dpkg/status", STATUS_BASE)]
    )
    app = image.layer(
        [
            file(f"{SITE}/requests-2.19.1.dist-info/METADATA", metadata("requests", "2.19.1")),
            file(f"{SITE}/urllib3-1.24.1.dist-info/METADATA", metadata("urllib3", "1.24.1")),
            file(
                "app/node_modules/lodash/package.json",
                json.dumps({"name": "lodash", "version": "4.17.15"}),
            ),
            file("app/package.json", json.dumps({"name": "my-app", "version": "1.0.0"})),
        ],
        compression="zstd",
    )
    image.layer([whiteout(f"{SITE}/urllib3-1.24.1.dist-info")])
    inventory = scan_image(image.store, image.manifest(), Limits())

    assert inventory.os is not None and inventory.os.id == "debian"
    found = {(p.ecosystem, p.name, p.version, p.layer_digest) for p in inventory.packages}
    assert found == {
        ("Debian:12", "base-files", "12.4+deb12u5", base),
        ("Debian:12", "libssl3", "3.0.11-1~deb12u2", base),
        ("PyPI", "requests", "2.19.1", app),
        ("npm", "lodash", "4.17.15", app),
    }
    assert inventory.unsupported == ()


def test_files_past_the_read_limit_are_passed_over_not_fatal(image: Image) -> None:
    """A large C program (``node`` is ~100 MB), an oversized jar or METADATA: analyzers
    report them as not read, and the rest of the image is still scanned."""
    limits = Limits(max_file_bytes=10_000)
    elf = b"\x7fELF" + bytes(range(256)) * 100  # 25 KiB, not a Go binary
    jar = b"PK\x03\x04" + b"\0" * 20_000
    huge = metadata("huge", "1.0") + "x" * 20_000
    app = image.layer(
        [
            file("usr/local/bin/node", elf, mode=0o755),
            file("opt/app/fat.jar", jar),
            file(f"{SITE}/huge-1.0.dist-info/METADATA", huge),
            file(f"{SITE}/requests-2.19.1.dist-info/METADATA", metadata("requests", "2.19.1")),
        ]
    )
    inventory = scan_image(image.store, image.manifest(), limits)

    found = {(p.ecosystem, p.name, p.version, p.layer_digest) for p in inventory.packages}
    assert found == {("PyPI", "requests", "2.19.1", app)}
    assert inventory.unsupported == ("opt/app/fat.jar: larger than the 10000-byte read limit",)
