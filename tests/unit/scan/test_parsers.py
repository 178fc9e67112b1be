"""The small parsers at the edges: ecosystems, dpkg Source, rpm headers, os-release."""

from __future__ import annotations

import struct

import pytest

from dockyard.scan.analyzers.dpkg import parse_source
from dockyard.scan.analyzers.os_release import parse
from dockyard.scan.analyzers.rpm import NAME, parse_header, parse_source_rpm
from dockyard.scan.ecosystems import os_ecosystem
from dockyard.scan.model import OSInfo


@pytest.mark.parametrize(
    ("os_id", "version", "family", "ecosystem"),
    [
        ("debian", "12", "Debian", "Debian:12"),
        ("debian", "11.9", "Debian", "Debian:11"),
        ("debian", "", "Debian", "Debian"),  # testing / sid have no VERSION_ID
        ("ubuntu", "22.04", "Debian", "Ubuntu:22.04"),
        ("alpine", "3.19.1", "Alpine", "Alpine:v3.19"),
        ("alpine", "3.20.0_alpha20240315", "Alpine", "Alpine:v3.20"),
        ("rocky", "9.3", "Red Hat", "Rocky Linux:9"),
        ("almalinux", "8.9", "Red Hat", "AlmaLinux:8"),
        ("rhel", "9.4", "Red Hat", "Red Hat"),
        ("centos", "7", "Red Hat", "Red Hat"),
        ("fedora", "40", "Red Hat", "fedora:40"),
    ],
)
def test_os_ecosystems(os_id: str, version: str, family: str, ecosystem: str) -> None:
    assert os_ecosystem(OSInfo(os_id, version), family) == ecosystem


def test_no_os_release_gives_the_bare_family() -> None:
    assert os_ecosystem(None, "Alpine") == "Alpine"


@pytest.mark.parametrize(
    ("field", "source"),
    [
        (None, ("libssl3", "3.0.11-1")),
        ("openssl", ("openssl", "3.0.11-1")),
        ("bash (5.2.15-2)", ("bash", "5.2.15-2")),
    ],
)
def test_dpkg_source_field(field: str | None, source: tuple[str, str]) -> None:
    name = "bash" if field and field.startswith("bash") else "libssl3"
    assert parse_source(field, name, "3.0.11-1") == source


@pytest.mark.parametrize(
    ("rpm", "source"),
    [
        ("openssl-3.0.7-24.el9.src.rpm", ("openssl", "3.0.7-24.el9")),
        ("python3.11-3.11.5-1.el9_3.src.rpm", ("python3.11", "3.11.5-1.el9_3")),
        ("kernel-5.14.0-362.8.1.el9_3.nosrc.rpm", ("kernel", "5.14.0-362.8.1.el9_3")),
        ("(none)", None),
        ("", None),
    ],
)
def test_source_rpm_names(rpm: str, source: tuple[str, str] | None) -> None:
    assert parse_source_rpm(rpm) == source


def test_truncated_or_lying_rpm_headers_are_refused() -> None:
    with pytest.raises(ValueError):
        parse_header(b"\x00\x00")
    lying = struct.pack(">II", 1_000_000, 10) + b"\x00" * 32
    with pytest.raises(ValueError):
        parse_header(lying)
    entry = struct.pack(">IIII", NAME, 6, 0, 1)
    assert parse_header(struct.pack(">II", 1, 4) + entry + b"bash") == {NAME: "bash"}


def test_os_release_quoting_and_comments() -> None:
    text = "# a comment\nID=ubuntu\nVERSION_ID=\"22.04\"\nPRETTY_NAME='Ubuntu 22.04.4 LTS'\nBAD\n"
    assert parse(text) == {
        "ID": "ubuntu",
        "VERSION_ID": "22.04",
        "PRETTY_NAME": "Ubuntu 22.04.4 LTS",
    }
